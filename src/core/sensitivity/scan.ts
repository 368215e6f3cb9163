/**
 * Layer-wise sensitivity scans: for each dependency group (or, unstructured, each layer) and each ratio, mask
 * that target alone and measure how far the outputs move from the dense model's on calibration data.
 *
 * Speed: one ONNX Runtime session per target, masks fed as inputs (no rebuild per ratio), and only the suffix
 * of the network that depends on the masks is run; its inputs come from one dense run (bounded by maxMemoryMB).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalyseOptions } from '../api.js';
import { computeCost } from '../cost/cost.js';
import { loadCalibration, sliceFeeds, type CalibrationOptions, type CalibrationSet } from '../data/calibration.js';
import type { GroupInfo } from '../deps/types.js';
import { PruneLensError, throwIfCancelled } from '../errors.js';
import { loadModel } from '../formats/index.js';
import { createSession, ort } from '../runtime/ort.js';
import { computeShapes, resolveInputShapes } from '../shapes/index.js';
import type { SelectOptions } from '../surgery/select.js';
import { writeTextAtomic } from '../util/atomic.js';
import { fileSha256, sha256 } from '../util/hash.js';
import { buildInstrumented } from './instrument.js';
import { batchJobs, groupJobs, layerJobs, type Job, type Step } from './jobs.js';
import { compareOutput, describeOutput, lossOf, type MetricName, type Metrics, type OutputRef } from './metrics.js';
import { autoBatch, batchSize, concatChunks, denseRun, maskType, tile, toFloat32 } from './runs.js';
import type { MaskPlacement } from './targets.js';

export const DEFAULT_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
export const SCAN_VERSION = 1;

export interface ScanOptions extends AnalyseOptions, CalibrationOptions, SelectOptions {
  ratios?: number[];
  /** Headline metric (all are computed); default agreement for classifiers (KL on synthetic data), rel-l2 otherwise. */
  metric?: MetricName;
  mode?: 'structured' | 'unstructured';
  /** The output the headline metric is read from (default: the first). */
  output?: string;
  /** Samples per ONNX Runtime run. */
  batch?: number;
  /** Budget for cached dense values (the frontiers of the suffixes); targets beyond it run from the inputs. */
  maxMemoryMB?: number;
  /** Where results are cached by model hash + settings + data; none = no cache. */
  cacheDir?: string;
  threads?: number;
  /** Scan only these group ids (structured) or layer names (unstructured). */
  only?: string[];
  /** Where structured masks go (see MaskPlacement); 'weights' is the masked twin itself, for checks and benchmarks. */
  maskAt?: MaskPlacement;
  /**
   * Evaluate several steps in one run (the samples stacked once per step, each copy with its own masks) when all
   * samples fit one run. Off by default: on ONNX Runtime's CPU provider the copies cost more than the saved runs
   * (example model, 54 steps of 32 samples: 104–117 ms stacked vs 65–82 ms one step a run).
   */
  stackSteps?: boolean;
  /** Run each step from the graph inputs (for measuring what prefix reuse buys). */
  noPrefixReuse?: boolean;
}

export interface ScanPoint {
  ratio: number;
  /** Channels kept (structured) or weights kept (unstructured). */
  kept: number;
  removed: number;
  /** Params and compute MACs really removed if pruned (unstructured: params zeroed, MACs unchanged). */
  paramsRemoved: number;
  macsRemoved: number;
  metrics: Metrics;
  /** Degradation under the headline metric, ≥ 0 (see lossOf). */
  loss: number;
  outputs?: Record<string, Metrics>;
}

export interface ScanTargetResult {
  kind: 'group' | 'layer';
  /** Group id, or layer name in unstructured mode. */
  id: number | string;
  sources: string[];
  members: GroupInfo['members'];
  channels?: number;
  params: number;
  macs: number;
  /** Mean loss over the scanned ratios: one number to rank targets by (higher = more sensitive). */
  sensitivity: number;
  points: ScanPoint[];
}

export interface ScanResult {
  version: number;
  model: { path: string; sha256: string; bytes: number; params: number; macs: number };
  settings: {
    mode: 'structured' | 'unstructured';
    criterion: string;
    reduce: string;
    ratios: number[];
    metric: MetricName;
    output: string;
    samples: number;
    seed: number;
    batch: number;
    inputShapes: Record<string, number[]>;
    roundTo?: number;
    minChannels?: number;
  };
  data: { kind: CalibrationSet['kind']; description: string; samples: number; labelled: boolean; synthetic: boolean };
  dense: { outputs: { name: string; dims: number[]; classes?: number }[]; metrics: Metrics };
  targets: ScanTargetResult[];
  skipped: { id: number | string; sources: string[]; reason: string }[];
  timing: {
    totalMs: number;
    prepareMs: number;
    denseMs: number;
    sessionMs: number;
    runMs: number;
    steps: number;
    runs: number;
    /** Targets whose frontier did not fit maxMemoryMB and ran from the graph inputs. */
    uncut: number;
    threads: number;
    cached: boolean;
  };
  notes: string[];
}

