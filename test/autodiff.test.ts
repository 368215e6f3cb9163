/** Gradients from the emitted backward graph against central finite differences, on fixtures covering the rules. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyse } from '../src/core/analysis.js';
import { gradientRun } from '../src/core/autodiff/gradients.js';
import type { LossKind } from '../src/core/autodiff/backward.js';
import { loadCalibration } from '../src/core/data/calibration.js';
import { cloneModel } from '../src/core/formats/index.js';
import { encodeOnnx } from '../src/core/formats/onnx/save.js';
import type { Model } from '../src/core/ir/graph.js';
import { createSession, type Feeds } from '../src/core/runtime/ort.js';
import { tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

const dir = tmpdir();

/** conv(stride 2) → BN → Relu → depthwise → HardSwish, residual Add, MaxPool, Concat with a pooled branch, GAP, Gemm. */
function convNet(): Uint8Array {
  const b = new OnnxBuilder(14, 5);
  const x = b.input('x', ['N', 3, 12, 12]);
  const c1 = b.op('Relu', [b.bn(b.conv(x, 3, 8, 3, { stride: 2 }), 8)]);
  const dw = b.op('HardSwish', [b.conv(c1, 8, 8, 3, { group: 8 })]);
  const res = b.op('Add', [c1, b.bn(b.conv(dw, 8, 8, 1), 8)]);
  const mp = b.op('MaxPool', [res], { kernel_shape: [2, 2], strides: [2, 2] });
  const ap = b.op('AveragePool', [res], { kernel_shape: [2, 2], strides: [2, 2] });
  const cat = b.op('Concat', [mp, b.op('Sigmoid', [ap])], { axis: 1 });
  const se = b.op('Mul', [cat, b.op('HardSigmoid', [b.op('GlobalAveragePool', [cat])])]);
  const f = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('LeakyRelu', [se], { alpha: { float: 0.1 } })])]);
  b.output(b.gemm(f, 16, 5), ['N', 5]);
  return b.build();
}

/** Split → two convs → Concat → Transpose → MatMul with a constant → Softmax (a probability output). */
function splitNet(): Uint8Array {
  const b = new OnnxBuilder(13, 9);
  const x = b.input('x', ['N', 4, 6, 6]);
  const [p, q] = b.node('Split', [x], { axis: 1 }, 2);
  const cat = b.op('Concat', [b.op('Tanh', [b.conv(p, 2, 3)]), b.op('Relu', [b.conv(q, 2, 3, 3, { pad: 1 })])], { axis: 1 });
  const t = b.op('Transpose', [b.op('ReduceMean', [cat], { axes: [2], keepdims: 0 })], { perm: [0, 2, 1] });
  const mm = b.op('MatMul', [t, b.init('w', [6, 4])]);
  b.output(b.op('Softmax', [b.op('ReduceMean', [mm], { axes: [1], keepdims: 0 })], { axis: -1 }), ['N', 4]);
  return b.build();
}

/** Convs padded by auto_pad, as TF.js and Keras 'same' convert: SAME_UPPER at stride 2 on an even size (the odd pad
 *  at the end), SAME_LOWER, a depthwise SAME_UPPER and a VALID one; and a dilated conv with uneven pads. */
function autoPadNet(): Uint8Array {
  const b = new OnnxBuilder(13, 4);
  const x = b.input('x', ['N', 3, 10, 10]);
  const w = (name: string, dims: number[]) => b.init(name, dims, undefined, 'float32', 0.4);
  const c1 = b.op('Tanh', [b.op('Conv', [x, w('w1', [6, 3, 3, 3]), w('b1', [6])], { auto_pad: 'SAME_UPPER', strides: [2, 2] })]);
  const c2 = b.op('Tanh', [b.op('Conv', [c1, w('w2', [6, 1, 3, 3])], { auto_pad: 'SAME_UPPER', group: 6 })]);
  const c3 = b.op('Conv', [c2, w('w3', [8, 6, 2, 2])], { auto_pad: 'SAME_LOWER' });
  // dilated, stride 1: its input gradient is a convolution with the flipped kernel
  const c3d = b.op('Tanh', [b.op('Conv', [c3, w('w3d', [8, 8, 3, 3])], { dilations: [2, 2], pads: [2, 1, 2, 3] })]);
  const c4 = b.op('Conv', [c3d, w('w4', [8, 8, 3, 3])], { auto_pad: 'VALID', strides: [2, 2] });
  const f = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [c4])])]);
  b.output(b.gemm(f, 8, 4), ['N', 4]);
  return b.build();
}

