/**
 * A loaded and analysed model: the IR, the shapes for concrete inputs, the dependency groups, the cost and the cost
 * estimator, computed once. Every stage (inspect, estimate, scan, plan, prune) reads it instead of loading again.
 */
import type { GroupInfo, InputShapes, InputValue, ModelSummary, OptionName } from '../shared/types.js';
import { computeCost, type CostSummary } from './cost/cost.js';
import { CostEstimator } from './cost/estimate.js';
import { needsData, scoreGroup, type CriterionName } from './criteria/index.js';
import { activationEvidence } from './criteria/activations.js';
import { gradientEvidence, GRADIENT_CRITERIA, type GradientCriterion } from './criteria/gradient.js';
import { thinetEvidence } from './criteria/thinet.js';
import type { CalibrationSet } from './data/calibration.js';
import type { Teacher } from './autodiff/gradients.js';
import { chooseUnits, partitions, quotas, type SelectOptions } from './criteria/select.js';
import { analyzeDependencies, describeGroup, type DepGraph, type Group } from './deps/analyze.js';
import { throwIfCancelled } from './errors.js';
import { loadModel, modelFiles } from './formats/index.js';
import type { Graph, Model } from './ir/graph.js';
import type { TaskOptions } from './progress.js';
import { maxRunBytes } from './limits.js';
import { assertRunFits, largestValue } from './runtime/budget.js';
import { chooseInputValues } from './runtime/feeds.js';
import { computeShapes, resolveInputShapes, runtimeInputs, type ShapeResult } from './shapes/index.js';
import { fileSha256, sha256 } from './util/hash.js';
import * as fs from 'node:fs';

export interface AnalyseOptions extends TaskOptions {
  /** Shapes for dynamic inputs: {"x": [1, 3, 224, 224]} or `x=1x3x224x224` specs. */
  inputShapes?: InputShapes | string[];
  /** Values for integer inputs (a branch selector); others come from the model's own constants. */
  inputValues?: Record<string, number>;
  shapeMethod?: 'auto' | 'inference' | 'probe';
}

const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

export class Analysis {
  /** Dependency groups of the main graph (ids 0…n−1, as `dep.groups`), then the layers inside sub-graphs. */
  readonly infos: GroupInfo[];
  readonly estimator: CostEstimator;
  private hash?: string;
  private readonly scoreCache = new Map<string, { scores: Float64Array; used: ReturnType<typeof scoreGroup>['used'] }>();

  constructor(
    readonly model: Model,
    readonly shapes: ShapeResult,
    readonly assumed: string[],
    readonly inputValues: InputValue[],
    readonly dep: DepGraph,
    readonly cost: CostSummary,
  ) {
    const macs = new Map(cost.layers.map((l) => [l.name, l.macs]));
    this.infos = [...dep.groups.map((g) => describeGroup(g, model, (n) => macs.get(n) ?? 0)), ...subgraphGroups(model, dep.groups.length)];
    this.estimator = new CostEstimator(model, shapes, dep, cost);
  }

  get file(): string {
    return this.model.path;
  }

  /** Assumed dims other than the batch (a batch of 1 is conventional; a guessed image side is not). */
  get assumedSizes(): string[] {
    return this.assumed.filter((d) => !/\[0\]/.test(d));
  }

  /** Values given for integer inputs (to pass on to synthetic feeds). */
  get givenValues(): Record<string, number> {
    return Object.fromEntries(this.inputValues.map((v) => [v.name, v.value]));
  }

  /** SHA-256 of the model file, combined with its external data files when it has any (a recipe's and a scan's key). */
  sha256(): string {
    if (this.hash) return this.hash;
    const [file, ...data] = modelFiles(this.model);
    const main = fileSha256(file);
    this.hash = data.length ? sha256(main, ...data.map((f) => `:${fileSha256(f)}`)) : main;
    return this.hash;
  }

  /**
   * Refuses ONNX Runtime runs of this model whose memory by the static shapes (inputs and peak live activations) is
   * over the limit; `samples` per run when they differ from the input shapes' batch.
   */
  assertRunFits(what: string, opts: { samples?: number; option?: OptionName } = {}): void {
    const batch = Object.values(this.shapes.inputs)[0]?.[0] || 1;
    const scale = opts.samples !== undefined ? opts.samples / batch : 1;
    const largest = opts.samples === undefined ? largestValue(this.shapes.types, this.model.graph.nodes.flatMap((n) => n.outputs)) : undefined;
    assertRunFits({ bytes: this.cost.peakActivationBytes * scale, largest }, { what, inputs: this.shapes.inputs, option: opts.option, samples: opts.samples });
  }

