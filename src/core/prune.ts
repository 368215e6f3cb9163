/**
 * Structured pruning of a loaded model: channel choice → surgery on a copy → verification against the masked original
 * → a variant held in memory, with its report and the recipe that reproduces it. `saveVariant` writes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CriterionName, PruneReport, PruneSettingsInput, Recipe, RecoveryReport, RecoverySettings, SaveResult, Verification } from '../shared/types.js';
import { fileSha256 } from './util/hash.js';
import type { Analysis } from './analysis.js';
import { computeCost, COST_BASIS } from './cost/cost.js';
import { measureLatencies } from './cost/latency.js';
import { CRITERIA, needsData } from './criteria/index.js';
import { classCount, keepCount, type SelectOptions } from './criteria/select.js';
import { loadCalibration, sliceFeeds, type CalibrationSet } from './data/calibration.js';
import { parsePreprocess } from './data/preprocess.js';
import type { DepGraph } from './deps/analyze.js';
import { invalid, PruneLensError, throwIfCancelled } from './errors.js';
import { evaluateAccuracy } from './eval.js';
import { cloneModel, modelFiles } from './formats/index.js';
import { checkNativeName, foreignSource, type ForeignSource, type NativeFiles, type Quantize } from './formats/foreign.js';
import { stageNative } from './formats/native-save.js';
import { encodeOnnx, saveOnnx } from './formats/onnx/save.js';
import type { Model } from './ir/graph.js';
import { RECIPE_KIND, RECIPE_VERSION } from './plan/plan.js';
import { checkRecipeFields } from './plan/recipe-check.js';
import type { TaskOptions } from './progress.js';
import { writePruneReports, reportPaths } from './report/prune-report.js';
import { computeShapes, runtimeInputs } from './shapes/index.js';
import { applyPruning, type Selection } from './surgery/apply.js';
import { applyMask } from './surgery/twin.js';
import { verifyAgainstTwin, type RealInputs } from './surgery/verify.js';
import { checkRecovery, outputs, recover } from './recovery/index.js';
import type { Teacher } from './autodiff/gradients.js';
import { GRADIENT_CRITERIA, type GradientCriterion } from './criteria/gradient.js';
import { ioNames, readNative, verifyNative } from './surgery/verify-native.js';
import { measureRunners } from './cost/latency.js';
import { tfjsRunner, type HostFeeds } from './runtime/backend.js';
import type { Feeds } from './runtime/ort.js';
import { DenseChannels } from './recovery/layers.js';
import { analyseModel } from './analysis.js';
import { OutputBatch, writeAll } from './util/atomic.js';
import { checkOutputs } from './util/outputs.js';

export type { PlanEntries, PruneReport } from '../shared/types.js';

export interface PruneOptions extends PruneSettingsInput, SelectOptions, TaskOptions {}

/** A pruned model in memory, with its serialised bytes, report and recipe. */
export interface Variant {
  model: Model;
  bytes: Uint8Array;
  report: PruneReport;
  recipe: Recipe;
  /** The files it was made from (the model, its external data, the data it was checked on): never overwritten by a save. */
  inputs: string[];
  /** TF.js and Keras models: the verified files in the model's own format, and how weights were stored. */
  native?: { files: NativeFiles; quantize: Quantize };
}

/** A selection with the criterion that chose it (bn falls back to l1 where a group has no BatchNormalization). */
type Chosen = Selection & { scoredBy?: CriterionName };

