import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, tmpdir } from './helpers/env.js';
import { hasH5py, writeKeras } from './helpers/keras-fixtures.js';
import { buildFixture, saveFixture } from './helpers/tfjs-fixtures.js';
import { writeGraphFixture } from './helpers/tfjs-graph-fixture.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** One line naming the problem, exit code 2, no stack trace. */
function refused(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(r.code, 2, r.err + r.out);
  // progress lines (stderr, when a step takes over a second) aside
  const lines = r.err.trim().split('\n').filter((l) => !/^prunelens: [a-z ]+;? .*\d+%|^prunelens: [a-z]+ +\[/.test(l));
  assert.equal(lines.length, 1, r.err);
  assert.match(lines[0], /^prunelens: error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

describe('prunelens on TF.js and Keras files', () => {
  const dir = tmpdir('prunelens-tfjs-cli-');

  it('a TF.js layers model: inspect, scan, prune (model.json + shards + reports), bench in TF.js', async () => {
    const file = await saveFixture(await buildFixture('functional'), path.join(dir, 'layers'));
    const i = cli('inspect', file);
    assert.equal(i.code, 0, i.err);
    assert.match(i.out, /format tfjs-layers, analysed as ONNX operators in NCHW/);
    assert.match(i.out, /dependency groups: 4, prunable 3/);
    const s = cli('scan', file, '--ratios', '0.25,0.5', '--samples', '4', '--no-cache', '--json');
    assert.equal(s.code, 0, s.err);
    assert.equal(JSON.parse(s.out).targets.length, 3);
    const out = path.join(dir, 'layers-out', 'model.json');
    fs.mkdirSync(path.dirname(out));
    const p = cli('prune', file, '-o', out, '--ratio', '0.5', '--latency-runs', '3');
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /in TF\.js \(tfjs wasm, \d+ threads?\): the written tfjs-layers files \(model\.json, group1-shard1of1\.bin; weights stored as the original stores them\)/);
    assert.match(p.out, /latency \(measured, tfjs wasm/);
    for (const f of ['model.json', 'group1-shard1of1.bin', 'model.json.report.json', 'model.json.report.md', 'model.json.recipe.json']) assert.ok(fs.existsSync(path.join(dir, 'layers-out', f)), f);
    // again without --force: refused before anything is written
    refused(cli('prune', file, '-o', out, '--ratio', '0.3'), /already exists \(pass --force to replace it\)/);
    const b = cli('bench', file, '--compare', out, '--runs', '3');
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /^tfjs wasm/);
    assert.match(b.out, /measured: model\.json is [\d.]+× (faster|slower)/);
    // the recipe replays on the original, byte for byte
    const again = path.join(dir, 'layers-replay.json');
    assert.equal(cli('prune', file, '-o', again, '--plan', `${out}.recipe.json`, '--latency-runs', '0').code, 0);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'layers-replay-group1-shard1of1.bin')), fs.readFileSync(path.join(dir, 'layers-out', 'group1-shard1of1.bin')));
  });

  it('a TF.js graph model: inspect and prune', () => {
    const file = writeGraphFixture(path.join(dir, 'graph'));
    const i = cli('inspect', file, '--json');
    assert.equal(i.code, 0, i.err);
    assert.equal(JSON.parse(i.out).format, 'tfjs-graph');
    const out = path.join(dir, 'graph-pruned.json');
    const p = cli('prune', file, '-o', out, '--ratio', '0.5', '--latency-runs', '0', '--json');
    assert.equal(p.code, 0, p.err);
    const r = JSON.parse(p.out);
    assert.ok(r.native.passed && r.native.conversion.passed);
    assert.deepEqual(r.native.files, ['graph-pruned.json', 'graph-pruned-group1-shard1of1.bin']);
    assert.ok(fs.existsSync(path.join(dir, 'graph-pruned-group1-shard1of1.bin')), 'shards named after the output, beside it');
  });

  it('.keras and .h5: inspect and prune from the command line', { skip: !hasH5py() && !process.env.CI && 'python3-h5py not installed' }, async () => {
    for (const ext of ['keras', 'h5']) {
      const file = writeKeras(await buildFixture('sequential'), path.join(dir, `seq.${ext}`));
      const i = cli('inspect', file);
      assert.equal(i.code, 0, i.err);
      assert.match(i.out, new RegExp(`format ${ext === 'h5' ? 'keras-h5' : 'keras'},`));
      const out = path.join(dir, `seq-pruned.${ext}`);
      const p = cli('prune', file, '-o', out, '--ratio', '0.5', '--latency-runs', '0', '--json');
      assert.equal(p.code, 0, p.err);
      assert.deepEqual(JSON.parse(p.out).native.files, [`seq-pruned.${ext}`]);
      assert.ok(fs.existsSync(out));
    }
  });

  it('bad TF.js and Keras files: one line, exit code 2, nothing written', async () => {
    const file = await saveFixture(await buildFixture('sequential'), path.join(dir, 'good'));
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const bin = fs.readFileSync(path.join(dir, 'good', 'weights.bin'));
    const variant = (name: string, edit: (j: typeof json) => void, shard: Buffer | null = bin) => {
      const d = path.join(dir, name);
      fs.mkdirSync(d, { recursive: true });
      const j = structuredClone(json);
      edit(j);
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
      if (shard) fs.writeFileSync(path.join(d, 'weights.bin'), shard);
      return path.join(d, 'model.json');
    };
    const out = path.join(dir, 'never.json');
    const check = (f: string, pattern: RegExp) => {
      refused(cli('inspect', f), pattern);
      refused(cli('prune', f, '-o', out, '--ratio', '0.5'), pattern);
      assert.ok(!fs.existsSync(out));
    };
    check(variant('missing', () => {}, null), /model\.json: weight shard 'weights\.bin' is missing/);
    check(variant('short', () => {}, bin.subarray(0, bin.length - 10)), /hold \d+ bytes, but the manifest describes \d+ \(a shard is short/);
    // a shape that contradicts the layer (sizes still add up), and one that does not add up
    check(variant('shape', (j) => { j.weightsManifest[0].weights[0].shape = [3, 3, 8, 3]; }), /weight 'c1\/kernel' is 3x3x8x3, but layer 'c1' \(Conv2D\) needs 3x3x\?x8/);
    check(variant('shape2', (j) => { j.weightsManifest[0].weights[0].shape = [3, 3, 3, 16]; }), /the manifest lies about shapes or dtypes/);
    check(variant('dtype', (j) => { j.weightsManifest[0].weights[0].dtype = 'float64'; }), /weight 'c1\/kernel' has an unknown dtype "float64"/);
    check(variant('quant', (j) => { j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 0.1, min: 0 }; }), /the manifest lies about shapes or dtypes/);
    check(variant('layer', (j) => { j.modelTopology.config.layers[1].class_name = 'FancyNorm'; }), /layer 'bn1' is a FancyNorm, which PruneLens cannot convert/);
    check(variant('topology', (j) => { delete j.modelTopology; }), /a JSON file without modelTopology is not a TF.js model/);
    const JSZip = (await import('jszip')).default;
    const zip = new JSZip();
    zip.file('config.json', '{}');
    const notKeras = path.join(dir, 'not.keras');
    fs.writeFileSync(notKeras, await zip.generateAsync({ type: 'uint8array' }));
    check(notKeras, /not\.keras: a zip archive that is not a Keras model/);
    // a TF.js model saved under another format's name
    refused(cli('prune', file, '-o', path.join(dir, 'pruned.onnx'), '--ratio', '0.5'), /pruned\.onnx: a tfjs-layers model is saved in its own format, as a \.json file/);
    assert.ok(!fs.existsSync(path.join(dir, 'pruned.onnx')));
  });
});
