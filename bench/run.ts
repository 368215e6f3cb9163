/**
 * `npm run bench`: speed and memory targets, printed as ratios measured in this one run.
 * Every measurement runs in a fresh child process; the median of several runs is reported.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { torchvisionModel } from './models.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'out/bench/child.js');
const RUNS = 5;

function measure(what: string, file: string): { ms: number; peakExtra: number } {
  const results: { ms: number; peakExtra: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [CHILD, what, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${what} ${file} failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
  }
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ms: med(results.map((r) => r.ms)), peakExtra: med(results.map((r) => r.peakExtra)) };
}

function main() {
  console.log(`PruneLens benchmarks — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, node ${process.version}`);
  const file = torchvisionModel(ROOT, 'resnet50');
  const size = fs.statSync(file).size;
  console.log(`\n[load] ${path.basename(file)}: ${(size / 2 ** 20).toFixed(1)} MiB, median of ${RUNS} fresh processes`);
  const ort = measure('ort-create', file);
  const ours = measure('load', file);
  const timeRatio = ours.ms / ort.ms;
  const memRatio = ours.peakExtra / size;
  console.log(`  ONNX Runtime session creation  ${ort.ms.toFixed(0)} ms`);
  console.log(`  PruneLens load + shapes        ${ours.ms.toFixed(0)} ms, peak extra memory ${(ours.peakExtra / 2 ** 20).toFixed(0)} MiB`);
  console.log(`  load time ratio   ${timeRatio.toFixed(2)}× ORT session creation (target ≤ 1.5)  ${timeRatio <= 1.5 ? 'OK' : 'MISSED'}`);
  console.log(`  peak memory ratio ${memRatio.toFixed(2)}× file size (target ≤ 1.5)  ${memRatio <= 1.5 ? 'OK' : 'MISSED'}`);
}

main();