/** Checks prune options that do not need the model (front ends call it before any work). */
export function checkPruneOptions(opts: PruneOptions): void {
  const given = (['ratio', 'plan', 'keep', 'recipe'] as const).filter((k) => opts[k] !== undefined);
  if (given.length === 0) throw invalid('ratio', 'say what to prune: a ratio, a plan, kept channels per group or a recipe');
  if (given.length > 1) throw invalid(given[1], `give one of ratio, plan, keep or recipe, not ${given.join(' and ')}`);
  if (opts.ratio !== undefined && !(opts.ratio >= 0 && opts.ratio < 1)) throw invalid('ratio', `must be in [0, 1), got ${opts.ratio}`);
  if (opts.criterion !== undefined && !CRITERIA.includes(opts.criterion)) throw invalid('criterion', `one of ${CRITERIA.join(', ')}, got '${opts.criterion}'`);
  if (opts.reduce !== undefined && !['mean', 'sum', 'max'].includes(opts.reduce)) throw invalid('reduce', `mean, sum or max, got '${opts.reduce}'`);
  if (opts.withinGroup !== undefined && opts.withinGroup !== 'per-source' && opts.withinGroup !== 'global') throw invalid('withinGroup', `per-source or global, got '${opts.withinGroup}'`);
  for (const k of ['roundTo', 'minChannels', 'samples', 'latencyRuns', 'steps'] as const) {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= (k === 'latencyRuns' ? 0 : 1))) throw invalid(k, `expects a whole number${k === 'latencyRuns' ? '' : ' ≥ 1'}, got ${v}`);
  }
  if (opts.labels && !opts.data) throw invalid('labels', 'labels need data to go with them');
  if (opts.recipe !== undefined) checkRecipeFields(opts.recipe);
  if (opts.quantization !== undefined && opts.quantization !== 'original' && opts.quantization !== 'none') {
    throw invalid('quantization', `original or none, got '${opts.quantization}'`);
  }
}

/** Resolves what to remove: plan keys (group ids or layer names), kept counts, or one ratio for every group. */
export function selectionsFor(a: Analysis, opts: PruneOptions): Chosen[] {
  const { dep, infos, model } = a;
  const byKey = (key: string) => {
    if (/^\d+$/.test(key)) return dep.groups[Number(key)] ? Number(key) : undefined;
    const i = infos.findIndex((g) => g.sources.includes(key) || g.members.some((m) => m.node === key || m.tensor === key));
    return i >= 0 ? i : undefined;
  };
  const entries = opts.plan ?? opts.keep;
  if (entries) {
    const option = opts.plan ? 'plan' : 'keep';
    const seen = new Map<number, string>();
    const sel: Chosen[] = [];
    for (const [key, v] of Object.entries(entries)) {
      const id = byKey(key);
      if (id === undefined) throw invalid(option, `no dependency group '${key}' (use a group id or a layer name from inspect)`);
      const info = infos[id];
      if (seen.has(id)) throw invalid(option, `group ${id} is named twice ('${seen.get(id)}' and '${key}')`);
      seen.set(id, key);
      const g = dep.groups[id];
      if (!info.prunable || !g) throw new PruneLensError(`group ${id} (${key}) cannot be pruned: ${info.reason}`, { code: 'unsupported', option });
      if (opts.keep) {
        if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= g.units.length)) throw invalid('keep', `group ${id} keeps 1…${g.units.length} channels, got ${JSON.stringify(v)}`);
        const { used } = a.scores(g, opts);
        sel.push({ group: id, remove: a.choose(g, v, opts), scoredBy: used });
      } else if (Array.isArray(v)) {
        const bad = v.find((u) => !Number.isInteger(u) || u < 0 || u >= g.units.length || g.pinned.has(u));
        if (bad !== undefined) throw invalid('plan', `group ${id} has no removable channel ${bad}`);
        if (new Set(v).size >= g.units.length) throw invalid('plan', `group ${id} would lose all its channels`);
        sel.push({ group: id, remove: [...new Set(v)].sort((x, y) => x - y) });
      } else {
        if (!(typeof v === 'number' && v >= 0 && v < 1)) throw invalid('plan', `the ratio for '${key}' must be in [0, 1), got ${JSON.stringify(v)}`);
        sel.push(byRatio(a, id, v, opts));
      }
    }
    return sel.filter((s) => s.remove.length);
  }
  const prunable = dep.groups.filter((g) => infos[g.id].prunable);
  if (!prunable.length) {
    const why = infos.find((g) => g.reason)?.reason ?? 'it has no dependency groups';
    throw new PruneLensError(`nothing to prune in ${path.basename(model.path)}: no group of channels can be pruned (e.g. ${why})`, { code: 'unsupported' });
  }
  return prunable.map((g) => byRatio(a, g.id, opts.ratio ?? 0, opts)).filter((s) => s.remove.length);
}

function byRatio(a: Analysis, id: number, ratio: number, opts: SelectOptions): Chosen {
  const g = a.dep.groups[id];
  if (ratio <= 0) return { group: id, remove: [] };
  const keep = keepCount(g.units.length, g.pinned.size, ratio, opts, classCount(g));
  return { group: id, remove: a.choose(g, keep, opts), scoredBy: a.scores(g, opts).used };
}

