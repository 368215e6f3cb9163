/**
 * ThiNet (Luo et al. 2017, "ThiNet: A Filter Level Pruning Method for Deep Neural Network Compression"): a group's
 * channels are judged by what removing them does to the next layers' outputs. On calibration data, output entries
 * of each consumer layer (consumers.ts) are sampled: an output channel o at a position of a sample. Per entry, input
 * channel c contributes x̂_c = Σ_k W[o,c,k]·X[c,k] (the kernel taps over that channel's patch; for Gemm/MatMul the
 * weights of the features it feeds). The greedy (greedy.ts) then removes first the units whose joint removal moves
 * the sampled entries least; a group's consumers' entries are pooled. Groups ThiNet cannot measure are scored by L1,
 * with the reason.
 */
import type { CalibrationSet } from '../data/calibration.js';
import type { Group } from '../deps/analyze.js';
import { forEachChunk, samplesPerChunk, type Captured } from '../recovery/capture.js';
import { convGeometry, convRows, sampleRows, type ConvGeometry } from '../recovery/im2col.js';
import { rng } from '../util/random.js';
import { CHUNK_BYTES } from './activations.js';
import type { AnalysedModel } from './analysed.js';
import { consumersOf, type Consumer } from './consumers.js';
import { greedyRemovalOrder, scoresFromOrder } from './greedy.js';

/** Units × sampled entries one group may hold (float32): 64 MB. */
const MAX_CELLS = 16 << 20;
/** Greedy work per group, units² × entries: the greedy is O(units) steps of O(units · entries) (~2 s in JavaScript). */
const MAX_WORK = 2 ** 31;
/** Entries per group: enough that the sampled error stands for the layer's (the paper samples 10 per image). */
const MAX_ROWS = 8192;
/** Entries a group gets even when its width would allow fewer under MAX_WORK (never above MAX_CELLS). */
const MIN_ROWS = 256;
/** Patches unfolded at once (entries × patch features, float32). */
const PATCH_ROWS = 256;

export interface ThinetEvidence {
  scores: Map<number, Float64Array>;
  /** Groups scored by L1 instead, and why. */
  fallback: Map<number, string>;
  /** Sampled output entries per group. */
  rows: Map<number, number>;
}

/** One consumer's sampled output entries: position p (over all samples) and output channel o, in order of p. */
interface Sampler {
  consumer: Consumer;
  /** Where this consumer's entries start in its group's rows. */
  offset: number;
  positions: Int32Array;
  channels: Int32Array;
  /** Output positions per sample. */
  perSample: number;
  /** The next entry not yet computed (chunks come in sample order). */
  next: number;
  /** The group's x̂ (unit-major) and its number of rows. */
  xhat: Float32Array;
  stride: number;
  weight: Float32Array;
  /** conv: geometry and output size; dense: (transB) the weight is [O, K], and Gemm's alpha */
  geo?: ConvGeometry;
  out: number[];
  transB: boolean;
  alpha: number;
}

export async function thinetEvidence(
  a: AnalysedModel, data: CalibrationSet, opts: { seed?: number; signal?: AbortSignal } = {},
): Promise<ThinetEvidence> {
  const out: ThinetEvidence = { scores: new Map(), fallback: new Map(), rows: new Map() };
  const samplers: Sampler[] = [];
  const groups: { group: Group; xhat: Float32Array; rows: number }[] = [];
  for (const group of a.dep.groups.filter((g) => a.infos[g.id].prunable)) {
    const found = consumersOf(a, group);
    if ('reason' in found) {
      out.fallback.set(group.id, found.reason);
      continue;
    }
    const units = group.units.length;
    const budget = Math.min(Math.max(MIN_ROWS, Math.min(MAX_ROWS, Math.floor(MAX_WORK / (units * units)))), Math.floor(MAX_CELLS / units));
    const share = Math.floor(budget / found.consumers.length);
    const made = found.consumers.map((c, i) => samplerFor(a, c, data.count, share, rng((opts.seed ?? 1) * 7919 + group.id * 131 + i)));
    const rows = made.reduce((s, m) => s + m.positions.length, 0);
    const xhat = new Float32Array(units * rows);
    let offset = 0;
    for (const m of made) {
      samplers.push({ ...m, offset, xhat, stride: rows });
      offset += m.positions.length;
    }
    groups.push({ group, xhat, rows });
  }
  const values = [...new Set(samplers.map((s) => s.consumer.input))];
  if (values.length) {
    await forEachChunk(a.model, a.shapes, values, data, (chunk, start, n) => {
      for (const s of samplers) accumulate(s, chunk[s.consumer.input], start, n);
    }, { batch: samplesPerChunk(a.shapes, values, CHUNK_BYTES), signal: opts.signal });
  }
  for (const { group, xhat, rows } of groups) {
    const candidates = group.units.map((_, u) => u).filter((u) => !group.pinned.has(u));
    out.scores.set(group.id, scoresFromOrder(greedyRemovalOrder(xhat, group.units.length, rows, candidates), group.units.length));
    out.rows.set(group.id, rows);
  }
  return out;
}

