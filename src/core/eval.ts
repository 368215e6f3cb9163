/** Accuracy of a classifier on labelled samples. */
import type { CalibrationSet } from './data/calibration.js';
import { sliceFeeds } from './data/calibration.js';
import { PruneLensError } from './errors.js';
import type { Model } from './ir/graph.js';
import { accuracy, compareOutput, describeOutput } from './sensitivity/metrics.js';
import { concatChunks } from './sensitivity/runs.js';
import type { Analysis } from './analysis.js';
import type { Metrics } from '../shared/types.js';
import { createSession } from './runtime/ort.js';
import * as path from 'node:path';

export interface Accuracy {
  samples: number;
  top1: number;
  top5: number;
  /** Classes of the output (top-5 says nothing with 5 or fewer). */
  classes: number;
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
    let classes = 0;
    for (let s = 0; s < set.count; s += batch) {
      const n = Math.min(batch, set.count - s);
      const out = (await session.run(sliceFeeds(set, s, n)))[session.outputNames[0]];
      if (out.dims.length !== 2 || out.dims[0] !== n) {
        throw new PruneLensError(`accuracy needs a classifier output [N, classes], got ${out.dims.join('x')}`, { code: 'unsupported' });
      }
      classes = out.dims[1];
      const r = accuracy(out.data as Float32Array, classes, set.labels.subarray(s, s + n));
      top1 += r.accuracy * n;
      top5 += r.top5 * n;
    }
    return { samples: set.count, top1: top1 / set.count, top5: top5 / set.count, classes };
  } finally {
    await session.release();
  }
}

/** How closely `a`'s first output follows a reference model's on the same samples (the reference is the dense one). */
export async function outputFidelity(a: Analysis, referenceFile: string, set: CalibrationSet, batch = 32): Promise<Metrics> {
  const run = async (source: Model | string) => {
    const session = await createSession(source, { externalDataDir: typeof source === 'string' ? path.dirname(source) : path.dirname(a.model.path) });
    try {
      const parts = [];
      for (let s = 0; s < set.count; s += batch) {
        const r = await session.run(sliceFeeds(set, s, Math.min(batch, set.count - s)));
        parts.push(r[session.outputNames[0]]);
      }
      return concatChunks(parts);
    } finally {
      await session.release();
    }
  };
  const ref = await run(referenceFile);
  const mine = await run(a.model);
  if (ref.dims.join('x') !== mine.dims.join('x')) {
    throw new PruneLensError(`the reference's output is ${ref.dims.join('x')}, this model's ${mine.dims.join('x')}: not the same model`, { option: 'reference' });
  }
  return compareOutput(describeOutput(a.model.graph.outputs[0].name, ref.dims, ref.data), mine.data);
}
