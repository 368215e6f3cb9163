/**
 * Pruning plans: sensitivity curves and criteria → per-group channel choices that meet a target, with warnings,
 * saved as a versioned recipe that `prune --plan` replays to the same file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAndShape, type AnalyseOptions } from '../api.js';
import { computeCost } from '../cost/cost.js';
import { measureLatency } from '../cost/latency.js';
import { scoreGroup, type CriterionName } from '../criteria/index.js';
import { analyzeDependencies, describeGroup } from '../deps/analyze.js';
import { PruneLensError, throwIfCancelled } from '../errors.js';
import { decodeOnnx } from '../formats/onnx/load.js';
import { encodeOnnx } from '../formats/onnx/save.js';
import type { Model } from '../ir/graph.js';
import { scanModel, type ScanOptions, type ScanResult } from '../sensitivity/scan.js';
import { computeShapes } from '../shapes/index.js';
import { applyPruning } from '../surgery/apply.js';
import { fileSha256 } from '../util/hash.js';
import { CostModel } from './cost-model.js';
import { ensemble, global, sensitivity, totalLoss, uniform, type Allocation, type AllocOptions, type PlanGroup, type StrategyName, type Target } from './strategies.js';
import { planWarnings, type PlanWarning } from './warnings.js';

export const RECIPE_KIND = 'prunelens-recipe';
export const RECIPE_VERSION = 1;

export type PlanTarget = Target | { kind: 'latency'; keep: number };

export interface Recipe {
  kind: typeof RECIPE_KIND;
  version: number;
  model: { path: string; sha256: string; params: number; macs: number };
  settings: {
    strategy: StrategyName;
    target: PlanTarget;
    criterion: CriterionName;
    reduce: string;
    maxRatio: number;
    minChannels?: number;
    roundTo?: number;
    inputShapes: Record<string, number[]>;
    scan?: { metric: string; samples: number; data: string; criterion: string };
  };
  /** Per pruned group: channels before and kept, and the exact channel indices removed. */
  groups: { id: number; sources: string[]; channels: number; keep: number; ratio: number; remove: number[]; predictedLoss?: number }[];
  predicted: { params: number; macs: number; paramsRatio: number; macsRatio: number; loss?: number; latencyRatio?: number };
  warnings: PlanWarning[];
}

export interface PlanOptions extends AnalyseOptions, AllocOptions {
  strategy?: StrategyName;
  target: PlanTarget;
  /** A scan result (or its JSON file) for sensitivity/ensemble; else one is run with `scanOptions`. */
  scan?: ScanResult | string;
  scanOptions?: ScanOptions;
}