  /** How many samples one run may take (at most `want`, at least 1) within the run memory limit. */
  samplesPerRun(want: number): number {
    const batch = Object.values(this.shapes.inputs)[0]?.[0] || 1;
    const perSample = this.cost.peakActivationBytes / batch;
    return Math.max(1, Math.min(want, Math.floor(maxRunBytes() / Math.max(perSample, 1))));
  }

  /** Bytes of the model file and its external data. */
  bytes(): number {
    return modelFiles(this.model).reduce((s, f) => s + fs.statSync(f).size, 0);
  }

  /**
   * Data-aware criteria's per-group scores, from `prepare`; `fallback`: the groups a criterion could not score (by
   * l1 instead) and why.
   */
  private readonly evidence = new Map<CriterionName, { data: string; scores: Map<number, Float64Array>; notes: string[]; fallback?: Map<number, string> }>();

  /**
   * Gathers what a data-aware criterion needs from calibration data (one pass; all activation criteria at once). A
   * data-free criterion needs nothing. Done once per criterion and data.
   */
  /** Gathers a data criterion's scores (`teacher`: the dense model's probabilities, for a later step of a schedule). */
  async prepare(criterion: CriterionName | undefined, data: CalibrationSet, opts: TaskOptions & { teacher?: Teacher; seed?: number } = {}): Promise<void> {
    // thinet samples output entries: another seed is other evidence
    const key = criterion === 'thinet' ? `${data.description}\u0000seed ${opts.seed ?? 1}` : data.description;
    if (!needsData(criterion) || this.evidence.get(criterion!)?.data === key) return;
    opts.onProgress?.({ phase: 'criterion', done: 0, total: 1, message: `${criterion}: ${criterion === 'synflow' ? 'gradients on an input of ones' : `statistics on ${data.description}`}` });
    if ((GRADIENT_CRITERIA as string[]).includes(criterion!)) {
      const e = await gradientEvidence(this, criterion as GradientCriterion, data, { signal: opts.signal, teacher: opts.teacher });
      this.evidence.set(criterion!, { data: data.description, scores: e.scores, notes: e.stopped });
      return;
    }
    if (criterion === 'thinet') {
      const e = await thinetEvidence(this, data, { seed: opts.seed, signal: opts.signal });
      this.evidence.set(criterion, { data: key, scores: e.scores, notes: [], fallback: e.fallback });
      return;
    }
    const all = await activationEvidence(this, data, { signal: opts.signal, hrank: criterion === 'hrank' });
    for (const [k, scores] of all) if (k === criterion || k !== 'hrank') this.evidence.set(k, { data: data.description, scores, notes: [] });
  }

  /** Where a gradient criterion's gradient could not flow back (its scores there are partial). */
  criterionNotes(criterion: CriterionName): string[] {
    return this.evidence.get(criterion)?.notes ?? [];
  }

  /** The groups a data criterion scored by l1 instead, and why (thinet, where it cannot measure the consumers). */
  criterionFallback(criterion: CriterionName): Map<number, string> {
    return this.evidence.get(criterion)?.fallback ?? new Map();
  }

  /** Criterion scores of a group's units (cached: scoring reads every weight of the group). */
  scores(group: Group, opts: SelectOptions = {}): { scores: Float64Array; used: ReturnType<typeof scoreGroup>['used'] } {
    const evidence = this.evidence.get(opts.criterion ?? 'l1');
    const gathered = evidence?.scores.get(group.id);
    if (gathered) return { scores: gathered, used: opts.criterion! };
    const criterion = evidence?.fallback?.has(group.id) ? 'l1' : opts.criterion ?? 'l1';
    const key = `${group.id}:${criterion}:${opts.reduce ?? 'mean'}:${criterion === 'random' ? opts.seed ?? 1 : ''}`;
    let hit = this.scoreCache.get(key);
    if (!hit) this.scoreCache.set(key, (hit = scoreGroup(this.model.graph, group, criterion, { reduce: opts.reduce, seed: opts.seed })));
    return hit;
  }

