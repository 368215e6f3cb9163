import { PruneLensError } from './errors.js';
import type { LabelledSet } from './data/labelled.js';
import { sampleTensor } from './runtime/feeds.js';
import { createSession } from './runtime/ort.js';
import { runtimeInputs } from './shapes/inputs.js';
import type { Model } from './ir/graph.js';

export interface Accuracy {
  samples: number;
  top1: number;
  top5: number;
}

/** Top-1/top-5 accuracy of a classifier (first output = logits [N, classes]) on labelled samples. */
export async function evaluateAccuracy(model: Model | string, set: LabelledSet, batch = 64): Promise<Accuracy> {
  const session = await createSession(model);
  try {
    const inputName = typeof model === 'string' ? session.inputNames[0] : runtimeInputs(model)[0].name;
    let top1 = 0;
    let top5 = 0;
    for (let s = 0; s < set.count; s += batch) {
      const n = Math.min(batch, set.count - s);
      const out = (await session.run({ [inputName]: sampleTensor(set, s, n) }))[session.outputNames[0]];
      if (out.dims.length !== 2 || out.dims[0] !== n) {
        throw new PruneLensError(`accuracy needs a classifier output [N, classes], got ${out.dims.join('x')}`);
      }
      const k = out.dims[1];
      const logits = out.data as Float32Array;
      for (let i = 0; i < n; i++) {
        const row = logits.subarray(i * k, (i + 1) * k);
        const label = set.labels[s + i];
        const better = row.reduce((c, v) => c + (v > row[label] ? 1 : 0), 0);
        if (better === 0) top1++;
        if (better < 5) top5++;
      }
    }
    return { samples: set.count, top1: top1 / set.count, top5: top5 / set.count };
  } finally {
    await session.release();
  }
}
