import { rng } from '../runtime/feeds.js';
import type { Graph } from '../ir/graph.js';
import type { Group } from '../deps/analyze.js';
import type { ParamSlice } from '../deps/types.js';

/**
 * Data-free channel importance. Every criterion scores each *unit* of a group (a set of channels removed
 * together) from the group's members, so a residual group is ranked on all its layers at once.
 */
export type CriterionName = 'l1' | 'l2' | 'fpgm' | 'bn' | 'lamp' | 'random';
export const CRITERIA: CriterionName[] = ['l1', 'l2', 'fpgm', 'bn', 'lamp', 'random'];
export type Reduction = 'mean' | 'sum' | 'max';

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
  const l2 = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const l1 = (v: Float32Array) => v.reduce((s, x) => s + Math.abs(x), 0);
  if (criterion === 'lamp') return { scores: lamp(graph, group, members, reduction), used: 'lamp' };
  return { scores: reduceMembers(graph, group, members, criterion === 'l2' ? l2 : l1, reduction, true), used: criterion };
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
  for (let i = 0; i < spaceSize; i++) {
    const v = new Float32Array(outer * inner * p.block);
    let k = 0;
    for (let o = 0; o < outer; o++) {
      for (let b = 0; b < p.block; b++) {
        const base = (o * axisLen + i * p.block + b) * inner;
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
    const sq = memberSlices(graph, p, s.size).map((v) => v.reduce((a, x) => a + x * x, 0));
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