export async function prune(analysed: Analysis, opts: PruneOptions): Promise<Variant> {
  checkPruneOptions(opts);
  let a = analysed;
  if (opts.recipe) {
    const r = opts.recipe;
    checkRecipe(a, r, opts.ignoreHash);
    // the recipe's recovery, on the data it was fitted on, unless the user asks for another
    const rec = r.settings.recovery;
    if (rec && opts.recover === undefined) {
      checkRecoveryData(rec);
      opts = { ...opts, recover: rec.methods, seed: rec.seed, ...(rec.data ? { data: rec.data, labels: rec.labels, preprocess: rec.preprocess } : { data: undefined, labels: undefined }) };
    }
    // a recipe is for the input shapes it was planned at
    if (JSON.stringify(r.settings.inputShapes) !== JSON.stringify(a.shapes.inputs)) a = await a.reshaped(r.settings.inputShapes, opts);
    checkRecipeGroups(r, a.dep);
    opts = {
      ...opts, recipe: r,
      plan: Object.fromEntries(r.groups.filter((g) => g.remove.length).map((g) => [String(g.id), g.remove])),
      criterion: r.settings.criterion, reduce: r.settings.reduce as SelectOptions['reduce'], withinGroup: r.settings.withinGroup,
      ...(r.settings.steps ? { steps: r.settings.steps } : {}),
    };
  }
  const { model, shapes, dep } = a;
  // verification and timing run the model at these shapes: refused here when they cannot fit in memory
  a.assertRunFits('verifying the pruned model', { option: opts.recipe ? 'recipe' : 'inputShapes' });
  const set = opts.data ? await loadData(a, opts) : undefined;
  const real = set ? realInputs(a, set, opts.samples ?? 8) : undefined;
  if (real) a.assertRunFits('verifying on real samples', { samples: Object.values(real.feeds[0])[0]?.dims[0] ?? 1, option: 'samples' });
  throwIfCancelled(opts.signal);
  // a recipe's exact channels need no scores; its steps re-score from the first on
  if (needsData(opts.criterion) && (!opts.recipe || (opts.steps ?? 1) > 1)) {
    await a.prepare(opts.criterion, set ?? await loadCalibration(model, shapes.inputs, { samples: 64, seed: opts.seed, inputValues: a.givenValues }), opts);
  }
  opts.onProgress?.({ phase: 'prune', done: 0, total: 1, message: 'choosing channels' });
  const chosen = selectionsFor(a, opts);
  const methods = checkRecovery(opts.recover);
  const calibration = methods.length
    ? set ?? await loadCalibration(model, shapes.inputs, { samples: opts.samples && opts.samples > 8 ? opts.samples : 256, seed: opts.seed, inputValues: a.givenValues })
    : undefined;
  const steps = opts.steps ?? 1;
  const channels = new DenseChannels();
  let pruned: Model;
  let verification: Verification;
  let twin: Model;
  let feeds: Feeds[];
  let recovery: RecoveryReport | undefined;
  const stepReports: NonNullable<PruneReport['steps']> = [];
  if (steps <= 1) {
    ({ pruned, verification, twin, feeds } = await pruneOnce(a, chosen, real, opts));
    channels.apply(model, dep, chosen);
    // recovery changes the weights on purpose: verification above checked the surgery, before it
    if (methods.length) recovery = await recover(a, pruned, channels, calibration!, methods, { seed: opts.seed, signal: opts.signal, onProgress: opts.onProgress });
  } else {
    // k steps of prune → recover, each towards 1/k more of the removal, the channels scored again on the model as it is
    const finalKeep = new Map(chosen.map((c) => [c.group, dep.groups[c.group].units.length - c.remove.length]));
    let current = a;
    let last: Awaited<ReturnType<typeof pruneOnce>> | undefined;
    // later steps score by gradients of KL to the dense model (unlabelled classifiers), not of the pruned model's own top-1
    let scoring: { data: CalibrationSet; teacher?: Teacher } | undefined;
    for (let k = 1; k <= steps; k++) {
      throwIfCancelled(opts.signal);
      opts.onProgress?.({ phase: 'steps', done: k - 1, total: steps, message: `step ${k} of ${steps}` });
      if (k > 1) {
        current = await analyseModel(last!.pruned, { inputShapes: shapes.inputs, inputValues: a.givenValues });
        sameGroups(a, current);
        if (needsData(opts.criterion)) {
          if (!scoring) {
            const data = set ?? calibration ?? await loadCalibration(model, shapes.inputs, { samples: 64, seed: opts.seed, inputValues: a.givenValues });
            scoring = { data, teacher: GRADIENT_CRITERIA.includes(opts.criterion as GradientCriterion) ? await teacherOf(a, data) : undefined };
          }
          await current.prepare(opts.criterion, scoring.data, { ...opts, teacher: scoring.teacher });
        }
      }
      const sel: Chosen[] = [...finalKeep].flatMap(([id, keep]) => {
        const n = dep.groups[id].units.length;
        const target = n - Math.round(((n - keep) * k) / steps);
        const g = current.dep.groups[id];
        const remove = g.units.length > target ? current.choose(g, target, opts) : [];
        return remove.length ? [{ group: id, remove, scoredBy: current.scores(g, opts).used }] : [];
      });
      last = await pruneOnce(current, sel, real, opts);
      channels.apply(current.model, current.dep, sel);
      const stepRecovery = methods.length
        ? await recover(a, last.pruned, channels, calibration!, methods, { seed: opts.seed, signal: opts.signal, onProgress: opts.onProgress })
        : undefined;
      stepReports.push({ step: k, removed: sel.reduce((t, x) => t + x.remove.length, 0), verified: last.verification.passed && last.verification.exercised, ...(stepRecovery ? { recovery: { before: stepRecovery.before, after: stepRecovery.after } } : {}) });
      recovery = stepRecovery;
    }
    ({ pruned, verification, twin, feeds } = last!);
  }
  // what was removed, in the dense model's channel indices
  const selections: Chosen[] = steps <= 1 ? chosen : denseSelections(a, channels, chosen);
  if (opts.recipe?.settings.steps && JSON.stringify(selections.map((x) => x.remove)) !== JSON.stringify(opts.recipe.groups.filter((g) => g.remove.length).map((g) => g.remove))) {
    throw new PruneLensError('replaying the recipe\'s steps chose other channels than it records (the model, data or criterion differ)', { code: 'bad-input', option: 'recipe' });
  }
  throwIfCancelled(opts.signal);
  const after = computeCost(pruned, await computeShapes(pruned, shapes.inputs, { inputValues: a.givenValues }));
  let bytes = encodeOnnx(pruned);
  // a TF.js or Keras model is written in its own format and checked as its users run it, before anything is saved
  const foreign = foreignSource(model);
  const hostFeeds: HostFeeds[] = feeds.map((f) => Object.fromEntries(Object.entries(f).map(([k, t]) => [k, { dims: [...t.dims], data: t.data as Float32Array }])));
  const native = foreign ? await nativeFiles(foreign, model, pruned, recovery ? undefined : twin, hostFeeds, opts) : undefined;
  const layersAfter = new Map(after.layers.map((l) => [l.name, l]));
  const criterion = opts.criterion ?? 'l1';
  const report: PruneReport = {
    input: model.path,
    criterion,
    reduce: opts.reduce ?? 'mean',
    withinGroup: opts.withinGroup ?? 'per-source',
    inputShapes: shapes.inputs,
    basis: COST_BASIS,
    before: { params: a.cost.params, macs: a.cost.macs, bytes: a.bytes() },
    after: { params: after.params, macs: after.macs, bytes: native ? [...native.files.files.values()].reduce((n, b) => n + b.length, 0) : bytes.length + externalBytes(pruned) },
    groups: selections.map((s) => {
      const g = dep.groups[s.group];
      return { id: g.id, channels: g.units.length, kept: g.units.length - s.remove.length, removed: s.remove, sources: g.sources, scoredBy: s.scoredBy };
    }),
    bnFallback: criterion === 'bn' ? selections.filter((s) => s.scoredBy === 'l1').map((s) => s.group) : undefined,
    fallback: criterion === 'thinet' ? selections.filter((s) => s.scoredBy === 'l1').map((s) => ({ group: s.group, reason: a.criterionFallback(criterion).get(s.group) ?? '' })) : undefined,
    layers: a.cost.layers
      .filter((l) => l.kind === 'compute' || l.outChannels !== undefined)
      .map((l) => ({
        name: l.name,
        op: l.op,
        outChannelsBefore: l.outChannels,
        outChannelsAfter: layersAfter.get(l.name)?.outChannels,
        paramsBefore: l.params,
        paramsAfter: layersAfter.get(l.name)?.params ?? 0,
      })),
    verification,
    ...(native ? { native: native.check } : {}),
  };
  if (recovery) report.recovery = recovery;
  if (stepReports.length) report.steps = stepReports;
  if (opts.latencyRuns || (opts.latency && opts.latencyRuns === undefined)) {
    opts.onProgress?.({ phase: 'latency', done: 0, total: 1, message: 'timing both models' });
    // the original's inputs describe the pruned model's too
    const [before, after] = foreign && native
      ? await nativeLatencies(foreign, native.files, model, hostFeeds[0], shapes.inputs, opts)
      : await measureLatencies([model, bytes], model, shapes.inputs, { runs: opts.latencyRuns, threads: opts.threads, values: a.givenValues });
    report.latency = {
      beforeMs: before.medianMs, afterMs: after.medianMs, speedup: before.medianMs / after.medianMs, runs: before.runs, threads: before.threads,
      p10: [before.p10Ms, after.p10Ms], p90: [before.p90Ms, after.p90Ms], backend: before.backend,
    };
  }
  if (set?.labels) {
    opts.onProgress?.({ phase: 'accuracy', done: 0, total: 1, message: `accuracy on ${set.count} samples` });
    const externalDataDir = path.dirname(model.path);
    const batch = a.samplesPerRun(64);
    const [x, y] = [await evaluateAccuracy(model, set, { batch }), await evaluateAccuracy(bytes, set, { externalDataDir, batch })];
    report.accuracy = { samples: x.samples, before: x.top1, after: y.top1, top5Before: x.top5, top5After: y.top5, data: set.description };
  }
  if (opts.recipe) {
    const { settings, predicted, warnings, groups } = opts.recipe;
    report.recipe = { settings, predicted, warnings, groups: groups.map((g) => ({ id: g.id, predictedLoss: g.predictedLoss })) };
  }
  const recipe = opts.recipe ?? manualRecipe(a, selections, opts, report);
  // the recipe that reproduces this file records the recovery and the steps too
  const extra = {
    // a schedule re-scores on the data between steps: its recipe records that data even without recovery
    ...(methods.length || (steps > 1 && needsData(opts.criterion)) ? { recovery: recoverySettings(methods, opts) } : {}),
    ...(steps > 1 ? { steps } : {}),
  };
  const inputs = [...modelFiles(model), ...[opts.data, opts.labels].filter((f): f is string => !!f)];
  return {
    model: pruned, bytes, report, recipe: Object.keys(extra).length ? { ...recipe, settings: { ...recipe.settings, ...extra } } : recipe, inputs,
    ...(native ? { native: { files: native.files, quantize: native.check.quantization } } : {}),
  };
}

