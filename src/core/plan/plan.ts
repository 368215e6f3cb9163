/**
 * Pruning plans: sensitivity curves and criteria → per-group channel choices that meet a target, with warnings,
 * saved as a versioned recipe that `prune` replays to the same file.
 */
import type { CriterionName, PlanSettingsInput, PlanTarget, PlanWarning, Recipe, ScanResult } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';
import { MAX_JSON_FILE_BYTES } from '../limits.js';
import { readRegularText } from '../util/files.js';
import { measureLatency } from '../cost/latency.js';
import { needsData, scoreGroup } from '../criteria/index.js';
import { loadCalibration } from '../data/calibration.js';
import { parsePreprocess } from '../data/preprocess.js';
import { chooseUnits } from '../criteria/select.js';
import { invalid, PruneLensError, throwIfCancelled } from '../errors.js';
import { cloneModel } from '../formats/index.js';
import type { TaskOptions } from '../progress.js';
import { applyPruning } from '../surgery/apply.js';
import { PlanCosting } from './costing.js';
import { ensemble, global, sensitivity, STRATEGIES, totalLoss, uniform, type Allocation, type AllocOptions, type PlanGroup, type StrategyName, type Target } from './strategies.js';
import { DESTROYED, planWarnings } from './warnings.js';
import { lossCeiling } from '../sensitivity/metrics.js';

export type { PlanTarget, Recipe } from '../../shared/types.js';

export const RECIPE_KIND = 'prunelens-recipe';
export const RECIPE_VERSION = 1;

export interface PlanOptions extends PlanSettingsInput, TaskOptions {}

/** Whether a plan with these settings needs a scan (sensitivity, ensemble and loss targets read the curves). */
export function planNeedsScan(opts: Pick<PlanSettingsInput, 'strategy' | 'target'>): boolean {
  return (opts.strategy ?? 'sensitivity') !== 'uniform' && (opts.strategy ?? 'sensitivity') !== 'global' || opts.target.kind === 'loss';
}

/** Checks plan options that do not need the model (front ends call it before any work). */
export function checkPlanOptions(opts: PlanSettingsInput): void {
  const strategy = opts.strategy ?? 'sensitivity';
  if (!STRATEGIES.includes(strategy)) throw invalid('strategy', `one of ${STRATEGIES.join(', ')}, got '${strategy}'`);
  const maxRatio = opts.maxRatio ?? 0.9;
  if (!(maxRatio > 0 && maxRatio < 1)) throw invalid('maxRatio', `must be in (0, 1), got ${maxRatio}`);
  const t = opts.target as PlanTarget | undefined;
  if (!t || typeof t !== 'object') throw invalid('target', 'give a target: macs, params or latency = fraction to keep, or a maximum loss');
  if (t.kind === 'loss') {
    if (!(t.max >= 0)) throw invalid('maxLoss', `must be ≥ 0, got ${t.max}`);
  } else if (t.kind === 'macs' || t.kind === 'params' || t.kind === 'latency') {
    if (!(t.keep > 0 && t.keep <= 1)) throw invalid('target', `${t.kind}=${t.keep}: the fraction to keep must be in (0, 1]`);
  } else {
    throw invalid('target', `macs, params or latency, got '${(t as { kind: string }).kind}'`);
  }
}

/**
 * Plans for a loaded model. `scan` is the session's scan of this model (required by sensitivity, ensemble and loss
 * targets; it must be structured and made for the same model and input shapes).
 */