  /** The units to remove so that `keep` remain. */
  choose(group: Group, keep: number, opts: SelectOptions = {}): number[] {
    return chooseUnits(group, this.dep, this.scores(group, opts).scores, keep, opts);
  }

  /**
   * Removed indices per space when a group keeps `keep` units, exactly as `choose` then surgery would remove them.
   * Scores are read only when they decide the counts (several source layers under `global`, balanced blocks).
   */
  countsForKeep(group: Group, keep: number, opts: SelectOptions = {}): [number, number][] {
    const n = Math.max(0, group.units.length - keep);
    if (n === 0) return [];
    const parts = partitions(group, this.dep);
    if (!group.classes) {
      const q = quotas(group, parts, n, opts.withinGroup);
      if (q) return merge(parts.flatMap((p, i) => p.spaces.map(([s, k]) => [s, q[i] * k] as [number, number])));
      if (parts.length === 1) {
        const r = Math.min(n, parts[0].removable.length, group.units.length - 1);
        return parts[0].spaces.map(([s, k]) => [s, r * k]);
      }
    }
    return this.estimator.countsOfUnits(group, this.choose(group, keep, opts));
  }

  /** Same model, other input shapes (e.g. a recipe's): shapes, groups and costs again, nothing loaded. */
  async reshaped(inputShapes: InputShapes | string[], opts: TaskOptions = {}): Promise<Analysis> {
    return analyseModel(this.model, { ...opts, inputShapes, inputValues: this.givenValuesFromUser() });
  }

  private givenValuesFromUser(): Record<string, number> {
    return Object.fromEntries(this.inputValues.filter((v) => v.from === 'given').map((v) => [v.name, v.value]));
  }

  summary(): ModelSummary {
    const prunable = this.dep.groups.filter((g) => this.infos[g.id].prunable);
    const layerMacs = new Map(this.cost.layers.map((l) => [l.name, l.macs]));
    const nodes = new Set(prunable.flatMap((g) => this.estimator.nodeNamesOf(g.id)));
    const prunableMacs = [...nodes].reduce((s, n) => s + (layerMacs.get(n) ?? 0), 0);
    return {
      file: this.model.path,
      format: this.model.format,
      bytes: this.bytes(),
      inputs: runtimeInputs(this.model).map((i) => ({ name: i.name, shape: i.shape ?? null, type: i.dtype })),
      outputs: this.model.graph.outputs.map((o) => ({ name: o.name, shape: o.shape ?? null, type: o.dtype })),
      inputShapes: this.shapes.inputs,
      assumedDims: this.assumed,
      inputValues: this.inputValues,
      params: this.cost.params,
      macs: this.cost.macs,
      computeMacs: this.cost.computeMacs,
      nodeCount: [...this.model.graph.allGraphs()].reduce((s, g) => s + g.nodes.length, 0),
      groupCount: this.infos.length,
      prunableGroups: prunable.length,
      prunableMacsShare: this.cost.macs ? prunableMacs / this.cost.macs : 0,
      warnings: this.warnings(),
    };
  }

  warnings(): string[] {
    const out: string[] = [...(this.model.source?.warnings ?? [])];
    if (this.shapes.warning) out.push(this.shapes.warning);
    const inSub = this.infos.filter((i) => i.subgraph);
    if (inSub.length) {
      out.push(`${inSub.length} layers sit inside sub-graphs (If/Loop/Scan branches): they are listed as groups that cannot be pruned, ` +
        'and params/MACs count the main graph only');
    }
    for (const v of this.inputValues) {
      if (v.from === 'model') out.push(`input '${v.name}' set to ${v.value}, a value the model compares it with${v.candidates && v.candidates.length > 1 ? ` (others: ${v.candidates.slice(1).join(', ')})` : ''}`);
    }
    return out;
  }
}

function merge(counts: [number, number][]): [number, number][] {
  const m = new Map<number, number>();
  for (const [s, k] of counts) m.set(s, (m.get(s) ?? 0) + k);
  return [...m];
}

