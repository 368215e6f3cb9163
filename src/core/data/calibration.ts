/**
 * Calibration data for scans: model-ready tensors for N samples, optional labels, and an honest description.
 * Everything is loaded and checked against the model's inputs before any compute starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataKind, ImagePreprocess } from '../../shared/types.js';
import { invalid, PruneLensError } from '../errors.js';
import type { DType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { createSession, ort } from '../runtime/ort.js';
import { runtimeInputs } from '../shapes/inputs.js';
import { choose } from './choose.js';
import { loadImageFolder } from './images.js';
import { assertSamplesFit } from './budget.js';
import { loadIdxSet, type SampleSource } from './labelled.js';
import { loadNumpy } from './npy.js';
import { completePreprocess } from './preprocess.js';
import { excitingInputs, SYNTHETIC_DESCRIPTION, syntheticSamples, type SyntheticKind } from './synthetic.js';

export type { DataKind } from '../../shared/types.js';

export interface CalibrationOptions {
  /** Folder of images, .npy/.npz, IDX images file; none = synthetic Gaussian inputs. */
  data?: string;
  /** IDX or .npy labels (image folders take labels from sub-folder names, .npz from a `labels`/`y` array). */
  labels?: string;
  preprocess?: Partial<ImagePreprocess>;
  /** How many samples to use (a seeded, deterministic choice when the data has more; Infinity: all). */
  samples?: number;
  seed?: number;
  /** Values for integer inputs of synthetic samples. */
  inputValues?: Record<string, number>;
}

export interface CalibrationSet {
  kind: DataKind;
  count: number;
  /** One tensor per runtime input with the samples stacked on axis 0. */
  inputs: Record<string, ort.Tensor>;
  labels?: Int32Array;
  /** Class names when the data names them (image sub-folders). */
  classes?: string[];
  description: string;
}

export const DEFAULT_SAMPLES = 64;

/**
 * Per-sample shapes of the model's inputs, from the resolved input shapes (axis 0 is the batch). Models with a
 * fixed batch of B take B samples per run.
 */
export function sampleDims(inputShapes: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(inputShapes).map(([k, d]) => [k, d.slice(1)]));
}

export async function loadCalibration(
  model: Model,
  inputShapes: Record<string, number[]>,
  opts: CalibrationOptions = {},
): Promise<CalibrationSet> {
  const inputs = runtimeInputs(model);
  const want = opts.samples ?? DEFAULT_SAMPLES;
  if (!((Number.isInteger(want) || (want === Infinity && opts.data)) && want > 0)) throw invalid('samples', `expects a whole number ≥ 1, got ${opts.samples}`);
  if (!opts.data) {
    if (opts.labels) throw invalid('labels', 'labels need data to go with them');
    for (const d of Object.values(inputShapes)) assertSamplesFit(want, d.slice(1), 'samples', 'synthetic samples');
    return syntheticSet(model, inputShapes, want, opts.seed ?? 1, opts.inputValues);
  }
  const file = opts.data;
  let isFolder: boolean;
  try {
    isFolder = fs.statSync(file).isDirectory();
  } catch {
    throw new PruneLensError(`${file}: no such file or folder`, { code: 'file-not-found', option: 'data' });
  }
  if (inputs.length !== 1) {
    throw invalid('data', `data feeds one input, but the model has ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`);
  }
  const input = inputs[0];
  const dims = inputShapes[input.name].slice(1);
  const pre = completePreprocess(model, opts.preprocess ?? {});
  const per = dims.reduce((a, b) => a * b, 1);
  let set: { kind: DataKind; count: number; labels?: Int32Array; classes?: string[] };
  let chosen: number[];
  let out: Float32Array;
  if (isFolder) {
    // an image folder decodes only the samples it chooses
    const images = await loadImageFolder(file, dims, pre, { samples: want, seed: opts.seed ?? 1 });
    set = { kind: 'images', ...images };
    chosen = Array.from({ length: images.count }, (_, i) => i);
    out = conform(images.data, images.dims, dims, input.name, file);
  } else {
    let source: SampleSource;
    if (/\.npz$/i.test(file) || /\.npy$/i.test(file)) {
      source = await loadNumpy(file, opts.labels, input.name);
      set = { kind: /\.npz$/i.test(file) ? 'npz' : 'npy', ...source };
    } else {
      if (!opts.labels) throw invalid('labels', `${path.basename(file)}: IDX images need an IDX labels file`);
      source = loadIdxSet(file, opts.labels, pre);
      set = { kind: 'idx', ...source };
    }
    conform(undefined, source.dims, dims, input.name, file);
    chosen = choose(source.count, want, opts.seed ?? 1);
    // only the chosen samples become float32
    assertSamplesFit(chosen.length, dims);
    out = new Float32Array(chosen.length * per);
    chosen.forEach((s, i) => source.read(s, out.subarray(i * per, (i + 1) * per)));
  }
  const labels = set.labels && !isFolder ? Int32Array.from(chosen, (s) => set.labels![s]) : set.labels;
  return {
    kind: set.kind,
    count: chosen.length,
    inputs: { [input.name]: new ort.Tensor(dtypeOf(input.dtype), out, [chosen.length, ...dims]) },
    labels,
    classes: set.classes,
    description:
      `${chosen.length} ${labels ? 'labelled' : 'unlabelled'} samples` +
      (chosen.length < set.count ? ` (seeded choice of ${set.count})` : '') + ` from ${path.basename(file)} (${set.kind})`,
  };
}

