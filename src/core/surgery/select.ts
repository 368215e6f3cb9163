import type { Graph } from '../ir/graph.js';
import type { Group } from '../deps/analyze.js';
import { scoreGroup, type CriterionName, type Reduction } from '../criteria/index.js';

export interface SelectOptions {
  criterion?: CriterionName;
  reduce?: Reduction;
  /** Keep a multiple of this many channels (e.g. 8 for SIMD-friendly widths). */
  roundTo?: number;
  /** Never keep fewer channels than this (and never fewer than 1). */
  minChannels?: number;
  seed?: number;
}

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

/**
 * The lowest-scoring removable units of a group, so that `keep` channels remain. Every value of the group keeps
 * at least one channel (a Concat input or Split output emptied would break the model).
 */
export function selectLowest(group: Group, scores: Float64Array, keep: number): number[] {
  const removable = group.units.map((_, u) => u).filter((u) => !group.pinned.has(u));
  const n = Math.max(0, group.units.length - keep);
  // ties broken by index so the choice is deterministic
  removable.sort((a, b) => scores[a] - scores[b] || a - b);
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

/** The units to remove, and the criterion that scored them (bn falls back to l1 in groups without BN). */
export function selectByRatio(graph: Graph, group: Group, ratio: number, opts: SelectOptions = {}): { remove: number[]; used?: CriterionName } {
  if (ratio <= 0) return { remove: [] };
  const { scores, used } = scoreGroup(graph, group, opts.criterion ?? 'l1', { reduce: opts.reduce, seed: opts.seed });
  const classes = group.classes && !group.classes.free ? group.classes.count : 1;
  const keep = keepCount(group.units.length, group.pinned.size, ratio, opts, classes);
  return { remove: selectLowest(group, scores, keep), used };
}
