import * as path from 'node:path';
import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { readIdx } from './idx.js';
import { completePreprocess, normalise, type ImagePreprocess } from './preprocess.js';

/**
 * Samples of a data file, read on demand: the raw values stay as stored and only the samples a run chooses are
 * converted to model-ready float32.
 */
export interface SampleSource {
  /** Per-sample input shape without the batch dim, e.g. [1, 28, 28]. */
  dims: number[];
  count: number;
  labels?: Int32Array;
  /** Writes sample `i`, model-ready, into `out` (its length is the product of `dims`). */
  read(i: number, out: Float32Array): void;
}

export type Preprocess = Pick<ImagePreprocess, 'scale' | 'mean' | 'std'>;

/** Preprocessing from the model's metadata (mean/std keys), pixel scale 1/255 by default. */
export function preprocessFromModel(model: Model, overrides: Partial<Preprocess> = {}): Preprocess {
  const { scale, mean, std } = completePreprocess(model, overrides);
  return { scale, mean, std };
}

/** IDX images [N, H, W] (or [N, C, H, W], channels first) with IDX labels [N]. */
export function loadIdxSet(imagesFile: string, labelsFile: string, pre: Preprocess): SampleSource {
  const images = readIdx(imagesFile, 'data');
  const labels = readIdx(labelsFile, 'labels');
  const name = path.basename(imagesFile);
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new PruneLensError(`${name}: expected images [N, H, W] or [N, C, H, W], got ${images.dims.join('x')}`, { option: 'data' });
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new PruneLensError(`${path.basename(labelsFile)}: ${labels.dims.join('x')} labels do not match ${images.dims[0]} images`, { option: 'labels' });
  }
  const [n, ...rest] = images.dims;
  const dims = rest.length === 2 ? [1, ...rest] : rest;
  const channels = dims[0];
  const plane = dims[1] * dims[2];
  const per = channels * plane;
  return {
    dims,
    count: n,
    labels: Int32Array.from({ length: n }, (_, i) => labels.value(i)),
    read(i, out) {
      for (let k = 0; k < per; k++) out[k] = normalise(images.value(i * per + k), Math.floor(k / plane), pre);
    },
  };
}