/** The loss in JavaScript, averaged over the batch, as the seed defines it. */
function lossOf(kind: LossKind, y: Float32Array, n: number, probs: boolean, labels?: Int32Array, teacher?: Float32Array): number {
  const k = y.length / n;
  let total = 0;
  for (let s = 0; s < n; s++) {
    const row = Array.from(y.subarray(s * k, (s + 1) * k));
    if (kind === 'energy') total += 0.5 * row.reduce((a, v) => a + v * v, 0);
    else {
      const p = probs ? row : (() => { const m = Math.max(...row); const e = row.map((v) => Math.exp(v - m)); const z = e.reduce((a, v) => a + v, 0); return e.map((v) => v / z); })();
      if (kind === 'teacher') p.forEach((v, c) => (total -= teacher![s * k + c] * Math.log(Math.max(v, 1e-12))));
      else total -= Math.log(Math.max(p[labels![s]], 1e-12));
    }
  }
  return total / n;
}

async function forward(model: Model, feeds: Feeds): Promise<Float32Array> {
  const s = await createSession(encodeOnnx(model));
  try {
    return (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

async function check(bytes: Uint8Array, name: string, loss: LossKind, probs: boolean) {
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, bytes);
  const a = await analyse(file);
  const data = await loadCalibration(a.model, a.shapes.inputs, { samples: 3, seed: 4 });
  const labels = Int32Array.from({ length: 3 }, (_, i) => (i * 2) % 4);
  if (loss === 'labels') data.labels = labels;
  // a teacher's probabilities: any distribution per sample
  const classes = a.shapes.types.get(a.model.graph.outputs[0].name)!.dims[1];
  const teacher = Float32Array.from({ length: 3 * classes }, (_, i) => (1 + (i % classes)) / ((classes * (classes + 1)) / 2));
  const weights = a.model.graph.nodes.filter((n) => ['Conv', 'Gemm', 'MatMul', 'BatchNormalization'].includes(n.opType)).map((n) => n.inputs[1]);
  const values = a.model.graph.nodes.filter((n) => ['Relu', 'HardSwish', 'Tanh'].includes(n.opType)).map((n) => n.outputs[0]);
  const run = await gradientRun(a.model, a.shapes.inputs, { output: a.model.graph.outputs[0].name, values, weights, loss });
  assert.deepEqual(run.graph.stopped, [], 'every op on the path has a rule');
  let grads!: Map<string, { data: Float32Array }>;
  await run.run(data, (c) => (grads = c.grads), { batch: 3, teacher: loss === 'teacher' ? { per: classes, data: teacher } : undefined });
  await run.release();
  const feeds = data.inputs;
  const L = async (m: Model) => lossOf(loss, await forward(m, feeds), 3, probs, labels, teacher);
  // central differences on a few entries of each weight
  let checked = 0;
  for (const w of weights) {
    const g = grads.get(w)!.data;
    const order = Array.from(g.keys()).sort((p, q) => Math.abs(g[q]) - Math.abs(g[p])).slice(0, 3);
    for (const i of order) {
      const h = 1e-2;
      const plus = cloneModel(a.model);
      const minus = cloneModel(a.model);
      for (const [m, sgn] of [[plus, 1], [minus, -1]] as const) {
        const t = m.graph.constant(w)!;
        const v = Float32Array.from(t.toFloat32());
        v[i] += sgn * h;
        t.replace(t.dims, v);
      }
      const fd = ((await L(plus)) - (await L(minus))) / (2 * h);
      const err = Math.abs(fd - g[i]) / Math.max(Math.abs(fd), Math.abs(g[i]), 1e-3);
      assert.ok(err < 0.05, `${name} ${loss}: d/d${w}[${i}] = ${g[i]} by the graph, ${fd} by differences`);
      checked++;
    }
  }
  assert.ok(checked >= 9);
  for (const v of values) assert.equal(grads.get(v)!.data.length > 0, true);
}

describe('automatic differentiation (backward graph in ONNX)', () => {
  it('conv, depthwise, BN, residual, pools, concat, SE, Gemm: energy, cross-entropy and KL-to-a-teacher losses', async () => {
    await check(convNet(), 'convnet', 'energy', false);
    await check(convNet(), 'convnet-ce', 'labels', false);
    await check(convNet(), 'convnet-kl', 'teacher', false);
  });

  it('split, tanh, transpose, reduce-mean, MatMul, a softmax output (cross-entropy and KL)', async () => {
    await check(splitNet(), 'splitnet', 'labels', true);
    await check(splitNet(), 'splitnet-kl', 'teacher', true);
  });

  it('convs padded by auto_pad (SAME_UPPER, SAME_LOWER, depthwise, VALID), as converted TF.js and Keras models have', async () => {
    await check(autoPadNet(), 'autopad', 'labels', false);
  });
});
