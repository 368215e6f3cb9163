import type { LatencyResult } from '../../shared/types.js';
import { createSession, type Feeds, type Session } from '../runtime/ort.js';
import { syntheticFeeds } from '../runtime/feeds.js';
import type { Model } from '../ir/graph.js';
import type { HostFeeds, Runner } from '../runtime/backend.js';
import * as path from 'node:path';

export type { LatencyResult } from '../../shared/types.js';

export interface LatencyOptions {
  /** Exactly this many timed runs; absent: at least 20, and as many as fill `minTimeMs`. */
  runs?: number;
  warmup?: number;
  /** Intra-op threads: 1 by default, so numbers compare across machines and runs; 0 = all cores. */
  threads?: number;
  minTimeMs?: number;
  values?: Record<string, number>;
}

type Source = string | Model | Uint8Array;

/**
 * Measured ONNX Runtime latency (graph optimisations on) of one or more models on the same inputs: warm-up, then
 * timed runs taken in turn (A, B, A, B, …) so that a machine getting busier or cooler affects both alike; the
 * median and spread of each. `model` supplies the input types for the synthetic feeds.
 */
export async function measureLatencies(sources: Source[], model: Model, inputShapes: Record<string, number[]>, opts: LatencyOptions = {}): Promise<LatencyResult[]> {
  const threads = opts.threads ?? 1;
  const externalDataDir = model.path ? path.dirname(model.path) : undefined;
  const sessions: Session[] = [];
  try {
    for (const s of sources) sessions.push(await createSession(s, { threads, optimization: 'all', externalDataDir }));
    const feeds: Feeds = syntheticFeeds(model, inputShapes, 5, opts.values);
    const r = await timeInTurn(sessions.map((s) => () => s.run(feeds)), opts);
    return r.map((x) => ({ ...x, threads, inputShapes, backend: 'onnxruntime (cpu)' }));
  } finally {
    for (const s of sessions) await s.release();
  }
}

/**
 * Latency of models loaded by any backend (TF.js runs TF.js and Keras models as their own files), measured as
 * measureLatencies does. `threads` is what the backend was set to (reported only).
 */
export async function measureRunners(runners: Runner[], feeds: HostFeeds, inputShapes: Record<string, number[]>, opts: LatencyOptions = {}): Promise<LatencyResult[]> {
  const r = await timeInTurn(runners.map((x) => () => x.run(feeds)), opts);
  return r.map((x, i) => ({ ...x, threads: opts.threads ?? 0, inputShapes, backend: runners[i].backend }));
}

/** Warm-up, then timed runs taken in turn (A, B, A, B, …); median and spread of each. */
async function timeInTurn(runs: (() => Promise<unknown>)[], opts: LatencyOptions): Promise<{ medianMs: number; p10Ms: number; p90Ms: number; runs: number; warmup: number }[]> {
  const warmup = opts.warmup ?? 3;
  for (const run of runs) for (let i = 0; i < warmup; i++) await run();
  const times: number[][] = runs.map(() => []);
  const start = performance.now();
  const minTime = opts.runs === undefined ? opts.minTimeMs ?? 1000 : 0;
  const least = opts.runs ?? 20;
  // sub-millisecond models need many runs for a stable median
  for (let i = 0; i < least || (performance.now() - start < minTime && i < 100_000); i++) {
    for (const [k, run] of runs.entries()) {
      const t = performance.now();
      await run();
      times[k].push(performance.now() - t);
    }
  }
  return times.map((ts) => {
    ts.sort((a, b) => a - b);
    const at = (q: number) => ts[Math.min(ts.length - 1, Math.floor(q * ts.length))];
    return { medianMs: at(0.5), p10Ms: at(0.1), p90Ms: at(0.9), runs: ts.length, warmup };
  });
}

/** Latency of one model (see measureLatencies). */
export async function measureLatency(source: Source, model: Model, inputShapes: Record<string, number[]>, opts: LatencyOptions = {}): Promise<LatencyResult> {
  return (await measureLatencies([source], model, inputShapes, opts))[0];
}
