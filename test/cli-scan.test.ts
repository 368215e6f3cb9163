import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, EXAMPLE, ROOT, tmpdir } from './helpers/env.js';

const IDX = [
  '--data', path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  '--labels', path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('prunelens scan', () => {
  const dir = tmpdir();
  const cache = ['--cache-dir', path.join(dir, 'cache')];

  it('prints ranked groups, writes JSON and CSV, and reuses its cache', () => {
    const json = path.join(dir, 'scan.json');
    const csv = path.join(dir, 'scan.csv');
    const r = cli('scan', EXAMPLE, ...IDX, '--samples', '200', '--ratios', '0.25,0.5,0.75', '-o', json, '--csv', csv, ...cache);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /structured scan of 6 groups x 3 ratios\ndata: real, 200 labelled samples/);
    assert.doesNotMatch(r.out, /input sizes assumed/, 'the batch alone is not worth a note');
    assert.match(r.out, /most sensitive: \d+/);
    assert.match(r.out, /dense accuracy \d+\.\d%/);
    const j = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(j.targets.length, 6);
    for (const t of j.targets) {
      assert.ok(t.id !== undefined && t.members.length && t.channels && t.params > 0 && t.macs >= 0);
      assert.deepEqual(t.points.map((p: { ratio: number }) => p.ratio), [0.25, 0.5, 0.75]);
      assert.ok(t.points.every((p: { metrics: { agreement: number; accuracy: number } }) => p.metrics.agreement >= 0 && p.metrics.accuracy >= 0));
    }
    assert.equal(j.data.labelled, true);
    assert.ok(j.dense.metrics.accuracy > 0.85);
    assert.match(j.model.sha256, /^[0-9a-f]{64}$/);
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1 + 6 * 3);
    assert.match(lines[0], /^kind,id,sources,channels,params,macs,ratio/);

    const again = cli('scan', EXAMPLE, ...IDX, '--samples', '200', '--ratios', '0.25,0.5,0.75', '--json', ...cache);
    assert.equal(again.code, 0, again.err);
    const k = JSON.parse(again.out);
    assert.equal(k.timing.cached, true);
    assert.deepEqual(k.targets, j.targets);
    const refused = cli('scan', EXAMPLE, '--samples', '4', '-o', json, ...cache);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /already exists \(pass --force/);
  });

  it('rejects bad options with one line and exit code 2', () => {
    for (const [args, msg] of [
      [['--ratios', '0.5,1.5'], /--ratios: fractions in \(0, 1\)/],
      [['--metric', 'f1'], /--metric: one of agreement/],
      [['--mode', 'sparse'], /--mode: structured or unstructured, got 'sparse'/],
      [['--data', path.join(dir, 'none.npy')], /no such file/],
      [['--output-name', 'probs'], /no output 'probs'/],
      [['--metric', 'accuracy', '--samples', '4'], /needs labelled data/],
    ] as const) {
      const r = cli('scan', EXAMPLE, '--no-cache', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, msg);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    }
  });

  it('Ctrl-C stops a scan cleanly: exit 130 and no output file', async () => {
    const json = path.join(dir, 'cancelled.json');
    const child = spawn(process.execPath, [CLI, 'scan', EXAMPLE, ...IDX, '--samples', '500', '--mode', 'unstructured',
      '--ratios', Array.from({ length: 19 }, (_, i) => ((i + 1) / 20).toFixed(2)).join(','), '--no-cache', '-o', json]);
    setTimeout(() => child.kill('SIGINT'), 900);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130);
    assert.equal(fs.existsSync(json), false);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('cancelled')), [], 'no temporary file left either');
  });
});
