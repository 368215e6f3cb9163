/**
 * Writing the user's files (issue 10, "the user's files"): batches published whole or not at all, exclusive creation,
 * the model and its data replaced as a pair, one-line errors for a full disk or a read-only file system (faked here,
 * so they run everywhere; test/hostile.test.ts does them for real on a tmpfs when it can), temporary files cleaned,
 * the scan cache bounded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fsCjs from 'node:fs';
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openModel, PruneLensError } from '../src/core/api.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { saveOnnx } from '../src/core/formats/onnx/save.js';
import { trimCache } from '../src/core/sensitivity/cache-trim.js';
import { OutputBatch, writeTextAtomic } from '../src/core/util/atomic.js';
import { readRegular } from '../src/core/util/files.js';
import { checkOutputs } from '../src/core/util/outputs.js';
import { EXAMPLE, ROOT, runOnce, tmpdir } from './helpers/env.js';
import { snapshot } from './helpers/probe.js';
import { ort } from '../src/core/runtime/ort.js';

const dir = tmpdir('prunelens-outputs-');

/** Runs `fn` with writes to files whose temporary name matches `victim` failing with `code` (as a full disk would). */
async function failingWrites<T>(victim: (tmpName: string) => boolean, code: string, fn: () => Promise<T> | T): Promise<T> {
  const { openSync, writeSync } = fsCjs;
  const names = new Map<number, string>();
  fsCjs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(p, ...rest);
    names.set(fd, path.basename(String(p)));
    return fd;
  }) as typeof fsCjs.openSync;
  fsCjs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (victim(names.get(fd) ?? '')) throw Object.assign(new Error(`${code}: faked, write`), { code });
    return (writeSync as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fsCjs.writeSync;
  syncBuiltinESMExports();
  try {
    return await fn();
  } finally {
    fsCjs.openSync = openSync;
    fsCjs.writeSync = writeSync;
    syncBuiltinESMExports();
  }
}

const tmpFiles = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.tmp'));

describe('a prune is saved whole or not at all', () => {
  it('a full disk while writing the report: nothing is published, one line names the report, exit-worthy as 2 (write-failed)', async () => {
    const session = await openModel(EXAMPLE);
    const r = await session.prune({ ratio: 0.5, latencyRuns: 0 });
    const out = path.join(dir, 'nospace.onnx');
    let caught: unknown;
    await failingWrites((n) => n.startsWith('.nospace.report.json'), 'ENOSPC', () => {
      try {
        session.save(r.variantId, out);
      } catch (x) {
        caught = x;
      }
    });
    assert.ok(caught instanceof PruneLensError);
    assert.equal(caught.code, 'write-failed');
    assert.equal(caught.message, `cannot write ${path.join(dir, 'nospace.report.json')}: no space left on the device`);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('nospace') || f.startsWith('.nospace')), [], 'no model, no report, no temporary file');
    // and the same save with room succeeds
    session.save(r.variantId, out);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('nospace')).sort(), ['nospace.onnx', 'nospace.recipe.json', 'nospace.report.json', 'nospace.report.md']);
  });

  it('read-only and permission errors name the user’s path in one line', async () => {
    for (const [code, why] of [['EROFS', 'the file system is read-only'], ['EACCES', 'permission denied'], ['EDQUOT', 'disk quota exceeded']]) {
      const target = path.join(dir, `${code}.json`);
      let caught: unknown;
      await failingWrites((n) => n.startsWith(`.${code}.json`), code, () => {
        try {
          writeTextAtomic(target, '{}');
        } catch (x) {
          caught = x;
        }
      });
      assert.ok(caught instanceof PruneLensError);
      assert.equal(caught.message, `cannot write ${target}: ${why}`);
      assert.deepEqual(tmpFiles(dir), []);
    }
  });

  it('exclusive creation: of two writers to one new name without overwrite, exactly one wins', () => {
    const target = path.join(dir, 'race.txt');
    const a = new OutputBatch();
    const b = new OutputBatch();
    a.stage(target, (fd) => fs.writeSync(fd, 'a'));
    b.stage(target, (fd) => fs.writeSync(fd, 'b'));
    a.commit();
    assert.throws(() => b.commit(), /race\.txt already exists/);
    assert.equal(fs.readFileSync(target, 'utf8'), 'a');
    assert.deepEqual(tmpFiles(dir), []);
  });
});

