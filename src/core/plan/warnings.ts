/**
 * Layer-collapse and risk warnings for a plan, each with the group, the numbers and a suggested fix.
 */
import type { GroupInfo, PlanWarning } from '../../shared/types.js';
import type { DepGraph } from '../deps/analyze.js';
import { predictedLoss, type Allocation, type PlanGroup } from './strategies.js';

export type { PlanWarning, WarningKind } from '../../shared/types.js';

const predictedLossAt = (pg: PlanGroup, ratio: number) => predictedLoss(pg, Math.round(pg.group.units.length * (1 - ratio)));

export interface WarningInput {
  /** The scan's metric and the loss at which its output is gone (see lossCeiling). */
  metric?: { name: string; ceiling: number; meaning: string };
  groups: PlanGroup[];
  alloc: Allocation;
  infos: GroupInfo[];
  dep: DepGraph;
  /** MACs of compute layers per node, and the total. */
  layerMacs: Map<string, number>;
  totalMacs: number;
  minChannels: number;
  maxRatio: number;
  strategy: string;
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

/** A group's predicted loss at or above this share of the metric's maximum means its output is gone. */
export const DESTROYED = 0.9;

export function planWarnings(w: WarningInput): PlanWarning[] {
  const out: PlanWarning[] = [];
  const keep = w.alloc.keep;
  const ratios: number[] = [];
  for (const pg of w.groups) {
    const id = pg.group.id;
    const n = pg.group.units.length;
    const k = keep.get(id) ?? n;
    ratios.push(1 - k / n);
    const layers = pg.group.sources;
    const loss = predictedLoss(pg, k);
    if (w.metric && k < n && loss >= DESTROYED * w.metric.ceiling) {
      out.push({ kind: 'destroyed', group: id, layers, numbers: { channels: n, kept: k, predictedLoss: loss, ceiling: w.metric.ceiling },
        message: `group ${id} (${layers[0]}) is cut by ${pct(1 - k / n)} to a predicted ${w.metric.name} loss of ${loss.toFixed(3)}, ` +
          `near its maximum ${w.metric.ceiling.toFixed(3)} (${w.metric.meaning}): the pruned model will have lost its output`,
        fix: 'lower the target, cap this group (maximum ratio, or a plan entry), or scan with real data', options: ['target', 'maxRatio', 'data'] });
    }
    if (k <= 1 && n > 1) {
      out.push({ kind: 'collapse', group: id, layers, numbers: { channels: n, kept: k },
        message: `group ${id} (${layers[0]}) is left with ${k} of ${n} channels: the layer has collapsed`,
        fix: w.strategy === 'sensitivity' ? 'lower the target or raise the minimum channels per group' : 'lower the target, raise the minimum channels per group, or use the sensitivity strategy',
        options: w.strategy === 'sensitivity' ? ['target', 'minChannels'] : ['target', 'minChannels', 'strategy'] });
    } else if (k < w.minChannels && n >= w.minChannels) {
      out.push({ kind: 'min-channels', group: id, layers, numbers: { channels: n, kept: k, minChannels: w.minChannels },
        message: `group ${id} (${layers[0]}) keeps ${k} channels, fewer than the minimum of ${w.minChannels}`,
        fix: 'lower the target or the ratio of this group', options: ['target'] });
    }
    // a cliff at or below the planned ratio: the curve jumped between two scanned ratios the plan goes past
    if (pg.curve && k < n) {
      const r = 1 - k / n;
      let jump: { from: number; to: number; a: number; b: number } | undefined;
      // from the first scanned ratio on: the step up from the dense model (0) is every curve's first rise
      for (let i = 1; i + 1 < pg.curve.length && pg.curve[i + 1].ratio <= r + 1e-9; i++) {
        const [p, q] = [pg.curve[i], pg.curve[i + 1]];
        const d = q.loss - p.loss;
        if (!jump || d > jump.b - jump.a) jump = { from: p.ratio, to: q.ratio, a: p.loss, b: q.loss };
      }
      // a cliff: one step of the curve holds at least half of the loss planned for, and is large in itself
      const planned = predictedLossAt(pg, r);
      if (jump && jump.b - jump.a >= 0.1 && jump.b - jump.a >= 0.5 * planned) {
        out.push({ kind: 'cliff', group: id, layers, numbers: { plannedRatio: r, cliffFrom: jump.from, cliffTo: jump.to, lossBefore: jump.a, lossAfter: jump.b },
          message: `group ${id} (${layers[0]}): its scan loss jumps from ${jump.a.toFixed(3)} to ${jump.b.toFixed(3)} between ${pct(jump.from)} and ${pct(jump.to)}, and the plan prunes ${pct(r)}`,
          fix: `keep this group at or below ${pct(jump.from)} (the maximum ratio, or a plan entry)`, options: ['maxRatio', 'plan'] });
      }
    }
  }
  if (w.alloc.wanted) {
    const sorted = [...ratios].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    for (const pg of w.groups) {
      const n = pg.group.units.length;
      const want = w.alloc.wanted.get(pg.group.id) ?? 0;
      if (want / n >= 0.9 && median < 0.5) {
        out.push({ kind: 'global-wipe', group: pg.group.id, layers: pg.group.sources,
          numbers: { channels: n, thresholdWouldRemove: want, kept: keep.get(pg.group.id) ?? n, medianRatio: median },
          message: `the global threshold would remove ${want} of ${n} channels of group ${pg.group.id} (${pg.group.sources[0]}) while the median group loses ${pct(median)}; capped at the maximum ratio ${w.maxRatio}`,
          fix: 'use the sensitivity or uniform strategy, or a criterion normalised per layer (lamp)', options: ['strategy', 'criterion'] });
      }
    }
  }
  // each group alone may be fine while together they sum past the point where the output is gone
  const total = w.groups.reduce((s, pg) => s + predictedLoss(pg, keep.get(pg.group.id) ?? pg.group.units.length), 0);
  if (w.metric && !out.some((x) => x.kind === 'destroyed') && total >= DESTROYED * w.metric.ceiling) {
    out.unshift({ kind: 'destroyed', numbers: { predictedLoss: total, ceiling: w.metric.ceiling },
      // it fires from DESTROYED of the maximum on: "past" only when the sum is
      message: `the groups' predicted ${w.metric.name} losses sum to ${total.toFixed(3)}, ${total >= w.metric.ceiling ? 'past' : `${pct(total / w.metric.ceiling)} of`} its maximum ${w.metric.ceiling.toFixed(3)} ` +
        `(${w.metric.meaning}): pruned together they will likely destroy the output`,
      fix: 'lower the target, or scan with real data', options: ['target', 'data'] });
  }
  out.push(...bottlenecks(w));
  out.push(...unprunable(w));
  return out;
}

/** A group left much narrower than the groups feeding it and fed by it, when it was not that narrow before. */
function bottlenecks(w: WarningInput): PlanWarning[] {
  const groupOfSpace = new Map<number, number>();
  for (const g of w.dep.groups) for (const s of g.spaces) groupOfSpace.set(s.id, g.id);
  const units = new Map(w.dep.groups.map((g) => [g.id, g.units.length]));
  const kept = (id: number) => w.alloc.keep.get(id) ?? units.get(id)!;
  // layers linking an input group to an output group
  const inOf = new Map<string, number>();
  const outOf = new Map<string, number>();
  for (const g of w.dep.groups) {
    for (const p of g.params) {
      if (p.role === 'in') inOf.set(p.node, g.id);
      if (p.role === 'out') outOf.set(p.node, g.id);
    }
  }
  const neighbours = new Map<number, Set<number>>();
  const link = (a: number, b: number) => {
    if (a === b) return;
    if (!neighbours.has(a)) neighbours.set(a, new Set());
    neighbours.get(a)!.add(b);
  };
  for (const [node, gin] of inOf) {
    const gout = outOf.get(node);
    if (gout === undefined) continue;
    link(gin, gout);
    link(gout, gin);
  }
  const out: PlanWarning[] = [];
  for (const pg of w.groups) {
    const id = pg.group.id;
    const nb = [...(neighbours.get(id) ?? [])];
    if (nb.length < 2 || kept(id) >= units.get(id)!) continue;
    const narrowest = Math.min(...nb.map(kept));
    const before = Math.min(...nb.map((x) => units.get(x)!));
    if (kept(id) * 4 <= narrowest && units.get(id)! * 2 > before) {
      out.push({ kind: 'bottleneck', group: id, layers: pg.group.sources,
        numbers: { kept: kept(id), channels: units.get(id)!, narrowestNeighbour: narrowest },
        message: `group ${id} (${pg.group.sources[0]}) keeps ${kept(id)} channels, a quarter or less of its narrowest neighbour (${narrowest}): a bottleneck the original did not have`,
        fix: 'cap this group\'s ratio (the maximum ratio, or a plan entry for it)', options: ['maxRatio', 'plan'] });
    }
  }
  return out;
}

/** Groups that cannot be pruned and the share of the MACs they hold. */
function unprunable(w: WarningInput): PlanWarning[] {
  const out: PlanWarning[] = [];
  for (const info of w.infos) {
    if (info.prunable) continue;
    const nodes = new Set(info.members.filter((m) => m.role === 'out').map((m) => m.node));
    const macs = [...nodes].reduce((s, n) => s + (w.layerMacs.get(n) ?? 0), 0);
    if (macs / Math.max(w.totalMacs, 1) < 0.01) continue;
    out.push({ kind: 'unprunable', group: info.id, layers: info.sources, numbers: { macsShare: macs / w.totalMacs },
      message: `group ${info.id} (${info.sources[0] ?? info.values[0]?.value}) cannot be pruned: ${info.reason}; its layers hold ${pct(macs / w.totalMacs)} of the MACs`,
      fix: 'the plan prunes the other groups harder to make up for it' });
  }
  return out;
}
