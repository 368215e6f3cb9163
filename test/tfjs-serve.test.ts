/** The engine process on a TF.js model: the extension's way in is the same as for ONNX. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import rpc from 'vscode-jsonrpc/node.js';
import type { EngineMethod, EngineMethods } from '../src/shared/protocol.js';
import { CLI, tmpdir } from './helpers/env.js';
import { buildFixture, saveFixture } from './helpers/tfjs-fixtures.js';

describe('prunelens serve on a TF.js layers model', () => {
  it('open, groups, estimate, scan, prune and save (model.json + shards) over JSON-RPC; TF.js prints nothing into the protocol', async () => {
    const dir = tmpdir('prunelens-tfjs-serve-');
    const file = await saveFixture(await buildFixture('functional'), path.join(dir, 'm'));
    const child = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
    connection.listen();
    const request = <M extends EngineMethod>(method: M, params: EngineMethods[M]['params']) => connection.sendRequest(method, params) as Promise<EngineMethods[M]['result']>;
    try {
      const opened = await request('open', { path: file });
      assert.equal(opened.groupCount, 4);
      assert.equal(opened.prunableGroups, 3);
      const groups = await request('groups', { modelId: opened.modelId });
      const id = groups.find((g) => g.prunable)!.id;
      const est = await request('estimate', { modelId: opened.modelId, keep: { [id]: 2 } });
      assert.ok(est.params < est.before.params);
      const scan = await request('scan', { modelId: opened.modelId, ratios: [0.5], samples: 4 });
      assert.equal(scan.targets.length, 3);
      const pruned = await request('prune', { modelId: opened.modelId, ratio: 0.5, latencyRuns: 0 });
      assert.ok(pruned.report.native?.passed);
      const out = path.join(dir, 'out', 'model.json');
      fs.mkdirSync(path.dirname(out));
      const saved = await request('save', { modelId: opened.modelId, variantId: pruned.variantId, path: out });
      assert.deepEqual(saved.files!.map((f) => path.basename(f)), ['group1-shard1of1.bin', 'model.json']);
      assert.equal(saved.bytes, fs.statSync(out).size + fs.statSync(path.join(dir, 'out', 'group1-shard1of1.bin')).size);
    } finally {
      connection.dispose();
      child.kill();
    }
  });
});