/**
 * The pruned model as files of its own format, run in TF.js against the masked original (or, after recovery, which
 * moves weights on purpose, against the pruned model itself) written the same way. Throws when they differ.
 */
async function nativeFiles(foreign: ForeignSource, model: Model, pruned: Model, twin: Model | undefined, feeds: HostFeeds[], opts: PruneOptions) {
  opts.onProgress?.({ phase: 'verify', done: 0, total: 1, message: `writing ${model.format} files and running them in TF.js` });
  const quantize = opts.quantization ?? 'original';
  const files = await foreign.write(pruned, path.basename(model.path), { quantize });
  const check = await verifyNative(foreign, model.format, files, twin ?? pruned, feeds, { quantize, against: twin ? 'masked-original' : 'pruned' });
  if (!check.passed || !check.conversion.passed) {
    const o = check.outputs.find((x) => x.absError > x.tolerance);
    throw new PruneLensError(
      o ? `verification in TF.js failed: the written ${model.format} files' output '${o.name}' differs from the ${twin ? 'masked original' : 'pruned model'}'s by ${o.absError.toExponential(2)} (tolerance ${o.tolerance.toExponential(2)}); nothing was written`
        : `the converted graph does not compute what the file computes in TF.js (relative difference ${check.conversion.maxRelError.toExponential(2)}): PruneLens converted this model wrongly; nothing was written`,
      { code: 'verification-failed' },
    );
  }
  return { files, check };
}

