/** Orchestrates structured pruning: dependency groups → channel choice → surgery → verification → file. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAndShape, type AnalyseOptions } from './api.js';
import { computeCost } from './cost/cost.js';
import type { CriterionName, Reduction } from './criteria/index.js';
import { analyzeDependencies, describeGroup, type DepGraph } from './deps/analyze.js';
import { PruneLensError, throwIfCancelled } from './errors.js';
import { decodeOnnx } from './formats/onnx/load.js';
import { encodeOnnx, saveOnnx } from './formats/onnx/save.js';
import type { Model } from './ir/graph.js';
import { computeShapes } from './shapes/index.js';
import { loadIdxSet, preprocessFromModel, type LabelledSet } from './data/labelled.js';
import { sampleFeeds } from './runtime/feeds.js';
import { applyPruning, type Selection } from './surgery/apply.js';
import { selectByRatio, type SelectOptions } from './surgery/select.js';
import { applyMask } from './surgery/twin.js';
import { verifyAgainstTwin, type RealInputs, type Verification } from './surgery/verify.js';
import { measureLatency } from './cost/latency.js';
import { evaluateAccuracy } from './eval.js';
import type { Recipe } from './plan/plan.js';
import { writePruneReports } from './report/prune-report.js';
import { fileSha256 } from './util/hash.js';

/** A plan maps group ids or member layer names to a ratio or to explicit channel indices. */
export type PlanEntries = Record<string, number | number[]>;

export interface PruneOptions extends AnalyseOptions, SelectOptions {
  ratio?: number;
  plan?: PlanEntries;
  overwrite?: boolean;
  /** Labelled IDX samples to verify on besides the random inputs (the first `samples`, 8 by default). */
  data?: { images: string; labels: string; samples?: number };
  /** A recipe from `prunelens plan`: its exact channels are applied; it must be for this model unless ignoreHash. */
  recipe?: Recipe;
  ignoreHash?: boolean;
  /** Measure ONNX Runtime latency of the original and the pruned model (runs each). */
  latencyRuns?: number;
  /** Write `<out>.report.json` and `<out>.report.md` beside the pruned model. */
  reports?: boolean;
}

/** A selection with the criterion that chose it (bn falls back to l1 where a group has no BatchNormalization). */
type Chosen = Selection & { scoredBy?: CriterionName };

export interface PruneReport {
  input: string;
  output: string;
  criterion: CriterionName;
  reduce: Reduction;
  inputShapes: Record<string, number[]>;
  before: { params: number; macs: number; bytes: number };
  after: { params: number; macs: number; bytes: number };
  groups: { id: number; channels: number; kept: number; removed: number[]; sources: string[]; scoredBy?: CriterionName }[];
  /** With criterion bn: the pruned groups without a BatchNormalization member, scored by l1 instead. */
  bnFallback?: number[];
  layers: { name: string; op: string; outChannelsBefore?: number; outChannelsAfter?: number; paramsBefore: number; paramsAfter: number }[];
  verification: Verification;
  /** Measured ONNX Runtime latency, original vs pruned (same threads, warm-up, median of the runs). */
  latency?: { beforeMs: number; afterMs: number; speedup: number; runs: number; threads: number };
  /** Accuracy on the labelled data given with --data (all its samples), before and after. */
  accuracy?: { samples: number; before: number; after: number; top5Before: number; top5After: number };
  /** The plan this model was made from: strategy, target, predictions and warnings. */
  recipe?: Pick<Recipe, 'settings' | 'predicted' | 'warnings'> & { groups: { id: number; predictedLoss?: number }[] };
  reports?: { json: string; markdown: string };
}

