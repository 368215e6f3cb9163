/**
 * Recovery without training, after a prune: least-squares reconstruction of the layers (lsq), then BatchNorm
 * re-calibration or, where BN was folded, bias correction (bn). Fitted on calibration samples; judged on samples it
 * did not see (every fourth), as the metric before and after.
 */
import type { Metrics, RecoveryMethod, RecoveryReport } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';
import { sliceFeeds, type CalibrationSet } from '../data/calibration.js';
import { choose } from '../data/choose.js';
import { invalid, throwIfCancelled } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { TaskOptions } from '../progress.js';
import { createSession, ort } from '../runtime/ort.js';
import { compareOutput, describeOutput } from '../sensitivity/metrics.js';
import { concatChunks } from '../sensitivity/runs.js';
import { correctBiases, recalibrateBatchNorm, type BnStep } from './bn.js';
import { weightedLayers, type DenseChannels } from './layers.js';
import { reconstructLayers, type LsqStep } from './lsq.js';
import { checkpoint } from './checkpoint.js';
import * as path from 'node:path';

export const RECOVERY_METHODS: RecoveryMethod[] = ['bn', 'lsq'];

export function checkRecovery(methods: string[] | undefined): RecoveryMethod[] {
  for (const m of methods ?? []) if (!RECOVERY_METHODS.includes(m as RecoveryMethod)) invalidMethod(m);
  return [...new Set(methods ?? [])] as RecoveryMethod[];
}

function invalidMethod(m: string): never {
  throw invalid('recover', `one or more of ${RECOVERY_METHODS.join(', ')}, got '${m}'`);
}

/** Samples recovery fits on at most (a seeded choice of the data given). */
export const RECOVERY_SAMPLES = 512;

/** The samples at these indices, as a set of their own. */
function subset(set: CalibrationSet, idx: number[], description: string): CalibrationSet {
  const inputs: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(set.inputs)) {
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const src = t.data as Float32Array;
    const out = new (src.constructor as Float32ArrayConstructor)(idx.length * per);
    idx.forEach((s, k) => out.set(src.subarray(s * per, (s + 1) * per), k * per));
    inputs[name] = new ort.Tensor(t.type as 'float32', out, [idx.length, ...t.dims.slice(1)]);
  }
  return { ...set, count: idx.length, inputs, labels: set.labels ? Int32Array.from(idx, (i) => set.labels![i]) : undefined, description };
}

/**
 * Splits calibration data (at most RECOVERY_SAMPLES of it, a seeded choice): every fourth sample held out to judge
 * the fit, the rest to fit on.
 */
export function splitForFit(all: CalibrationSet, seed = 1): { fit: CalibrationSet; heldOut: CalibrationSet } {
  const set = all.count > RECOVERY_SAMPLES ? subset(all, choose(all.count, RECOVERY_SAMPLES, seed), `${RECOVERY_SAMPLES} (a seeded choice) of ${all.description}`) : all;
  const take = (keep: (i: number) => boolean, what: (n: number) => string): CalibrationSet => {
    const idx = Array.from({ length: set.count }, (_, i) => i).filter(keep);
    return subset(set, idx, what(idx.length));
  };
  if (set.count < 8) return { fit: set, heldOut: set };
  return {
    fit: take((i) => i % 4 !== 3, (n) => `${n} of ${set.description}`),
    heldOut: take((i) => i % 4 === 3, (n) => `the other ${n}`),
  };
}

/**
 * Whether a recovery step helped on held-out samples: closer to the dense model (relative L2), or, with labels, more
 * accurate without drifting further.
 */
function helped(before: Metrics, after: Metrics): boolean {
  if (after['rel-l2'] < before['rel-l2']) return true;
  return after.accuracy !== undefined && before.accuracy !== undefined && after.accuracy > before.accuracy;
}