/** TF.js latency of the original files (as read) and the pruned ones, on one input of the verification's. */
async function nativeLatencies(foreign: ForeignSource, files: NativeFiles, model: Model, feeds: HostFeeds, inputShapes: Record<string, number[]>, opts: PruneOptions) {
  const names = ioNames(model);
  const threads = opts.threads || undefined;
  const runners = [await tfjsRunner(await foreign.tfjs(readNative(foreign)), { ...names, threads }), await tfjsRunner(await foreign.tfjs(files), { ...names, threads })];
  try {
    return await measureRunners(runners, feeds, inputShapes, { runs: opts.latencyRuns, threads });
  } finally {
    for (const r of runners) await r.release();
  }
}

function recoverySettings(methods: RecoverySettings['methods'], opts: PruneOptions): RecoverySettings {
  const data = opts.data ? path.resolve(opts.data) : undefined;
  return {
    methods,
    seed: opts.seed ?? 1,
    ...(data ? { data, ...(fs.statSync(data).isFile() ? { dataSha256: fileSha256(data) } : {}) } : {}),
    ...(opts.labels ? { labels: path.resolve(opts.labels) } : {}),
    ...(opts.preprocess ? { preprocess: opts.preprocess } : {}),
  };
}

/** A recipe's recovery must find the data it was fitted on, unchanged. */
function checkRecoveryData(rec: RecoverySettings): void {
  if (!rec.data) return;
  if (!fs.existsSync(rec.data)) {
    throw new PruneLensError(`the recipe's recovery was fitted on ${rec.data}, which is gone: give the data again, or another recovery`, { code: 'file-not-found', option: 'data' });
  }
  if (rec.dataSha256 && fileSha256(rec.data) !== rec.dataSha256) {
    throw new PruneLensError(`the recipe's recovery was fitted on ${rec.data}, which has changed since: the result would differ`, { code: 'bad-input', option: 'data' });
  }
}