export async function scanModel(file: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const t0 = performance.now();
  const ratios = opts.ratios ?? DEFAULT_RATIOS;
  if (ratios.length === 0 || ratios.some((r) => !(r > 0 && r < 1))) throw new PruneLensError(`--ratios must be in (0, 1), got ${ratios.join(',')}`);
  const mode = opts.mode ?? 'structured';
  const model = await loadModel(file, opts);
  const { shapes: inputShapes } = resolveInputShapes(model, opts.inputShapes);
  const data = await loadCalibration(model, inputShapes, opts);
  if ((opts.metric === 'accuracy' || opts.metric === 'top5') && !data.labels) {
    throw new PruneLensError(`--metric ${opts.metric} needs labelled data (--data with labels)`);
  }
  throwIfCancelled(opts.signal);
  const shapes = await computeShapes(model, inputShapes, { ...opts, method: opts.shapeMethod });
  const outputs = model.graph.outputs.map((o) => o.name);
  const primary = opts.output ?? outputs[0];
  if (!outputs.includes(primary)) throw new PruneLensError(`--output-name: the model has no output '${primary}' (outputs: ${outputs.join(', ')})`);
  const cost = computeCost(model, shapes);
  const perSample = cost.peakActivationBytes / (Object.values(inputShapes)[0]?.[0] || 1);
  const batch = batchSize(model, data.count, opts.batch, perSample);
  // samples one run may take, when steps are stacked
  const capacity = opts.batch ?? autoBatch(perSample);
  const threads = opts.threads ?? 0;
  const settings: ScanResult['settings'] = {
    mode,
    criterion: mode === 'structured' ? opts.criterion ?? 'l1' : 'magnitude',
    reduce: opts.reduce ?? 'mean',
    ratios,
    metric: opts.metric ?? 'agreement',
    output: primary,
    samples: data.count,
    seed: opts.seed ?? 1,
    batch,
    inputShapes,
    roundTo: opts.roundTo,
    minChannels: opts.minChannels,
  };
  const modelHash = fileSha256(file);
  const cacheFile = opts.cacheDir ? path.join(opts.cacheDir, `scan-${cacheKey(modelHash, { ...settings, metric: opts.metric ?? ('auto' as MetricName) }, data, opts.only, opts.maskAt)}.json`) : undefined;
  if (cacheFile && fs.existsSync(cacheFile)) {
    try {
      const hit = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as ScanResult;
      if (hit.version === SCAN_VERSION) return { ...hit, timing: { ...hit.timing, cached: true } };
    } catch { /* a damaged cache entry is recomputed */ }
  }

  const layerMacs = new Map(cost.layers.map((l) => [l.name, l.macs]));
  const skipped: ScanResult['skipped'] = [];
  const jobs = mode === 'structured' ? groupJobs(model, shapes, layerMacs, opts, skipped) : layerJobs(model, layerMacs, opts);
  if (jobs.length === 0) throw new PruneLensError(`nothing to scan: ${skipped[0]?.reason ?? 'no prunable group'}`);
  const budget = (opts.maxMemoryMB ?? 1024) * 2 ** 20;
  const batches = batchJobs(model, shapes, jobs, data.count, budget, !opts.noPrefixReuse);
  const uncut = jobs.filter((j) => !j.cut);
  const prepareMs = performance.now() - t0;

  const timing = { denseMs: 0, sessionMs: 0, runMs: 0, runs: 0 };
  const chunks = Array.from({ length: Math.ceil(data.count / batch) }, (_, i) => [i * batch, Math.min(batch, data.count - i * batch)]);
  const totalSteps = jobs.length * ratios.length;
  let done = 0;
  const stepStart = performance.now();
  const report = (message: string) => {
    const elapsed = (performance.now() - stepStart) / 1000;
    const eta = done ? (elapsed / done) * (totalSteps - done) : undefined;
    opts.onProgress?.({ phase: 'scan', done, total: totalSteps, message, eta });
  };
  report('dense run');

  let dense: Map<string, OutputRef> | undefined;
  const results = new Map<Job, ScanPoint[]>();
  for (const group of batches) {
    throwIfCancelled(opts.signal);
    const cached = group[0].cut ? [...new Set(group.flatMap((j) => j.frontier))] : [];
    const td = performance.now();
    const values = dense && !cached.length ? new Map<string, ort.Tensor[]>() : await denseRun(model, shapes, data, chunks, cached, threads, opts.signal);
    timing.denseMs += performance.now() - td;
    if (!dense) {
      dense = new Map(outputs.map((o) => {
        const { dims, data: d } = concatChunks(values.get(o)!);
        return [o, describeOutput(o, dims, d)];
      }));
    }
    for (const [i, job] of group.entries()) {
      results.set(job, await scanJob(job));
      // free cached values no later target of this batch reads
      for (const k of values.keys()) if (!group.slice(i + 1).some((j) => j.frontier.includes(k))) values.delete(k);
    }

    async function scanJob(job: Job): Promise<ScanPoint[]> {
      const ts = performance.now();
      const runner = await stepRunner(job);
      timing.sessionMs += performance.now() - ts;
      const steps = ratios.map((r) => job.step(r));
      // neighbouring ratios of small groups can remove the same channels: measured once
      const distinct = [...new Map(steps.map((s) => [s.key, s])).values()];
      const measured = new Map<string, Map<string, Float32Array>>();
      try {
        for (let i = 0; i < distinct.length; i += runner.pack) {
          throwIfCancelled(opts.signal);
          const pack = distinct.slice(i, i + runner.pack);
          const tr = performance.now();
          (await runner.run(pack)).forEach((outs, j) => measured.set(pack[j].key, outs));
          timing.runMs += performance.now() - tr;
          done += steps.filter((s) => pack.some((p) => p.key === s.key)).length;
          report(`${job.kind} ${job.id}: ${done} of ${totalSteps} steps`);
        }
      } finally {
        await runner.release();
      }
      return steps.map((s, i) => {
        const outs = measured.get(s.key)!;
        const perOutput: Record<string, Metrics> = {};
        for (const o of outputs) {
          const ref = dense!.get(o)!;
          perOutput[o] = compareOutput(ref, outs.get(o) ?? ref.data, data.labels);
        }
        return {
          ratio: ratios[i],
          kept: s.kept,
          removed: s.removed,
          paramsRemoved: s.params,
          macsRemoved: s.macs,
          metrics: perOutput[primary],
          loss: 0, // set at the end, once the headline metric and the dense baseline are known
          ...(outputs.length > 1 ? { outputs: perOutput } : {}),
        };
      });
    }

    /**
     * Runs steps over all samples: masks fed to the instrumented suffix, or (norm groups) a fresh masked twin.
     * When every mask multiplies an activation and all samples fit one run, `pack` steps share a run: the samples
     * are stacked once per step, each copy with its own masks.
     */
    async function stepRunner(job: Job): Promise<{ pack: number; run(s: Step[]): Promise<Map<string, Float32Array>[]>; release(): Promise<void> }> {
      const externalDataDir = model.path ? path.dirname(model.path) : undefined;
      const runAll = async (session: ort.InferenceSession, names: string[], feedsFor: (ci: number, start: number, n: number) => Record<string, ort.Tensor>) => {
        const outs = new Map<string, ort.Tensor[]>(names.map((o) => [o, []]));
        for (const [ci, [start, n]] of chunks.entries()) {
          throwIfCancelled(opts.signal);
          const r = await session.run(feedsFor(ci, start, n), names);
          for (const o of names) outs.get(o)!.push(r[o]);
          timing.runs++;
        }
        return new Map([...outs].map(([o, parts]) => [o, concatChunks(parts).data]));
      };
      if (job.twin) {
        return {
          pack: 1,
          async run([s]) {
            const session = await createSession(job.twin!(s.remove!), { threads, externalDataDir });
            try {
              return [await runAll(session, outputs, (_, start, n) => sliceFeeds(data, start, n))];
            } finally {
              await session.release();
            }
          },
          release: async () => {},
        };
      }
      const inst = buildInstrumented(model, shapes, job.sites, job.cut);
      const session = await createSession(inst.bytes, { threads, externalDataDir });
      const stackable = !!opts.stackSteps && chunks.length === 1 && job.sites.every((s) => s.perSample);
      const pack = stackable ? Math.max(1, Math.min(Math.floor(capacity / data.count), Math.floor(budget / Math.max(job.frontierBytes, 1)))) : 1;
      const frontierFeeds = (ci: number, start: number, n: number) => {
        const inputs = sliceFeeds(data, start, n);
        return Object.fromEntries(inst.frontier.map((v) => [v, inputs[v] ?? values.get(v)![ci]]));
      };
      return {
        pack,
        async run(steps) {
          if (steps.length === 1) {
            const s = steps[0];
            const masks = Object.fromEntries(inst.masks.map((m, i) => [m, new ort.Tensor(maskType(s.masks[i]), s.masks[i], job.sites[i].dims)]));
            return [await runAll(session, inst.outputs, (ci, start, n) => ({ ...frontierFeeds(ci, start, n), ...masks }))];
          }
          const k = steps.length;
          const n = data.count;
          const feeds: Record<string, ort.Tensor> = {};
          for (const [v, t] of Object.entries(frontierFeeds(0, 0, n))) feeds[v] = tile(t, k);
          inst.masks.forEach((name, i) => {
            const site = job.sites[i];
            const per = site.dims.reduce((a, b) => a * b, 1);
            const first = steps[0].masks[i];
            const arr = new (first.constructor as new (len: number) => typeof first)(k * n * per);
            steps.forEach((s, j) => { for (let q = 0; q < n; q++) arr.set(s.masks[i], (j * n + q) * per); });
            feeds[name] = new ort.Tensor(maskType(first), arr, [k * n, ...site.dims.slice(1)]);
          });
          throwIfCancelled(opts.signal);
          const r = await session.run(feeds, inst.outputs);
          timing.runs++;
          return steps.map((_, j) => new Map(inst.outputs.map((o) => {
            const all = toFloat32(r[o]);
            const len = all.length / k;
            return [o, all.subarray(j * len, (j + 1) * len)];
          })));
        },
        release: () => session.release(),
      };
    }
  }
  const ref = dense!.get(primary)!;
  const denseM = compareOutput(ref, ref.data, data.labels);
  // On noise a trained classifier predicts nearly one class, so top-1 agreement is all-or-nothing: KL is smooth.
  if (!opts.metric) settings.metric = ref.classes ? (data.kind === 'synthetic' ? 'kl' : 'agreement') : 'rel-l2';
  if ((settings.metric === 'accuracy' || settings.metric === 'top5') && !denseM.accuracy) {
    throw new PruneLensError(`--metric ${settings.metric} needs labels and a classifier output [N, classes]`);
  }
  const targets = jobs.map((j) => {
    const points = results.get(j)!.map((p) => ({ ...p, loss: Math.max(0, lossOf(settings.metric, p.metrics, denseM)) }));
    return { ...j.info, sensitivity: points.reduce((s, p) => s + p.loss, 0) / points.length, points };
  });
  const result: ScanResult = {
    version: SCAN_VERSION,
    model: { path: path.resolve(file), sha256: modelHash, bytes: fs.statSync(file).size, params: cost.params, macs: cost.macs },
    settings,
    data: { kind: data.kind, description: data.description, samples: data.count, labelled: !!data.labels, synthetic: data.kind === 'synthetic' },
    dense: {
      outputs: [...dense!.values()].map((o) => ({ name: o.name, dims: o.dims, ...(o.classes ? { classes: o.classes } : {}) })),
      metrics: denseM,
    },
    targets,
    skipped,
    timing: {
      totalMs: performance.now() - t0,
      prepareMs,
      ...timing,
      steps: totalSteps,
      uncut: uncut.length,
      threads,
      cached: false,
    },
    notes: notes(mode, data, ref),
  };
  if (cacheFile) {
    fs.mkdirSync(opts.cacheDir!, { recursive: true });
    writeTextAtomic(cacheFile, JSON.stringify(result), { overwrite: true });
  }
  return result;
}

function cacheKey(modelHash: string, settings: ScanResult["settings"], data: CalibrationSet, only?: string[], maskAt?: MaskPlacement): string {
  const tensors = Object.values(data.inputs).map((t) => t.data as ArrayBufferView);
  return sha256(modelHash, JSON.stringify({ v: SCAN_VERSION, settings, only, maskAt }), ...tensors, data.labels ?? '').slice(0, 32);
}

function notes(mode: ScanResult['settings']['mode'], data: CalibrationSet, ref: OutputRef): string[] {
  const out: string[] = [];
  if (data.kind === 'synthetic') out.push('Synthetic Gaussian inputs: the metrics measure fidelity to the dense model, not task accuracy.');
  const peak = ref.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (peak < 1e-3) {
    out.push(`The dense output '${ref.name}' is nearly zero on these inputs (max |y| = ${peak.toExponential(1)}): rounding dominates the metrics; scan with real data (--data).`);
  }
  if (mode === 'unstructured') {
    out.push('Unstructured: zeroed weights leave the tensors dense, so ONNX Runtime runs no faster; MACs are unchanged.');
  } else {
    out.push('Each step masks one group alone, exactly as pruning that group for real would; MACs count Conv, Gemm and MatMul.');
  }
  return out;
}
