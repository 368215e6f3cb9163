/** `prunelens serve` as a child process, spoken to with vscode-jsonrpc as the extension does. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import rpc from 'vscode-jsonrpc/node.js';
import { pruneModel } from '../src/core/api.js';
import type { EngineMethod, EngineMethods, ProgressParams } from '../src/shared/protocol.js';
import type { EngineErrorData } from '../src/shared/types.js';
import { CLI, EXAMPLE, ROOT, tmpdir } from './helpers/env.js';

const IDX = {
  data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
};

interface Engine {
  child: ChildProcess;
  stderr: () => string;
  progress: ProgressParams[];
  request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], token?: rpc.CancellationToken): Promise<EngineMethods[M]['result']>;
  dispose(): void;
}

function startEngine(): Engine {
  const child = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout!), new rpc.StreamMessageWriter(child.stdin!));
  const progress: ProgressParams[] = [];
  connection.onNotification('$/progress', (p: ProgressParams) => progress.push(p));
  connection.listen();
  return {
    child,
    stderr: () => err,
    progress,
    request: (method, params, token) => (token ? connection.sendRequest(method, params, token) : connection.sendRequest(method, params)),
    dispose() {
      connection.dispose();
      child.kill();
    },
  };
}

/** The error a request answered with. */
async function failure(p: Promise<unknown>): Promise<rpc.ResponseError<EngineErrorData>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof rpc.ResponseError, `a ResponseError, got ${e}`);
    return e as rpc.ResponseError<EngineErrorData>;
  }
  assert.fail('the request succeeded');
}

const listAll = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String) : []);

