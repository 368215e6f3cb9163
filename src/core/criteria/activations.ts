/**
 * Activation-based channel importance, from one memory-bounded pass over calibration data. For every prunable group
 * the pass watches the values where its channels are "fired": the outputs of the activation functions in the group
 * (else its normalised or source outputs), and keeps per channel:
 * - mean |activation| (`activation`), the variance (`variance`),
 * - APoZ, the average percentage of zeros after a ReLU-like activation (`apoz` scores 1 − APoZ: high = used),
 * - HRank (Lin et al. 2020), the average rank of each channel's feature map over the first samples (`hrank`).
 * A unit's score is the mean over the watched values that hold it.
 */
import type { CalibrationSet } from '../data/calibration.js';
import type { AnalysedModel } from './analysed.js';
import type { Group } from '../deps/analyze.js';
import { forEachChunk, samplesPerChunk } from '../recovery/capture.js';

export type ActivationCriterion = 'activation' | 'apoz' | 'variance' | 'hrank';
export const ACTIVATION_CRITERIA: ActivationCriterion[] = ['activation', 'apoz', 'variance', 'hrank'];

const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Gelu', 'PRelu', 'Softplus', 'Mish']);
/** Samples whose feature maps are ranked (the rank of an H×W map is O(HW·min(H,W)) to find). */
const HRANK_SAMPLES = 8;
/** Activation bytes one chunk of the pass may hold. */
export const CHUNK_BYTES = 256 * 2 ** 20;

export interface Watch {
  value: string;
  axis: number;
  /** group id and, per channel index of the value, the unit it belongs to */
  group: number;
  unitOf: Int32Array;
}

/** The values a group is watched at: its activation outputs, else its BatchNorm outputs, else its sources. */
export function watchesOf(a: AnalysedModel, group: Group): Watch[] {
  const g = a.model.graph;
  const unitOfElement = new Map<number, number>();
  group.units.forEach((els, u) => els.forEach((e) => unitOfElement.set(e, u)));
  const by = (pick: (op: string, source: boolean) => boolean) => group.spaces.filter((s) => {
    const p = g.producer(s.value);
    return !!p && pick(p.opType, s.source !== undefined) && a.shapes.types.get(s.value)?.dtype === 'float32';
  });
  const spaces = [by((op) => ACTIVATIONS.has(op)), by((op) => op === 'BatchNormalization'), by((_, source) => source)].find((l) => l.length) ?? [];
  return spaces.map((s) => ({
    value: s.value, axis: s.axis, group: group.id,
    unitOf: Int32Array.from({ length: s.size }, (_, i) => unitOfElement.get(s.base + i) ?? -1),
  }));
}

class ChannelStats {
  n = 0;
  readonly sum: Float64Array;
  readonly abs: Float64Array;
  readonly sq: Float64Array;
  readonly zeros: Float64Array;
  readonly rank: Float64Array;
  ranked = 0;
  constructor(readonly channels: number) {
    this.sum = new Float64Array(channels);
    this.abs = new Float64Array(channels);
    this.sq = new Float64Array(channels);
    this.zeros = new Float64Array(channels);
    this.rank = new Float64Array(channels);
  }
}