/** Samples `want` output entries of a consumer over `count` samples (fewer when it has fewer). */
function samplerFor(a: AnalysedModel, c: Consumer, count: number, want: number, r: () => number): Omit<Sampler, 'offset' | 'xhat' | 'stride'> {
  const node = c.node;
  const w = a.model.graph.constant(node.inputs[1])!;
  const x = a.shapes.types.get(c.input)!.dims;
  const y = a.shapes.types.get(node.outputs[0])!.dims;
  const transB = node.opType === 'Gemm' && node.int('transB', 0) === 1;
  const outChannels = c.kind === 'conv' ? w.dims[0] : transB ? w.dims[0] : w.dims[1];
  const perSample = c.kind === 'conv' ? y[2] * y[3] : x.slice(1, -1).reduce((p, q) => p * q, 1);
  const positions = count * perSample;
  let sampled: { positions: Int32Array; channels: Int32Array };
  if (positions * outChannels < 2 ** 31) {
    // entries (position, channel) drawn together: a Dense layer has one position per sample, but many channels
    const e = sampleRows(positions * outChannels, want, r);
    sampled = { positions: e.map((i) => Math.floor(i / outChannels)), channels: e.map((i) => i % outChannels) };
  } else {
    // too many to index in 32 bits: distinct positions, a random channel at each
    const p = sampleRows(positions, want, r);
    sampled = { positions: p, channels: p.map(() => Math.floor(r() * outChannels)) };
  }
  return {
    consumer: c, perSample, next: 0, ...sampled,
    weight: w.toFloat32(),
    geo: c.kind === 'conv' ? convGeometry(node, w.dims, x) : undefined,
    out: y,
    transB,
    alpha: node.opType === 'Gemm' ? node.float('alpha', 1) : 1,
  };
}

/** Adds the contributions of the sampler's entries that lie in this chunk (samples start … start+n−1). */
function accumulate(s: Sampler, x: { dims: readonly number[]; data: Float32Array }, start: number, n: number): void {
  const first = s.next;
  const base = start * s.perSample;
  while (s.next < s.positions.length && s.positions[s.next] < (start + n) * s.perSample) s.next++;
  if (s.next === first) return;
  if (s.consumer.kind === 'conv') convContributions(s, { dims: [...x.dims], data: x.data }, first, s.next, base);
  else denseContributions(s, x.data, first, s.next, base);
}

/** Conv entries first … end−1: each input channel's kernel taps times its patch, from im2col rows per conv-group. */
function convContributions(s: Sampler, x: Captured, first: number, end: number, base: number): void {
  const geo = s.geo!;
  const taps = geo.kh * geo.kw;
  const d = geo.cg * taps;
  const perGroup = s.weight.length / d / geo.groups;
  const [, , ho, wo] = s.out;
  for (let grp = 0; grp < geo.groups; grp++) {
    // the entries whose output channel reads this conv-group's inputs
    const mine: number[] = [];
    for (let k = first; k < end; k++) if (Math.floor(s.channels[k] / perGroup) === grp) mine.push(k);
    for (let at = 0; at < mine.length; at += PATCH_ROWS) {
      const batch = mine.slice(at, at + PATCH_ROWS);
      const A = convRows(x, geo, grp, batch.map((k) => s.positions[k] - base), ho, wo, false);
      batch.forEach((k, i) => {
        const wrow = s.channels[k] * d;
        for (let c = 0; c < geo.cg; c++) {
          const u = s.consumer.unitOf[grp * geo.cg + c];
          if (u < 0) continue;
          let v = 0;
          for (let t = 0, f = c * taps; t < taps; t++, f++) v += s.weight[wrow + f] * A[i * d + f];
          s.xhat[u * s.stride + s.offset + k] += v;
        }
      });
    }
  }
}

/** Gemm/MatMul entries first … end−1: each feature times its weight, summed per unit. */
function denseContributions(s: Sampler, x: Float32Array, first: number, end: number, base: number): void {
  const unitOf = s.consumer.unitOf;
  const K = unitOf.length;
  const O = s.weight.length / K;
  for (let k = first; k < end; k++) {
    const row = (s.positions[k] - base) * K;
    const o = s.channels[k];
    for (let f = 0; f < K; f++) {
      const u = unitOf[f];
      if (u < 0) continue;
      s.xhat[u * s.stride + s.offset + k] += s.alpha * s.weight[s.transB ? o * K + f : f * O + o] * x[row + f];
    }
  }
}
