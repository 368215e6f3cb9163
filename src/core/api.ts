/**
 * The engine's one front door. `openModel` loads and analyses a model once and returns a session that answers
 * inspect, groups, estimate, scan, plan, prune and save without loading or analysing it again. Results are plain
 * data (src/shared/types.ts); every long call takes progress and an AbortSignal. The CLI and the engine process
 * (`prunelens serve`) use this module only; nothing inside src/core imports it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  BenchMeasured, BenchResult, CriteriaComparison, CriterionName, Estimate, EvalResult, GroupInfo, InputShapes, InspectResult, ModelGraph, ModelSummary, PlanSettingsInput,
  PruneResult, Recipe, SaveResult, ScanResult, ScanSettingsInput, SparsityMethod, SparsityReport,
} from '../shared/types.js';
import { analyse, type AnalyseOptions, type Analysis } from './analysis.js';
import { computeCost } from './cost/cost.js';
import { measureLatencies } from './cost/latency.js';
import { measureNativeLatencies, runsInTfjs } from './cost/native-latency.js';
import { checkNativeName } from './formats/foreign.js';
import { sparsity as zeroFraction } from './cost/sparsity.js';
import type { SelectOptions } from './criteria/select.js';
import { classCount } from './criteria/select.js';
import { loadCalibration } from './data/calibration.js';
import { parsePreprocess } from './data/preprocess.js';
import { invalid, PruneLensError } from './errors.js';
import { evaluateAccuracy, outputFidelity } from './eval.js';
import { PlanCosting } from './plan/costing.js';
import { checkPlanOptions, plan, planNeedsScan, readScan } from './plan/plan.js';
import type { TaskOptions } from './progress.js';
import { checkPruneOptions, prune, saveVariant, variantOutputs, type PruneOptions, type SaveOptions, type Variant } from './prune.js';
import { buildGraph } from './report/graph.js';
import { reportPaths } from './report/prune-report.js';
import { buildInspectResult } from './report/inspect.js';
import { checkScanOptions, DEFAULT_RATIOS, scan, type ScanOptions } from './sensitivity/scan.js';
import { sparsifyModel, checkSparsity } from './sparse.js';
import { compareCriteria } from './criteria/compare.js';
import { needsData } from './criteria/index.js';
import { checkOutputs, refuseInputs } from './util/outputs.js';
import { readRegularText } from './util/files.js';
import { MAX_JSON_FILE_BYTES } from './limits.js';
import { modelFiles } from './formats/index.js';
import type { Sparsity } from './surgery/sparsify.js';

export type { AnalyseOptions } from './analysis.js';
export type { PruneOptions, SaveOptions } from './prune.js';
export type { ScanOptions } from './sensitivity/scan.js';
export type { Sparsity } from './surgery/sparsify.js';
export type { ProgressFn, TaskOptions } from './progress.js';
export { CancelledError, PruneLensError, errorData, invalid } from './errors.js';
export { CRITERIA } from './criteria/index.js';
export { METRICS } from './sensitivity/metrics.js';
export { STRATEGIES } from './plan/strategies.js';
export { DEFAULT_RATIOS, checkScanOptions } from './sensitivity/scan.js';
export { RECIPE_KIND, RECIPE_VERSION, checkPlanOptions, readScan } from './plan/plan.js';
export { checkPruneOptions, variantOutputs } from './prune.js';
export { checkSparsity, SPARSITY_METHODS } from './sparse.js';
export { parsePreprocess } from './data/preprocess.js';
export { parseInputShape } from './shapes/inputs.js';
export { reportPaths } from './report/prune-report.js';
export { COST_BASIS } from './cost/cost.js';
export { writeTextAtomic } from './util/atomic.js';
export { checkOutputs, refuseInputs, sameFile, writeTextFiles } from './util/outputs.js';
export { readRegularText } from './util/files.js';
export { onTempFile } from './util/tempfiles.js';
export { onRuntimeActivity } from './runtime/ort.js';
export { MAX_JSON_FILE_BYTES } from './limits.js';

export interface SparsifyOptions extends TaskOptions {
  method?: SparsityMethod;
  /** Calibration data (Wanda and OBS fit on it; with it any method is judged on held-out samples). */
  data?: string;
  labels?: string;
  preprocess?: ScanSettingsInput['preprocess'];
  samples?: number;
  seed?: number;
  overwrite?: boolean;
}