export async function plan(a: Analysis, scan: ScanResult | undefined, opts: PlanOptions): Promise<Recipe> {
  checkPlanOptions(opts);
  const strategy = opts.strategy ?? 'sensitivity';
  const maxRatio = opts.maxRatio ?? 0.9;
  if (scan) {
    if (scan.model.sha256 !== a.sha256()) throw new PruneLensError(`the scan was made for another model (${scan.model.path}); scan this one first`, { option: 'scan' });
    if (scan.settings.mode !== 'structured') throw new PruneLensError('plans need a structured scan', { option: 'scan' });
  }
  const needsScan = planNeedsScan(opts);
  if (needsScan && !scan) throw new PruneLensError(`the ${opts.target.kind === 'loss' ? 'loss target' : `${strategy} strategy`} needs a sensitivity scan`, { option: 'scan' });
  throwIfCancelled(opts.signal);
  const { model, dep, cost, infos } = a;
  const criterion = opts.criterion ?? 'l1';
  if (needsData(criterion)) {
    const ss = opts.scanSettings ?? {};
    const preprocess = typeof ss.preprocess === 'string' ? parsePreprocess(ss.preprocess) : ss.preprocess;
    await a.prepare(criterion, await loadCalibration(model, a.shapes.inputs, { data: ss.data, labels: ss.labels, preprocess, samples: ss.samples, seed: ss.seed, inputValues: a.givenValues }), opts);
  }
  const select = { criterion, reduce: opts.reduce, withinGroup: opts.withinGroup, roundTo: opts.roundTo, minChannels: opts.minChannels, seed: opts.seed };
  const costing = new PlanCosting(a, select);
  const curves = new Map(scan?.targets.map((t) => [t.id as number, [{ ratio: 0, loss: 0 }, ...t.points.map((p) => ({ ratio: p.ratio, loss: p.loss }))]]));
  const groups: PlanGroup[] = dep.groups
    .filter((g) => infos[g.id].prunable)
    .map((g) => ({ group: g, scores: a.scores(g, select).scores, curve: curves.get(g.id) }));
  if (groups.length === 0) throw new PruneLensError('nothing to plan: no prunable group', { code: 'unsupported' });
  if (needsScan && groups.some((pg) => !pg.curve)) {
    throw new PruneLensError('the scan does not cover every prunable group (was it made for only some groups?): scan all groups', { option: 'scan' });
  }
  const metric = scan ? { name: scan.settings.metric, ...lossCeiling(scan.settings.metric, scan.dense.outputs.find((o) => o.name === scan.settings.output)?.classes, scan.dense.metrics) } : undefined;
  const allocOpts: AllocOptions = {
    ...select, maxRatio, choose: (g, scores, keep) => chooseUnits(g, dep, scores, keep, select),
    ...(metric && Number.isFinite(metric.ceiling) && metric.ceiling > 0 ? { destroyedAt: DESTROYED * metric.ceiling } : {}),
  };
  const alloc = (target: Target, name: StrategyName = strategy): Allocation => {
    switch (name) {
      case 'uniform': return uniform(groups, target, costing, allocOpts);
      case 'global': return global(groups, target, costing, allocOpts);
      case 'sensitivity': return sensitivity(groups, target, costing, allocOpts);
      case 'ensemble': {
        const others = (['uniform', 'global', ...(scan ? ['sensitivity' as const] : [])] as StrategyName[]).map((s) => alloc(target, s).keep);
        const byCriteria = (['l2', 'fpgm', 'bn', 'lamp'] as CriterionName[]).filter((c) => c !== criterion).map((c) => {
          const alt = groups.map((pg) => ({ ...pg, scores: scoreGroup(model.graph, pg.group, c, { reduce: opts.reduce }).scores }));
          return global(alt, target, costing, allocOpts).keep;
        });
        return ensemble(groups, target, costing, allocOpts, [...others, ...byCriteria]);
      }
    }
  };
  let chosen: Allocation;
  let latencyRatio: number | undefined;
  if (opts.target.kind === 'latency') {
    ({ chosen, latencyRatio } = await solveLatency(a, opts.target.keep, (t) => alloc(t), opts.signal));
  } else {
    chosen = alloc(opts.target as Target);
  }
  throwIfCancelled(opts.signal);
  // the exact cost of the plan, from the same estimator surgery is checked against
  const after = costing.evaluate(chosen.keep);
  const layerMacs = new Map(cost.layers.map((l) => [l.name, l.macs]));
  const warnings = planWarnings({ metric, groups, alloc: chosen, infos, dep, layerMacs, totalMacs: cost.macs, minChannels: opts.minChannels ?? 1, maxRatio, strategy });
  const destroyed = warnings.filter((w) => w.kind === 'destroyed');
  if (opts.target.kind === 'loss' && destroyed.length) {
    throw invalid('maxLoss', `${opts.target.max} lets the plan destroy an output: ${destroyed[0].message}; ask for a smaller loss`);
  }
  warnings.push(...dataWarnings(a, scan));
  if (latencyRatio !== undefined && opts.target.kind === 'latency' && latencyRatio > opts.target.keep + 0.02) {
    warnings.unshift({ kind: 'target', message: `measured latency is ${(100 * latencyRatio).toFixed(0)} % of the original, above the ${(100 * opts.target.keep).toFixed(0)} % asked`, numbers: { latencyRatio, target: opts.target.keep },
      fix: 'measure on an idle machine, or ask for fewer MACs (a macs target): small or memory-bound models gain little latency from fewer channels', options: ['target'] });
  }
  return {
    kind: RECIPE_KIND,
    version: RECIPE_VERSION,
    model: { path: model.path, sha256: a.sha256(), params: cost.params, macs: cost.macs },
    settings: {
      strategy,
      target: opts.target,
      criterion,
      reduce: opts.reduce ?? 'mean',
      withinGroup: opts.withinGroup ?? 'per-source',
      maxRatio,
      minChannels: opts.minChannels,
      roundTo: opts.roundTo,
      inputShapes: a.shapes.inputs,
      scan: scan ? { metric: scan.settings.metric, samples: scan.settings.samples, data: scan.data.description, criterion: scan.settings.criterion, synthetic: scan.data.synthetic } : undefined,
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
      params: Math.round(after.params),
      macs: Math.round(after.macs),
      paramsRatio: after.params / cost.params,
      macsRatio: after.macs / cost.macs,
      ...(scan ? { loss: totalLoss(groups, chosen.keep) } : {}),
      ...(latencyRatio !== undefined ? { latencyRatio } : {}),
    },
    warnings,
  };
}

