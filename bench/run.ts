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
import { analyseModel, loadAndShape } from '../src/core/analysis.js';
import { pruneModel } from '../src/core/api.js';
import { analyzeDependencies, describeGroup } from '../src/core/deps/analyze.js';
import { applyPruning } from '../src/core/surgery/apply.js';
import { selectionsFor } from '../src/core/prune.js';
import { measureLatency } from '../src/core/cost/latency.js';
import { benchScan } from './scan.js';
import { benchTfjs } from './tfjs.js';
import { benchEstimate, benchServe } from './service.js';
import { benchDataAware } from './recovery.js';

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

async function main() {
  console.log(`PruneLens benchmarks — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, node ${process.version}`);
  if (process.argv.includes('--scan')) return benchScan(torchvisionModel(ROOT, 'resnet18'), os.cpus().length);
  if (process.argv.includes('--data-aware')) return benchDataAware(torchvisionModel(ROOT, 'resnet18'));
  if (process.argv.includes('--tfjs')) return benchTfjs(os.cpus().length);
  if (process.argv.includes('--service')) {
    const file = torchvisionModel(ROOT, 'resnet50');
    await benchEstimate(file);
    return benchServe(path.join(ROOT, 'dist/cli.js'), file, measure('ort-create', file).ms);
  }
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
  await benchEstimate(file);
  await benchServe(path.join(ROOT, 'dist/cli.js'), file, ort.ms);

  // Dependency analysis and surgery, in this process (median of 3), against the same session-creation time.
  const analyseMs: number[] = [];
  const pruneMs: number[] = [];
  const chooseMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { model, shapes } = await loadAndShape(file);
    let t = performance.now();
    const dep = analyzeDependencies(model, shapes);
    analyseMs.push(performance.now() - t);
    t = performance.now();
    const sel = selectionsFor(await analyseModel(model), { ratio: 0.5 });
    chooseMs.push(performance.now() - t);
    t = performance.now();
    applyPruning(model, dep, sel);
    pruneMs.push(performance.now() - t);
    if (i === 0) {
      const prunable = dep.groups.filter((g) => describeGroup(g, model).prunable).length;
      console.log(`\n[prune] ${path.basename(file)}: ${dep.groups.length} groups, ${prunable} prunable`);
    }
  }
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[1];
  console.log(`  dependency analysis   ${med(analyseMs).toFixed(0)} ms = ${(med(analyseMs) / ort.ms).toFixed(2)}× ORT session creation (target ≤ 0.5)  ${med(analyseMs) / ort.ms <= 0.5 ? 'OK' : 'MISSED'}`);
  const surgery = med(pruneMs);
  const choice = med(chooseMs);
  console.log(`  surgery (slice every weight, rewrite attributes)  ${surgery.toFixed(0)} ms = ${(surgery / ort.ms).toFixed(2)}× ORT session creation (target ≤ 0.5)  ${surgery / ort.ms <= 0.5 ? 'OK' : 'MISSED'}`);
  console.log(`  L1 scoring of every group member                 ${choice.toFixed(0)} ms = ${(choice / ort.ms).toFixed(2)}× (reads every weight twice, as filters and as inputs)`);

  // Real speed: ResNet-50 pruned uniformly at 50 % vs the original, ONNX Runtime CPU, batch 1 at 224².
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-bench-')), 'resnet50-50.onnx');
  const t0 = performance.now();
  const rep = await pruneModel(file, out, { ratio: 0.5 });
  const fullMs = performance.now() - t0;
  console.log(`  whole prune command (load, analyse, surgery, verification with 2 sessions, save) ${fullMs.toFixed(0)} ms`);
  const { model: m0, shapes: s0 } = await loadAndShape(file);
  const { model: m1 } = await loadAndShape(out);
  for (const threads of [1, os.cpus().length]) {
    const a = await measureLatency(file, m0, s0.inputs, { threads, runs: 20 });
    const b = await measureLatency(out, m1, s0.inputs, { threads, runs: 20 });
    const speedup = a.medianMs / b.medianMs;
    const macRatio = rep.before.macs / rep.after.macs;
    console.log(
      `\n[latency] ResNet-50 pruned 50 % (uniform, L1), ${threads} thread(s), batch 1, 20 runs after 3 warm-up\n` +
        `  original ${a.medianMs.toFixed(1)} ms (p10 ${a.p10Ms.toFixed(1)}, p90 ${a.p90Ms.toFixed(1)}), pruned ${b.medianMs.toFixed(1)} ms (p10 ${b.p10Ms.toFixed(1)}, p90 ${b.p90Ms.toFixed(1)})\n` +
        `  measured speedup ${speedup.toFixed(2)}× vs theoretical MAC ratio ${macRatio.toFixed(2)}× and params ratio ${(rep.before.params / rep.after.params).toFixed(2)}×: ` +
        `${((100 * (speedup - 1)) / (macRatio - 1)).toFixed(0)} % of the MAC reduction became speed`,
    );
  }
  await benchScan(torchvisionModel(ROOT, 'resnet18'), os.cpus().length);
  await benchDataAware(torchvisionModel(ROOT, 'resnet18'));
  await benchTfjs(os.cpus().length);
}

await main();