/** Surgery on a copy of `a`'s model, verified against its masked twin; throws (naming the group) when it fails. */
async function pruneOnce(a: Analysis, selections: Chosen[], real: RealInputs | undefined, opts: PruneOptions): Promise<{ pruned: Model; verification: Verification; twin: Model; feeds: Feeds[] }> {
  const { model, dep, shapes } = a;
  // the masked twin and the pruned model are independent copies: the session's model stays as loaded
  const twin = cloneModel(model);
  applyMask(twin, dep, selections);
  const pruned = cloneModel(model);
  applyPruning(pruned, dep, selections);
  foreignSource(model)?.retie(pruned);
  throwIfCancelled(opts.signal);
  opts.onProgress?.({ phase: 'verify', done: 0, total: 1, message: 'comparing with the masked original' });
  const feeds: Feeds[] = [];
  const verification = await verifyAgainstTwin(encodeOnnx(pruned), twin, shapes.inputs, { real, values: a.givenValues, original: model, feedsOut: feeds });
  if (!verification.passed) {
    const culprit = await findBrokenGroup(a, selections, real);
    const o = verification.outputs.find((x) => x.absError > x.tolerance)!;
    throw new PruneLensError(
      `verification failed: output '${o.name}' differs from the masked original by ${o.absError.toExponential(2)} ` +
        `(tolerance ${o.tolerance.toExponential(2)})${culprit !== undefined ? `; group ${culprit} (${dep.groups[culprit].sources[0] ?? ''}) breaks the model` : ''}; nothing was written`,
      { code: 'verification-failed' },
    );
  }
  return { pruned, verification, twin, feeds };
}

/** An already pruned model has the dense model's groups, fewer channels in each (pruning never empties one). */
function sameGroups(dense: Analysis, now: Analysis): void {
  const same = dense.dep.groups.length === now.dep.groups.length &&
    dense.dep.groups.every((g, i) => g.sources.join('\u0000') === now.dep.groups[i].sources.join('\u0000'));
  if (!same) throw new PruneLensError('the pruned model\'s channel groups no longer match the original\'s: use fewer steps', { code: 'internal' });
}

/** The channels a run of steps removed from the dense model, group by group (a unit goes as its elements go). */
function denseSelections(a: Analysis, channels: DenseChannels, chosen: Chosen[]): Chosen[] {
  return chosen.map((c) => {
    const g = a.dep.groups[c.group];
    const remove = g.units.flatMap((els, u) => {
      const [sid, index] = a.dep.locate(els[0]);
      const s = a.dep.spaces[sid];
      return channels.keptOf(s.value, s.axis, s.size).includes(index) ? [] : [u];
    });
    return { group: c.group, remove, scoredBy: c.scoredBy };
  }).filter((c) => c.remove.length);
}

