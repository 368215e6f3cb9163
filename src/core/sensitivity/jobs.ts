/** The scan's units of work: one per dependency group (structured) or per weighted layer (unstructured). */
import type { ScanResult, ScanTargetResult } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';
import { classCount, keepCount, type SelectOptions } from '../criteria/select.js';
import { cloneModel } from '../formats/index.js';
import { encodeOnnx } from '../formats/onnx/save.js';
import type { Model } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';
import { applyMask } from '../surgery/twin.js';
import { planSuffix, type MaskSite } from './instrument.js';
import { valueBytes } from './runs.js';
import { groupTarget, layerTargets, type MaskArray, type MaskPlacement } from './targets.js';

export interface Step {
  remove?: number[];
  /** Steps with equal keys mask the same weights (small groups at neighbouring ratios): measured once. */
  key: string;
  masks: MaskArray[];
  kept: number;
  removed: number;
  params: number;
  macs: number;
}

export interface Job {
  kind: 'group' | 'layer';
  id: number | string;
  info: Omit<ScanTargetResult, 'points' | 'sensitivity'>;
  sites: MaskSite[];
  step(ratio: number): Step;
  /**
   * Groups with a normalisation over their channels (GroupNorm, LayerNorm) cannot be masked by Mul: removed
   * channels must leave the statistics. Each step then builds the exact masked twin (a session per step).
   */
  twin?: (remove: number[]) => Uint8Array;
  frontier: string[];
  frontierBytes: number;
  cut: boolean;
}

const selected = (only: string[] | undefined, keys: (string | number)[]) => !only || keys.some((k) => only.includes(String(k)));

export function groupJobs(
  a: Analysis,
  opts: SelectOptions & { only?: string[]; maskAt?: MaskPlacement },
  skipped: ScanResult['skipped'],
): Job[] {
  const { model, dep, shapes } = a;
  const jobs: Job[] = [];
  // one removal state for every step: a step sets its group, reads what it saves, and sets it back
  const state = a.estimator.state();
  for (const info of a.infos) {
    const g = dep.groups[info.id];
    if (!selected(opts.only, [info.id, ...info.sources, ...info.members.map((m) => m.node)])) continue;
    const t = info.prunable && g ? groupTarget(model, dep, g, shapes, opts.maskAt) : info.reason!;
    if (typeof t === 'string') {
      skipped.push({ id: info.id, sources: info.sources, reason: t });
      continue;
    }
    jobs.push({
      kind: 'group',
      id: g.id,
      info: { kind: 'group', id: g.id, sources: info.sources, members: info.members, channels: g.units.length, params: info.params, macs: info.macs },
      sites: t.sites,
      step(ratio) {
        const keep = keepCount(g.units.length, g.pinned.size, ratio, opts, classCount(g));
        const remove = ratio > 0 ? a.choose(g, keep, opts) : [];
        const before = state.totals();
        state.setGroup(g.id, a.estimator.countsOfUnits(g, remove));
        const after = state.totals();
        state.setGroup(g.id, []);
        return {
          remove, key: remove.join(','), masks: t.masks(remove), kept: g.units.length - remove.length, removed: remove.length,
          params: before.params - after.params, macs: before.macs - after.macs,
        };
      },
      twin: g.fixes.some((f) => f.kind === 'norm')
        ? (remove) => {
            const twin = cloneModel(model);
            applyMask(twin, dep, [{ group: g.id, remove }]);
            return encodeOnnx(twin);
          }
        : undefined,
      frontier: [],
      frontierBytes: 0,
      cut: true,
    });
  }
  return jobs;
}

export function layerJobs(model: Model, layerMacs: Map<string, number>, opts: { only?: string[] }): Job[] {
  return layerTargets(model, layerMacs)
    .filter((t) => selected(opts.only, [t.node.name]))
    .map((t) => ({
      kind: 'layer' as const,
      id: t.node.name,
      info: { kind: 'layer' as const, id: t.node.name, sources: [t.node.name], members: [], params: t.params, macs: t.macs },
      sites: t.sites,
      step(ratio: number) {
        const { masks, zeroed } = t.masks(ratio);
        return { key: String(zeroed), masks, kept: t.params - zeroed, removed: zeroed, params: zeroed, macs: 0 };
      },
      frontier: [],
      frontierBytes: 0,
      cut: true,
    }));
}

/**
 * Groups jobs into batches that share one dense run, while the union of their frontiers (the dense values their
 * suffixes read, for all samples) fits `budget` bytes. A job whose frontier alone does not fit runs from the
 * graph inputs (cut = false), in a last batch.
 */
export function batchJobs(model: Model, shapes: ShapeResult, jobs: Job[], samples: number, budget: number, reusePrefix: boolean): Job[][] {
  const bytes = (values: Iterable<string>) => [...values].reduce((s, v) => s + valueBytes(shapes, v), 0) * samples;
  for (const j of jobs) {
    j.frontier = planSuffix(model, j.sites, true).frontier;
    j.frontierBytes = bytes(j.frontier);
    j.cut = reusePrefix && !j.twin && j.frontierBytes <= budget;
  }
  const batches: Job[][] = [];
  let current: Job[] = [];
  let held = new Set<string>();
  for (const j of jobs.filter((x) => x.cut)) {
    const union = new Set([...held, ...j.frontier]);
    if (current.length && bytes(union) > budget) {
      batches.push(current);
      current = [];
      held = new Set(j.frontier);
    } else {
      held = union;
    }
    current.push(j);
  }
  if (current.length) batches.push(current);
  const uncut = jobs.filter((j) => !j.cut);
  if (uncut.length) batches.push(uncut);
  return batches;
}