/** The first output of a model over a set, stacked. */
export async function outputs(model: Model | Uint8Array, dir: string | undefined, set: CalibrationSet): Promise<{ name: string; dims: number[]; data: Float32Array }> {
  const s = await createSession(model, { optimization: 'basic', externalDataDir: dir });
  try {
    const parts = [];
    for (let i = 0; i < set.count; i += 64) parts.push((await s.run(sliceFeeds(set, i, Math.min(64, set.count - i))))[s.outputNames[0]]);
    return { name: s.outputNames[0], ...concatChunks(parts) };
  } finally {
    await s.release();
  }
}

/**
 * Recovers `pruned` in place towards the dense model of `a`; `channels` says which dense channels it keeps (one
 * prune: `DenseChannels` of `a`'s groups and the selections). Reports the fidelity to the dense model (and accuracy
 * with labels) on held-out samples before and after.
 */
export async function recover(
  a: Analysis, pruned: Model, channels: DenseChannels, data: CalibrationSet, methods: RecoveryMethod[], opts: TaskOptions & { seed?: number } = {},
): Promise<RecoveryReport> {
  const t0 = performance.now();
  const { fit, heldOut } = splitForFit(data, opts.seed);
  const dir = a.model.path ? path.dirname(a.model.path) : undefined;
  const dense = await outputs(a.model, dir, heldOut);
  const ref = describeOutput(dense.name, dense.dims, dense.data);
  const judge = async (): Promise<Metrics> => compareOutput(ref, (await outputs(pruned, dir, heldOut)).data, heldOut.labels);
  const before = await judge();
  const affected = channels.affected;
  const layers = weightedLayers(pruned.graph)
    .filter((n) => affected.has(n.name))
    .map((n) => {
      const dims = a.shapes.types.get(n.outputs[0])?.dims ?? [];
      const axis = n.opType === 'Conv' ? 1 : dims.length - 1;
      return { node: n.name, kept: channels.keptOf(n.outputs[0], axis, dims[axis] ?? 0) };
    });
  const steps: { lsq: LsqStep[]; bn: BnStep[] } = { lsq: [], bn: [] };
  const total = (methods.includes('lsq') ? layers.length : 0) + (methods.includes('bn') ? 1 : 0);
  const report = (done: number, message: string) => opts.onProgress?.({ phase: 'recover', done, total, message });
  // each method is kept only when the held-out samples say it helped: BN re-calibration on a few samples can undo
  // what least squares fitted (the dense statistics were already right for the refitted layer)
  const reverted: RecoveryReport['reverted'] = [];
  let current = before;
  const tryMethod = async (method: RecoveryMethod, run: () => Promise<void>) => {
    const restore = checkpoint(pruned.graph);
    await run();
    throwIfCancelled(opts.signal);
    const now = await judge();
    if (helped(current, now)) {
      current = now;
      return;
    }
    restore();
    reverted.push({ method, before: current, after: now });
  };
  if (methods.includes('lsq')) {
    await tryMethod('lsq', async () => {
      steps.lsq = await reconstructLayers(pruned, { model: a.model, shapes: a.shapes }, a.shapes.inputs, fit, layers, {
        seed: opts.seed, signal: opts.signal, onLayer: (i) => report(i, `least squares: ${layers[i].node}`),
      });
    });
  }
  if (methods.includes('bn')) {
    await tryMethod('bn', async () => {
      report(total - 1, 'BatchNorm re-calibration');
      steps.bn = await recalibrateBatchNorm(pruned, a.shapes.inputs, fit, affected, opts.signal);
      steps.bn.push(...await correctBiases(pruned, { model: a.model, shapes: a.shapes }, a.shapes.inputs, fit, layers, opts.signal));
    });
  }
  const after = current;
  return {
    methods,
    data: { fitted: fit.description, judged: heldOut.description, synthetic: data.kind === 'synthetic' },
    before,
    after,
    ...(reverted.length ? { reverted } : {}),
    lsq: steps.lsq,
    bn: steps.bn,
    ms: performance.now() - t0,
  };
}