/** Resolve plan keys (group ids, or names of layers in a group) to selections. */
export function selectionsFor(model: Model, dep: DepGraph, opts: PruneOptions): Chosen[] {
  const sel: Chosen[] = [];
  const infos = dep.groups.map((g) => describeGroup(g, model));
  const byKey = (key: string) => {
    if (/^\d+$/.test(key)) return dep.groups[Number(key)];
    const i = infos.findIndex((g) => g.sources.includes(key) || g.members.some((m) => m.node === key || m.tensor === key));
    return i >= 0 ? dep.groups[i] : undefined;
  };
  if (opts.plan) {
    for (const [key, v] of Object.entries(opts.plan)) {
      const g = byKey(key);
      if (!g) throw new PruneLensError(`plan: no dependency group '${key}' (use a group id or a layer name from inspect --json)`);
      const info = infos[g.id];
      if (!info.prunable) throw new PruneLensError(`plan: group ${g.id} (${key}) cannot be pruned: ${info.reason}`);
      if (Array.isArray(v)) {
        const bad = v.find((u) => !Number.isInteger(u) || u < 0 || u >= g.units.length || g.pinned.has(u));
        if (bad !== undefined) throw new PruneLensError(`plan: group ${g.id} has no removable channel ${bad}`);
        if (new Set(v).size >= g.units.length) throw new PruneLensError(`plan: group ${g.id} would lose all its channels`);
        sel.push({ group: g.id, remove: [...new Set(v)].sort((a, b) => a - b) });
      } else {
        if (!(v >= 0 && v < 1)) throw new PruneLensError(`plan: ratio for '${key}' must be in [0, 1), got ${v}`);
        const { remove, used } = selectByRatio(model.graph, g, v, opts);
        sel.push({ group: g.id, remove, scoredBy: used });
      }
    }
    return sel;
  }
  const ratio = opts.ratio ?? 0;
  for (const g of dep.groups) {
    if (!infos[g.id].prunable) continue;
    const { remove, used } = selectByRatio(model.graph, g, ratio, opts);
    if (remove.length) sel.push({ group: g.id, remove, scoredBy: used });
  }
  return sel;
}

export async function pruneModel(file: string, out: string, opts: PruneOptions): Promise<PruneReport> {
  if (opts.recipe) opts = { ...opts, ...fromRecipe(file, opts.recipe, opts.ignoreHash) };
  if (opts.ratio === undefined && !opts.plan) throw new PruneLensError('give --ratio R or --plan PLAN.json');
  if (opts.ratio !== undefined && !(opts.ratio >= 0 && opts.ratio < 1)) throw new PruneLensError(`--ratio must be in [0, 1), got ${opts.ratio}`);
  if (path.resolve(out) === path.resolve(file)) throw new PruneLensError('the output must not be the input file (the original is never modified)');
  if (!opts.overwrite && fs.existsSync(out)) throw new PruneLensError(`${out} already exists (pass --force to replace it)`);
  const { model, shapes } = await loadAndShape(file, opts);
  const labelled = opts.data ? loadIdxSet(opts.data.images, opts.data.labels, preprocessFromModel(model)) : undefined;
  const real = opts.data && labelled ? realInputs(model, shapes.inputs, opts.data, labelled) : undefined;
  throwIfCancelled(opts.signal);
  opts.onProgress?.({ phase: 'analyse', done: 0, total: 1 });
  const dep = analyzeDependencies(model, shapes);
  if (opts.recipe) checkRecipeGroups(opts.recipe, dep);
  const selections = selectionsFor(model, dep, opts);
  const before = computeCost(model, shapes);
  // The masked twin is an independent copy of the original, taken before surgery.
  const twin = decodeOnnx(encodeOnnx(model), file);
  applyMask(twin, dep, selections);
  applyPruning(model, dep, selections);
  throwIfCancelled(opts.signal);
  const prunedShapes = await computeShapes(model, shapes.inputs);
  const after = computeCost(model, prunedShapes);
  opts.onProgress?.({ phase: 'verify', done: 0, total: 1 });
  const verification = await verifyAgainstTwin(model, twin, shapes.inputs, { real });
  if (!verification.passed) {
    const culprit = await findBrokenGroup(file, opts, selections, real);
    throw new PruneLensError(
      `verification failed (relative error ${verification.maxRelError.toExponential(2)} > ${verification.tolerance})` +
        (culprit !== undefined ? `: group ${culprit} breaks the model` : '') + '; nothing was written',
    );
  }
  throwIfCancelled(opts.signal);
  const saved = saveOnnx(model, out, { overwrite: opts.overwrite });
  const bytesBefore = fs.statSync(file).size;
  const layersAfter = new Map(after.layers.map((l) => [l.name, l]));
  const report: PruneReport = {
    input: path.resolve(file),
    output: path.resolve(out),
    criterion: opts.criterion ?? 'l1',
    reduce: opts.reduce ?? 'mean',
    inputShapes: shapes.inputs,
    before: { params: before.params, macs: before.macs, bytes: bytesBefore },
    after: { params: after.params, macs: after.macs, bytes: saved.bytes + (saved.dataBytes ?? 0) },
    groups: selections.map((s) => {
      const g = dep.groups[s.group];
      const kept = g.units.length - s.remove.length;
      return { id: g.id, channels: g.units.length, kept, removed: s.remove, sources: g.sources, scoredBy: s.scoredBy };
    }),
    bnFallback: opts.criterion === 'bn' ? selections.filter((s) => s.scoredBy === 'l1').map((s) => s.group) : undefined,
    layers: before.layers
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
  };
  if (opts.latencyRuns) {
    opts.onProgress?.({ phase: 'latency', done: 0, total: 1 });
    // the model only supplies the input types for the synthetic feeds: the pruned one has the original's inputs
    const a = await measureLatency(file, model, shapes.inputs, { runs: opts.latencyRuns });
    const b = await measureLatency(out, model, shapes.inputs, { runs: opts.latencyRuns });
    report.latency = { beforeMs: a.medianMs, afterMs: b.medianMs, speedup: a.medianMs / b.medianMs, runs: a.runs, threads: a.threads };
  }
  if (labelled) {
    const [a, b] = [await evaluateAccuracy(file, labelled), await evaluateAccuracy(out, labelled)];
    report.accuracy = { samples: a.samples, before: a.top1, after: b.top1, top5Before: a.top5, top5After: b.top5 };
  }
  if (opts.recipe) {
    const { settings, predicted, warnings, groups } = opts.recipe;
    report.recipe = { settings, predicted, warnings, groups: groups.map((g) => ({ id: g.id, predictedLoss: g.predictedLoss })) };
  }
  if (opts.reports) report.reports = writePruneReports(report, out);
  return report;
}

