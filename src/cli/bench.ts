import * as path from 'node:path';
import { benchFile } from '../core/api.js';
import type { BenchMeasured, BenchResult } from '../shared/types.js';
import { emit, si, speed } from './format.js';
import { inputValues, number, threadsOf } from './args.js';

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
    runs: number('runs', flags.runs),
    warmup: number('warmup', flags.warmup) ?? 3,
    threads: threadsOf(flags.threads, 1),
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
    `${l.backend && !l.backend.startsWith('onnxruntime') ? l.backend : `ONNX Runtime CPU, ${l.threads || 'all'} intra-op thread${l.threads === 1 ? '' : 's'}`}, ${l.warmup} warm-up + ${l.runs} timed runs${r.compare ? ' each, taken in turn' : ''}, inputs ` +
      Object.entries(l.inputShapes).map(([k, v]) => `${k}=${v.join('x')}`).join(' '),
    line(r.model),
  ];
  if (r.compare) {
    const c = r.compare;
    lines.push(line(c));
    lines.push(`measured: ${path.basename(c.path)} is ${speed(c.speedup)}, beside ${c.macRatio.toFixed(2)}× fewer MACs and ${c.paramsRatio.toFixed(2)}× fewer params`);
  }
  lines.push(...r.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}