/** The recipe of a prune that was not planned: its exact channels, so it can be replayed. */
function manualRecipe(a: Analysis, selections: Chosen[], opts: PruneOptions, report: PruneReport): Recipe {
  const chosen = new Map(selections.map((s) => [s.group, s.remove]));
  return {
    kind: RECIPE_KIND,
    version: RECIPE_VERSION,
    model: { path: a.model.path, sha256: a.sha256(), params: a.cost.params, macs: a.cost.macs },
    settings: {
      strategy: 'manual', criterion: report.criterion, reduce: report.reduce, withinGroup: report.withinGroup,
      minChannels: opts.minChannels, roundTo: opts.roundTo, inputShapes: a.shapes.inputs,
    },
    groups: a.dep.groups.filter((g) => a.infos[g.id].prunable).map((g) => {
      const remove = chosen.get(g.id) ?? [];
      return { id: g.id, sources: g.sources, channels: g.units.length, keep: g.units.length - remove.length, ratio: remove.length / g.units.length, remove };
    }),
    predicted: {
      params: report.after.params, macs: report.after.macs,
      paramsRatio: report.after.params / report.before.params, macsRatio: report.after.macs / report.before.macs,
    },
    warnings: [],
  };
}

/** Bytes of tensors the saved model keeps in external data. */
function externalBytes(model: Model): number {
  let n = 0;
  for (const g of model.graph.allGraphs()) {
    for (const t of g.initializers.values()) if ((t.origin as { dataLocation?: number } | undefined)?.dataLocation === 1) n += t.byteLength;
  }
  return n;
}

async function loadData(a: Analysis, opts: PruneOptions): Promise<CalibrationSet> {
  const preprocess = typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess;
  // every sample counts for accuracy; verification takes the first few
  return loadCalibration(a.model, a.shapes.inputs, { data: opts.data, labels: opts.labels, preprocess, samples: Infinity, seed: opts.seed });
}

/** The first `count` samples as feeds: one run, or runs of the model's fixed batch when its input declares one. */
function realInputs(a: Analysis, set: CalibrationSet, count: number): RealInputs {
  const declared = runtimeInputs(a.model)[0]?.shape?.[0];
  const n = Math.min(count, set.count);
  const per = typeof declared === 'number' && declared > 0 ? Math.min(declared, set.count) : n;
  const feeds = Array.from({ length: Math.max(1, Math.floor(n / per)) }, (_, i) => sliceFeeds(set, i * per, per));
  const samples = feeds.length * per;
  return { feeds, description: `${samples} of ${set.description}`, samples };
}

/** A recipe must be for this model (its SHA-256, weights included) unless the user says otherwise. */
function checkRecipe(a: Analysis, recipe: Recipe, ignoreHash?: boolean): void {
  const sha = a.sha256();
  if (sha !== recipe.model.sha256 && !ignoreHash) {
    throw new PruneLensError(
      `the recipe was made for another model (${path.basename(recipe.model.path)}, sha256 ${recipe.model.sha256.slice(0, 12)}…; ` +
        `this one is ${sha.slice(0, 12)}…)`,
      { code: 'bad-input', option: 'ignoreHash' },
    );
  }
}

/** Even a recipe applied to another model only fits one whose groups are the same (channels and source layers). */
function checkRecipeGroups(recipe: Recipe, dep: DepGraph): void {
  for (const r of recipe.groups) {
    const g = dep.groups[r.id];
    const same = g && g.units.length === r.channels && g.sources.length === r.sources.length && g.sources.every((x, i) => x === r.sources[i]);
    if (!same) {
      throw new PruneLensError(
        `the recipe does not fit this model: its group ${r.id} is ${r.sources[0] ?? '?'} with ${r.channels} channels, ` +
          (g ? `but here group ${g.id} is ${g.sources[0] ?? '?'} with ${g.units.length} channels` : 'and this model has no such group'),
        { code: 'bad-input', option: 'recipe' },
      );
    }
  }
}

