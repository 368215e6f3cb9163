import type { LabelledSet } from '../data/labelled.js';
import { PruneLensError } from '../errors.js';
import type { DType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { runtimeInputs } from '../shapes/inputs.js';
import { ort } from './ort.js';

/** Deterministic PRNG (mulberry32) so synthetic inputs are the same on every run for a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(next: () => number): () => number {
  return () => {
    const u = Math.max(next(), 1e-12);
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Synthetic inputs: standard normal floats, zeros for integer ids and booleans (safe as token ids and masks). */
export function syntheticFeeds(model: Model, shapes: Record<string, number[]>, seed = 1): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const normal = gaussian(rng(seed));
  for (const input of runtimeInputs(model)) {
    const dims = shapes[input.name];
    if (!dims) throw new PruneLensError(`no shape for input '${input.name}'`);
    feeds[input.name] = makeTensor(input.dtype, dims, normal);
  }
  return feeds;
}

function makeTensor(dtype: DType, dims: number[], normal: () => number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from({ length: n }, normal), dims);
    case 'float64': return new ort.Tensor('float64', Float64Array.from({ length: n }, normal), dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(n), dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array(n), dims);
    case 'uint8': return new ort.Tensor('uint8', new Uint8Array(n), dims);
    case 'int8': return new ort.Tensor('int8', new Int8Array(n), dims);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(n), dims);
    case 'float16': return new ort.Tensor('float16', new Uint16Array(n), dims);
    default: throw new PruneLensError(`cannot make synthetic data for an input of type ${dtype}`);
  }
}

/** Samples start … start+n−1 of a labelled set as one float32 batch. */
export function sampleTensor(set: LabelledSet, start: number, n: number): ort.Tensor {
  const per = set.sampleDims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', set.inputs.subarray(start * per, (start + n) * per), [n, ...set.sampleDims]);
}

/** The first `count` samples as feeds of the model's only input, in batches of the size that input is shaped for. */
export function sampleFeeds(model: Model, shapes: Record<string, number[]>, set: LabelledSet, count: number): Record<string, ort.Tensor>[] {
  const inputs = runtimeInputs(model);
  if (inputs.length !== 1) throw new PruneLensError(`real samples can feed a model with one input; this one has ${inputs.length}`);
  const { name } = inputs[0];
  const [batch, ...dims] = shapes[name];
  if (dims.join('x') !== set.sampleDims.join('x')) {
    throw new PruneLensError(`${set.description}: samples are ${set.sampleDims.join('x')}, input '${name}' takes ${dims.join('x')}`);
  }
  if (set.count < batch) throw new PruneLensError(`${set.description}: fewer samples than the batch of ${batch}`);
  const batches = Math.max(1, Math.floor(Math.min(count, set.count) / batch));
  return Array.from({ length: batches }, (_, i) => ({ [name]: sampleTensor(set, i * batch, batch) }));
}