function dtypeOf(d: DType): 'float32' {
  if (d !== 'float32') throw new PruneLensError(`data feeds float32 inputs; this model's input is ${d}`, { code: 'unsupported', option: 'data' });
  return d;
}

/**
 * Synthetic samples of the kind that makes the model say the most (noise leaves many trained models silent; pseudo-
 * text images excite detectors and classifiers), decided on a few samples before all are made.
 */
async function syntheticSet(model: Model, inputShapes: Record<string, number[]>, count: number, seed: number, values?: Record<string, number>): Promise<CalibrationSet> {
  const session = await createSession(model, { optimization: 'basic' });
  let kind: SyntheticKind;
  try {
    ({ kind } = await excitingInputs(model, (f) => session.run(f), inputShapes, { seeds: [seed], values }));
  } finally {
    await session.release();
  }
  return {
    kind: 'synthetic',
    count,
    inputs: syntheticSamples(model, inputShapes, kind, count, seed, values),
    description: `${count} samples of ${SYNTHETIC_DESCRIPTION[kind]} (seed ${seed})`,
  };
}

/** Accepts data whose per-sample dims equal the model's, or hold the same elements in the same order (e.g. HxW vs 1xHxW). */
function conform<T extends Float32Array | undefined>(data: T, have: number[], want: number[], name: string, file: string): T {
  const n = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const squeeze = (d: number[]) => d.filter((x) => x !== 1).join('x');
  if (have.join('x') === want.join('x') || (n(have) === n(want) && squeeze(have) === squeeze(want))) return data;
  throw new PruneLensError(
    `${path.basename(file)}: samples are ${have.join('x')}, but input '${name}' takes ${want.join('x')} per sample ` +
      '(set the input shape for a dynamic input, or crop=HxW in the preprocessing)',
    { code: 'bad-input', option: 'inputShapes' },
  );
}

/** Feeds for samples [start, start + n) (views, no copy). */
export function sliceFeeds(set: CalibrationSet, start: number, n: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(set.inputs)) {
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = (t.data as Float32Array).subarray(start * per, (start + n) * per);
    out[name] = new ort.Tensor(t.type as 'float32', data as Float32Array, [n, ...t.dims.slice(1)]);
  }
  return out;
}