describe('the model and its external data are replaced as a pair', () => {
  const sub = path.join(dir, 'pair');
  fs.mkdirSync(sub);
  const out = path.join(sub, 'm.onnx');
  const load = () => decodeOnnx(fs.readFileSync(EXAMPLE), out);

  it('a failure writing the model leaves the old pair byte-identical and no new data file', async () => {
    saveOnnx(load(), out, { externalData: 'always' });
    const before = snapshot(sub);
    assert.deepEqual([...before.keys()].map((f) => path.basename(f)).sort(), ['m.onnx', 'm.onnx.data']);
    await assert.rejects(
      failingWrites((n) => n.startsWith('.m.onnx.prunelens-'), 'ENOSPC', () => saveOnnx(load(), out, { externalData: 'always', overwrite: true })),
      /cannot write .*m\.onnx: no space left/,
    );
    assert.deepEqual(snapshot(sub), before);
  });

  it('a replaced pair: the new model points at a new data file, the old one is removed, and it runs', async () => {
    const r = saveOnnx(load(), out, { externalData: 'always', overwrite: true });
    assert.notEqual(path.basename(r.dataFile!), 'm.onnx.data', 'a fresh name, published before the model');
    assert.deepEqual(fs.readdirSync(sub).sort(), ['m.onnx', path.basename(r.dataFile!)].sort(), 'the old data file is gone, no temporary file');
    const x = new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]);
    assert.deepEqual((await runOnce(out, { input: x }, sub)).logits.dims, [1, 10]);
    // a data file of our naming that the model does not use is never touched, nor one it does not name
    fs.writeFileSync(path.join(sub, 'notes.data'), 'mine');
    saveOnnx(load(), out, { externalData: 'always', overwrite: true });
    assert.ok(fs.existsSync(path.join(sub, 'notes.data')));
  });
});

describe('temporary files', () => {
  it('are removed when the process exits in the middle of a write', () => {
    const sub = path.join(dir, 'exit');
    fs.mkdirSync(sub);
    const atomic = path.join(ROOT, 'out/src/core/util/atomic.js');
    const script = `import { OutputBatch } from ${JSON.stringify(atomic)}; import * as fs from 'node:fs';
      new OutputBatch().stage(${JSON.stringify(path.join(sub, 'big.onnx'))}, (fd) => { fs.writeSync(fd, Buffer.alloc(1 << 20)); process.exit(3); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(r.status, 3, String(r.stderr));
    assert.deepEqual(fs.readdirSync(sub), []);
  });

  it('a check of outputs leaves nothing behind', () => {
    checkOutputs([path.join(dir, 'checked.onnx')]);
    assert.deepEqual(tmpFiles(dir), []);
  });
});

describe('files read are regular files', () => {
  it('a FIFO is refused at once instead of blocking, a folder with one line', () => {
    const fifo = path.join(dir, 'pipe.npy');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    const t0 = performance.now();
    assert.throws(() => readRegular(fifo, { what: 'data file' }), /pipe\.npy: not a regular file \(a FIFO, socket or device\)/);
    assert.ok(performance.now() - t0 < 1000);
    assert.throws(() => readRegular(dir, { what: 'data file' }), /is a folder, not a data file/);
  });
});

describe('the scan cache', () => {
  it('is trimmed to its size, least recently used entries first; other files are left alone', () => {
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    const names = [0, 1, 2, 3, 4].map((i) => `scan-${'0123456789abcdef'.slice(i, i + 8)}.json`);
    names.forEach((n, i) => {
      fs.writeFileSync(path.join(cache, n), Buffer.alloc(100));
      const t = new Date(Date.now() - (10 - i) * 60e3);
      fs.utimesSync(path.join(cache, n), t, t);
    });
    // a hit on the oldest makes it the most recent
    fs.utimesSync(path.join(cache, names[0]), new Date(), new Date());
    fs.writeFileSync(path.join(cache, 'README'), Buffer.alloc(1000));
    const removed = trimCache(cache, 250).map((f) => path.basename(f));
    assert.deepEqual(removed, [names[1], names[2], names[3]]);
    assert.deepEqual(fs.readdirSync(cache).sort(), ['README', names[0], names[4]].sort());
  });
});
