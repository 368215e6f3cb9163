import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { inspect } from '../src/core/api.js';
import { PruneLensError } from '../src/core/errors.js';
import { TESTDATA } from './helpers/env.js';

/** Every model of Debian's libonnx-testdata loads and inspects; a clean PruneLensError is allowed, a crash is not. */
it('loads and inspects every libonnx-testdata model without crashing', async (t) => {
  if (!fs.existsSync(TESTDATA)) {
    // .ci/run installs it: on CI a missing corpus is a failure, not a skip.
    assert.ok(!process.env.CI, 'libonnx-testdata is missing on CI');
    return t.skip('libonnx-testdata not installed (apt-get install libonnx-testdata)');
  }
  const files: string[] = [];
  for (const sub of ['node', 'pytorch-converted', 'pytorch-operator', 'simple']) {
    const dir = path.join(TESTDATA, sub);
    if (!fs.existsSync(dir)) continue;
    for (const d of fs.readdirSync(dir)) {
      const f = path.join(dir, d, 'model.onnx');
      if (fs.existsSync(f)) files.push(f);
    }
  }
  assert.ok(files.length > 1000, `expected the full corpus, found ${files.length}`);
  let ok = 0;
  const clean: string[] = [];
  const crashes: string[] = [];
  for (const f of files) {
    try {
      const r = await inspect(f);
      assert.ok(r.nodeCount >= 0 && Number.isFinite(r.macs) && Number.isFinite(r.params));
      ok++;
    } catch (e) {
      if (e instanceof PruneLensError) clean.push(e.message);
      else crashes.push(`${f}: ${(e as Error).stack}`);
    }
  }
  t.diagnostic(`${ok} inspected, ${clean.length} refused cleanly, ${crashes.length} crashed`);
  assert.deepEqual(crashes, []);
  assert.ok(ok > 0.95 * files.length);
});
