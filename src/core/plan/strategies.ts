/**
 * Allocation strategies: how many channels each group keeps so that the model meets a target. All respect
 * max-ratio, min-channels and round-to through `bounds`.
 */
import type { StrategyName } from '../../shared/types.js';
import type { Group } from '../deps/analyze.js';
import { keepCount, type SelectOptions } from '../criteria/select.js';
import type { PlanCost, PlanCosting as CostModel } from './costing.js';

export type { StrategyName } from '../../shared/types.js';
export const STRATEGIES: StrategyName[] = ['uniform', 'global', 'sensitivity', 'ensemble'];

/** What to reach: keep a fraction of params or MACs, or stay under a predicted loss. */
export type Target = { kind: 'params' | 'macs'; keep: number } | { kind: 'loss'; max: number };

export interface PlanGroup {
  group: Group;
  /** Criterion scores per unit (higher = more important). */
  scores: Float64Array;
  /** Scan curve (ratio → loss), with (0, 0) first; absent without a scan. */
  curve?: { ratio: number; loss: number }[];
}

export interface AllocOptions extends SelectOptions {
  maxRatio?: number;
  /**
   * A predicted loss at or above this destroys the group's output (see warnings' DESTROYED): the sensitivity strategy
   * treats such a cut as far worse than its number, so it destroys a group only when nothing else reaches the target.
   */
  destroyedAt?: number;
  /** The units to remove so that a group keeps `keep` (the plan's channel choice). */
  choose: (group: Group, scores: Float64Array, keep: number) => number[];
}

export interface Allocation {
  /** Units kept per group id. */
  keep: Map<number, number>;
  /** Units removed per group id (the lowest-scoring ones, or the global threshold's). */
  remove: Map<number, number[]>;
  /** Global strategy: how many units the bare threshold would remove per group (before max-ratio). */
  wanted?: Map<number, number>;
}

/** Fewest units a group may keep, and how many it keeps at ratio r, within the bounds. */
export function bounds(pg: PlanGroup, opts: AllocOptions): { min: number; at: (r: number) => number } {
  const g = pg.group;
  const n = g.units.length;
  // a group of 4 or more keeps 2 channels at least unless --min-channels says otherwise: one channel is a collapse
  const floor = opts.minChannels === undefined && n >= 4 ? { ...opts, minChannels: 2 } : opts;
  const min = keepCount(n, g.pinned.size, Math.min(opts.maxRatio ?? 0.9, 0.999999), floor);
  return { min, at: (r) => Math.max(min, keepCount(n, g.pinned.size, Math.min(r, opts.maxRatio ?? 0.9), floor)) };
}

function saving(target: Target, model: CostModel, c: PlanCost): number {
  return target.kind === 'params' ? model.params - c.params : model.macs - c.macs;
}

/** Whether `c` meets a size target (loss targets are checked by the caller). */
function meets(target: Target, model: CostModel, c: PlanCost): boolean {
  if (target.kind === 'loss') return false;
  const v = target.kind === 'params' ? c.params / model.params : c.macs / model.macs;
  return v <= target.keep + 1e-9;
}

/** Predicted loss of a group at `keep` units: the scan curve, linearly interpolated, made non-decreasing. */
export function predictedLoss(pg: PlanGroup, keep: number): number {
  if (!pg.curve) return 0;
  const r = 1 - keep / pg.group.units.length;
  let best = 0;
  const pts = pg.curve;
  for (let i = 0; i < pts.length; i++) {
    best = Math.max(best, pts[i].loss);
    if (i + 1 < pts.length && r < pts[i + 1].ratio) {
      const t = (r - pts[i].ratio) / (pts[i + 1].ratio - pts[i].ratio);
      return Math.max(best, pts[i].loss + t * (pts[i + 1].loss - pts[i].loss));
    }
  }
  return best;
}

export function totalLoss(groups: PlanGroup[], keep: Map<number, number>): number {
  return groups.reduce((s, pg) => s + predictedLoss(pg, keep.get(pg.group.id) ?? pg.group.units.length), 0);
}

function lowest(groups: PlanGroup[], keep: Map<number, number>, opts: AllocOptions): Map<number, number[]> {
  return new Map(groups.map((pg) => [pg.group.id, opts.choose(pg.group, pg.scores, keep.get(pg.group.id)!)]));
}

/**
 * Bisection on a monotone knob x ∈ [0, 1] (larger = more pruning): the least x that meets a size target, or the
 * most pruning whose predicted loss stays under a loss target. Returns the knob.
 */
function knob(groups: PlanGroup[], target: Target, model: CostModel, make: (x: number) => Map<number, number>): number {
  const least = target.kind !== 'loss';
  const good = (x: number) =>
    target.kind === 'loss' ? totalLoss(groups, make(x)) <= target.max : meets(target, model, model.evaluate(make(x)));
  if (good(1) !== least) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (good(mid) === least) hi = mid;
    else lo = mid;
  }
  return least ? hi : lo;
}

function withKnob(groups: PlanGroup[], target: Target, model: CostModel, make: (x: number) => Map<number, number>): Map<number, number> {
  return make(knob(groups, target, model, make));
}

/** The same ratio for every group, the smallest that meets the target. */
export function uniform(groups: PlanGroup[], target: Target, model: CostModel, opts: AllocOptions): Allocation {
  const b = groups.map((pg) => [pg.group.id, bounds(pg, opts)] as const);
  const keep = withKnob(groups, target, model, (r) => new Map(b.map(([id, x]) => [id, x.at(r * (opts.maxRatio ?? 0.9))])));
  return { keep, remove: lowest(groups, keep, opts) };
}

