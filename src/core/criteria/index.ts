import { rng } from '../util/random.js';
import type { Graph } from '../ir/graph.js';
import { memorySource, Tensor as TensorClass, type Tensor } from '../ir/tensor.js';
import type { Group } from '../deps/analyze.js';
import type { ParamSlice } from '../deps/types.js';

/**
 * Data-free channel importance. Every criterion scores each *unit* of a group (a set of channels removed
 * together) from the group's members, so a residual group is ranked on all its layers at once.
 */
import type { CriterionName, Reduction } from '../../shared/types.js';

export type { CriterionName, Reduction } from '../../shared/types.js';
/** Criteria that read only the weights. */
export const DATA_FREE: CriterionName[] = ['l1', 'l2', 'fpgm', 'bn', 'lamp', 'random'];
/** Criteria computed from the model run on calibration data (activations.ts, gradient.ts, thinet.ts); synflow runs on ones. */
export const DATA_AWARE: CriterionName[] = ['activation', 'apoz', 'variance', 'hrank', 'taylor', 'snip', 'grasp', 'synflow', 'obd', 'thinet'];
export const CRITERIA: CriterionName[] = [...DATA_FREE, ...DATA_AWARE];

export const needsData = (c: CriterionName | undefined): boolean => !!c && DATA_AWARE.includes(c);

export interface ScoreOptions {
  reduce?: Reduction;
  seed?: number;
}

/** Scores per unit (higher = more important), and the criterion actually used (bn falls back to l1 without BN). */
export function scoreGroup(
  graph: Graph,
  group: Group,
  criterion: CriterionName,
  opts: ScoreOptions = {},
): { scores: Float64Array; used: CriterionName } {
  const n = group.units.length;
  if (needsData(criterion)) throw new Error(`criterion ${criterion} scores from calibration data: the analysis must be prepared with it first`);
  if (criterion === 'random') {
    const r = rng((opts.seed ?? 1) * 7919 + group.id);
    return { scores: Float64Array.from({ length: n }, r), used: 'random' };
  }
  if (criterion === 'bn') {
    const gammas = group.params.filter((p) => p.role === 'norm' && isBnScale(graph, p));
    if (gammas.length) return { scores: reduceMembers(graph, group, gammas, (v) => Math.abs(v[0]), 'mean', false), used: 'bn' };
    criterion = 'l1';
  }
  const weights = group.params.filter((p) => p.role === 'out' || p.role === 'in');
  const members = weights.length ? weights : group.params;
  const reduction = opts.reduce ?? 'mean';
  if (criterion === 'fpgm') return { scores: fpgm(graph, group, members.filter((p) => p.role === 'out'), reduction), used: 'fpgm' };
  if (criterion === 'lamp') return { scores: lamp(graph, group, members, reduction), used: 'lamp' };
  const per = members.map((p) => {
    const { l1, l2sq } = channelNorms(graph, p, group.spaces.find((x) => x.id === p.space)!.size);
    return { space: p.space, values: Array.from(criterion === 'l2' ? l2sq.map(Math.sqrt) : l1) };
  });
  return { scores: combine(group, per, reduction, true), used: criterion };
}

/**
 * Unit scores from per-weight saliencies (≥ 0, shaped like each member's weight: SNIP's |w·g|, OBD's ½F·w², …):
 * each member's saliencies summed per index of its member axis, then combined over the group as the L1 criterion
 * combines norms (each member normalised by its mean).
 */
export function scoreFromSaliency(graph: Graph, group: Group, saliency: Map<string, Float32Array>, reduction: Reduction = 'mean'): Float64Array {
  const members = group.params.filter((p) => (p.role === 'out' || p.role === 'in') && saliency.has(p.tensor));
  const shim = { constant: (name: string) => {
    const w = graph.constant(name);
    const v = saliency.get(name);
    return w && v ? new TensorClass(name, 'float32', [...w.dims], memorySource(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))) : undefined;
  } } as unknown as Graph;
  const per = members.map((p) => ({ space: p.space, values: Array.from(channelNorms(shim, p, group.spaces.find((x) => x.id === p.space)!.size).l1) }));
  return combine(group, per, reduction, true);
}

/**
 * Per (axis-0 index, axis-1 index) sums of |x| and x² of a tensor, computed once per tensor data: a weight is
 * scored as the filters of one group (axis 0) and as the input channels of another (axis 1).
 */
