import type { LatencyResult } from '../../shared/types.js';
import { createSession, type Feeds } from '../runtime/ort.js';
import { syntheticFeeds } from '../runtime/feeds.js';
import type { Model } from '../ir/graph.js';
import * as path from 'node:path';

export type { LatencyResult } from '../../shared/types.js';

/**
 * Measured ONNX Runtime latency (graph optimisations on): warm-up, then the median and spread of timed runs.
 * `source` is a file, an IR model or serialised bytes; `model` supplies the input types for the synthetic feeds.
 */
export async function measureLatency(
  source: string | Model | Uint8Array,
  model: Model,
  inputShapes: Record<string, number[]>,
  opts: { runs?: number; warmup?: number; threads?: number; minTimeMs?: number; values?: Record<string, number> } = {},
): Promise<LatencyResult> {
  const runs = opts.runs ?? 20;
  const warmup = opts.warmup ?? 3;
  const threads = opts.threads ?? 0;
  const session = await createSession(source, { threads, optimization: 'all', externalDataDir: model.path ? path.dirname(model.path) : undefined });
  const feeds: Feeds = syntheticFeeds(model, inputShapes, 5, opts.values);
  try {
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const times: number[] = [];
    // at least `runs`, and enough of them to fill minTimeMs: sub-millisecond models need many for a stable median
    const start = performance.now();
    for (let i = 0; i < runs || (performance.now() - start < (opts.minTimeMs ?? 500) && i < 10000); i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
    return { medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), runs: times.length, warmup, threads, inputShapes };
  } finally {
    await session.release();
  }
}
