import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { readIdx } from './idx.js';
import { completePreprocess, normalise, type ImagePreprocess } from './preprocess.js';

/** Labelled samples as model-ready float32 tensors (NCHW). */
export interface LabelledSet {
  /** Per-sample input shape without the batch dim, e.g. [1, 28, 28]. */
  sampleDims: number[];
  inputs: Float32Array;
  labels: Int32Array;
  count: number;
  description: string;
}

export type Preprocess = Pick<ImagePreprocess, 'scale' | 'mean' | 'std'>;

/** Preprocessing from the model's metadata (mean/std keys), pixel scale 1/255 by default. */
export function preprocessFromModel(model: Model, overrides: Partial<Preprocess> = {}): Preprocess {
  const { scale, mean, std } = completePreprocess(model, overrides);
  return { scale, mean, std };
}

/** IDX images [N, H, W] (or [N, C, H, W]) with IDX labels [N]. */
export function loadIdxSet(imagesFile: string, labelsFile: string, pre: Preprocess): LabelledSet {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length < 3) throw new PruneLensError(`${imagesFile}: expected images [N, H, W], got ${images.dims.join('x')}`);
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new PruneLensError(`${labelsFile}: ${labels.dims.join('x')} labels do not match ${images.dims[0]} images`);
  }
  const [n, ...rest] = images.dims;
  const sampleDims = rest.length === 2 ? [1, ...rest] : rest;
  const channels = sampleDims[0];
  const plane = sampleDims.slice(1).reduce((a, b) => a * b, 1);
  const inputs = new Float32Array(images.data.length);
  for (let i = 0; i < inputs.length; i++) {
    inputs[i] = normalise(images.data[i], Math.floor(i / plane) % channels, pre);
  }
  return {
    sampleDims,
    inputs,
    labels: Int32Array.from(labels.data),
    count: n,
    description: `${n} labelled samples from ${imagesFile}`,
  };
}