export interface PlanRequest extends PlanSettingsInput, TaskOptions {
  /** A scan of this model (its result, or the path of a scan JSON); else the session's scan with `scanSettings`. */
  scan?: ScanResult | string;
}

/** Variants kept in memory per session until saved (the latest ones). */
const KEPT_VARIANTS = 4;

export class ModelSession {
  private readonly scans = new Map<string, ScanResult>();
  private readonly reshaped = new Map<string, Promise<Analysis>>();
  private readonly variants = new Map<string, Variant>();
  private nextVariant = 1;
  private readonly trackers = new Map<string, PlanCosting>();

  constructor(readonly analysis: Analysis) {}

  get file(): string {
    return this.analysis.file;
  }

  summary(): ModelSummary {
    return this.analysis.summary();
  }

  inspect(opts: { layers?: boolean; groups?: boolean } = {}): InspectResult {
    const a = this.analysis;
    const r = buildInspectResult(a.model, a.shapes, a.cost, a.assumed, a.inputValues);
    r.warnings = [...r.warnings, ...a.warnings().filter((w) => !r.warnings.includes(w))];
    if (opts.groups !== false) r.groups = a.infos;
    if (opts.layers === false) r.layers = [];
    return r;
  }

  /** Dependency groups (all, or those asked for). */
  groups(ids?: number[]): GroupInfo[] {
    const infos = this.analysis.infos;
    if (!ids) return infos;
    return ids.map((id) => {
      const g = infos[id];
      if (!g) throw new PruneLensError(`no dependency group ${id} (the model has ${infos.length})`, { code: 'unknown-id' });
      return g;
    });
  }

  /** The graph for drawing, with the groups each node touches. */
  graph(): ModelGraph {
    return buildGraph(this.analysis);
  }

  /**
   * Exact params, MACs and file size when groups keep these channels (others keep all), without surgery: what
   * `prune` with the same `keep` writes. Fast enough to follow a slider.
   */
  estimate(keep: Record<string, number>, opts: SelectOptions = {}): Estimate {
    const a = this.analysis;
    const key = `${opts.criterion ?? 'l1'}:${opts.reduce ?? 'mean'}:${opts.withinGroup ?? 'per-source'}`;
    let tracker = this.trackers.get(key);
    if (!tracker) this.trackers.set(key, (tracker = new PlanCosting(a, opts)));
    const used = new Map<number, number>();
    const adjusted: Estimate['adjusted'] = [];
    for (const [k, asked] of Object.entries(keep ?? {})) {
      const id = Number(k);
      const g = Number.isInteger(id) ? a.dep.groups[id] : undefined;
      if (!g) throw invalid('keep', `no dependency group '${k}'`);
      if (typeof asked !== 'number' || !Number.isFinite(asked)) throw invalid('keep', `group ${id}: expected a channel count, got ${JSON.stringify(asked)}`);
      const n = g.units.length;
      if (!a.infos[id].prunable) {
        if (asked !== n) adjusted.push({ group: id, asked, used: n, why: `cannot be pruned: ${a.infos[id].reason}` });
        continue;
      }
      const step = classCount(g);
      const least = Math.ceil(Math.max(1, g.pinned.size) / step) * step;
      let k2 = Math.min(n, Math.max(least, Math.round(asked)));
      if (k2 % step) k2 = Math.min(n, Math.ceil(k2 / step) * step);
      if (k2 !== asked) adjusted.push({ group: id, asked, used: k2, why: k2 % step === 0 && step > 1 && asked % step ? `keeps a multiple of its ${step} blocks` : `keeps ${least}…${n} channels` });
      used.set(id, k2);
    }
    const t = tracker.evaluate(used);
    const before = { params: a.cost.params, macs: a.cost.macs, computeMacs: a.cost.computeMacs, bytes: a.bytes() };
    // a TF.js or Keras file stores its weights in its own bytes per value (uint8-quantised: 1), not the IR's float32
    const per = a.model.source?.bytesPerWeight;
    const bytes = before.bytes - (per ? (a.cost.params - t.params) * per : a.estimator.base.weightBytes - t.weightBytes);
    return {
      params: t.params, macs: t.macs, computeMacs: t.computeMacs, bytes, before,
      ratios: { params: t.params / before.params, macs: before.macs ? t.macs / before.macs : 1, bytes: bytes / before.bytes },
      keep: Object.fromEntries(used), adjusted,
    };
  }