/** On a verification failure, prune each group alone (on copies of the loaded model) to name the one that breaks. */
async function findBrokenGroup(a: Analysis, selections: Selection[], real?: RealInputs): Promise<number | undefined> {
  for (const s of selections) {
    const twin = cloneModel(a.model);
    const pruned = cloneModel(a.model);
    try {
      applyMask(twin, a.dep, [s]);
      applyPruning(pruned, a.dep, [s]);
      const v = await verifyAgainstTwin(pruned, twin, a.shapes.inputs, { real, values: a.givenValues });
      if (!v.passed) return s.group;
    } catch {
      return s.group;
    }
  }
  return undefined;
}

export interface SaveOptions {
  overwrite?: boolean;
  /** Write `<name>.report.json` and `<name>.report.md` (default true). */
  reports?: boolean;
  /** Write `<name>.recipe.json` (default true). */
  writeRecipe?: boolean;
}

/** The files `saveVariant` creates for OUT besides the model and its data (so front ends can check them before any work). */
export function variantOutputs(out: string, opts: SaveOptions = {}): string[] {
  const paths = reportPaths(out);
  return [out, ...(opts.reports !== false ? [paths.json, paths.markdown] : []), ...(opts.writeRecipe !== false ? [paths.recipe] : [])];
}

/**
 * Writes a variant: the model with its data, its reports and its recipe, all written in full before any is
 * published (a full disk fails with nothing written), none of them over an input, and existing ones replaced only
 * with `overwrite`.
 */
export function saveVariant(v: Variant, out: string, opts: SaveOptions = {}): SaveResult {
  // a TF.js or Keras variant: its verified files, named after the output (another name changes shard names only)
  if (v.native) checkNativeName(v.model, out);
  const files = v.native ? foreignSource(v.model)!.rename(v.native.files, path.basename(out)) : undefined;
  const siblings = files ? [...files.files.keys()].filter((n) => n !== files.main).map((n) => path.join(path.dirname(path.resolve(out)), n)) : [];
  checkOutputs([...variantOutputs(out, opts), ...siblings], { overwrite: opts.overwrite, protect: v.inputs });
  const batch = new OutputBatch({ overwrite: opts.overwrite });
  try {
    let result: SaveResult;
    if (files) {
      const staged = stageNative(files, out, batch);
      result = { path: path.resolve(out), bytes: staged.bytes, files: staged.files };
      v.report.after.bytes = staged.bytes;
      if (v.report.native) v.report.native.files = [...files.files.keys()];
    } else {
      const saved = saveOnnx(v.model, out, { batch, overwrite: opts.overwrite });
      result = { path: path.resolve(out), bytes: saved.bytes, ...(saved.dataFile ? { dataFile: saved.dataFile, dataBytes: saved.dataBytes } : {}) };
      v.report.after.bytes = saved.bytes + (saved.dataBytes ?? 0);
    }
    v.report.output = result.path;
    if (opts.reports !== false) result.reports = v.report.reports = writePruneReports(v.report, out, batch);
    if (opts.writeRecipe !== false) {
      const file = reportPaths(out).recipe;
      batch.stage(file, (fd) => writeAll(fd, Buffer.from(JSON.stringify(v.recipe, null, 2) + '\n')));
      result.recipe = file;
    }
    batch.commit();
    return result;
  } catch (e) {
    batch.discard();
    throw e;
  }
}

/** The dense model's class probabilities over `data` ([N, K] outputs; softmax applied unless the model ends in one). */
async function teacherOf(a: Analysis, data: CalibrationSet): Promise<Teacher | undefined> {
  const out = a.model.graph.outputs[0].name;
  const dims = a.shapes.types.get(out)?.dims ?? [];
  if (dims.length !== 2 || data.labels) return undefined;
  const y = await outputs(a.model, a.model.path ? path.dirname(a.model.path) : undefined, data);
  const per = y.dims[1];
  if (a.model.graph.producer(out)?.opType === 'Softmax') return { per, data: y.data };
  const p = new Float32Array(y.data.length);
  for (let i = 0; i < y.data.length; i += per) {
    let max = -Infinity;
    for (let k = 0; k < per; k++) max = Math.max(max, y.data[i + k]);
    let sum = 0;
    for (let k = 0; k < per; k++) sum += (p[i + k] = Math.exp(y.data[i + k] - max));
    for (let k = 0; k < per; k++) p[i + k] /= sum;
  }
  return { per, data: p };
}