/** Even with --force, a recipe only applies to a model whose groups are the same (channels and source layers). */
function checkRecipeGroups(recipe: Recipe, dep: DepGraph): void {
  for (const r of recipe.groups) {
    const g = dep.groups[r.id];
    const same = g && g.units.length === r.channels && g.sources.length === r.sources.length && g.sources.every((x, i) => x === r.sources[i]);
    if (!same) {
      throw new PruneLensError(
        `the recipe does not fit this model: its group ${r.id} (${r.sources[0] ?? '?'}, ${r.channels} channels) is ` +
          (g ? `group ${g.id} (${g.sources[0] ?? '?'}, ${g.units.length} channels) here` : 'missing here'),
      );
    }
  }
}

/** The plan entries of a recipe (its exact channel lists) and its input shapes, once the model is checked. */
function fromRecipe(file: string, recipe: Recipe, ignoreHash?: boolean): Partial<PruneOptions> {
  const sha = fileSha256(file);
  if (sha !== recipe.model.sha256 && !ignoreHash) {
    throw new PruneLensError(
      `the recipe was made for another model (${path.basename(recipe.model.path)}, sha256 ${recipe.model.sha256.slice(0, 12)}…; ` +
        `this file is ${sha.slice(0, 12)}…): pass --force to apply it anyway`,
    );
  }
  return {
    plan: Object.fromEntries(recipe.groups.filter((g) => g.remove.length).map((g) => [String(g.id), g.remove])),
    ratio: undefined,
    criterion: recipe.settings.criterion,
    reduce: recipe.settings.reduce as Reduction,
    inputShapes: Object.entries(recipe.settings.inputShapes).map(([k, v]) => `${k}=${v.join('x')}`),
  };
}

/** The first samples of a labelled set as feeds (preprocessed as the model's metadata says). */
function realInputs(model: Model, shapes: Record<string, number[]>, data: NonNullable<PruneOptions['data']>, set: LabelledSet): RealInputs {
  const feeds = sampleFeeds(model, shapes, set, data.samples ?? 8);
  const samples = feeds.reduce((n, f) => n + Object.values(f)[0].dims[0], 0);
  return { feeds, source: { images: path.resolve(data.images), labels: path.resolve(data.labels), samples } };
}

/** On a verification failure, prune each group alone to name the one that breaks. */
async function findBrokenGroup(file: string, opts: PruneOptions, selections: Selection[], real?: RealInputs): Promise<number | undefined> {
  for (const s of selections) {
    const { model, shapes } = await loadAndShape(file, opts);
    const dep = analyzeDependencies(model, shapes);
    const twin = decodeOnnx(encodeOnnx(model), file);
    applyMask(twin, dep, [s]);
    try {
      applyPruning(model, dep, [s]);
      const v = await verifyAgainstTwin(model, twin, shapes.inputs, { real });
      if (!v.passed) return s.group;
    } catch {
      return s.group;
    }
  }
  return undefined;
}