  /** A sensitivity scan (remembered for this session, and cached on disk when `cacheDir` is given). */
  async scan(opts: ScanOptions = {}): Promise<ScanResult> {
    checkScanOptions(opts);
    const key = scanKey(opts);
    const hit = this.scans.get(key);
    if (hit) return { ...hit, timing: { ...hit.timing, cached: true } };
    const result = await scan(this.analysis, opts);
    this.scans.set(key, result);
    return result;
  }

  async plan(opts: PlanRequest): Promise<Recipe> {
    checkPlanOptions(opts);
    let s = typeof opts.scan === 'string' ? readScan(opts.scan) : opts.scan;
    if (!s && planNeedsScan(opts)) {
      const ss = opts.scanSettings ?? {};
      const groups = this.analysis.infos.filter((g) => g.prunable).length;
      const ratios = (ss.ratios ?? DEFAULT_RATIOS).length;
      opts.onProgress?.({
        phase: 'announce', done: 0, total: 0,
        message: `no scan given: scanning ${groups} groups × ${ratios} ratios first (${groups * ratios} runs over ${ss.samples ?? 64} ` +
          `${ss.data ? `samples of ${path.basename(ss.data)}` : 'synthetic samples'}${ss.cacheDir ? ', cached for next time' : ''})`,
      });
      s = await this.scan({ criterion: opts.criterion, reduce: opts.reduce, withinGroup: opts.withinGroup, ...opts.scanSettings, signal: opts.signal, onProgress: opts.onProgress });
    }
    const a = s ? await this.at(s.settings.inputShapes, opts) : this.analysis;
    return plan(a, s, opts);
  }

  /** Prunes a copy of the model; the variant stays in this session until saved. */
  async prune(opts: PruneOptions): Promise<PruneResult> {
    const v = await prune(this.analysis, opts);
    const variantId = `v${this.nextVariant++}`;
    this.variants.set(variantId, v);
    while (this.variants.size > KEPT_VARIANTS) this.variants.delete(this.variants.keys().next().value!);
    return { variantId, report: v.report, recipe: v.recipe };
  }

  /**
   * Zeroes weights (unstructured or N:M) of a copy and writes it to `out`: by magnitude, or from `data` by Wanda or
   * OBS; with data, the result is judged on held-out samples against this model.
   */
  async sparsify(out: string, s: Sparsity, opts: SparsifyOptions = {}): Promise<SparsityReport> {
    const method = opts.method ?? 'magnitude';
    checkSparsity(s, method);
    const a = this.analysis;
    checkOutputs([out], { overwrite: opts.overwrite, protect: [...modelFiles(a.model), opts.data, opts.labels] });
    if (method !== 'magnitude') a.assertRunFits(`sparsifying by ${method}`, { samples: 1 });
    const data = opts.data
      ? await loadCalibration(a.model, a.shapes.inputs, {
        data: opts.data, labels: opts.labels, samples: opts.samples ?? Infinity, seed: opts.seed,
        preprocess: typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess,
      })
      : undefined;
    return sparsifyModel(a, out, s, { ...opts, method, data, batch: a.samplesPerRun(64) });
  }

  /**
   * How far `criteria` agree per group: Spearman correlation of their channel scores and the overlap of what each
   * removes at `ratio` (0.5). Data criteria are computed on `data` (else synthetic samples, said so).
   */
  async compareCriteria(criteria: CriterionName[], opts: TaskOptions & { ratio?: number; data?: string; labels?: string; preprocess?: ScanSettingsInput['preprocess']; samples?: number; seed?: number } = {}): Promise<CriteriaComparison> {
    const a = this.analysis;
    if (criteria.some((c) => needsData(c))) a.assertRunFits('computing the data criteria', { samples: 1 });
    const data = criteria.some((c) => needsData(c))
      ? await loadCalibration(a.model, a.shapes.inputs, {
        data: opts.data, labels: opts.labels, samples: opts.samples ?? 64, seed: opts.seed, inputValues: a.givenValues,
        preprocess: typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess,
      })
      : undefined;
    return compareCriteria(a, criteria, data, opts);
  }

