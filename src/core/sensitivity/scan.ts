/**
 * Layer-wise sensitivity scans: for each dependency group (or, unstructured, each layer) and each ratio, mask
 * that target alone and measure how far the outputs move from the dense model's on calibration data.
 *
 * Speed: one ONNX Runtime session per target, masks fed as inputs (no rebuild per ratio), and only the suffix
 * of the network that depends on the masks is run; its inputs come from one dense run (bounded by maxMemoryMB).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricName, ScanPoint, ScanResult, ScanSettingsInput } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';
import { COST_BASIS } from '../cost/cost.js';
import { loadCalibration, sliceFeeds, type CalibrationSet } from '../data/calibration.js';
import { parsePreprocess } from '../data/preprocess.js';
import { invalid, PruneLensError, throwIfCancelled } from '../errors.js';
import type { TaskOptions } from '../progress.js';
import { createSession, ort, type Session } from '../runtime/ort.js';
import { MAX_JSON_FILE_BYTES } from '../limits.js';
import { writeTextAtomic } from '../util/atomic.js';
import { makeDirs, readRegularText } from '../util/files.js';
import { trimCache } from './cache-trim.js';
import { sha256 } from '../util/hash.js';
import { buildInstrumented } from './instrument.js';
import { batchJobs, groupJobs, layerJobs, type Job, type Step } from './jobs.js';
import { compareOutput, describeOutput, lossOf, METRICS, type Metrics, type OutputRef } from './metrics.js';
import { boundedOutputs, OutputStats } from '../data/synthetic.js';
import { autoBatch, batchSize, concatChunks, denseRun, maskType, tile, toFloat32 } from './runs.js';
import type { MaskPlacement } from './targets.js';

export type { ScanPoint, ScanResult, ScanTargetResult } from '../../shared/types.js';

export const DEFAULT_RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
export const SCAN_VERSION = 3;

export interface ScanOptions extends ScanSettingsInput, TaskOptions {
  /** Where structured masks go (see MaskPlacement); 'weights' is the masked twin itself, for checks and benchmarks. */
  maskAt?: MaskPlacement;
  /** Run each step from the graph inputs (for measuring what prefix reuse buys). */
  noPrefixReuse?: boolean;
}

/** Checks scan options that do not need the model (front ends call it before any work). */
export function checkScanOptions(opts: ScanSettingsInput): void {
  if (opts.ratios && (opts.ratios.length === 0 || opts.ratios.some((r) => !(r > 0 && r < 1)))) {
    throw invalid('ratios', `fractions in (0, 1) are scanned, e.g. 0.1,0.3,0.5; got ${opts.ratios.join(',')}`);
  }
  if (opts.metric && !METRICS.includes(opts.metric)) throw invalid('metric', `one of ${METRICS.join(', ')}, got '${opts.metric}'`);
  if (opts.mode && opts.mode !== 'structured' && opts.mode !== 'unstructured') throw invalid('mode', `structured or unstructured, got '${opts.mode}'`);
  for (const k of ['samples', 'batch', 'threads', 'seed'] as const) {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= (k === 'threads' || k === 'seed' ? 0 : 1))) throw invalid(k, `expects a whole number${k === 'threads' || k === 'seed' ? '' : ' ≥ 1'}, got ${v}`);
  }
  if (opts.maxMemoryMB !== undefined && !(opts.maxMemoryMB >= 0)) throw invalid('maxMemoryMB', `expects megabytes ≥ 0, got ${opts.maxMemoryMB}`);
}

/**
 * Scans a loaded model. Results are cached on disk (when `cacheDir` is given) by the model's hash (weights included),
 * the data and the settings; a cancelled scan writes nothing.
 */