/** What the plan's predictions rest on, when it is weak: synthetic data, a silent dense reference, assumed sizes. */
function dataWarnings(a: Analysis, scan: ScanResult | undefined): PlanWarning[] {
  const out: PlanWarning[] = [];
  if (scan?.data.synthetic) {
    const task = taskOf(a);
    out.push({ kind: 'data', message: `the scan ran on synthetic data (${scan.data.description}): predicted losses are fidelity to the dense model on such inputs, not task accuracy`,
      numbers: { samples: scan.data.samples },
      fix: task ? `this looks like ${task}: scan with real ${task.includes('text') ? 'text images' : 'images'} (an image folder, labelled by sub-folder, or .npz/.npy)` : 'scan with real samples (an image folder, .npz/.npy or IDX)',
      options: ['data'] });
  }
  for (const d of scan?.dense.degenerate ?? []) {
    out.push({ kind: 'data', message: `on the scan's data the dense model's ${d}: the scan measured rounding, not the model`, numbers: {},
      fix: 'scan with real data', options: ['data'] });
  }
  if (a.assumedSizes.length) {
    out.push({ kind: 'data', message: `input sizes were assumed (${a.assumedSizes.join(', ')})`, numbers: {},
      fix: 'give the input shape the model is used at', options: ['inputShapes'] });
  }
  return out;
}

/** What the model is for, as far as its metadata, outputs and exporter say (used to ask for the right data). */
export function taskOf(a: Analysis): string | undefined {
  const md = Object.entries(a.model.meta.metadata).map(([k, v]) => `${k}=${v}`).join(' ').toLowerCase();
  const outs = a.model.graph.outputs.map((o) => a.shapes.types.get(o.name)?.dims ?? []);
  const image = Object.values(a.shapes.inputs).some((d) => d.length === 4 && (d[1] === 3 || d[1] === 1 || d[3] === 3));
  if (/detect|\bdet\b|yolo|ssd/.test(md)) return 'an object or text detector';
  if (!image) return undefined;
  const map = outs.find((d) => d.length === 4 && d[1] === 1 && d[2] > 8);
  if (map) return 'a text or object detector (it outputs a per-pixel map)';
  if (outs.some((d) => d.length === 2 && d[1] >= 2)) return 'an image classifier';
  if (outs.some((d) => d.length === 3 && d[2] > 50)) return 'a text recogniser (per-position classes)';
  return 'an image model';
}

/** A scan result from a JSON file (`scan -o`). */
export function readScan(file: string): ScanResult {
  let j: ScanResult;
  try {
    j = JSON.parse(readRegularText(file, { option: 'scan', what: 'scan result', maxBytes: MAX_JSON_FILE_BYTES })) as ScanResult;
  } catch (e) {
    if (e instanceof PruneLensError) throw e;
    throw new PruneLensError(`${file}: not a readable scan result (${(e as Error).message})`, { option: 'scan' });
  }
  if (!j || !Array.isArray(j.targets) || !j.model?.sha256 || !j.settings) throw new PruneLensError(`${file}: not a prunelens scan result (make one with scan and save it)`, { option: 'scan' });
  return j;
}

/**
 * Latency targets: MACs are the search variable, corrected by measuring. Each round prunes a copy for real and
 * times it against the original in ONNX Runtime; the MACs target moves by the measured shortfall.
 */
async function solveLatency(a: Analysis, keep: number, alloc: (t: Target) => Allocation, signal?: AbortSignal): Promise<{ chosen: Allocation; latencyRatio: number }> {
  const { model, dep, shapes } = a;
  a.assertRunFits('timing the model for a latency target');
  const base = (await measureLatency(model, model, shapes.inputs, { runs: 10, values: a.givenValues })).medianMs;
  let macsKeep = keep;
  let best: { chosen: Allocation; latencyRatio: number } | undefined;
  for (let round = 0; round < 4; round++) {
    throwIfCancelled(signal);
    const chosen = alloc({ kind: 'macs', keep: macsKeep });
    const copy = cloneModel(model);
    applyPruning(copy, dep, [...chosen.remove].filter(([, r]) => r.length).map(([group, remove]) => ({ group, remove })));
    const ms = (await measureLatency(copy, copy, shapes.inputs, { runs: 10, values: a.givenValues })).medianMs;
    const latencyRatio = ms / base;
    if (latencyRatio <= keep && (!best || latencyRatio > best.latencyRatio)) best = { chosen, latencyRatio };
    if (Math.abs(latencyRatio - keep) < 0.02) return { chosen, latencyRatio };
    macsKeep = Math.min(1, Math.max(0.01, macsKeep * (keep / latencyRatio)));
    if (!best && round === 3) best = { chosen, latencyRatio };
  }
  return best!;
}