describe('prunelens serve (JSON-RPC over stdio)', () => {
  const dir = tmpdir();
  const engine = startEngine();
  after(() => engine.dispose());

  it('opens a model and answers groups and inspect without loading it again', async () => {
    const open = await engine.request('open', { path: EXAMPLE });
    assert.match(open.modelId, /^m\d+$/);
    assert.equal(open.protocol, 1);
    assert.equal(open.format, 'onnx');
    assert.ok(open.params > 70_000 && open.macs > 1e6);
    assert.equal(open.prunableGroups, 6);
    const groups = await engine.request('groups', { modelId: open.modelId });
    assert.equal(groups.length, 7);
    for (const g of groups) {
      assert.equal(typeof g.id, 'number');
      assert.equal(typeof g.channels, 'number');
      assert.equal(typeof g.prunable, 'boolean');
    }
    const some = await engine.request('groups', { modelId: open.modelId, ids: [1] });
    assert.deepEqual(some, [groups[1]]);
    const graph = await engine.request('graph', { modelId: open.modelId });
    assert.equal(graph.nodes.length, 27);
    assert.ok(graph.nodes.every((n, i) => n.id === i && n.inputs.every((p) => p < i)), 'edges point back to earlier nodes');
    assert.equal(graph.nodes[0].writes, 0);
    assert.deepEqual(graph.outputs.map((o) => o.name), ['logits']);
    const info = await engine.request('inspect', { modelId: open.modelId, layers: false });
    assert.equal(info.params, open.params);
    assert.deepEqual(info.layers, []);
    assert.ok(info.basis.macs.length > 20);
  });

  it('estimates exactly what prune writes, and saves the variant', async () => {
    const { modelId } = await engine.request('open', { path: EXAMPLE });
    const groups = (await engine.request('groups', { modelId })).filter((g) => g.prunable);
    const keep = Object.fromEntries(groups.map((g, i) => [String(g.id), Math.max(1, Math.floor(g.channels * (0.3 + 0.1 * i)))]));
    const est = await engine.request('estimate', { modelId, keep });
    assert.ok(est.params < est.before.params && est.macs < est.before.macs);
    const pruned = await engine.request('prune', { modelId, keep });
    assert.equal(est.params, pruned.report.after.params, 'estimated params = pruned');
    assert.equal(est.macs, pruned.report.after.macs, 'estimated MACs = pruned');
    assert.ok(pruned.report.verification.passed);
    const out = path.join(dir, 'example.pruned.onnx');
    const saved = await engine.request('save', { modelId, variantId: pruned.variantId, path: out });
    assert.equal(saved.path, out);
    assert.ok(fs.existsSync(saved.reports!.markdown) && fs.existsSync(saved.recipe!));
    const size = fs.statSync(out).size;
    assert.ok(Math.abs(size - est.bytes) / size < 0.01, `estimated ${est.bytes} B, saved ${size} B`);
    // a group not named keeps everything; an empty keep is the dense model
    const none = await engine.request('estimate', { modelId, keep: {} });
    assert.equal(none.params, none.before.params);
    assert.equal(none.macs, none.before.macs);
    // the same estimate as a path-taking prune through the engine's front door
    const rep = await pruneModel(EXAMPLE, path.join(dir, 'same.onnx'), { keep, latencyRuns: 0 });
    assert.equal(rep.after.params, est.params);
  });

  it('scans with $/progress for a work-done token', async () => {
    const { modelId } = await engine.request('open', { path: EXAMPLE });
    engine.progress.length = 0;
    const r = await engine.request('scan', { modelId, ...IDX, samples: 64, ratios: [0.25, 0.5], workDoneToken: 'scan-1' });
    assert.equal(r.targets.length, 6);
    const mine = engine.progress.filter((p) => p.token === 'scan-1').map((p) => p.value);
    assert.equal(mine[0].kind, 'begin');
    assert.equal(mine[mine.length - 1].kind, 'end');
    const reports = mine.filter((v) => v.kind === 'report');
    assert.ok(reports.length >= 2, `${reports.length} reports`);
    assert.ok(reports.some((v) => v.kind === 'report' && v.phase === 'scan' && v.total === 12));
  });

  it('cancels a scan within a second, leaving no cache entry', async () => {
    const { modelId } = await engine.request('open', { path: EXAMPLE });
    const cacheDir = path.join(dir, 'cache-cancel');
    const source = new rpc.CancellationTokenSource();
    engine.progress.length = 0;
    const pending = engine.request('scan', { modelId, ...IDX, samples: 500, cacheDir, workDoneToken: 'cancel-me' }, source.token);
    // cancel once the scan has really started
    while (!engine.progress.some((p) => p.token === 'cancel-me' && p.value.kind === 'report' && p.value.phase === 'scan' && p.value.done > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const t = performance.now();
    source.cancel();
    const e = await failure(pending);
    const ms = performance.now() - t;
    assert.equal(e.code, -32800);
    assert.equal(e.data?.code, 'cancelled');
    assert.ok(ms < 1000, `answered after ${ms.toFixed(0)} ms`);
    assert.deepEqual(listAll(cacheDir), []);
    // and it keeps serving
    const again = await engine.request('groups', { modelId, ids: [0] });
    assert.equal(again.length, 1);
  });

  it('answers bad requests with an error response and keeps serving', async () => {
    const missing = await failure(engine.request('open', { path: path.join(dir, 'nope.onnx') }));
    assert.equal(missing.code, -32803);
    assert.equal(missing.data?.code, 'file-not-found');
    const unknown = await failure(engine.request('estimate', { modelId: 'm999', keep: {} }));
    assert.equal(unknown.code, -32602);
    assert.equal(unknown.data?.code, 'unknown-id');
    const { modelId } = await engine.request('open', { path: EXAMPLE });
    const wrongType = await failure(engine.request('estimate', { modelId, keep: 5 as unknown as Record<string, number> }));
    assert.equal(wrongType.code, -32602);
    assert.equal(wrongType.data?.option, 'keep');
    const badRatio = await failure(engine.request('prune', { modelId, ratio: 2 }));
    assert.equal(badRatio.data?.code, 'invalid-option');
    assert.equal(badRatio.data?.option, 'ratio');
    assert.doesNotMatch(badRatio.message, /--/, 'engine messages name no CLI flag');
    const noSuchMethod = await failure(engine.request('frobnicate' as EngineMethod, {} as never));
    assert.equal(noSuchMethod.code, -32601);
    const closed = await engine.request('close', { modelId });
    assert.equal(closed, null);
    assert.equal((await failure(engine.request('groups', { modelId }))).data?.code, 'unknown-id');
    const still = await engine.request('open', { path: EXAMPLE });
    assert.ok(still.modelId);
  });

  it('compares criteria and writes a data-aware sparse model', async () => {
    const { modelId } = await engine.request('open', { path: EXAMPLE });
    const cmp = await engine.request('compareCriteria', { modelId, criteria: ['l1', 'l2', 'taylor'], ...IDX, samples: 64, workDoneToken: 'cmp' });
    assert.deepEqual(cmp.criteria, ['l1', 'l2', 'taylor']);
    assert.equal(cmp.groups.length, 6);
    assert.equal(cmp.data?.synthetic, false);
    for (const g of cmp.groups) {
      assert.equal(g.spearman[0][0], 1);
      assert.equal(g.spearman[0][1], g.spearman[1][0]);
      assert.ok(g.spearman.flat().every((x) => x >= -1 && x <= 1) && g.overlap.flat().every((x) => x >= 0 && x <= 1));
    }
    // L1 and L2 norms of the same filters rank them nearly alike; a gradient criterion much less so
    assert.ok(cmp.mean.spearman[0][1] > 0.8, `l1~l2 ${cmp.mean.spearman[0][1]}`);
    assert.ok(cmp.mean.spearman[0][2] < cmp.mean.spearman[0][1]);
    assert.ok(engine.progress.some((p) => p.token === 'cmp'));
    const bad = await failure(engine.request('compareCriteria', { modelId, criteria: ['l1'] }));
    assert.equal(bad.code, -32602);
    const out = path.join(dir, 'obs.onnx');
    const sp = await engine.request('sparsify', { modelId, path: out, sparsity: { kind: 'nm', n: 2, m: 4 }, method: 'obs', ...IDX });
    assert.equal(sp.method, 'obs');
    assert.ok(fs.existsSync(out) && sp.quality!.sparse.accuracy! > 0.5);
  });

  it('loses nothing on disk when killed mid-scan', async () => {
    const victim = startEngine();
    const cacheDir = path.join(dir, 'cache-killed');
    const before = fs.readFileSync(EXAMPLE);
    const { modelId } = await victim.request('open', { path: EXAMPLE });
    const pending = victim.request('scan', { modelId, ...IDX, samples: 500, cacheDir, workDoneToken: 't' });
    pending.catch(() => undefined);
    while (!victim.progress.some((p) => p.value.kind === 'report' && p.value.phase === 'scan' && p.value.done > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    victim.dispose();
    assert.deepEqual(listAll(cacheDir), [], 'no partial cache entry or temp file');
    assert.deepEqual(fs.readFileSync(EXAMPLE), before);
    assert.deepEqual(listAll(path.dirname(EXAMPLE)).filter((f) => f.endsWith('.tmp')), []);
  });
});
