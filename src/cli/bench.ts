import * as path from 'node:path';
import { loadAndShape } from '../core/api.js';
import { computeCost } from '../core/cost/cost.js';
import { measureLatency, type LatencyResult } from '../core/cost/latency.js';
import { sparsity } from '../core/cost/sparsity.js';
import { emit, pct, si } from './format.js';
import { number } from './args.js';

export interface BenchFlags {
  compare?: string;
  runs?: string;
  warmup?: string;
  threads?: string;
  inputShape?: string[];
  json?: boolean;
}

interface Measured {
  path: string;
  params: number;
  macs: number;
  /** Fraction of weights that are exactly zero. */
  zeroWeights: number;
  latency: LatencyResult;
}

export interface BenchResult {
  model: Measured;
  compare?: Measured & { speedup: number; macRatio: number; paramsRatio: number };
  notes: string[];
}

export async function runBench(file: string, flags: BenchFlags): Promise<void> {
  const opts = { runs: number('--runs', flags.runs) ?? 20, warmup: number('--warmup', flags.warmup) ?? 3, threads: number('--threads', flags.threads) ?? 0 };
  const measure = async (f: string): Promise<Measured> => {
    const { model, shapes } = await loadAndShape(f, { inputShapes: flags.inputShape });
    const cost = computeCost(model, shapes);
    return { path: path.resolve(f), params: cost.params, macs: cost.macs, zeroWeights: sparsity(model), latency: await measureLatency(f, model, shapes.inputs, opts) };
  };
  const a = await measure(file);
  const result: BenchResult = { model: a, notes: [] };
  if (flags.compare) {
    const b = await measure(flags.compare);
    result.compare = { ...b, speedup: a.latency.medianMs / b.latency.medianMs, macRatio: a.macs / b.macs, paramsRatio: a.params / b.params };
    if (b.zeroWeights > a.zeroWeights + 0.05) {
      result.notes.push(
        `${pct(b.zeroWeights, 1)} of ${path.basename(b.path)}'s weights are zeros (unstructured or N:M sparsity): ONNX Runtime's dense ` +
          'CPU kernels multiply them anyway, so expect no speedup from them; only removed channels make a model faster.',
      );
    }
  }
  emit(result, flags.json, render);
}

function line(m: Measured): string {
  const l = m.latency;
  return `${path.basename(m.path)}: ${l.medianMs.toFixed(2)} ms median (p10 ${l.p10Ms.toFixed(2)}, p90 ${l.p90Ms.toFixed(2)}), ` +
    `${si(m.params)} params, ${si(m.macs)} MACs`;
}

function render(r: BenchResult): string {
  const l = r.model.latency;
  const lines = [
    `ONNX Runtime CPU, ${l.threads || 'all'} intra-op threads, ${l.warmup} warm-up + ${l.runs} timed runs, inputs ` +
      Object.entries(l.inputShapes).map(([k, v]) => `${k}=${v.join('x')}`).join(' '),
    line(r.model),
  ];
  if (r.compare) {
    const c = r.compare;
    lines.push(line(c));
    lines.push(`measured speedup ${c.speedup.toFixed(2)}× beside theoretical ${c.macRatio.toFixed(2)}× (MACs) and ${c.paramsRatio.toFixed(2)}× (params)`);
  }
  lines.push(...r.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}
