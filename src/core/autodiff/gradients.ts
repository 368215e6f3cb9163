/** Runs a gradient graph over calibration data in chunks, handing each chunk's gradients and values to a visitor. */
import * as path from 'node:path';
import type { CalibrationSet } from '../data/calibration.js';
import { sliceFeeds } from '../data/calibration.js';
import { throwIfCancelled } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { createSession, ort, type Feeds } from '../runtime/ort.js';
import { buildGradientGraph, type GradientGraph, type GradientRequest } from './backward.js';

export interface GradientChunk {
  grads: Map<string, { dims: readonly number[]; data: Float32Array }>;
  values: Map<string, { dims: readonly number[]; data: Float32Array }>;
  start: number;
  n: number;
}

export interface GradientRun {
  graph: GradientGraph;
  run(data: CalibrationSet, visit: (c: GradientChunk) => void, opts?: { batch?: number; signal?: AbortSignal; teacher?: Teacher }): Promise<void>;
  release(): Promise<void>;
}

/** Builds the gradient graph of `model` for `req` and opens one ONNX Runtime session on it. */
/** Per-sample probabilities of a teacher (the dense model), `per` values each, in the data's sample order. */
export interface Teacher {
  per: number;
  data: Float32Array;
}

export async function gradientRun(model: Model, inputShapes: Record<string, number[]>, req: GradientRequest, threads = 0): Promise<GradientRun> {
  const graph = await buildGradientGraph(model, inputShapes, req);
  const session = await createSession(graph.bytes, { optimization: 'all', threads, externalDataDir: model.path ? path.dirname(model.path) : undefined });
  const fetch = [...graph.grads.values(), ...new Set(graph.values.values())];
  return {
    graph,
    async run(data, visit, opts = {}) {
      if (graph.labels && !data.labels) throw new Error('this gradient graph needs labels');
      const batch = opts.batch ?? 16;
      for (let s = 0; s < data.count; s += batch) {
        throwIfCancelled(opts.signal);
        const n = Math.min(batch, data.count - s);
        const feeds: Feeds = sliceFeeds(data, s, n);
        if (graph.labels) feeds[graph.labels] = new ort.Tensor('int64', BigInt64Array.from(data.labels!.subarray(s, s + n), (v) => BigInt(v)), [n]);
        if (graph.teacher) {
          const { per, data: t } = opts.teacher!;
          feeds[graph.teacher] = new ort.Tensor('float32', t.subarray(s * per, (s + n) * per), [n, per]);
        }
        const r = await session.run(feeds, fetch);
        const pick = (m: Map<string, string>) => new Map([...m].map(([k, o]) => [k, { dims: r[o].dims, data: r[o].data as Float32Array }]));
        visit({ grads: pick(graph.grads), values: pick(graph.values), start: s, n });
      }
    },
    release: () => session.release(),
  };
}