/** Compute layers inside sub-graphs (If branches, Loop and Scan bodies): reported, not analysed. */
function subgraphGroups(model: Model, firstId: number): GroupInfo[] {
  const out: GroupInfo[] = [];
  const visit = (graph: Graph, where: string) => {
    for (const node of graph.nodes) {
      for (const [attr, a] of node.attrs) {
        const subs = a.type === 'graph' ? [a.value] : a.type === 'graphs' ? a.value : [];
        for (const sub of subs) {
          const at = `${where}${node.opType} '${node.name}' ${attr}`;
          for (const n of sub.nodes) {
            if (!COMPUTE.has(n.opType) || n.domain !== '') continue;
            const w = sub.constant(n.inputs[1] ?? '');
            if (!w) continue;
            const channels = n.opType === 'Conv' ? w.dims[0]
              : n.opType === 'ConvTranspose' ? w.dims[1] * (n.int('group') ?? 1)
                : n.opType === 'Gemm' ? w.dims[n.int('transB') ? 0 : 1] : w.dims[w.dims.length - 1];
            out.push({
              id: firstId + out.length, channels, prunable: false, pinned: 0, sources: [n.name],
              reason: `inside the ${attr} sub-graph of ${node.opType} '${node.name}': layers in sub-graphs are not analysed yet`,
              members: [{ node: n.name, tensor: n.inputs[1], axis: 0, role: 'out' }], values: [], params: w.size, macs: 0, couplings: [],
              subgraph: at,
            });
          }
          visit(sub, `${at} / `);
        }
      }
    }
  };
  visit(model.graph, '');
  return out;
}

/** Analyses a model already in memory for the given input shapes. */
export async function analyseModel(model: Model, opts: AnalyseOptions = {}): Promise<Analysis> {
  throwIfCancelled(opts.signal);
  const { shapes: inputs, assumed } = resolveInputShapes(model, opts.inputShapes);
  const inputValues = chooseInputValues(model, opts.inputValues);
  const values = Object.fromEntries(inputValues.map((v) => [v.name, v.value]));
  const shapes = await computeShapes(model, inputs, { ...opts, method: opts.shapeMethod, inputValues: values });
  throwIfCancelled(opts.signal);
  opts.onProgress?.({ phase: 'analyse', done: 0, total: 1 });
  const dep = analyzeDependencies(model, shapes);
  blockTiedWeights(model, dep);
  const cost = computeCost(model, shapes);
  opts.onProgress?.({ phase: 'analyse', done: 1, total: 1 });
  return new Analysis(model, shapes, assumed, inputValues, dep, cost);
}

/**
 * A format that keeps one set of weights per layer (Keras, TF.js) cannot hold a shared layer's calls pruned apart: a
 * group that slices such a weight for some of its readers and not for all cannot be pruned. (A group that slices it
 * alike for every reader, e.g. both calls' outputs joined by an Add, keeps the weights one set.)
 */
function blockTiedWeights(model: Model, dep: DepGraph): void {
  const tied = model.source?.tied;
  if (!tied?.size) return;
  for (const g of dep.groups) {
    const byAxis = new Map<string, Set<string>>();
    for (const p of g.params) {
      if (!tied.has(p.tensor)) continue;
      const k = `${p.tensor}\u0000${p.axis}`;
      if (!byAxis.has(k)) byAxis.set(k, new Set());
      byAxis.get(k)!.add(p.node);
    }
    for (const [k, nodes] of byAxis) {
      const tensor = k.split('\u0000')[0];
      const readers = model.graph.consumersOf(tensor);
      const why = tied.get(tensor)!;
      if (readers.some((n) => !nodes.has(n.name)) && !g.reasons.includes(why)) g.reasons.push(why);
    }
  }
}

/** Loads and analyses a model file. */
export async function analyse(file: string, opts: AnalyseOptions = {}): Promise<Analysis> {
  return analyseModel(await loadModel(file, opts), opts);
}

/** Load a model and find the shapes of every value for concrete input shapes (no groups). */
export async function loadAndShape(file: string, opts: AnalyseOptions = {}): Promise<{ model: Model; shapes: ShapeResult; assumed: string[] }> {
  const model = await loadModel(file, opts);
  throwIfCancelled(opts.signal);
  const { shapes: inputs, assumed } = resolveInputShapes(model, opts.inputShapes);
  const values = Object.fromEntries(chooseInputValues(model, opts.inputValues).map((v) => [v.name, v.value]));
  const shapes = await computeShapes(model, inputs, { ...opts, method: opts.shapeMethod, inputValues: values });
  return { model, shapes, assumed };
}