export async function scan(a: Analysis, opts: ScanOptions = {}): Promise<ScanResult> {
  const t0 = performance.now();
  checkScanOptions(opts);
  const ratios = opts.ratios ?? DEFAULT_RATIOS;
  const mode = opts.mode ?? 'structured';
  const { model, shapes, cost } = a;
  const inputShapes = shapes.inputs;
  const preprocess = typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess;
  a.assertRunFits('scanning'); // one sample must fit before any data is loaded for it
  const data = await loadCalibration(model, inputShapes, { ...opts, preprocess, inputValues: a.givenValues });
  if ((opts.metric === 'accuracy' || opts.metric === 'top5') && !data.labels) {
    throw invalid('metric', `${opts.metric} needs labelled data (data with labels)`);
  }
  throwIfCancelled(opts.signal);
  if (mode === 'structured') await a.prepare(opts.criterion, data, opts);
  const outputs = model.graph.outputs.map((o) => o.name);
  const primary = opts.outputName ?? outputs[0];
  if (!outputs.includes(primary)) throw invalid('outputName', `the model has no output '${primary}' (outputs: ${outputs.join(', ')})`);
  const perSample = cost.peakActivationBytes / (Object.values(inputShapes)[0]?.[0] || 1);
  const batch = batchSize(model, data.count, opts.batch, perSample);
  a.assertRunFits('scanning', { samples: batch, option: opts.batch !== undefined ? 'batch' : 'inputShapes' });
  // samples one run may take, when steps are stacked
  const capacity = opts.batch ?? autoBatch(perSample);
  const threads = opts.threads ?? 0;
  const settings: ScanResult['settings'] = {
    mode,
    criterion: mode === 'structured' ? opts.criterion ?? 'l1' : 'magnitude',
    reduce: opts.reduce ?? 'mean',
    withinGroup: opts.withinGroup ?? 'per-source',
    ratios,
    metric: opts.metric ?? 'agreement',
    output: primary,
    samples: data.count,
    seed: opts.seed ?? 1,
    batch,
    inputShapes,
    assumed: a.assumedSizes,
    roundTo: opts.roundTo,
    minChannels: opts.minChannels,
  };
  const modelHash = a.sha256();
  const cacheFile = opts.cacheDir ? path.join(opts.cacheDir, `scan-${cacheKey(modelHash, { ...settings, metric: opts.metric ?? ('auto' as MetricName) }, data, opts.only, opts.maskAt)}.json`) : undefined;
  const hit = cacheFile ? readCached(cacheFile) : undefined;
  if (hit) return hit;

  const layerMacs = new Map(cost.layers.map((l) => [l.name, l.macs]));
  const skipped: ScanResult['skipped'] = [];
  const jobs = mode === 'structured' ? groupJobs(a, opts, skipped) : layerJobs(model, layerMacs, opts);
  if (jobs.length === 0) throw new PruneLensError(`nothing to scan: ${skipped[0]?.reason ?? 'no prunable group'}`, { code: 'unsupported' });
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
      const runAll = async (session: Session, names: string[], feedsFor: (ci: number, start: number, n: number) => Record<string, ort.Tensor>) => {
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
      const stackable = !!opts.stack && chunks.length === 1 && job.sites.every((s) => s.perSample);
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
    throw invalid('metric', `${settings.metric} needs labels and a classifier output [N, classes]`);
  }
  const targets = jobs.map((j) => {
    const points = results.get(j)!.map((p) => ({ ...p, loss: Math.max(0, lossOf(settings.metric, p.metrics, denseM)) }));
    return { ...j.info, sensitivity: points.reduce((s, p) => s + p.loss, 0) / points.length, points };
  });
  const bounded = boundedOutputs(model);
  const degenerate = [...dense!.values()].flatMap((o) => {
    const d = new OutputStats().add(o.data).degeneracy(o.name, bounded.has(o.name));
    return d ? [d] : [];
  });
  const result: ScanResult = {
    version: SCAN_VERSION,
    model: { path: model.path, sha256: modelHash, bytes: a.bytes(), params: cost.params, macs: cost.macs },
    settings,
    data: { kind: data.kind, description: data.description, samples: data.count, labelled: !!data.labels, synthetic: data.kind === 'synthetic' },
    dense: {
      outputs: [...dense!.values()].map((o) => ({ name: o.name, dims: o.dims, ...(o.classes ? { classes: o.classes } : {}) })),
      metrics: denseM,
      degenerate,
    },
    targets,
    skipped,
    basis: COST_BASIS,
    timing: {
      totalMs: performance.now() - t0,
      prepareMs,
      ...timing,
      steps: totalSteps,
      uncut: uncut.length,
      threads,
      cached: false,
    },
    notes: notes(mode, data, degenerate),
  };
  if (cacheFile) writeCached(cacheFile, result);
  return result;
}

/** A cached result, or nothing when the entry is missing or damaged (a damaged entry is a miss, never a failure). */
function readCached(file: string): ScanResult | undefined {
  try {
    const hit = JSON.parse(readRegularText(file, { maxBytes: MAX_JSON_FILE_BYTES })) as ScanResult;
    const ok = hit && hit.version === SCAN_VERSION && Array.isArray(hit.targets) && hit.settings && Array.isArray(hit.settings.ratios) &&
      hit.targets.every((t) => Array.isArray(t?.points)) && hit.model && typeof hit.model.sha256 === 'string' && hit.timing;
    if (!ok) return undefined;
    const now = new Date();
    try { fs.utimesSync(file, now, now); } catch { /* read-only cache: still a hit */ }
    return { ...hit, timing: { ...hit.timing, cached: true } };
  } catch {
    return undefined;
  }
}

/** Best effort: the scan's answer does not depend on the cache being writable. */
function writeCached(file: string, result: ScanResult): void {
  try {
    makeDirs(path.dirname(file));
    writeTextAtomic(file, JSON.stringify(result), { overwrite: true });
    trimCache(path.dirname(file));
  } catch { /* unwritable cache: the result is returned anyway */ }
}

function cacheKey(modelHash: string, settings: ScanResult['settings'], data: CalibrationSet, only?: string[], maskAt?: MaskPlacement): string {
  const tensors = Object.values(data.inputs).map((t) => t.data as ArrayBufferView);
  return sha256(modelHash, JSON.stringify({ v: SCAN_VERSION, settings, only, maskAt }), ...tensors, data.labels ?? '').slice(0, 32);
}

function notes(mode: ScanResult['settings']['mode'], data: CalibrationSet, degenerate: string[]): string[] {
  const out: string[] = [];
  if (data.kind === 'synthetic') out.push('Synthetic inputs: the losses measure fidelity to the dense model on them, not task accuracy; pass real data for that.');
  for (const d of degenerate) {
    out.push(`The dense model's ${d} on these inputs: its losses measure rounding, not the model; scan with real data.`);
  }
  if (mode === 'unstructured') {
    out.push('Unstructured: zeroed weights leave the tensors dense, so ONNX Runtime runs no faster; MACs are unchanged.');
  } else {
    out.push('Each step masks one group alone, exactly as pruning that group for real would.');
  }
  return out;
}
