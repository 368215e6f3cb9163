/**
 * Which channels of a group go: how many a ratio leaves (round-to, minimums, balanced blocks), how a removal is
 * spread over the layers that make the group's channels, and the lowest-scoring units within that.
 */
import type { CriterionName, PruneSettingsInput, WithinGroup } from '../../shared/types.js';
import type { DepGraph, Group } from '../deps/analyze.js';
import type { Graph } from '../ir/graph.js';
import { scoreGroup } from './index.js';

/**
 * How channels are chosen: criterion and reduction, how a removal spreads over a group's source layers
 * (per-source by default), round-to, minimum channels, and the seed of the random criterion.
 */
export type SelectOptions = Pick<PruneSettingsInput, 'criterion' | 'reduce' | 'withinGroup' | 'roundTo' | 'minChannels' | 'seed'>;

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * How many channels stay when `ratio` of a group's channels are pruned, honouring round-to and minimums. A group
 * of `classes` equal classes (grouped convolution, GroupNorm) keeps a multiple of that too.
 */
export function keepCount(channels: number, pinned: number, ratio: number, opts: SelectOptions = {}, classes = 1): number {
  const roundTo = Math.max(1, opts.roundTo ?? 1);
  const step = (roundTo / gcd(roundTo, classes)) * classes;
  const floor = Math.ceil(Math.max(1, opts.minChannels ?? 1, pinned) / classes) * classes;
  let keep = channels - Math.floor(channels * ratio + 1e-9);
  if (step > 1) keep = Math.round(keep / step) * step || step;
  return Math.min(channels, Math.max(keep, floor));
}

/** The number of equal classes a group's kept count must be a multiple of (1 for ordinary groups). */
export function classCount(group: Group): number {
  return group.classes && !group.classes.free ? group.classes.count : 1;
}

/**
 * Units that cost the same when removed: they lie in the same spaces with the same number of elements each (in
 * practice: the channels of one source layer, e.g. one branch of a Concat). `spaces` lists [space id, elements per
 * unit].
 */
export interface Partition {
  units: number[];
  removable: number[];
  spaces: [number, number][];
}

const partitionCache = new WeakMap<Group, Partition[]>();

export function partitions(group: Group, dep: Pick<DepGraph, 'locate'>): Partition[] {
  const hit = partitionCache.get(group);
  if (hit) return hit;
  const byKey = new Map<string, Partition>();
  for (let u = 0; u < group.units.length; u++) {
    const count = new Map<number, number>();
    for (const e of group.units[u]) {
      const s = dep.locate(e)[0];
      count.set(s, (count.get(s) ?? 0) + 1);
    }
    const spaces = [...count].sort((a, b) => a[0] - b[0]);
    const key = spaces.map(([s, k]) => `${s}:${k}`).join(',');
    let p = byKey.get(key);
    if (!p) byKey.set(key, (p = { units: [], removable: [], spaces }));
    p.units.push(u);
    if (!group.pinned.has(u)) p.removable.push(u);
  }
  const out = [...byKey.values()];
  partitionCache.set(group, out);
  return out;
}

/**
 * How many units each partition loses when `n` units go in per-source mode: proportional to its size (largest
 * remainders, ties to the earlier partition), never its last unit or a pinned one. Undefined when the choice is
 * not per source (one partition, global mode, or balanced blocks), where only the scores decide.
 */
export function quotas(group: Group, parts: Partition[], n: number, withinGroup: WithinGroup = 'per-source'): number[] | undefined {
  if (parts.length < 2 || withinGroup === 'global' || group.classes) return undefined;
  const total = group.units.length;
  const cap = parts.map((p) => Math.min(p.removable.length, p.units.length - 1));
  const q = parts.map((p, i) => Math.min(cap[i], Math.floor((n * p.units.length) / total)));
  let left = n - q.reduce((a, b) => a + b, 0);
  // largest remainders first; a partition at its cap passes its share on
  const order = parts.map((_, i) => i).sort((a, b) => {
    const ra = (n * parts[a].units.length) / total - Math.floor((n * parts[a].units.length) / total);
    const rb = (n * parts[b].units.length) / total - Math.floor((n * parts[b].units.length) / total);
    return rb - ra || a - b;
  });
  while (left > 0) {
    let moved = false;
    for (const i of order) {
      if (left === 0) break;
      if (q[i] < cap[i]) {
        q[i]++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return q;
}

/** The units to remove so that `keep` remain: per source layer by default, the lowest-scoring within each. */
export function chooseUnits(group: Group, dep: Pick<DepGraph, 'locate'>, scores: Float64Array, keep: number, opts: SelectOptions = {}): number[] {
  const n = Math.max(0, group.units.length - keep);
  if (n === 0) return [];
  const byScore = (a: number, b: number) => scores[a] - scores[b] || a - b;
  const parts = partitions(group, dep);
  const q = quotas(group, parts, n, opts.withinGroup);
  if (q) return parts.flatMap((p, i) => [...p.removable].sort(byScore).slice(0, q[i])).sort((a, b) => a - b);
  const removable = group.units.map((_, u) => u).filter((u) => !group.pinned.has(u)).sort(byScore);
  if (group.classes) return balanced(group, removable, n);
  return lowestFirst(group, removable, n);
}

/**
 * Equally many from every class, the lowest-scoring of each (fewer when some class cannot give that many); free
 * units take their share of n.
 */
function balanced(group: Group, sorted: number[], n: number): number[] {
  const { of, count, free } = group.classes!;
  const units = group.units.length;
  for (let k = Math.floor((n * (units - free)) / units / count); k >= 0; k--) {
    const taken = new Array<number>(count).fill(0);
    let freeLeft = n - k * count;
    // units come in score order, so each class gives the k lowest it can
    const claim = (u: number) => (of[u] < 0 ? freeLeft-- > 0 : taken[of[u]] < k && (taken[of[u]]++, true));
    const chosen = lowestFirst(group, sorted, n, claim);
    if (taken.every((t) => t === k)) return chosen;
  }
  return [];
}

/** Up to n units in the given order, skipping those that would empty a value or that `claim` refuses. */
function lowestFirst(group: Group, removable: number[], n: number, claim: (u: number) => boolean = () => true): number[] {
  const spaces = [...group.spaces].sort((a, b) => a.base - b.base);
  const spaceOf = (e: number) => {
    let lo = 0;
    let hi = spaces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (spaces[mid].base <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const left = spaces.map((s) => s.size);
  const chosen: number[] = [];
  for (const u of removable) {
    if (chosen.length >= n) break;
    const hits = new Map<number, number>();
    for (const e of group.units[u]) hits.set(spaceOf(e), (hits.get(spaceOf(e)) ?? 0) + 1);
    if ([...hits].some(([s, k]) => left[s] - k < 1) || !claim(u)) continue;
    for (const [s, k] of hits) left[s] -= k;
    chosen.push(u);
  }
  return chosen.sort((a, b) => a - b);
}

/** The units to remove at a ratio, and the criterion that scored them (bn falls back to l1 in groups without BN). */
export function selectByRatio(
  graph: Graph, dep: Pick<DepGraph, 'locate'>, group: Group, ratio: number, opts: SelectOptions = {},
): { remove: number[]; used?: CriterionName } {
  if (ratio <= 0) return { remove: [] };
  const { scores, used } = scoreGroup(graph, group, opts.criterion ?? 'l1', { reduce: opts.reduce, seed: opts.seed });
  const keep = keepCount(group.units.length, group.pinned.size, ratio, opts, classCount(group));
  return { remove: chooseUnits(group, dep, scores, keep, opts), used };
}
