/**
 * Latency of TF.js and Keras models as their users run them: their own files (as read) in TF.js, on the same
 * synthetic inputs, runs taken in turn as measureLatencies takes them for ONNX models.
 */
import type { LatencyResult } from '../../shared/types.js';
import { foreignSource } from '../formats/foreign.js';
import type { Model } from '../ir/graph.js';
import { tfjsRunner, type Runner } from '../runtime/backend.js';
import { syntheticFeeds } from '../runtime/feeds.js';
import { ioNames, readNative } from '../surgery/verify-native.js';
import { measureRunners, type LatencyOptions } from './latency.js';

/** Whether every model can run in TF.js from its own files. */
export function runsInTfjs(models: Model[]): boolean {
  return models.every((m) => foreignSource(m) !== undefined);
}

export async function measureNativeLatencies(models: Model[], inputShapes: Record<string, number[]>, opts: LatencyOptions = {}): Promise<LatencyResult[]> {
  const runners: Runner[] = [];
  try {
    for (const m of models) {
      const source = foreignSource(m)!;
      runners.push(await tfjsRunner(await source.tfjs(readNative(source)), { ...ioNames(m), threads: opts.threads || undefined }));
    }
    const feeds = Object.fromEntries(Object.entries(syntheticFeeds(models[0], inputShapes, 5, opts.values)).map(([k, t]) => [k, { dims: [...t.dims], data: t.data as Float32Array }]));
    return await measureRunners(runners, feeds, inputShapes, opts);
  } finally {
    for (const r of runners) await r.release();
  }
}
