/**
 * How far a modified model's outputs are from the dense model's on the same samples. Classifier outputs ([N, K],
 * or [N, T, K] per position) get top-1 agreement and KL of the softmax; every output gets relative L2 error and
 * cosine similarity; labels add accuracy and top-5.
 */
import type { MetricName, Metrics } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';

export type { MetricName, Metrics } from '../../shared/types.js';
export const METRICS: MetricName[] = ['agreement', 'kl', 'rel-l2', 'cosine', 'accuracy', 'top5'];


export interface OutputRef {
  name: string;
  /** Dims for all samples stacked. */
  dims: number[];
  data: Float32Array;
  /** Class axis is the last one; undefined for dense maps (detectors, features). */
  classes?: number;
  /** The output is already a probability distribution (softmax inside the model). */
  probs: boolean;
}

/** True when higher values mean a better (less degraded) model. */
export function higherIsBetter(m: MetricName): boolean {
  return m === 'agreement' || m === 'cosine' || m === 'accuracy' || m === 'top5';
}

export function describeOutput(name: string, dims: number[], data: Float32Array): OutputRef {
  const k = dims[dims.length - 1];
  const classes = (dims.length === 2 || dims.length === 3) && k >= 2 ? k : undefined;
  let probs = false;
  if (classes) {
    probs = true;
    for (let r = 0; r < data.length / classes && probs; r++) {
      let s = 0;
      for (let j = 0; j < classes; j++) {
        const v = data[r * classes + j];
        if (v < 0) probs = false;
        s += v;
      }
      if (Math.abs(s - 1) > 1e-3) probs = false;
    }
  }
  return { name, dims, data, classes, probs };
}

/** Metrics of `y` (same layout as `ref.data`) against the dense reference. */
export function compareOutput(ref: OutputRef, y: Float32Array, labels?: Int32Array): Metrics {
  const n = ref.dims[0];
  const per = ref.data.length / n;
  let rel = 0;
  let cos = 0;
  for (let s = 0; s < n; s++) {
    let d2 = 0;
    let r2 = 0;
    let y2 = 0;
    let dot = 0;
    for (let i = s * per; i < (s + 1) * per; i++) {
      const a = ref.data[i];
      const b = y[i];
      d2 += (a - b) * (a - b);
      r2 += a * a;
      y2 += b * b;
      dot += a * b;
    }
    rel += Math.sqrt(d2) / Math.max(Math.sqrt(r2), 1e-12);
    cos += r2 === 0 && y2 === 0 ? 1 : dot / Math.max(Math.sqrt(r2 * y2), 1e-24);
  }
  const m: Metrics = { 'rel-l2': rel / n, cosine: cos / n };
  if (!ref.classes) return m;
  const k = ref.classes;
  const rows = ref.data.length / k;
  let agree = 0;
  let kl = 0;
  const p = new Float64Array(k);
  const q = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    const a = ref.data.subarray(r * k, (r + 1) * k);
    const b = y.subarray(r * k, (r + 1) * k);
    if (argmax(a) === argmax(b)) agree++;
    distribution(a, ref.probs, p);
    distribution(b, ref.probs, q);
    let d = 0;
    for (let j = 0; j < k; j++) if (p[j] > 0) d += p[j] * (Math.log(p[j]) - Math.log(Math.max(q[j], 1e-30)));
    kl += Math.max(d, 0);
  }
  m.agreement = agree / rows;
  m.kl = kl / rows;
  if (labels && ref.dims.length === 2) Object.assign(m, accuracy(y, k, labels));
  return m;
}

export function accuracy(logits: Float32Array, k: number, labels: Int32Array): { accuracy: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < k)) {
      throw new PruneLensError(`label ${labels[i]} of sample ${i} is not one of the model's ${k} classes (0…${k - 1})`, { option: 'labels' });
    }
    const row = logits.subarray(i * k, (i + 1) * k);
    const v = row[labels[i]];
    let better = 0;
    for (let j = 0; j < k; j++) if (row[j] > v) better++;
    if (better === 0) top1++;
    if (better < 5) top5++;
  }
  return { accuracy: top1 / labels.length, top5: top5 / labels.length };
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let j = 1; j < a.length; j++) if (a[j] > a[best]) best = j;
  return best;
}

function distribution(a: Float32Array, probs: boolean, out: Float64Array): void {
  if (probs) {
    for (let j = 0; j < a.length; j++) out[j] = a[j];
    return;
  }
  let max = -Infinity;
  for (let j = 0; j < a.length; j++) max = Math.max(max, a[j]);
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (out[j] = Math.exp(a[j] - max));
  for (let j = 0; j < a.length; j++) out[j] /= s;
}

/**
 * The degradation a plan minimises, ≥ 0 and 0 for the dense model: 1 − agreement, KL, relative L2, 1 − cosine,
 * or the drop in accuracy from the dense baseline.
 */
export function lossOf(metric: MetricName, m: Metrics, dense?: Metrics): number {
  switch (metric) {
    case 'agreement': return 1 - (m.agreement ?? 0);
    case 'kl': return m.kl ?? 0;
    case 'rel-l2': return m['rel-l2'];
    case 'cosine': return 1 - m.cosine;
    case 'accuracy': return (dense?.accuracy ?? 0) - (m.accuracy ?? 0);
    case 'top5': return (dense?.top5 ?? 0) - (m.top5 ?? 0);
  }
}

/**
 * The loss at which a metric says the output is gone, and what that means: agreement no better than chance,
 * KL of a uniform guess, a relative L2 error of 1 (the output zeroed or unrelated), cosine 0, accuracy at chance.
 */
export function lossCeiling(metric: MetricName, classes: number | undefined, dense: Metrics): { ceiling: number; meaning: string } {
  const k = classes ?? 0;
  switch (metric) {
    case 'agreement': return k ? { ceiling: 1 - 1 / k, meaning: `agreement no better than chance over ${k} classes` } : { ceiling: 1, meaning: 'no agreement' };
    case 'kl': return k ? { ceiling: Math.log(k), meaning: `as far as a uniform guess over ${k} classes` } : { ceiling: Infinity, meaning: 'unbounded' };
    case 'rel-l2': return { ceiling: 1, meaning: '1 means the output is zeroed or unrelated' };
    case 'cosine': return { ceiling: 1, meaning: '1 means the output is orthogonal to the dense one' };
    case 'accuracy': return { ceiling: Math.max(0, (dense.accuracy ?? 0) - (k ? 1 / k : 0)), meaning: 'accuracy at chance' };
    case 'top5': return { ceiling: Math.max(0, (dense.top5 ?? 0) - (k ? Math.min(1, 5 / k) : 0)), meaning: 'top-5 accuracy at chance' };
  }
}
