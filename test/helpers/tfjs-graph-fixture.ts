/**
 * A TF.js graph model written here as the TF.js converter writes one (a GraphDef in protobuf's JSON form, every
 * Const in the weight shard), since no TensorFlow converter runs on these machines. TF.js's own loadGraphModel runs
 * it, which is what makes it a fixture: Conv2D, BiasAdd, FusedBatchNormV3, Pad, DepthwiseConv2dNative, Relu6,
 * _FusedConv2D, ConcatV2, MaxPool, Mean, Reshape, MatMul, Softmax; optionally an op PruneLens does not convert.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const s = (v: string) => ({ s: b64(v) });
const list = (xs: number[]) => ({ list: { i: xs.map(String) } });
const T = { T: { type: 'DT_FLOAT' } };

function random(n: number, seed: number, scale = 0.5, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const r = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return ((r - Math.floor(r)) * 2 - 1) * scale + offset;
  });
}

/** Writes dir/model.json + dir/weights.bin; `opaque` adds an op PruneLens keeps opaque (TF.js cannot run that one). */
export function writeGraphFixture(dir: string, opts: { opaque?: boolean } = {}): string {
  const nodes: Record<string, unknown>[] = [];
  const weights: { name: string; shape: number[]; dtype: string }[] = [];
  const data: Uint8Array[] = [];
  const constant = (name: string, shape: number[], values: Float32Array | Int32Array) => {
    const dtype = values instanceof Int32Array ? 'int32' : 'float32';
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: shape.length ? { dim: shape.map((d) => ({ size: String(d) })) } : {} } }, dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } });
    weights.push({ name, shape, dtype });
    data.push(new Uint8Array(values.buffer));
    return name;
  };
  const op = (name: string, o: string, input: string[], attr: Record<string, unknown> = {}) => {
    nodes.push({ name, op: o, input, attr: { ...T, ...attr } });
    return name;
  };
  const conv = { strides: list([1, 1, 1, 1]), dilations: list([1, 1, 1, 1]), data_format: s('NHWC'), padding: s('SAME') };
  nodes.push({ name: 'image', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '12' }, { size: '12' }, { size: '3' }] } } } });
  const c1 = op('block1/conv', 'Conv2D', ['image', constant('block1/kernel', [3, 3, 3, 8], random(216, 1))], conv);
  const b1 = op('block1/bias_add', 'BiasAdd', [c1, constant('block1/bias', [8], random(8, 2))], { data_format: s('NHWC') });
  const bn = op('block1/bn', 'FusedBatchNormV3', [b1, constant('block1/gamma', [8], random(8, 3, 0.4, 1)), constant('block1/beta', [8], random(8, 4)),
    constant('block1/mean', [8], random(8, 5)), constant('block1/variance', [8], random(8, 6, 0.4, 1))], { epsilon: { f: 0.001 }, is_training: { b: false }, data_format: s('NHWC') });
  const r1 = op('block1/relu', 'Relu', [bn]);
  const pad = op('branch_a/pad', 'Pad', [r1, constant('branch_a/paddings', [4, 2], Int32Array.from([0, 0, 1, 1, 1, 1, 0, 0]))]);
  const dw = op('branch_a/depthwise', 'DepthwiseConv2dNative', [pad, constant('branch_a/dw_kernel', [3, 3, 8, 1], random(72, 7))], { ...conv, padding: s('VALID') });
  const r2 = op('branch_a/relu6', 'Relu6', [dw]);
  const c2 = op('branch_b/conv', '_FusedConv2D', [r1, constant('branch_b/kernel', [1, 1, 8, 6], random(48, 8)), constant('branch_b/bias', [6], random(6, 9))],
    { ...conv, num_args: { i: '1' }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, epsilon: { f: 0 } });
  const cat = op('join', 'ConcatV2', [r2, c2, constant('join/axis', [], Int32Array.from([-1]))], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  const mp = op('pool', 'MaxPool', [cat], { ksize: list([1, 2, 2, 1]), strides: list([1, 2, 2, 1]), padding: s('VALID'), data_format: s('NHWC') });
  let head = op('head/conv', 'Conv2D', [mp, constant('head/kernel', [1, 1, 14, 4], random(56, 10))], conv);
  if (opts.opaque) head = op('head/fancy', 'FancyOp', [head]);
  const sq = op('head/square', 'Square', [head]);
  const m = op('head/mean', 'Mean', [sq, constant('head/axes', [2], Int32Array.from([1, 2]))], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  const flat = op('flatten', 'Reshape', [mp, constant('flatten/shape', [2], Int32Array.from([-1, 6 * 6 * 14]))], { Tshape: { type: 'DT_INT32' } });
  const fc = op('fc/matmul', '_FusedMatMul', [flat, constant('fc/kernel', [504, 10], random(5040, 11, 0.05)), constant('fc/bias', [10], random(10, 12))],
    { transpose_a: { b: false }, transpose_b: { b: false }, num_args: { i: '1' }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, epsilon: { f: 0 } });
  const cat2 = op('features', 'ConcatV2', [m, fc, constant('features/axis', [], Int32Array.from([1]))], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  const logits = op('logits', 'MatMul', [cat2, constant('logits/kernel', [14, 3], random(42, 13))], { transpose_a: { b: false }, transpose_b: { b: false } });
  const sm = op('probs', 'Softmax', [logits]);
  op('Identity', 'Identity', [sm]);
  const json = {
    format: 'graph-model', generatedBy: '2.15.0', convertedBy: 'PruneLens test fixture',
    signature: { inputs: { 'image:0': { name: 'image:0', dtype: 'DT_FLOAT' } }, outputs: { 'Identity:0': { name: 'Identity:0', dtype: 'DT_FLOAT' } } },
    modelTopology: { node: nodes, versions: { producer: 1395 } },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(data));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  return path.join(dir, 'model.json');
}
