/**
 * The engine as a service: `estimate` latency while a ratio editor drags (target ≤ 5 ms on ResNet-50), and the
 * time from starting `prunelens serve` to its first `open` answer, as a ratio to ONNX Runtime session creation.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import rpc from 'vscode-jsonrpc/node.js';
import { openModel } from '../src/core/api.js';
import { rng } from '../src/core/util/random.js';

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchEstimate(file: string): Promise<void> {
  const session = await openModel(file);
  const groups = session.groups().filter((g) => g.prunable);
  const r = rng(3);
  const keep: Record<string, number> = {};
  let t = performance.now();
  session.estimate({});
  const first = performance.now() - t;
  // a drag: each call moves one group's kept channels, as the ratio editor does on every pointer move
  const drag: number[] = [];
  for (let i = 0; i < 100; i++) {
    const g = groups[Math.floor(r() * groups.length)];
    keep[g.id] = Math.max(1, Math.round(g.channels * (0.1 + 0.9 * r())));
    t = performance.now();
    session.estimate(keep);
    drag.push(performance.now() - t);
  }
  // every group changed at once (a new plan loaded)
  const all: number[] = [];
  for (let i = 0; i < 20; i++) {
    const k = Object.fromEntries(groups.map((g) => [g.id, Math.max(1, Math.round(g.channels * (0.1 + 0.9 * r())))]));
    t = performance.now();
    session.estimate(k);
    all.push(performance.now() - t);
  }
  const m = med(drag);
  console.log(`\n[estimate] ${path.basename(file)}: ${groups.length} prunable groups`);
  console.log(`  first call (builds the cost state) ${first.toFixed(1)} ms`);
  console.log(`  one group moved, median of 100 calls ${m.toFixed(3)} ms (p90 ${[...drag].sort((a, b) => a - b)[89].toFixed(3)} ms) (target ≤ 5)  ${m <= 5 ? 'OK' : 'MISSED'}`);
  console.log(`  every group moved, median of 20 calls ${med(all).toFixed(2)} ms`);
}

/** Spawn → first `open` answer of `prunelens serve`, median of `runs` fresh processes. */
export async function benchServe(cli: string, file: string, ortMs: number, runs = 5): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const child = spawn(process.execPath, [cli, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const c = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout!), new rpc.StreamMessageWriter(child.stdin!));
    c.listen();
    await c.sendRequest('open', { path: file });
    times.push(performance.now() - t);
    c.dispose();
    child.kill();
  }
  const m = med(times);
  console.log(`\n[serve] spawn prunelens serve → first open answer on ${path.basename(file)}: ${m.toFixed(0)} ms (median of ${runs})`);
  console.log(`  = ${(m / ortMs).toFixed(2)}× ONNX Runtime session creation (${ortMs.toFixed(0)} ms), process start included`);
}
