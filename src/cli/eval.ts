import { loadModel } from '../core/formats/index.js';
import { loadIdxSet, preprocessFromModel } from '../core/data/labelled.js';
import { evaluateAccuracy } from '../core/eval.js';
import { PruneLensError } from '../core/errors.js';
import { emit } from './format.js';

export interface EvalFlags {
  data: string;
  labels: string;
  mean?: string;
  std?: string;
  scale?: string;
  json?: boolean;
}

const list = (v?: string) => (v === undefined ? undefined : v.split(',').map(Number));

export async function runEval(file: string, flags: EvalFlags): Promise<void> {
  const model = await loadModel(file);
  const pre = preprocessFromModel(model, { mean: list(flags.mean), std: list(flags.std), scale: flags.scale ? Number(flags.scale) : undefined });
  if ([pre.scale, ...pre.mean, ...pre.std].some((v) => !Number.isFinite(v))) throw new PruneLensError('--mean, --std and --scale take numbers');
  const set = loadIdxSet(flags.data, flags.labels, pre);
  const acc = await evaluateAccuracy(model, set);
  emit({ model: model.path, ...acc }, flags.json, (r) =>
    `${file}: top-1 ${(100 * r.top1).toFixed(1)}%, top-5 ${(100 * r.top5).toFixed(1)}% on ${r.samples} samples`);
}
