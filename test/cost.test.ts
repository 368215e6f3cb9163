import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { computeCost } from '../src/core/cost/cost.js';
import { computeShapes } from '../src/core/shapes/index.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

describe('cost model (hand-computed)', () => {
  it('counts params and MACs of conv, BN, pooling, depthwise, gemm and matmul', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', [1, 3, 8, 8]);
    let y = b.conv(x, 3, 4); // [1,4,8,8]: MACs 4·8·8·3·3·3 = 6912, params 4·27 + 4 = 112
    y = b.bn(y, 4); // 256 MACs, params 4·4 = 16
    y = b.op('Relu', [y]); // 256
    y = b.op('MaxPool', [y], { kernel_shape: [2, 2], strides: [2, 2] }); // out 64 elements × 4 = 256
    y = b.conv(y, 4, 4, 3, { group: 4, bias: false }); // depthwise: 64 × 9 = 576, params 36
    y = b.op('GlobalAveragePool', [y]); // 64 input elements
    y = b.op('Flatten', [y]); // data movement: 0
    y = b.gemm(y, 4, 5); // 20 MACs, params 25
    const w = b.init('mm.w', [5, 6]);
    y = b.op('MatMul', [y, w]); // 30 MACs, params 30
    b.output(y, [1, 6]);
    const model = decodeOnnx(b.build(), 'cost.onnx');
    const shapes = await computeShapes(model, { x: [1, 3, 8, 8] }, { method: 'inference' });
    const cost = computeCost(model, shapes);
    const by = (op: string) => cost.layers.filter((l) => l.op === op);
    assert.deepEqual(by('Conv').map((l) => [l.macs, l.params, l.outChannels]), [[6912, 112, 4], [576, 36, 4]]);
    assert.deepEqual(by('BatchNormalization').map((l) => [l.macs, l.params]), [[256, 16]]);
    assert.equal(by('MaxPool')[0].macs, 256);
    assert.equal(by('GlobalAveragePool')[0].macs, 64);
    assert.equal(by('Flatten')[0].macs, 0);
    assert.deepEqual(by('Gemm').map((l) => [l.macs, l.params, l.outChannels]), [[20, 25, 5]]);
    assert.deepEqual(by('MatMul').map((l) => [l.macs, l.params, l.outChannels]), [[30, 30, 6]]);
    assert.equal(cost.params, 112 + 16 + 36 + 25 + 30);
    assert.equal(cost.macs, 6912 + 256 + 256 + 256 + 576 + 64 + 20 + 30);
    assert.equal(cost.computeMacs, 6912 + 576 + 20 + 30);
    assert.equal(by('Conv')[0].activationBytes, 4 * 8 * 8 * 4);
    // peak: the conv input (768 B) and output (1024 B) are live together, then conv out + BN out (2048 B)
    assert.equal(cost.peakActivationBytes, 2048);
  });

  it('counts ConvTranspose per input element and scales with batch', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', ['N', 2, 3, 3]);
    const w = b.init('w', [2, 3, 2, 2]);
    b.output(b.op('ConvTranspose', [x, w], { strides: [2, 2] }));
    const model = decodeOnnx(b.build(), 'ct.onnx');
    for (const n of [1, 4]) {
      const shapes = await computeShapes(model, { x: [n, 2, 3, 3] }, { method: 'inference' });
      const [layer] = computeCost(model, shapes).layers;
      assert.deepEqual(layer.outShapes[0], [n, 3, 6, 6]);
      assert.equal(layer.macs, n * 18 * 3 * 4);
      assert.equal(layer.params, 24);
      assert.equal(layer.outChannels, 3);
    }
  });

  it('counts a weight shared by two nodes once', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', [1, 4]);
    const w = b.init('w', [4, 4]);
    b.output(b.op('MatMul', [b.op('MatMul', [x, w]), w]));
    const model = decodeOnnx(b.build(), 'shared.onnx');
    const cost = computeCost(model, await computeShapes(model, { x: [1, 4] }));
    assert.equal(cost.params, 16);
    assert.equal(cost.macs, 32);
  });
});