  save(variantId: string, out: string, opts: SaveOptions = {}): SaveResult {
    const v = this.variants.get(variantId);
    if (!v) throw new PruneLensError(`no pruned variant '${variantId}' in this session (prune first; only the latest ${KEPT_VARIANTS} are kept)`, { code: 'unknown-id', option: 'variantId' });
    return saveVariant(v, out, opts);
  }

  /** The model's analysis for other input shapes (a recipe's or a scan's), made once per session. */
  private async at(shapes: InputShapes, opts: TaskOptions): Promise<Analysis> {
    if (JSON.stringify(shapes) === JSON.stringify(this.analysis.shapes.inputs)) return this.analysis;
    const key = JSON.stringify(shapes);
    let p = this.reshaped.get(key);
    if (!p) this.reshaped.set(key, (p = this.analysis.reshaped(shapes, opts)));
    return p;
  }

  close(): void {
    this.scans.clear();
    this.variants.clear();
    this.trackers.clear();
  }
}

function scanKey(opts: ScanSettingsInput & { maskAt?: string; noPrefixReuse?: boolean }): string {
  const { ...settings } = opts as Record<string, unknown>;
  delete settings.signal;
  delete settings.onProgress;
  return JSON.stringify(Object.entries(settings).sort(([a], [b]) => a.localeCompare(b)));
}

/** Loads and analyses a model file: the session every other call works on. */
export async function openModel(file: string, opts: AnalyseOptions = {}): Promise<ModelSession> {
  return new ModelSession(await analyse(file, opts));
}

// -------------------------------------------------------------------------------------------------------------------
// Path-taking wrappers: one call per CLI command.

export async function inspect(file: string, opts: AnalyseOptions & { groups?: boolean } = {}): Promise<InspectResult> {
  return (await openModel(file, opts)).inspect({ groups: opts.groups });
}

/** Files the caller will write with the result: refused before the work when they are the model or its external data. */
interface WillWrite {
  outputs?: string[];
}

export async function scanModel(file: string, opts: ScanOptions & AnalyseOptions & WillWrite = {}): Promise<ScanResult> {
  checkScanOptions(opts);
  const session = await openModel(file, opts);
  refuseInputs(opts.outputs ?? [], modelFiles(session.analysis.model));
  return session.scan(opts);
}

export async function planModel(file: string, opts: PlanRequest & AnalyseOptions & WillWrite): Promise<Recipe> {
  checkPlanOptions(opts);
  // a given scan fixes the input shapes
  const s = typeof opts.scan === 'string' ? readScan(opts.scan) : opts.scan;
  const session = await openModel(file, { ...opts, inputShapes: s?.settings.inputShapes ?? opts.inputShapes });
  refuseInputs(opts.outputs ?? [], modelFiles(session.analysis.model));
  return session.plan({ ...opts, scan: s });
}

/** Prunes and saves: the model, its report and (unless `recipe: false`) its recipe. */
export async function pruneModel(
  file: string, out: string, opts: PruneOptions & AnalyseOptions & SaveOptions & { inputShapes?: AnalyseOptions['inputShapes'] },
): Promise<PruneResult['report']> {
  checkPruneOptions(opts);
  const save = { overwrite: opts.overwrite, reports: opts.reports, writeRecipe: opts.recipe === undefined && opts.writeRecipe !== false };
  // every output is checked before any work: a path that cannot be written fails in a moment, not after the prune
  checkOutputs(variantOutputs(out, save), { overwrite: opts.overwrite, protect: [file, opts.data, opts.labels] });
  const session = await openModel(file, { ...opts, inputShapes: opts.recipe?.settings.inputShapes ?? opts.inputShapes });
  // a TF.js or Keras model is saved in its own format: a wrong name is refused before the work, not after
  if (session.analysis.model.source) checkNativeName(session.analysis.model, out);
  const r = await session.prune(opts);
  // a recipe given is not written again, unless this prune added recovery or steps to it
  const added = JSON.stringify(r.recipe.settings) !== JSON.stringify(opts.recipe?.settings);
  session.save(r.variantId, out, { ...save, writeRecipe: added && opts.writeRecipe !== false });
  return r.report;
}

export async function sparsifyFile(file: string, out: string, s: Sparsity, opts: AnalyseOptions & SparsifyOptions = {}): Promise<SparsityReport> {
  checkSparsity(s, opts.method);
  checkOutputs([out], { overwrite: opts.overwrite, protect: [file, opts.data, opts.labels] });
  return (await openModel(file, opts)).sparsify(out, s, opts);
}

