import * as path from 'node:path';
import { benchFile } from '../core/api.js';
import type { BenchMeasured, BenchResult } from '../shared/types.js';
import { emit, si } from './format.js';
import { inputValues, number } from './args.js';

export interface BenchFlags {
  compare?: string;
  runs?: string;
  warmup?: string;
  threads?: string;
  inputShape?: string[];
  inputValue?: string[];
  json?: boolean;
}

export async function runBench(file: string, flags: BenchFlags): Promise<void> {
  const result = await benchFile(file, {
    compare: flags.compare,
    runs: number('runs', flags.runs) ?? 20,
    warmup: number('warmup', flags.warmup) ?? 3,
    threads: number('threads', flags.threads) ?? 0,
    inputShapes: flags.inputShape,
    inputValues: inputValues(flags.inputValue),
  });
  emit(result, flags.json, render);
}

function line(m: BenchMeasured): string {
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
