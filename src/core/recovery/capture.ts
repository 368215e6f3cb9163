/** Intermediate values of a model over calibration data: what recovery fits to and reads statistics from. */
import * as path from 'node:path';
import type { CalibrationSet } from '../data/calibration.js';
import { sliceFeeds } from '../data/calibration.js';
import { throwIfCancelled } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { createSession } from '../runtime/ort.js';
import { prefixWithOutputs, withOutputs } from '../sensitivity/instrument.js';
import { concatChunks } from '../sensitivity/runs.js';
import type { ShapeResult } from '../shapes/types.js';

export interface Captured {
  dims: number[];
  data: Float32Array;
}

/**
 * Runs `model` over all samples in chunks of `batch` and hands each chunk's named values to `visit`, so statistics
 * can be gathered in bounded memory. `shapes` gives the values' types (their ranks); one session, freed at the end.
 */
export async function forEachChunk(
  model: Model, shapes: ShapeResult, values: string[], data: CalibrationSet,
  visit: (chunk: Record<string, { dims: readonly number[]; data: Float32Array }>, start: number, n: number) => void,
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const session = await createSession(withOutputs(model, shapes, values), {
    optimization: 'basic', externalDataDir: model.path ? path.dirname(model.path) : undefined,
  });
  const batch = opts.batch ?? 64;
  try {
    for (let s = 0; s < data.count; s += batch) {
      throwIfCancelled(opts.signal);
      const n = Math.min(batch, data.count - s);
      const r = await session.run(sliceFeeds(data, s, n), values);
      visit(Object.fromEntries(values.map((v) => [v, { dims: r[v].dims, data: r[v].data as Float32Array }])), s, n);
    }
  } finally {
    await session.release();
  }
}

/**
 * How many samples one chunk of `forEachChunk` may take so that the named float32 values of a chunk hold at most
 * `bytes` (1 to 64): the values are read per sample, so their size per sample bounds the memory a pass needs.
 */
export function samplesPerChunk(shapes: ShapeResult, values: string[], bytes: number): number {
  const batch = Object.values(shapes.inputs)[0]?.[0] || 1;
  const perSample = values.reduce((s, v) => s + 4 * (shapes.types.get(v)!.dims.reduce((x, y) => x * y, 1) / batch), 0);
  return Math.max(1, Math.min(64, Math.floor(bytes / Math.max(perSample, 1))));
}

/**
 * Runs the part of `model` that computes the named values over all samples (in chunks of `batch`) and returns them
 * for all samples, stacked on axis 0. `shapes` gives the values' types (their ranks); one session, freed at the end.
 */
export async function capture(
  model: Model, shapes: ShapeResult, values: string[], data: CalibrationSet, opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<Map<string, Captured>> {
  const session = await createSession(prefixWithOutputs(model, shapes, values), {
    optimization: 'basic', externalDataDir: model.path ? path.dirname(model.path) : undefined,
  });
  const parts = new Map<string, Parameters<typeof concatChunks>[0]>(values.map((v) => [v, []]));
  const batch = opts.batch ?? 64;
  try {
    for (let s = 0; s < data.count; s += batch) {
      throwIfCancelled(opts.signal);
      const r = await session.run(sliceFeeds(data, s, Math.min(batch, data.count - s)), values);
      for (const v of values) parts.get(v)!.push(r[v]);
    }
  } finally {
    await session.release();
  }
  return new Map([...parts].map(([v, p]) => [v, concatChunks(p)]));
}

/** Per-channel mean and (biased) variance of a value along `axis` (1: [N, C, …]; −1: the last), over all other axes. */
export function channelMoments(v: Captured, axisIn = 1): { mean: Float64Array; variance: Float64Array } {
  const axis = axisIn < 0 ? v.dims.length + axisIn : axisIn;
  const c = v.dims[axis];
  const inner = v.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = v.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (o * c + ch) * inner;
      let s = 0;
      let q = 0;
      for (let i = 0; i < inner; i++) {
        const x = v.data[base + i];
        s += x;
        q += x * x;
      }
      sum[ch] += s;
      sq[ch] += q;
    }
  }
  const n = outer * inner;
  const mean = sum.map((s) => s / n);
  return { mean, variance: sq.map((q, i) => Math.max(0, q / n - mean[i] * mean[i])) };
}