/**
 * Accuracy on labelled data for a classifier, and fidelity to a reference model (the original a variant was pruned
 * from: `reference`, or the `input` its report beside it names) for any model.
 */
export async function evaluateFile(
  file: string,
  opts: AnalyseOptions & { data: string; labels?: string; preprocess?: ScanSettingsInput['preprocess']; samples?: number; reference?: string },
): Promise<EvalResult> {
  const a = (await openModel(file, opts)).analysis;
  const preprocess = typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess;
  const set = await loadCalibration(a.model, a.shapes.inputs, { data: opts.data, labels: opts.labels, preprocess, samples: opts.samples ?? Infinity });
  const result: EvalResult = { model: a.model.path, data: set.description, samples: set.count };
  const out = a.model.graph.outputs[0]?.name;
  const dims = a.shapes.types.get(out)?.dims;
  const classifier = dims?.length === 2 && dims[1] >= 2;
  if (set.labels && classifier) Object.assign(result, await evaluateAccuracy(a.model, set, { batch: a.samplesPerRun(64) }).then((r) => ({ top1: r.top1, top5: r.top5, classes: r.classes })));
  const reference = opts.reference ?? referenceOf(file);
  if (reference) {
    const metrics = await outputFidelity(a, reference, set);
    result.fidelity = { reference: path.resolve(reference), output: out, metrics };
  }
  if (result.top1 === undefined && !result.fidelity) {
    throw new PruneLensError(
      classifier ? `${path.basename(opts.data)} has no labels: give labels for accuracy, or a reference model to measure fidelity to`
        : `output '${out}' (${dims?.join('x') ?? '?'}) is not a classifier's [N, classes]: give a reference model (the original) to measure how closely this one follows it`,
      { option: classifier ? 'labels' : 'reference' },
    );
  }
  return result;
}

/** The original a pruned variant came from, as its report (`NAME.report.json` beside it) records. */
function referenceOf(file: string): string | undefined {
  try {
    // a regular file only: a FIFO in its place would block
    const r = JSON.parse(readRegularText(reportPaths(file).json, { maxBytes: MAX_JSON_FILE_BYTES })) as { input?: string };
    return r.input && fs.existsSync(r.input) ? r.input : undefined;
  } catch {
    return undefined;
  }
}

export async function benchFile(
  file: string,
  opts: AnalyseOptions & { compare?: string; runs?: number; warmup?: number; threads?: number },
): Promise<BenchResult> {
  const analysed = [(await openModel(file, opts)).analysis, ...(opts.compare ? [(await openModel(opts.compare, opts)).analysis] : [])];
  const base = analysed[0];
  for (const x of analysed) x.assertRunFits(`timing ${path.basename(x.model.path)}`);
  // both models on the same inputs, runs taken in turn
  // TF.js and Keras models run as their own files in TF.js, as their users run them
  const models = analysed.map((x) => x.model);
  const latencies = runsInTfjs(models)
    ? await measureNativeLatencies(models, base.shapes.inputs, { runs: opts.runs, warmup: opts.warmup, threads: opts.threads, values: base.givenValues })
    : await measureLatencies(models, base.model, base.shapes.inputs, { runs: opts.runs, warmup: opts.warmup, threads: opts.threads, values: base.givenValues });
  const [a, b] = analysed.map((x, i): BenchMeasured => {
    const cost = computeCost(x.model, x.shapes);
    return { path: x.model.path, params: cost.params, macs: cost.macs, zeroWeights: zeroFraction(x.model), latency: latencies[i] };
  });
  const result: BenchResult = { model: a, notes: [] };
  if (b) {
    result.compare = { ...b, speedup: a.latency.medianMs / b.latency.medianMs, macRatio: a.macs / b.macs, paramsRatio: a.params / b.params };
    if (b.zeroWeights > a.zeroWeights + 0.05) {
      result.notes.push(
        `${(100 * b.zeroWeights).toFixed(1)}% of ${path.basename(b.path)}'s weights are zeros (unstructured or N:M sparsity): ${runsInTfjs(models) ? 'TF.js\'s' : 'ONNX Runtime\'s'} dense ` +
          'CPU kernels multiply them anyway, so expect no speedup from them; only removed channels make a model faster.',
      );
    }
  }
  return result;
}
