/** Accuracy of a classifier on labelled samples. */
import type { CalibrationSet } from './data/calibration.js';
import { sliceFeeds } from './data/calibration.js';
import { PruneLensError } from './errors.js';
import type { Model } from './ir/graph.js';
import { accuracy } from './sensitivity/metrics.js';
import { createSession } from './runtime/ort.js';
import * as path from 'node:path';

export interface Accuracy {
  samples: number;
  top1: number;
  top5: number;
}

/**
 * Top-1/top-5 accuracy of a classifier (first output = logits [N, classes]) on a labelled set; `source` is a file,
 * an IR model or serialised bytes (external data then resolves against `externalDataDir`).
 */
export async function evaluateAccuracy(
  source: Model | Uint8Array | string, set: CalibrationSet, opts: { batch?: number; externalDataDir?: string } = {},
): Promise<Accuracy> {
  if (!set.labels) throw new PruneLensError('accuracy needs labelled data', { option: 'labels' });
  const session = await createSession(source, {
    externalDataDir: opts.externalDataDir ?? (typeof source === 'object' && !(source instanceof Uint8Array) && source.path ? path.dirname(source.path) : undefined),
  });
  const batch = opts.batch ?? 64;
  try {
    let top1 = 0;
    let top5 = 0;
    for (let s = 0; s < set.count; s += batch) {
      const n = Math.min(batch, set.count - s);
      const out = (await session.run(sliceFeeds(set, s, n)))[session.outputNames[0]];
      if (out.dims.length !== 2 || out.dims[0] !== n) {
        throw new PruneLensError(`accuracy needs a classifier output [N, classes], got ${out.dims.join('x')}`, { code: 'unsupported' });
      }
      const r = accuracy(out.data as Float32Array, out.dims[1], set.labels.subarray(s, s + n));
      top1 += r.accuracy * n;
      top5 += r.top5 * n;
    }
    return { samples: set.count, top1: top1 / set.count, top5: top5 / set.count };
  } finally {
    await session.release();
  }
}