/**
 * One threshold on the criterion's scores over all groups (each member normalised by its mean, so layers of
 * different scale compare): the classic global pruning, which can empty layers; max-ratio stops that, and the
 * `wanted` counts let warnings say where the bare threshold would have gone.
 */
export function global(groups: PlanGroup[], target: Target, model: CostModel, opts: AllocOptions): Allocation {
  const all = groups.flatMap((pg) => [...pg.scores]).sort((a, b) => a - b);
  const threshold = (x: number) => (x >= 1 ? Infinity : all[Math.min(all.length - 1, Math.floor(x * all.length))]);
  const wanted = (x: number) =>
    new Map(groups.map((pg) => [pg.group.id, pg.scores.filter((s, u) => s < threshold(x) && !pg.group.pinned.has(u)).length]));
  const make = (x: number) => {
    const w = wanted(x);
    return new Map(groups.map((pg) => [pg.group.id, Math.max(bounds(pg, opts).min, pg.group.units.length - w.get(pg.group.id)!)]));
  };
  const x = knob(groups, target, model, make);
  const keep = make(x);
  return { keep, remove: lowest(groups, keep, opts), wanted: wanted(x) };
}

/**
 * Ratios that reach the target with the least predicted loss from the scan curves: greedy on the best saving per
 * unit of loss (looking ahead to any larger ratio, so a flat stretch after a bump is still found), with the cost
 * model pricing each move given everything chosen so far; the last move is refined to land on the target.
 */
export function sensitivity(groups: PlanGroup[], target: Target, model: CostModel, opts: AllocOptions): Allocation {
  const worst = opts.destroyedAt;
  // the loss the search minimises: the curve's, with a destroyed output priced like ten of them
  const searchLoss = (keep: Map<number, number>) => worst === undefined ? totalLoss(groups, keep)
    : groups.reduce((s, pg) => {
      const l = predictedLoss(pg, keep.get(pg.group.id) ?? pg.group.units.length);
      return s + (l >= worst ? l + 10 * worst : l);
    }, 0);
  const sizes = new Map(groups.map((pg) => [pg.group.id, pg.group.units.length]));
  const units = (id: number) => sizes.get(id)!;
  const grid = Array.from({ length: 41 }, (_, i) => i / 40).filter((r) => r <= (opts.maxRatio ?? 0.9) + 1e-9);
  const b = new Map(groups.map((pg) => [pg.group.id, bounds(pg, opts)]));
  const keep = new Map(groups.map((pg) => [pg.group.id, pg.group.units.length]));
  const done = () => (target.kind === 'loss' ? false : meets(target, model, model.evaluate(keep)));
  const sizeTarget: Target = target.kind === 'loss' ? { kind: 'macs', keep: 0 } : target;
  while (!done()) {
    const base = model.evaluate(keep);
    const baseLoss = searchLoss(keep);
    let best: { id: number; k: number; score: number } | undefined;
    for (const pg of groups) {
      const id = pg.group.id;
      const cur = keep.get(id)!;
      for (const r of grid) {
        const k = b.get(id)!.at(r);
        if (k >= cur) continue;
        keep.set(id, k);
        const save = saving(sizeTarget, model, model.evaluate(keep)) - saving(sizeTarget, model, base);
        const dl = searchLoss(keep) - baseLoss;
        keep.set(id, cur);
        if (save <= 0) continue;
        if (target.kind === 'loss' && baseLoss + dl > target.max) continue;
        const score = save / (Math.max(dl, 0) + 1e-6);
        if (!best || score > best.score) best = { id, k, score };
      }
    }
    if (!best) break;
    const prev = keep.get(best.id)!;
    keep.set(best.id, best.k);
    if (done()) {
      // land on the target: the largest keep between prev and best.k that still meets it
      let lo = best.k;
      let hi = prev;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        keep.set(best.id, mid);
        if (done()) lo = mid;
        else hi = mid;
      }
      keep.set(best.id, roundDown(lo, b.get(best.id)!, units(best.id), opts));
    }
  }
  return { keep, remove: lowest(groups, keep, opts) };
}

/** A keep count honouring round-to, at most `k` (so the target stays met). */
function roundDown(k: number, b: { min: number }, n: number, opts: AllocOptions): number {
  const step = Math.max(1, opts.roundTo ?? 1);
  if (step === 1 || k === n) return Math.max(k, b.min);
  return Math.max(b.min, Math.floor(k / step) * step || step);
}

/**
 * Several strategies and criteria each suggest a ratio per group; their mean sets the shape of the network, then
 * one scale factor meets the target, and channels within each group are chosen by the plan's criterion.
 */
export function ensemble(
  groups: PlanGroup[],
  target: Target,
  model: CostModel,
  opts: AllocOptions,
  suggestions: Map<number, number>[],
): Allocation {
  const mean = new Map(groups.map((pg) => {
    const id = pg.group.id;
    const rs = suggestions.map((s) => 1 - (s.get(id) ?? pg.group.units.length) / pg.group.units.length);
    return [id, rs.reduce((a, c) => a + c, 0) / rs.length];
  }));
  const peak = Math.max(1e-9, ...mean.values());
  const keep = withKnob(groups, target, model, (x) => new Map(groups.map((pg) => {
    const id = pg.group.id;
    return [id, bounds(pg, opts).at((x * (opts.maxRatio ?? 0.9) * mean.get(id)!) / peak)];
  })));
  return { keep, remove: lowest(groups, keep, opts) };
}