const blockSums = new WeakMap<Uint8Array, { abs: Float64Array; sq: Float64Array }>();

function sumsOf(t: Tensor): { abs: Float64Array; sq: Float64Array } {
  const key = t.bytes();
  const hit = t.inMemory ? blockSums.get(key) : undefined;
  if (hit) return hit;
  const data = t.toFloat32();
  const d0 = t.dims[0] ?? 1;
  const d1 = t.dims.length > 1 ? t.dims[1] : 1;
  const inner = t.dims.slice(2).reduce((a, b) => a * b, 1);
  const abs = new Float64Array(d0 * d1);
  const sq = new Float64Array(d0 * d1);
  for (let b = 0, k = 0; b < d0 * d1; b++) {
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < inner; j++, k++) {
      const x = data[k];
      s1 += Math.abs(x);
      s2 += x * x;
    }
    abs[b] = s1;
    sq[b] = s2;
  }
  const r = { abs, sq };
  if (t.inMemory) blockSums.set(key, r);
  return r;
}

/** L1 norm and squared L2 norm of each index's slice of a member tensor. */
export function channelNorms(graph: Graph, p: ParamSlice, spaceSize: number): { l1: Float64Array; l2sq: Float64Array } {
  const l1 = new Float64Array(spaceSize);
  const l2sq = new Float64Array(spaceSize);
  const t = graph.constant(p.tensor);
  if (!t) return { l1, l2sq };
  const dims = t.dims;
  if (p.axis <= 1) {
    const { abs, sq } = sumsOf(t);
    const d0 = dims[0] ?? 1;
    const d1 = dims.length > 1 ? dims[1] : 1;
    const blk = p.block;
    for (let a = 0, k = 0; a < d0; a++) {
      if (p.axis === 0) {
        let s1 = 0;
        let s2 = 0;
        for (let b = 0; b < d1; b++, k++) {
          s1 += abs[k];
          s2 += sq[k];
        }
        const i = blk === 1 ? a : Math.floor(a / blk);
        l1[i] += s1;
        l2sq[i] += s2;
      } else if (p.groups) {
        // grouped convolution: row a's columns are the input channels of its conv-group
        const off = Math.floor(a / (d0 / p.groups)) * d1;
        for (let b = 0; b < d1; b++, k++) {
          l1[off + b] += abs[k];
          l2sq[off + b] += sq[k];
        }
      } else if (blk === 1) {
        for (let b = 0; b < d1; b++, k++) {
          l1[b] += abs[k];
          l2sq[b] += sq[k];
        }
      } else {
        for (let b = 0; b < d1; b++, k++) {
          l1[Math.floor(b / blk)] += abs[k];
          l2sq[Math.floor(b / blk)] += sq[k];
        }
      }
    }
    return { l1, l2sq };
  }
  const data = t.toFloat32();
  const outer = dims.slice(0, p.axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(p.axis + 1).reduce((a, b) => a * b, 1);
  const axisLen = dims[p.axis];
  for (let o = 0; o < outer; o++) {
    for (let a = 0; a < axisLen; a++) {
      const i = Math.floor(a / p.block);
      const base = (o * axisLen + a) * inner;
      for (let j = 0; j < inner; j++) {
        const x = data[base + j];
        l1[i] += Math.abs(x);
        l2sq[i] += x * x;
      }
    }
  }
  return { l1, l2sq };
}

function isBnScale(graph: Graph, p: ParamSlice): boolean {
  const node = graph.nodes.find((n) => n.name === p.node);
  return !!node && node.opType === 'BatchNormalization' && node.inputs[1] === p.tensor;
}

/** For each index of the member's space, the values of its slice of the tensor. */
export function memberSlices(graph: Graph, p: ParamSlice, spaceSize: number): Float32Array[] {
  const t = graph.constant(p.tensor);
  if (!t) return [];
  const data = t.toFloat32();
  const dims = t.dims;
  const outer = dims.slice(0, p.axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(p.axis + 1).reduce((a, b) => a * b, 1);
  const axisLen = dims[p.axis];
  const out: Float32Array[] = [];
  // grouped: index i is position i mod per of its own conv-group's rows only
  const groups = p.groups ?? 1;
  const per = spaceSize / groups;
  const rows = outer / groups;
  for (let i = 0; i < spaceSize; i++) {
    const v = new Float32Array(rows * inner * p.block);
    const first = Math.floor(i / per) * rows;
    const at = i % per;
    let k = 0;
    for (let o = first; o < first + rows; o++) {
      for (let b = 0; b < p.block; b++) {
        const base = (o * axisLen + at * p.block + b) * inner;
        for (let j = 0; j < inner; j++) v[k++] = data[base + j];
      }
    }
    out.push(v);
  }
  return out;
}

/** Unit index of each element of a space (for the group). */
function unitIndex(group: Group): Map<number, number> {
  const m = new Map<number, number>();
  group.units.forEach((els, u) => els.forEach((e) => m.set(e, u)));
  return m;
}

/** Per member: a score per space index; summed into units; members normalised by their mean, then reduced. */
function combine(group: Group, perMember: { space: number; values: number[] }[], reduction: Reduction, normalise: boolean): Float64Array {
  const n = group.units.length;
  const unitOf = unitIndex(group);
  const acc = new Float64Array(n).fill(reduction === 'max' ? -Infinity : 0);
  const count = new Float64Array(n);
  for (const { space, values } of perMember) {
    const s = group.spaces.find((x) => x.id === space)!;
    const unitScore = new Map<number, number>();
    values.forEach((v, i) => {
      const u = unitOf.get(s.base + i)!;
      unitScore.set(u, (unitScore.get(u) ?? 0) + v);
    });
    let mean = 0;
    for (const v of unitScore.values()) mean += v;
    mean /= Math.max(unitScore.size, 1);
    const scale = normalise && mean > 0 ? 1 / mean : 1;
    for (const [u, v] of unitScore) {
      const x = v * scale;
      if (reduction === 'max') acc[u] = Math.max(acc[u], x);
      else acc[u] += x;
      count[u]++;
    }
  }
  for (let u = 0; u < n; u++) {
    if (count[u] === 0) acc[u] = 0;
    else if (reduction === 'mean') acc[u] /= count[u];
  }
  return acc;
}

function reduceMembers(
  graph: Graph, group: Group, members: ParamSlice[], f: (v: Float32Array) => number, reduction: Reduction, normalise: boolean,
): Float64Array {
  const per = members.map((p) => {
    const s = group.spaces.find((x) => x.id === p.space)!;
    return { space: p.space, values: memberSlices(graph, p, s.size).map(f) };
  });
  return combine(group, per, reduction, normalise);
}

/** LAMP (Lee et al. 2021) on channel norms: w_i² / Σ_{j: w_j ≥ w_i} w_j², comparable across layers. */
function lamp(graph: Graph, group: Group, members: ParamSlice[], reduction: Reduction): Float64Array {
  const per = members.map((p) => {
    const s = group.spaces.find((x) => x.id === p.space)!;
    const sq = Array.from(channelNorms(graph, p, s.size).l2sq);
    const order = sq.map((_, i) => i).sort((a, b) => sq[b] - sq[a]);
    const values = new Array<number>(sq.length);
    let tail = 0;
    for (const i of order) {
      tail += sq[i];
      values[i] = tail > 0 ? sq[i] / tail : 0;
    }
    return { space: p.space, values };
  });
  return combine(group, per, reduction, false);
}

/** FPGM (He et al. 2019): filters near the geometric median are replaceable; score = Σ distance to the others. */
function fpgm(graph: Graph, group: Group, members: ParamSlice[], reduction: Reduction): Float64Array {
  const per = members.map((p) => {
    const s = group.spaces.find((x) => x.id === p.space)!;
    const f = memberSlices(graph, p, s.size);
    const sq = f.map((v) => v.reduce((a, x) => a + x * x, 0));
    const values = new Array<number>(f.length).fill(0);
    for (let i = 0; i < f.length; i++) {
      for (let j = i + 1; j < f.length; j++) {
        let dot = 0;
        const a = f[i];
        const b = f[j];
        for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
        const d = Math.sqrt(Math.max(sq[i] + sq[j] - 2 * dot, 0));
        values[i] += d;
        values[j] += d;
      }
    }
    return { space: p.space, values };
  });
  return combine(group, per, reduction, true);
}