export async function planModel(file: string, opts: PlanOptions): Promise<Recipe> {
  const strategy = opts.strategy ?? 'sensitivity';
  const maxRatio = opts.maxRatio ?? 0.9;
  if (!(maxRatio > 0 && maxRatio < 1)) throw new PruneLensError(`--max-ratio must be in (0, 1), got ${maxRatio}`);
  checkTarget(opts.target);
  let scan = typeof opts.scan === 'string' ? readScan(opts.scan) : opts.scan;
  let sha256 = scan ? fileSha256(file) : undefined;
  if (scan && scan.model.sha256 !== sha256) throw new PruneLensError(`the scan was made for another model (${scan.model.path}); scan this one first`);
  if (scan && scan.settings.mode !== 'structured') throw new PruneLensError('plans need a structured scan (--mode structured)');
  const needsScan = strategy === 'sensitivity' || opts.target.kind === 'loss';
  if (!scan && (needsScan || strategy === 'ensemble')) {
    opts.onProgress?.({ phase: 'scan', done: 0, total: 1, message: 'sensitivity scan' });
    scan = await scanModel(file, { ...opts.scanOptions, inputShapes: opts.inputShapes, signal: opts.signal, onProgress: opts.onProgress });
  }
  // a scan run here has hashed the file already
  sha256 ??= scan?.model.sha256 ?? fileSha256(file);
  const inputShapes = scan ? Object.entries(scan.settings.inputShapes).map(([k, v]) => `${k}=${v.join('x')}`) : opts.inputShapes;
  const { model, shapes } = await loadAndShape(file, { ...opts, inputShapes });
  throwIfCancelled(opts.signal);
  const dep = analyzeDependencies(model, shapes);
  const cost = computeCost(model, shapes);
  const costModel = new CostModel(model, dep, cost);
  const infos = dep.groups.map((g) => describeGroup(g, model));
  const criterion = opts.criterion ?? 'l1';
  const curves = new Map(scan?.targets.map((t) => [t.id as number, [{ ratio: 0, loss: 0 }, ...t.points.map((p) => ({ ratio: p.ratio, loss: p.loss }))]]));
  const groups: PlanGroup[] = dep.groups
    .filter((g) => infos[g.id].prunable)
    .map((g) => ({ group: g, scores: scoreGroup(model.graph, g, criterion, { reduce: opts.reduce, seed: opts.seed }).scores, curve: curves.get(g.id) }));
  if (groups.length === 0) throw new PruneLensError('nothing to plan: no prunable group');
  if (needsScan && groups.some((pg) => !pg.curve)) {
    throw new PruneLensError('the scan does not cover every prunable group (was it made with --only?): scan all groups');
  }
  const alloc = (target: Target, name: StrategyName = strategy): Allocation => {
    switch (name) {
      case 'uniform': return uniform(groups, target, costModel, opts);
      case 'global': return global(groups, target, costModel, opts);
      case 'sensitivity': return sensitivity(groups, target, costModel, opts);
      case 'ensemble': {
        const others = (['uniform', 'global', ...(scan ? ['sensitivity' as const] : [])] as StrategyName[]).map((s) => alloc(target, s).keep);
        const byCriteria = (['l2', 'fpgm', 'bn', 'lamp'] as CriterionName[]).filter((c) => c !== criterion).map((c) => {
          const alt = groups.map((pg) => ({ ...pg, scores: scoreGroup(model.graph, pg.group, c, { reduce: opts.reduce }).scores }));
          return global(alt, target, costModel, opts).keep;
        });
        return ensemble(groups, target, costModel, opts, [...others, ...byCriteria]);
      }
    }
  };
  let chosen: Allocation;
  let latencyRatio: number | undefined;
  if (opts.target.kind === 'latency') {
    ({ chosen, latencyRatio } = await solveLatency(file, model, shapes.inputs, opts.target.keep, (t) => alloc(t), dep));
  } else {
    chosen = alloc(opts.target);
  }
  throwIfCancelled(opts.signal);
  // exact cost of the plan: real surgery on a copy
  const copy = decodeOnnx(encodeOnnx(model), file);
  const selections = [...chosen.remove].filter(([, r]) => r.length).map(([group, remove]) => ({ group, remove }));
  applyPruning(copy, dep, selections);
  const after = computeCost(copy, await computeShapes(copy, shapes.inputs));
  const layerMacs = new Map(cost.layers.map((l) => [l.name, l.macs]));
  const warnings = planWarnings({ groups, alloc: chosen, infos, dep, layerMacs, totalMacs: cost.macs, minChannels: opts.minChannels ?? 1, maxRatio, strategy });
  if (latencyRatio !== undefined && opts.target.kind === 'latency' && latencyRatio > opts.target.keep + 0.02) {
    warnings.unshift({ kind: 'target', message: `measured latency is ${(100 * latencyRatio).toFixed(0)} % of the original, above the ${(100 * opts.target.keep).toFixed(0)} % asked`, numbers: { latencyRatio, target: opts.target.keep },
      fix: 'measure on an idle machine, or ask for fewer MACs (--target macs=…): small or memory-bound models gain little latency from fewer channels' });
  }
  return {
    kind: RECIPE_KIND,
    version: RECIPE_VERSION,
    model: { path: path.resolve(file), sha256, params: cost.params, macs: cost.macs },
    settings: {
      strategy,
      target: opts.target,
      criterion,
      reduce: opts.reduce ?? 'mean',
      maxRatio,
      minChannels: opts.minChannels,
      roundTo: opts.roundTo,
      inputShapes: shapes.inputs,
      scan: scan ? { metric: scan.settings.metric, samples: scan.settings.samples, data: scan.data.description, criterion: scan.settings.criterion } : undefined,
    },
    groups: groups.map((pg) => {
      const n = pg.group.units.length;
      const keep = chosen.keep.get(pg.group.id) ?? n;
      return {
        id: pg.group.id,
        sources: pg.group.sources,
        channels: n,
        keep,
        ratio: 1 - keep / n,
        remove: chosen.remove.get(pg.group.id) ?? [],
        ...(pg.curve ? { predictedLoss: totalLoss([pg], chosen.keep) } : {}),
      };
    }),
    predicted: {
      params: after.params,
      macs: after.macs,
      paramsRatio: after.params / cost.params,
      macsRatio: after.macs / cost.macs,
      ...(scan ? { loss: totalLoss(groups, chosen.keep) } : {}),
      ...(latencyRatio !== undefined ? { latencyRatio } : {}),
    },
    warnings,
  };
}

function checkTarget(t: PlanTarget): void {
  if (t.kind === 'loss') {
    if (!(t.max >= 0)) throw new PruneLensError(`--max-loss must be ≥ 0, got ${t.max}`);
  } else if (!(t.keep > 0 && t.keep <= 1)) {
    throw new PruneLensError(`--target ${t.kind}=${t.keep}: the fraction to keep must be in (0, 1]`);
  }
}

export function readScan(file: string): ScanResult {
  let j: ScanResult;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as ScanResult;
  } catch (e) {
    throw new PruneLensError(`${file}: not a readable scan result (${(e as Error).message})`);
  }
  if (!j || !Array.isArray(j.targets) || !j.model?.sha256) throw new PruneLensError(`${file}: not a prunelens scan result (run prunelens scan -o)`);
  return j;
}

/**
 * Latency targets: MACs are the search variable, corrected by measuring. Each round prunes a copy for real and
 * times it against the original in ONNX Runtime; the MACs target moves by the measured shortfall.
 */
async function solveLatency(
  file: string,
  model: Model,
  inputShapes: Record<string, number[]>,
  keep: number,
  alloc: (t: Target) => Allocation,
  dep: ReturnType<typeof analyzeDependencies>,
): Promise<{ chosen: Allocation; latencyRatio: number }> {
  const base = (await measureLatency(model, model, inputShapes, { runs: 10 })).medianMs;
  let macsKeep = keep;
  let best: { chosen: Allocation; latencyRatio: number } | undefined;
  for (let round = 0; round < 4; round++) {
    const chosen = alloc({ kind: 'macs', keep: macsKeep });
    const copy = decodeOnnx(encodeOnnx(model), file);
    applyPruning(copy, dep, [...chosen.remove].filter(([, r]) => r.length).map(([group, remove]) => ({ group, remove })));
    const ms = (await measureLatency(copy, copy, inputShapes, { runs: 10 })).medianMs;
    const latencyRatio = ms / base;
    if (latencyRatio <= keep && (!best || latencyRatio > best.latencyRatio)) best = { chosen, latencyRatio };
    if (Math.abs(latencyRatio - keep) < 0.02) return { chosen, latencyRatio };
    macsKeep = Math.min(1, Math.max(0.01, macsKeep * (keep / latencyRatio)));
    if (!best && round === 3) best = { chosen, latencyRatio };
  }
  return best!;
}
