/** ONNX Runtime plumbing of a scan: batch size, dense runs with exposed values, stitching chunk outputs. */
import * as path from 'node:path';
import { sliceFeeds, type CalibrationSet } from '../data/calibration.js';
import { invalid, throwIfCancelled } from '../errors.js';
import { bytesPerElement } from '../ir/dtype.js';
import { maxRunBytes } from '../limits.js';
import type { Model } from '../ir/graph.js';
import { createSession, ort } from '../runtime/ort.js';
import { runtimeInputs } from '../shapes/inputs.js';
import type { ShapeResult } from '../shapes/types.js';
import { withOutputs } from './instrument.js';
import type { MaskArray } from './targets.js';

/** Activation memory one run may take when the user sets no batch. */
const RUN_BYTES = 256 * 2 ** 20;

/**
 * Samples per run: the user's choice, the model's fixed batch when its inputs declare one, or as many as fit
 * RUN_BYTES of activations (8…256): small models lose to per-run overhead in small batches, large ones are
 * bounded by memory.
 */
export function batchSize(model: Model, count: number, batch?: number, peakBytesPerSample = 0): number {
  const fixed = runtimeInputs(model).map((i) => i.shape?.[0]).find((d): d is number => typeof d === 'number' && d > 0);
  if (fixed !== undefined) {
    if (count % fixed) throw invalid('samples', `the model takes a fixed batch of ${fixed}: use a multiple of ${fixed} samples`);
    return fixed;
  }
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) throw invalid('batch', `expects a whole number ≥ 1, got ${batch}`);
  return Math.min(batch ?? autoBatch(peakBytesPerSample), count);
}

export function autoBatch(peakBytesPerSample: number): number {
  // at least 8 for speed, unless 8 samples would not fit one run's memory limit
  const fit = Math.max(1, Math.floor(maxRunBytes() / Math.max(peakBytesPerSample, 1)));
  return Math.max(Math.min(8, fit), Math.min(256, Math.floor(RUN_BYTES / Math.max(peakBytesPerSample, 1))));
}

/** Bytes of one sample of a value; graph inputs cost nothing extra (the calibration set holds them). */
export function valueBytes(shapes: ShapeResult, value: string): number {
  if (value in shapes.inputs) return 0;
  const t = shapes.types.get(value);
  if (!t) return Infinity;
  const batch = Object.values(shapes.inputs)[0]?.[0] || 1;
  return (t.dims.reduce((a, b) => a * b, 1) / batch) * bytesPerElement(t.dtype);
}

/** The dense model over all chunks, returning its outputs and the `extra` intermediate values per chunk. */
export async function denseRun(
  model: Model,
  shapes: ShapeResult,
  data: CalibrationSet,
  chunks: number[][],
  extra: string[],
  threads: number,
  signal?: AbortSignal,
): Promise<Map<string, ort.Tensor[]>> {
  const session = await createSession(withOutputs(model, shapes, extra), {
    threads,
    externalDataDir: model.path ? path.dirname(model.path) : undefined,
  });
  const out = new Map<string, ort.Tensor[]>(session.outputNames.map((o) => [o, []]));
  try {
    for (const [start, n] of chunks) {
      throwIfCancelled(signal);
      const r = await session.run(sliceFeeds(data, start, n));
      for (const o of session.outputNames) out.get(o)!.push(r[o]);
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Chunk outputs stacked along axis 0, as float32. */
export function concatChunks(parts: ort.Tensor[]): { dims: number[]; data: Float32Array } {
  const total = parts.reduce((s, t) => s + t.size, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const t of parts) {
    data.set(toFloat32(t), o);
    o += t.size;
  }
  const first = parts[0].dims;
  return { dims: [parts.reduce((s, t) => s + (t.dims[0] ?? 1), 0), ...first.slice(1)], data };
}

export function maskType(m: MaskArray): 'float32' | 'float64' | 'float16' {
  return m instanceof Float64Array ? 'float64' : m instanceof Uint16Array ? 'float16' : 'float32';
}

/** `k` copies of a batch-first tensor stacked on axis 0 (the same samples for k steps in one run). */
export function tile(t: ort.Tensor, k: number): ort.Tensor {
  const d = t.data as Float32Array;
  const out = new (d.constructor as new (n: number) => Float32Array)(d.length * k);
  for (let j = 0; j < k; j++) out.set(d, j * d.length);
  return new ort.Tensor(t.type as 'float32', out, [t.dims[0] * k, ...t.dims.slice(1)]);
}

export function toFloat32(t: ort.Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
}
