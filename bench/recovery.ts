/**
 * Data-aware work (issue 14) on ResNet-18 at 224², 32 synthetic samples: the gradient pass criteria run (target ≤ 4×
 * the forward pass over the same samples), least-squares + BN recovery after a 30 % prune,
 * and Wanda/OBS sparsity, each as a ratio to the forward pass.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyse } from '../src/core/analysis.js';
import { pruneModel } from '../src/core/api.js';
import { sparsifyModel } from '../src/core/sparse.js';
import type { GradientRequest } from '../src/core/autodiff/backward.js';
import { gradientRun } from '../src/core/autodiff/gradients.js';
import { watchesOf } from '../src/core/criteria/activations.js';
import { loadCalibration, type CalibrationSet } from '../src/core/data/calibration.js';
import { createSession } from '../src/core/runtime/ort.js';

const SAMPLES = 32;

export async function benchDataAware(file: string): Promise<void> {
  const a = await analyse(file);
  const data = await loadCalibration(a.model, a.shapes.inputs, { samples: SAMPLES });
  const fwd = await forwardMs(file, data);
  console.log(`\n[data-aware] ${path.basename(file)}, ${SAMPLES} synthetic samples; forward pass over them ${fwd.toFixed(0)} ms at 1 thread`);
  const out = a.model.graph.outputs[0].name;
  const groups = a.dep.groups.filter((g) => a.infos[g.id].prunable);
  const values = [...new Set(groups.flatMap((g) => watchesOf(a, g)).map((w) => w.value))];
  const weights = [...new Set(groups.flatMap((g) => g.params.filter((p) => p.role === 'out' || p.role === 'in').map((p) => p.tensor)))];
  const runs: [string, GradientRequest][] = [
    ['gradients of every activation (taylor)', { output: out, values, weights: [], loss: 'pseudo' }],
    ['gradients of every weight (snip, obd)', { output: out, values: [], weights, loss: 'pseudo' }],
  ];
  for (const [name, req] of runs) {
    // one thread for both, so the ratio does not depend on what else the machine runs
    const r = await gradientRun(a.model, a.shapes.inputs, req, 1);
    await r.run(data, () => {}, { batch: 8 });
    const t = performance.now();
    await r.run(data, () => {}, { batch: 8 });
    const ms = performance.now() - t;
    await r.release();
    const ratio = ms / fwd;
    console.log(`  ${name}: ${ms.toFixed(0)} ms = ${ratio.toFixed(2)}× forward (target ≤ 4)  ${ratio <= 4 ? 'OK' : 'MISSED'}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-bench-'));
  let t = performance.now();
  const rep = await pruneModel(file, path.join(dir, 'r18-lsq.onnx'), { ratio: 0.3, recover: ['lsq', 'bn'], samples: SAMPLES, latencyRuns: 0 });
  const whole = performance.now() - t;
  const rec = rep.recovery!;
  console.log(`  prune 30 % + recover lsq,bn: recovery ${(rec.ms / 1000).toFixed(1)} s = ${(rec.ms / fwd).toFixed(0)}× forward ` +
    `(${rec.lsq.filter((l) => !l.skipped).length} layers refitted; whole command ${(whole / 1000).toFixed(1)} s); held-out rel-l2 ${rec.before['rel-l2'].toFixed(3)} → ${rec.after['rel-l2'].toFixed(3)}`);
  for (const method of ['wanda', 'obs'] as const) {
    const sp = await sparsifyModel(a, path.join(dir, `r18-${method}.onnx`), { kind: 'unstructured', ratio: 0.5 }, { method, data });
    const per = sp.layers!;
    console.log(`  ${method} 50 % unstructured: ${(sp.ms / 1000).toFixed(1)} s = ${(sp.ms / fwd).toFixed(0)}× forward ` +
      `(${per.length} layers by ${method}, ${sp.magnitudeLayers} by magnitude; held-out rel-l2 ${sp.quality!.sparse['rel-l2'].toFixed(3)})`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function forwardMs(file: string, data: CalibrationSet): Promise<number> {
  const s = await createSession(file, { threads: 1 });
  try {
    await s.run(data.inputs);
    const t = performance.now();
    for (let i = 0; i < 3; i++) await s.run(data.inputs);
    return (performance.now() - t) / 3;
  } finally {
    await s.release();
  }
}
