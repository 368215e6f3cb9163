/**
 * The CLI's supervisor (src/cli/supervise.ts), with stand-in engines that do what a stuck ONNX Runtime run does:
 * block the JavaScript thread, or take memory without end. The real engine is probed in test/hostile.test.ts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { supervise } from '../src/cli/supervise.js';
import { tmpdir } from './helpers/env.js';

const dir = tmpdir('prunelens-supervise-');

/** A stand-in engine: says it opened a temporary file, writes it, then runs `then` (which never yields). */
function engine(name: string, then: string): { script: string; tmp: string } {
  const tmp = path.join(dir, `.${name}.onnx.prunelens-1-00000000.tmp`);
  const script = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(script, `import * as fs from 'node:fs';
process.send({ kind: 'activity', what: 'ONNX Runtime was running ${name}.onnx with inputs x=1x3x8x8' });
process.send({ kind: 'temp', file: ${JSON.stringify(tmp)} });
fs.writeFileSync(${JSON.stringify(tmp)}, 'half a model');
setTimeout(() => { ${then} }, 100);
`);
  return { script, tmp };
}

function captureStderr(): { text: () => string; restore: () => void } {
  const write = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((s: string | Uint8Array) => {
    text += String(s);
    return true;
  }) as typeof process.stderr.write;
  return { text: () => text, restore: () => (process.stderr.write = write) };
}

describe('the supervisor', () => {
  it('Ctrl-C on an engine stuck in native code: killed after the grace period, its temporary file removed, exit 130', async () => {
    const { script, tmp } = engine('stuck', 'for (;;) {}');
    const err = captureStderr();
    const t0 = performance.now();
    const done = supervise(['inspect', 'x.onnx'], script);
    setTimeout(() => process.emit('SIGINT', 'SIGINT'), 600);
    const code = await done;
    err.restore();
    assert.equal(code, 130);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(fs.existsSync(tmp), false, 'the half-written file is gone');
    assert.match(err.text(), /^prunelens: cancelled\n$/);
  });

  it('an engine that takes memory without end is stopped in one line naming what ONNX Runtime was running, exit 2', async (t) => {
    if (process.platform !== 'linux') return t.skip('the watchdog reads /proc');
    const { script, tmp } = engine('hungry', 'const keep = []; for (;;) keep.push(Buffer.alloc(16 << 20, 1));');
    const err = captureStderr();
    process.env.PRUNELENS_MAX_MEMORY_MB = '300';
    try {
      const code = await supervise(['inspect', 'x.onnx'], script);
      assert.equal(code, 2);
    } finally {
      delete process.env.PRUNELENS_MAX_MEMORY_MB;
      err.restore();
    }
    assert.equal(fs.existsSync(tmp), false);
    assert.match(err.text(), /^prunelens: error: stopped after using more than 0\.3 GB of memory \(PRUNELENS_MAX_MEMORY_MB\) while ONNX Runtime was running hungry\.onnx with inputs x=1x3x8x8: .*\n$/);
  });

  it('an engine that crashes natively is reported in one line; a normal exit code passes through', async () => {
    const crash = engine('crash', "process.kill(process.pid, 'SIGSEGV');");
    const err = captureStderr();
    const code = await supervise(['inspect', 'x.onnx'], crash.script);
    err.restore();
    assert.equal(code, 1);
    assert.match(err.text(), /^prunelens: internal error: the engine stopped on SIGSEGV while ONNX Runtime was running crash\.onnx/);
    const ok = engine('ok', 'process.exit(2);');
    assert.equal(await supervise(['inspect', 'x.onnx'], ok.script), 2);
  });
});