/** Per-unit scores of every prunable group under each activation criterion. */
export async function activationEvidence(
  a: AnalysedModel, data: CalibrationSet, opts: { signal?: AbortSignal; hrank?: boolean } = {},
): Promise<Map<ActivationCriterion, Map<number, Float64Array>>> {
  const groups = a.dep.groups.filter((g) => a.infos[g.id].prunable);
  const watches = groups.flatMap((grp) => watchesOf(a, grp));
  const values = [...new Set(watches.map((w) => w.value))];
  const stats = new Map<string, ChannelStats>();
  const batch = samplesPerChunk(a.shapes, values, CHUNK_BYTES);
  // each value is one space of one group: watched once per chunk
  const axisOf = new Map(watches.map((w) => [w.value, w.axis]));
  await forEachChunk(a.model, a.shapes, values, data, (chunk, start) => {
    for (const [value, axis] of axisOf) {
      const w = { value, axis };
      const t = chunk[w.value];
      const dims = t.dims;
      const c = dims[w.axis];
      let st = stats.get(w.value);
      if (!st) stats.set(w.value, (st = new ChannelStats(c)));
      const inner = dims.slice(w.axis + 1).reduce((x, y) => x * y, 1);
      const outer = dims.slice(0, w.axis).reduce((x, y) => x * y, 1);
      for (let o = 0; o < outer; o++) {
        for (let ch = 0; ch < c; ch++) {
          const base = (o * c + ch) * inner;
          let s = 0;
          let ab = 0;
          let q = 0;
          let z = 0;
          for (let i = 0; i < inner; i++) {
            const x = t.data[base + i];
            s += x;
            ab += Math.abs(x);
            q += x * x;
            if (x === 0) z++;
          }
          st.sum[ch] += s;
          st.abs[ch] += ab;
          st.sq[ch] += q;
          st.zeros[ch] += z;
        }
      }
      st.n += outer * inner;
      // HRank: ranks of the H×W maps of the first samples (rank-4 NCHW values only)
      if (opts.hrank !== false && dims.length === 4 && w.axis === 1) {
        for (let sIdx = 0; sIdx < dims[0] && start + sIdx < HRANK_SAMPLES; sIdx++) {
          for (let ch = 0; ch < c; ch++) st.rank[ch] += matrixRank(t.data.subarray((sIdx * c + ch) * inner, (sIdx * c + ch + 1) * inner), dims[2], dims[3]);
        }
        st.ranked += Math.max(0, Math.min(dims[0], HRANK_SAMPLES - start));
      }
    }
  }, { batch, signal: opts.signal });
  const out = new Map<ActivationCriterion, Map<number, Float64Array>>(ACTIVATION_CRITERIA.map((k) => [k, new Map()]));
  for (const grp of groups) {
    const n = grp.units.length;
    const acc = Object.fromEntries(ACTIVATION_CRITERIA.map((k) => [k, new Float64Array(n)])) as Record<ActivationCriterion, Float64Array>;
    const count = new Float64Array(n);
    for (const w of watches.filter((x) => x.group === grp.id)) {
      const st = stats.get(w.value)!;
      for (let ch = 0; ch < st.channels; ch++) {
        const u = w.unitOf[ch];
        if (u < 0) continue;
        const mean = st.sum[ch] / st.n;
        acc.activation[u] += st.abs[ch] / st.n;
        acc.variance[u] += Math.max(0, st.sq[ch] / st.n - mean * mean);
        acc.apoz[u] += 1 - st.zeros[ch] / st.n;
        acc.hrank[u] += st.ranked ? st.rank[ch] / st.ranked : st.abs[ch] / st.n;
        count[u]++;
      }
    }
    for (const k of ACTIVATION_CRITERIA) {
      for (let u = 0; u < n; u++) acc[k][u] = count[u] ? acc[k][u] / count[u] : 0;
      out.get(k)!.set(grp.id, acc[k]);
    }
  }
  return out;
}

/** Numerical rank of an h×w matrix (row-major) by Gaussian elimination with partial pivoting. */
export function matrixRank(m: ArrayLike<number>, h: number, w: number): number {
  const a = Float64Array.from(m as ArrayLike<number>);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]));
  if (max === 0) return 0;
  const eps = max * Math.max(h, w) * 1e-6;
  let rank = 0;
  let row = 0;
  for (let col = 0; col < w && row < h; col++) {
    let p = row;
    for (let r = row + 1; r < h; r++) if (Math.abs(a[r * w + col]) > Math.abs(a[p * w + col])) p = r;
    if (Math.abs(a[p * w + col]) <= eps) continue;
    if (p !== row) for (let k = col; k < w; k++) [a[p * w + k], a[row * w + k]] = [a[row * w + k], a[p * w + k]];
    const pivot = a[row * w + col];
    for (let r = row + 1; r < h; r++) {
      const f = a[r * w + col] / pivot;
      if (f === 0) continue;
      for (let k = col; k < w; k++) a[r * w + k] -= f * a[row * w + k];
    }
    row++;
    rank++;
  }
  return rank;
}
