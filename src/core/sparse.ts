/**
 * Unstructured / N:M sparsification: zero weights (by magnitude, or from calibration data by Wanda or SparseGPT's
 * OBS), save, measure what it cost on held-out samples, and say plainly what it does not buy.
 */
import * as path from 'node:path';
import type { Metrics, SparsityMethod, SparsityReport } from '../shared/types.js';
import type { Analysis } from './analysis.js';
import type { CalibrationSet } from './data/calibration.js';
import { invalid } from './errors.js';
import { cloneModel, modelFiles } from './formats/index.js';
import { refuseInputs } from './util/outputs.js';
import { saveOnnx } from './formats/onnx/save.js';
import { checkNativeName, foreignSource } from './formats/foreign.js';
import { writeNative } from './formats/native-save.js';
import type { TaskOptions } from './progress.js';
import { outputs, splitForFit } from './recovery/index.js';
import { sparsifyWithData } from './recovery/obs.js';
import { compareOutput, describeOutput } from './sensitivity/metrics.js';
import { sparsify, type Sparsity } from './surgery/sparsify.js';

export type { SparsityReport } from '../shared/types.js';

export const SPARSITY_METHODS: SparsityMethod[] = ['magnitude', 'wanda', 'obs'];

export function checkSparsity(s: Sparsity, method: string = 'magnitude'): void {
  if (s.kind === 'unstructured' && !(s.ratio >= 0 && s.ratio < 1)) throw invalid('sparsity', `must be in [0, 1), got ${s.ratio}`);
  if (s.kind === 'nm' && !(Number.isInteger(s.n) && Number.isInteger(s.m) && s.n > 0 && s.n < s.m)) throw invalid('nm', 'needs whole numbers 0 < N < M, e.g. 2:4');
  if (!SPARSITY_METHODS.includes(method as SparsityMethod)) throw invalid('criterion', `for zeroing weights: one of ${SPARSITY_METHODS.join(', ')}, got '${method}'`);
}

const NOTE = 'Zeroed weights keep every tensor dense: the file is no smaller and ONNX Runtime\'s dense CPU kernels run no faster. ' +
  'Remove channels (a ratio or a plan) for real speed.';

/**
 * Zeroes weights of a copy of the analysed model and saves it to `out`. Wanda and OBS fit on `data` (3/4 of at most
 * 512 samples); with data, the result is judged on the other quarter against the dense model.
 */
export async function sparsifyModel(
  a: Analysis, out: string, s: Sparsity,
  opts: TaskOptions & { method?: SparsityMethod; data?: CalibrationSet; seed?: number; overwrite?: boolean; batch?: number } = {},
): Promise<SparsityReport> {
  if (foreignSource(a.model)) checkNativeName(a.model, out);
  const method = opts.method ?? 'magnitude';
  checkSparsity(s, method);
  const t0 = performance.now();
  const model = a.model;
  refuseInputs([out], modelFiles(model));
  const copy = cloneModel(model);
  const split = opts.data ? splitForFit(opts.data, opts.seed) : undefined;
  let layers: SparsityReport['layers'];
  let done = new Set<string>();
  if (method !== 'magnitude') {
    if (!split) throw invalid('data', `${method} chooses weights from calibration data: give --data`);
    const r = await sparsifyWithData(copy, a.shapes.inputs, split.fit, s, method, {
      seed: opts.seed, signal: opts.signal, batch: opts.batch,
      onLayer: (i, n) => opts.onProgress?.({ phase: 'sparsify', done: i, total: n, message: method }),
    });
    layers = r.layers;
    done = r.weights;
  }
  const rest = sparsify(copy, s, done);
  const zeroed = rest.zeroed + (layers ?? []).reduce((t, l) => t + l.zeroed, 0);
  const total = rest.total + (layers ?? []).reduce((t, l) => t + l.total, 0);
  let quality: SparsityReport['quality'];
  if (split) quality = await judge(a, copy, split.heldOut, opts.data!, split.fit);
  // a TF.js or Keras model is written in its own format (weights whose zeros left their quantisation grid as float32)
  const foreign = foreignSource(model);
  const saved = foreign
    ? { bytes: writeNative(await foreign.write(copy, path.basename(out)), out, { overwrite: opts.overwrite }).bytes, dataBytes: 0 }
    : saveOnnx(copy, out, { overwrite: opts.overwrite });
  return {
    input: model.path,
    output: path.resolve(out),
    sparsity: s,
    method,
    zeroedWeights: zeroed,
    weights: total,
    bytes: saved.bytes + (saved.dataBytes ?? 0),
    ...(layers ? { layers, magnitudeLayers: rest.tensors } : {}),
    ...(quality ? { quality } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ms: performance.now() - t0,
    note: NOTE,
  };
}

/** The dense and the sparse model's metrics on the held-out samples, against the dense outputs. */
async function judge(a: Analysis, sparse: typeof a.model, heldOut: CalibrationSet, all: CalibrationSet, fit: CalibrationSet): Promise<NonNullable<SparsityReport['quality']>> {
  const dir = a.model.path ? path.dirname(a.model.path) : undefined;
  const dense = await outputs(a.model, dir, heldOut);
  const ref = describeOutput(dense.name, dense.dims, dense.data);
  const metrics = async (d: Float32Array): Promise<Metrics> => compareOutput(ref, d, heldOut.labels);
  return {
    data: { fitted: fit === heldOut ? undefined : fit.description, judged: heldOut.description, synthetic: all.kind === 'synthetic' },
    dense: await metrics(dense.data),
    sparse: await metrics((await outputs(sparse, dir, heldOut)).data),
  };
}
