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

/** How many channels stay when `ratio` of a group's channels are pruned, honouring round-to and minimums. */
export function keepCount(channels: number, pinned: number, ratio: number, opts: SelectOptions = {}): number {
  const roundTo = Math.max(1, opts.roundTo ?? 1);
  const floor = Math.max(1, opts.minChannels ?? 1, pinned);
  let keep = channels - Math.floor(channels * ratio + 1e-9);
  if (roundTo > 1) keep = Math.round(keep / roundTo) * roundTo || roundTo;
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
    if ([...hits].some(([s, k]) => left[s] - k < 1)) continue;
    for (const [s, k] of hits) left[s] -= k;
    chosen.push(u);
  }
  return chosen.sort((a, b) => a - b);
}

export function selectByRatio(graph: Graph, group: Group, ratio: number, opts: SelectOptions = {}): number[] {
  if (ratio <= 0) return [];
  const { scores } = scoreGroup(graph, group, opts.criterion ?? 'l1', { reduce: opts.reduce, seed: opts.seed });
  return selectLowest(group, scores, keepCount(group.units.length, group.pinned.size, ratio, opts));
}
