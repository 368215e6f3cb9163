/**
 * Hostile and broken input (issue 10), and outputs that fail early (issue 11, item 4): a corpus the tests make
 * themselves, each probe run as the prunelens command in a child process with a time limit and a memory limit. Every
 * probe must end in time, below the memory limit, with exit 0 or 2 (130 when interrupted), without a stack trace,
 * an internal error or ONNX Runtime's own log, leave no process behind, read nothing outside the model's folder, and
 * leave the user's files byte-identical.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import sharp from 'sharp';
import { pruneModel } from '../src/core/api.js';
import type { Recipe } from '../src/shared/types.js';
import { EXAMPLE, ROOT, runOnce, tmpdir } from './helpers/env.js';
import {
  bytes, emptyConv, endlessLoop, expandBomb, externalModel, externalize, f32, firstWeight, gzipBomb, idx, idxHeader, lyingTensor,
  modelDir, npy, oneNode, runtimeBomb, smallNet, sparseWeight, zipOf,
} from './helpers/hostile-corpus.js';
import { HAVE_TIME, probe, snapshot, type ProbeOptions, type ProbeResult } from './helpers/probe.js';
import { ort } from '../src/core/runtime/ort.js';
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema } from 'onnx-buf';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { saveOnnx } from '../src/core/formats/onnx/save.js';
import { tensor, valueInfo } from './helpers/onnx-builder.js';

const f32Values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i));

const root = tmpdir('prunelens-hostile-');
const OUT = path.join(root, 'out');
fs.mkdirSync(OUT);
const ENV = { XDG_CACHE_HOME: path.join(root, 'cache') };
const IDX_LABELS = path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz');
const IDX_IMAGES = path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz');
/** Every probe's limits, unless it says otherwise. */
const LIMITS = { ms: 30_000, mb: 600 };
const CONCURRENCY = 3;

interface Expect {
  /** Exit code (default 2). */
  code?: number;
  /** What the one error line says. */
  message?: RegExp;
  /** Folders whose files must be byte-identical afterwards (the model's folder by default). */
  keep?: string[];
  mb?: number;
  ms?: number;
}

/** Runs one probe and checks everything the module comment promises; logs its numbers for the note. */
async function run(t: TestContext, args: string[], expect: Expect = {}, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const keep = expect.keep ?? [];
  const before = keep.map(snapshot);
  const r = await probe(args, { timeoutMs: expect.ms ?? LIMITS.ms, ...opts, env: { ...ENV, ...opts.env } });
  const line = (r.err.trim().split('\n').pop() ?? '').slice(0, 160);
  t.diagnostic(`${(r.ms / 1000).toFixed(2)} s, ${r.peakMB === undefined ? '?' : r.peakMB.toFixed(0)} MB, exit ${r.code}: ${line || '(ok)'}`);
  assert.equal(r.timedOut, false, `ended within ${expect.ms ?? LIMITS.ms} ms`);
  assert.equal(r.leftover, false, 'no process of the command outlived it');
  if (r.peakMB !== undefined) assert.ok(r.peakMB < (expect.mb ?? LIMITS.mb), `peak memory ${r.peakMB.toFixed(0)} MB, limit ${expect.mb ?? LIMITS.mb} MB`);
  assert.doesNotMatch(r.err, /\n\s+at |internal error/, 'no stack trace or internal error');
  assert.doesNotMatch(r.err + r.out, /\[[EWIV]:onnxruntime|onnxruntime::|\.cc:\d+/, "no ONNX Runtime log or C++ text");
  assert.equal(r.code, expect.code ?? 2, `exit code: ${r.err}`);
  if ((expect.code ?? 2) === 2) {
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.err}`);
    assert.match(lines[0], /^prunelens: error: /);
  }
  if (expect.message) assert.match(r.err, expect.message);
  keep.forEach((dir, i) => assert.deepEqual(snapshot(dir), before[i], `files in ${dir} unchanged`));
  return r;
}

const EX = (name: string) => {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'model.onnx');
  fs.copyFileSync(EXAMPLE, model);
  return { dir, model };
};

function mkfifo(file: string): boolean {
  return spawnSync('mkfifo', [file]).status === 0;
}

const secretDir = path.join(root, 'secret');
fs.mkdirSync(secretDir);
const SECRET = path.join(secretDir, 'secret.bin');
// as many bytes as the first weight (8x3x3x3 floats), so only the location can give it away
fs.writeFileSync(SECRET, Buffer.alloc(8 * 27 * 4, 'TOPSECRET-'));

/** No file under `dir` holds the secret's bytes. */
function noSecretIn(dir: string): void {
  for (const [file] of snapshot(dir)) {
    if (fs.statSync(file).isFile()) assert.ok(!fs.readFileSync(file).includes('TOPSECRET'), `${file} holds bytes read from outside the model's folder`);
  }
}

describe('hostile models', { concurrency: CONCURRENCY }, () => {
  it('external data through a symlink to a file outside the model folder is refused, and nothing of it is written', async (t) => {
    const m = smallNet();
    const { dir, model } = modelDir(root, 'symlink-out', m, () => undefined);
    externalize(firstWeight(m), { location: 'weights.bin' });
    fs.writeFileSync(model, bytes(m));
    fs.symlinkSync(SECRET, path.join(dir, 'weights.bin'));
    for (const args of [['inspect', model], ['prune', model, '--ratio', '0.5', '-o', path.join(OUT, 'leak.onnx')], ['scan', model, '--no-cache']]) {
      await run(t, args, { message: /points outside the model's folder/, keep: [dir, secretDir] });
    }
    assert.equal(fs.existsSync(path.join(OUT, 'leak.onnx')), false);
    noSecretIn(OUT);
  });

  it('a symlink to a FIFO outside the folder is never opened (an open would block the probe)', async (t) => {
    const elsewhere = path.join(root, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const fifo = path.join(elsewhere, 'pipe');
    if (!mkfifo(fifo)) return t.skip('mkfifo not available');
    const m = smallNet();
    externalize(firstWeight(m), { location: 'weights.bin' });
    const { dir, model } = modelDir(root, 'symlink-fifo', m, (d) => fs.symlinkSync(fifo, path.join(d, 'weights.bin')));
    await run(t, ['inspect', model], { message: /outside the model's folder/, keep: [dir], ms: 15_000 });
  });

  it('strace shows no file outside the model folder opened', async (t) => {
    if (spawnSync('strace', ['-V']).status !== 0) return t.skip('strace not installed');
    const m = smallNet();
    externalize(firstWeight(m), { location: 'weights.bin' });
    const { model } = modelDir(root, 'symlink-strace', m, (d) => fs.symlinkSync(SECRET, path.join(d, 'weights.bin')));
    const log = path.join(root, 'strace.log');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', log, process.execPath, path.join(ROOT, 'out/src/cli/index.js'), 'inspect', model], {
      encoding: 'utf8', env: { ...process.env, ...ENV },
    });
    assert.equal(r.status, 2, r.stderr);
    const opened = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('secret') || l.includes('weights.bin'));
    assert.deepEqual(opened, [], 'neither the symlink nor its target was opened');
  });

  it('a model handed straight to ONNX Runtime (eval --reference) is checked by the loader first', async (t) => {
    const m = smallNet({ input: ['N', 3, 8, 8] });
    externalize(firstWeight(m), { location: 'weights.bin' });
    const ref = modelDir(root, 'symlink-reference', m, (d) => fs.symlinkSync(SECRET, path.join(d, 'weights.bin')));
    const net = modelDir(root, 'reference-user', smallNet({ input: ['N', 3, 8, 8] }));
    const x = path.join(net.dir, 'x.npy');
    fs.writeFileSync(x, npy('<f4', [2, 3, 8, 8], f32(2 * 192)));
    await run(t, ['eval', net.model, '--data', x, '--reference', ref.model], { message: /points outside the model's folder/, keep: [ref.dir, secretDir] });
  });

  it('locations that climb out of the folder or are absolute are refused', async (t) => {
    for (const [name, location] of [['dotdot', '../secret/secret.bin'], ['absolute', SECRET]]) {
      const m = smallNet();
      externalize(firstWeight(m), { location });
      const { dir, model } = modelDir(root, `loc-${name}`, m);
      await run(t, ['prune', model, '--ratio', '0.5', '-o', path.join(OUT, `loc-${name}.onnx`)], { message: /outside the model's folder/, keep: [dir, secretDir] });
    }
    noSecretIn(OUT);
  });

  it('a sparse initializer with external data through a symlink is refused; a relative one is copied beside the output', async (t) => {
    const m = smallNet();
    sparseWeight(m, 'sparse.bin');
    const bad = modelDir(root, 'sparse-symlink', m, (d) => fs.symlinkSync(SECRET, path.join(d, 'sparse.bin')));
    await run(t, ['inspect', bad.model], { message: /outside the model's folder/, keep: [bad.dir] });

    const good = smallNet();
    const data = sparseWeight(good, 'sparse.bin');
    const ok = modelDir(root, 'sparse-relative', good, (d) => fs.writeFileSync(path.join(d, 'sparse.bin'), data));
    const out = path.join(OUT, 'sparse-copy', 'p.onnx');
    fs.mkdirSync(path.dirname(out));
    await run(t, ['prune', ok.model, '--sparsity', '0.2', '-o', out], { code: 0, keep: [ok.dir] });
    // the output, in another folder, loads and runs with its own data file
    const x = new ort.Tensor('float32', new Float32Array(3 * 64).fill(1), [1, 3, 8, 8]);
    const [a, b] = [await runOnce(ok.model, { x }, ok.dir), await runOnce(out, { x }, path.dirname(out))];
    assert.deepEqual(Object.keys(b), Object.keys(a));
  });

  it('bad external-data references are one line each: offsets, lengths, a folder, a missing file', async (t) => {
    const cases: [string, Record<string, string>, RegExp, boolean?][] = [
      ['neg-offset', { offset: '-5' }, /bad external-data offset '-5'/],
      ['text-offset', { offset: 'abc' }, /bad external-data offset 'abc'/],
      ['past-end', { offset: '100000' }, /reads bytes 100000\.\./],
      ['huge-length', { length: '99999999999' }, /reads bytes 0\.\.99999999999/],
      ['wrong-length', { length: '100' }, /stores 100 bytes of external data, but its shape 8x3x3x3 \(float32\) needs 864/],
      ['missing', {}, /external data file 'w\.bin', which is missing/, false],
    ];
    for (const [name, fields, message, write] of cases) {
      const { dir, model } = externalModel(root, `ext-${name}`, fields, write ?? true);
      await run(t, ['inspect', model], { message, keep: [dir] });
    }
    const folder = smallNet();
    externalize(firstWeight(folder), { location: 'sub' });
    const f = modelDir(root, 'ext-folder', folder, (d) => fs.mkdirSync(path.join(d, 'sub')));
    await run(t, ['inspect', f.model], { message: /names a folder as its external data file/, keep: [f.dir] });
  });

  it('tensors whose declared size lies are refused at once, without allocating what they declare', async (t) => {
    const cases: [Parameters<typeof lyingTensor>[0], RegExp][] = [
      ['huge-dims', /declares 1000000000x1000000000x3x3/],
      ['negative-dim', /negative or impossible dimension \(8x-3x3x3\)/],
      ['no-data', /has no data \(its shape 8x3x3x3 needs 216 values\)/],
      ['short-raw', /stores 100 bytes, but its shape 8x3x3x3 \(float32\) needs 864/],
    ];
    for (const [kind, message] of cases) {
      const { dir, model } = modelDir(root, `lying-${kind}`, lyingTensor(kind));
      assert.ok(fs.statSync(model).size < 4096, 'a small file');
      await run(t, ['inspect', model], { message, keep: [dir], mb: 300 });
    }
  });

  it("ONNX Runtime's refusals are one short line: an unknown op domain, a type mismatch, opset 99", async (t) => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['domain', oneNode('Frob', { domain: 'com.evil' }), /com\.evil:Frob.*is not a registered function\/op/],
      ['types', oneNode('Conv', { weightType: 'float64' }), /bound to different types/],
      ['opset99', oneNode('Relu', { opset: 99 }), /Opset 99/],
    ];
    for (const [name, model, message] of cases) {
      const { dir, model: file } = modelDir(root, `ort-${name}`, model);
      const r = await run(t, ['bench', file, '--runs', '1', '--warmup', '0'], { message, keep: [dir] });
      assert.ok(r.err.length < 400, `short: ${r.err}`);
    }
  });

  it('a layer with an empty dimension (Conv weight [0,3,3,3]) is refused before ONNX Runtime, which loops on it', async (t) => {
    const { dir, model } = modelDir(root, 'empty-conv', emptyConv());
    for (const args of [['inspect', '--probe', model], ['inspect', model], ['prune', model, '--ratio', '0.5', '-o', path.join(OUT, 'empty.onnx')], ['bench', model]]) {
      await run(t, args, { message: /Conv 'Conv_0' has an empty weight 'w1' \(0x3x3x3\)/, keep: [dir], ms: 15_000 });
    }
  });

  it('an Expand to 1x3x40000x40000 is refused before the ONNX Runtime probe, naming the shape and --input-shape', async (t) => {
    const { dir, model } = modelDir(root, 'expand', expandBomb());
    await run(t, ['inspect', '--probe', model], { message: /needs about .* \(.*1x3x40000x40000.*\).*\(see --input-shape\)/, keep: [dir], mb: 400 });
    // without --probe, static inference describes what it can and says why the probe was skipped
    const r = await run(t, ['inspect', model], { code: 0, keep: [dir], mb: 400 });
    assert.match(r.out, /1x3x40000x40000/);
  });

  it('a declared input of 1x3x12000x12000 is refused by bench, prune and scan, naming the shape and --input-shape', async (t) => {
    const { dir, model } = modelDir(root, 'big-input', smallNet({ input: [1, 3, 12000, 12000] }));
    for (const args of [['bench', model], ['prune', model, '--ratio', '0.5', '-o', path.join(OUT, 'big.onnx')], ['scan', model, '--no-cache']]) {
      await run(t, args, { message: /at x=1x3x12000x12000 needs about .* GB.*\(see --input-shape\)/, keep: [dir], mb: 400 });
    }
  });

  it('a FIFO named like a model is refused at once', async (t) => {
    const dir = path.join(root, 'fifo-model');
    fs.mkdirSync(dir);
    if (!mkfifo(path.join(dir, 'm.onnx'))) return t.skip('mkfifo not available');
    await run(t, ['inspect', path.join(dir, 'm.onnx')], { message: /not a regular file/, ms: 15_000 });
  });

  it('Ctrl-C ends an ONNX Runtime run that never returns: exit 130, nothing left running', async (t) => {
    const { dir, model } = modelDir(root, 'endless', endlessLoop());
    let sentAt = 0;
    const r = await run(t, ['inspect', '--probe', model], { code: 130, keep: [dir], ms: 20_000 }, {
      started: (signal) => setTimeout(() => { sentAt = performance.now(); signal('SIGINT'); }, 2500),
    });
    assert.ok(sentAt > 0);
    assert.match(r.err, /cancelled/);
  });

  it('a tensor whose size only ONNX Runtime knows (NonZero → ConstantOfShape 1x3x40000x40000) is stopped by the memory watchdog', async (t) => {
    if (process.platform !== 'linux') return t.skip('the memory watchdog reads /proc');
    const { dir, model } = modelDir(root, 'runtime-bomb', runtimeBomb());
    await run(t, ['inspect', '--probe', model], {
      message: /stopped after using more than 0\.6 GB of memory .* while ONNX Runtime was running m\.onnx/, keep: [dir], mb: 2200,
    }, { env: { PRUNELENS_MAX_MEMORY_MB: '600' } });
  });
});

describe('hostile data', { concurrency: CONCURRENCY }, () => {
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  /** Each test writes its files into a folder of its own (they run concurrently, and each checks its folder unchanged). */
  const folder = (t: TestContext) => {
    const dir = path.join(dataDir, t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60));
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const writer = (dir: string) => (name: string, content: Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const labels10 = writer(dataDir)('labels-500.idx', idx([500], (i) => i % 10));

  it('a gzip IDX bomb (2 MB inflating to 2 GB) stops at the size its header declares, in eval, scan and prune', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    const bomb = file('bomb.idx.gz', gzipBomb([500, 28, 28], 2048));
    assert.ok(fs.statSync(bomb).size < 3e6);
    for (const args of [['eval', EXAMPLE, '--data', bomb, '--labels', labels10], ['scan', EXAMPLE, '--data', bomb, '--labels', labels10, '--no-cache'],
      ['prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(OUT, 'bomb.onnx'), '--data', bomb, '--labels', labels10]]) {
      await run(t, args, { message: /inflates past the .* its IDX header declares/, keep: [dir], mb: 400 });
    }
    const huge = file('huge.idx.gz', gzipBomb([100000, 1000, 1000], 1));
    await run(t, ['eval', EXAMPLE, '--data', huge, '--labels', labels10], { message: /declares 100000x1000x1000 values .* more than the 2\.0 GB/, mb: 400 });
  });

  it('an .npz whose entry inflates past its declared size, or declares gigabytes, is refused before it takes the memory', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    const bomb = file('bomb.npz', zipOf('x.npy', Buffer.alloc(64 * 2 ** 20), 1024));
    await run(t, ['eval', EXAMPLE, '--data', bomb], { message: /inflates past the 1\.0 kB the archive declares/, mb: 400 });
    const declared = file('declared.npz', zipOf('x.npy', npy('<f4', [1, 1, 28, 28], f32(784)), 0xfffffff0));
    await run(t, ['eval', EXAMPLE, '--data', declared], { message: /its arrays declare 4\.0 GB, more than the 2\.0 GB/, mb: 400 });
  });

  it('.npy files that lie are refused in one line: truncated, header only, a count the data does not hold, complex, big-endian, no samples', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated', npy('<f4', [10, 1, 28, 28], f32(784 * 10)).subarray(0, 2000), /is truncated/],
      ['header-only', npy('<f4', [10, 1, 28, 28], new Uint8Array()), /is truncated: its header declares shape \(10, 1, 28, 28\)/],
      ['lying-count', npy('<f4', [100, 1, 28, 28], f32(784 * 50)), /is truncated/],
      ['complex', npy('<c8', [4, 1, 28, 28], f32(784 * 8)), /complex numbers \(<c8\)/],
      ['big-endian', npy('>f4', [4, 1, 28, 28], f32(784 * 4)), /holds >f4 values/],
      ['empty', npy('<f4', [0, 1, 28, 28], new Uint8Array()), /has no samples/],
    ];
    for (const [name, content, message] of cases) {
      const x = file(`${name}.npy`, content);
      await run(t, ['scan', EXAMPLE, '--data', x, '--no-cache'], { message, keep: [dir], mb: 400 });
    }
  });

  it('IDX with 0 samples, labels out of range, and [N,3,H,W] images: refused clearly, or used', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    const none = file('none.idx', idxHeader([0, 28, 28]));
    await run(t, ['eval', EXAMPLE, '--data', none, '--labels', file('none-labels.idx', idxHeader([0]))], { message: /has no samples/ });
    await run(t, ['eval', EXAMPLE, '--data', IDX_IMAGES, '--labels', file('labels-200.idx', idx([500], () => 200))], {
      message: /label 200 of sample 0 is not one of the model's 10 classes/,
    });
    const rgb = file('rgb.idx', idx([6, 3, 28, 28]));
    const rgbLabels = file('rgb-labels.idx', idx([6], (i) => i % 3));
    await run(t, ['eval', EXAMPLE, '--data', rgb, '--labels', rgbLabels], { message: /samples are 3x28x28, but input 'input' takes 1x28x28/ });
    const net = modelDir(root, 'rgb-net', smallNet({ input: ['N', 3, 8, 8] }));
    const rgb8 = file('rgb8.idx', idx([6, 3, 8, 8]));
    const r = await run(t, ['eval', net.model, '--data', rgb8, '--labels', rgbLabels, '--json'], { code: 0 });
    assert.equal(JSON.parse(r.out).samples, 6);
  });

  it('a FIFO in an image folder, or given as data, labels or plan, never blocks', async (t) => {
    const dir = folder(t);
    const images = path.join(root, 'images');
    fs.mkdirSync(path.join(images, 'a'), { recursive: true });
    fs.mkdirSync(path.join(images, 'b'), { recursive: true });
    for (const c of ['a', 'b']) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: c === 'a' ? '#204080' : '#c08020' } }).png().toFile(path.join(images, c, 'img.png'));
    }
    if (!mkfifo(path.join(images, 'a', 'fifo.png'))) return t.skip('mkfifo not available');
    const net = modelDir(root, 'fifo-net', smallNet({ input: ['N', 3, 8, 8] }));
    await run(t, ['scan', net.model, '--data', images, '--samples', '2', '--ratios', '0.5', '--no-cache'], { code: 0, ms: 20_000 });
    const only = path.join(root, 'only-fifo');
    fs.mkdirSync(only);
    mkfifo(path.join(only, 'x.png'));
    await run(t, ['scan', net.model, '--data', only, '--no-cache'], { message: /no images/, ms: 15_000 });
    const fifo = path.join(dir, 'fifo.npy');
    mkfifo(fifo);
    await run(t, ['scan', EXAMPLE, '--data', fifo, '--no-cache'], { message: /fifo\.npy: not a regular file/, ms: 15_000 });
    await run(t, ['eval', EXAMPLE, '--data', IDX_IMAGES, '--labels', fifo], { message: /not a regular file/, ms: 15_000 });
    await run(t, ['prune', EXAMPLE, '--plan', fifo, '-o', path.join(OUT, 'fifo-plan.onnx')], { message: /not a regular file/, ms: 15_000 });
  });

  it('3,000,000 synthetic samples, or a recipe with a batch of 3,000,000, are refused before the memory is taken', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    await run(t, ['scan', EXAMPLE, '--samples', '3000000', '--no-cache'], { message: /3000000 synthetic samples of 1x28x28 floats need 8\.9 GB|3000000 synthetic samples/, mb: 400 });
    const made = path.join(OUT, 'for-recipe.onnx');
    await run(t, ['prune', EXAMPLE, '--ratio', '0.5', '-o', made, '--latency-runs', '0'], { code: 0 });
    const recipe = JSON.parse(fs.readFileSync(path.join(OUT, 'for-recipe.recipe.json'), 'utf8')) as Recipe;
    recipe.settings.inputShapes = { input: [3_000_000, 1, 28, 28] };
    const bad = file('batch.recipe.json', Buffer.from(JSON.stringify(recipe)));
    await run(t, ['prune', EXAMPLE, '--plan', bad, '-o', path.join(OUT, 'batch.onnx')], { message: /3000000x1x28x28 needs about .*\(see --plan\)/, mb: 400 });
  });

  it('malformed recipes are one line naming what is wrong', async (t) => {
    const dir = folder(t);
    const file = writer(dir);
    const made = path.join(OUT, 'for-malformed.onnx');
    await run(t, ['prune', EXAMPLE, '--ratio', '0.3', '-o', made, '--latency-runs', '0'], { code: 0 });
    const good = JSON.parse(fs.readFileSync(path.join(OUT, 'for-malformed.recipe.json'), 'utf8')) as Recipe;
    const edits: [string, (r: Record<string, any>) => void, RegExp][] = [
      ['no-settings', (r) => delete r.settings, /damaged recipe|settings are missing/],
      ['no-sources', (r) => delete r.groups[0].sources, /damaged recipe|groups\[0\]\.sources/],
      ['remove-string', (r) => (r.groups[0].remove = 'all'), /damaged recipe|groups\[0\]\.remove/],
      ['shape-text', (r) => (r.settings.inputShapes = { input: ['a', 1, 28, 28] }), /settings\.inputShapes\.input must be a list of whole numbers/],
      ['criterion', (r) => (r.settings.criterion = 42), /settings\.criterion must be one of/],
      ['channel-out-of-range', (r) => (r.groups[0].remove = [0, 999]), /groups\[0\]\.remove must list channel indices below/],
    ];
    for (const [name, edit, message] of edits) {
      const r = JSON.parse(JSON.stringify(good));
      edit(r);
      const f = file(`${name}.recipe.json`, Buffer.from(JSON.stringify(r)));
      await run(t, ['prune', EXAMPLE, '--plan', f, '-o', path.join(OUT, `${name}.onnx`)], { message, keep: [dir] });
    }
  });
});

describe("the user's files", { concurrency: CONCURRENCY }, () => {
  it('-o through a symlinked folder that is the model folder is refused, with --force too', async (t) => {
    const { dir, model } = EX('alias-m');
    const alias = path.join(root, 'alias-link');
    fs.symlinkSync(dir, alias);
    await run(t, ['prune', model, '--ratio', '0.5', '-o', path.join(alias, 'model.onnx'), '--force'], { message: /is .*model\.onnx, one of this command's inputs/, keep: [dir] });
  });

  it('scan and plan -o MODEL --force do not overwrite the model (nor its external data)', async (t) => {
    const { dir, model } = EX('json-over-model');
    await run(t, ['scan', model, '-o', model, '--force', '--no-cache'], { message: /one of this command's inputs/, keep: [dir], ms: 15_000 });
    await run(t, ['plan', model, '--target', 'macs=0.5', '-o', model, '--force', '--no-cache'], { message: /one of this command's inputs/, keep: [dir], ms: 15_000 });
    const m = smallNet();
    const data = externalize(firstWeight(m), { location: 'm.onnx.data' });
    const ext = modelDir(root, 'json-over-data', m, (d) => fs.writeFileSync(path.join(d, 'm.onnx.data'), data));
    await run(t, ['scan', ext.model, '-o', path.join(ext.dir, 'm.onnx.data'), '--force', '--no-cache'], { message: /one of this command's inputs/, keep: [ext.dir] });
  });

  it('a cache folder that cannot be made (under /proc, through a dangling symlink, a file) does not hang or fail the scan', async (t) => {
    // Node's mkdirSync(…, { recursive: true }) spins for ever under /proc, with SIGTERM unable to stop it.
    const dangling = path.join(root, 'dangling-cache');
    fs.symlinkSync(path.join(root, 'no-such-folder', 'deeper'), dangling);
    const file = path.join(root, 'cache-is-a-file');
    fs.writeFileSync(file, 'x');
    const dirs = [...(fs.existsSync('/proc/self') ? ['/proc/prunelens-nonexistent/scans'] : []), path.join(dangling, 'scans'), path.join(file, 'scans')];
    for (const [i, cacheDir] of dirs.entries()) {
      const out = path.join(OUT, `cache-${i}.json`);
      await run(t, ['scan', EXAMPLE, '--samples', '8', '--ratios', '0.5', '--cache-dir', cacheDir, '-o', out], { code: 0, ms: 20_000 });
      assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).targets.length > 0, true);
    }
  });

  it('existing report files are not replaced without --force, and that is known before any work', async (t) => {
    const { dir } = EX('reports-exist');
    const out = path.join(dir, 'pruned.onnx');
    fs.writeFileSync(path.join(dir, 'pruned.report.md'), 'my notes\n');
    const r = await run(t, ['prune', path.join(dir, 'model.onnx'), '--ratio', '0.5', '-o', out], { message: /pruned\.report\.md already exists \(pass --force/, keep: [dir] });
    assert.equal(fs.existsSync(out), false);
    assert.ok(r.ms < 5000);
  });

  it('two prunes to the same OUT without --force: exactly one succeeds', async (t) => {
    const out = path.join(OUT, 'race.onnx');
    const [a, b] = await Promise.all([1, 2].map(() => probe(['prune', EXAMPLE, '--ratio', '0.5', '-o', out, '--latency-runs', '0'], { env: ENV })));
    t.diagnostic(`exits ${a.code} and ${b.code}; ${[a, b].map((x) => x.err.trim()).filter(Boolean).join(' | ')}`);
    assert.deepEqual([a.code, b.code].sort(), [0, 2]);
    assert.match((a.code === 2 ? a : b).err, /already exists/);
    const x = new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]);
    assert.ok((await runOnce(out, { input: x })).logits, 'the winner is a whole model');
    assert.deepEqual(fs.readdirSync(OUT).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  });

  it('prune --force over OUT and its data file replaces them as a pair: the old pair until the new one is whole', async (t) => {
    // a big constant of its own branch stays external in the output, so OUT has a data file
    const m = smallNet();
    const g = m.graph!;
    g.initializer.push(tensor('table', [64, 64], f32Values(64 * 64)));
    g.node.push(create(NodeProtoSchema, { name: 'side', opType: 'Relu', input: ['table'], output: ['side_out'] }));
    g.output.push(valueInfo('side_out', 'float32', [64, 64]));
    const ext = path.join(root, 'pair-src');
    fs.mkdirSync(ext);
    saveOnnx(decodeOnnx(bytes(m), path.join(ext, 'm.onnx')), path.join(ext, 'm.onnx'), { externalData: 'always' });
    const dir = path.join(root, 'pair-out');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'p.onnx');
    await run(t, ['prune', path.join(ext, 'm.onnx'), '--ratio', '0.5', '-o', out, '--latency-runs', '0'], { code: 0, keep: [ext] });
    assert.ok(fs.existsSync(`${out}.data`));
    await run(t, ['prune', path.join(ext, 'm.onnx'), '--ratio', '0.25', '-o', out, '--latency-runs', '0', '--force'], { code: 0, keep: [ext] });
    const data = fs.readdirSync(dir).filter((f) => f.endsWith('.data'));
    assert.equal(data.length, 1, `one data file, the new one: ${data}`);
    assert.match(data[0], /^p\.onnx\.[0-9a-f]{8}\.data$/, 'a fresh name; the old p.onnx.data is gone');
    const x = new ort.Tensor('float32', new Float32Array(3 * 64), [1, 3, 8, 8]);
    assert.deepEqual((await runOnce(out, { x }, dir)).side_out.dims, [64, 64]);
  });

  it('stale temporary files of our naming are swept when a folder is written again; others are kept', async (t) => {
    const dir = path.join(root, 'stale');
    fs.mkdirSync(dir);
    const dead = path.join(dir, '.x.onnx.prunelens-999999999-0badf00d.tmp');
    const live = path.join(dir, `.x.onnx.prunelens-${process.pid}-0badf00d.tmp`);
    const theirs = path.join(dir, '.x.onnx.12345.tmp');
    for (const f of [dead, live, theirs]) {
      fs.writeFileSync(f, 'partial');
      fs.utimesSync(f, new Date(Date.now() - 3600e3), new Date(Date.now() - 3600e3));
    }
    await run(t, ['prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(dir, 'p.onnx'), '--latency-runs', '0'], { code: 0 });
    assert.equal(fs.existsSync(dead), false, 'a dead writer’s file is swept');
    assert.ok(fs.existsSync(live) && fs.existsSync(theirs), 'a live writer’s and a foreign file are kept');
  });
});

describe('outputs that cannot be written fail before any work, naming the path (issue 11, item 4)', { concurrency: CONCURRENCY }, () => {
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'x');
  const cases: [string, string, RegExp][] = [
    ['a missing folder', path.join(root, 'no', 'such', 'x.onnx'), /cannot write .*no\/such\/x\.onnx: its folder does not exist/],
    ['a folder', root, /is a folder/],
    ['a folder with a slash', `${OUT}/`, /names a folder, not a file/],
    ['a path through a file', path.join(file, 'x.onnx'), /cannot write .*a-file\/x\.onnx: a part of the path is not a folder/],
  ];
  for (const [what, out, message] of cases) {
    it(`${what}: prune, scan -o, plan -o`, async (t) => {
      for (const args of [['prune', EXAMPLE, '--ratio', '0.5', '-o', out], ['scan', EXAMPLE, '--no-cache', '-o', out], ['plan', EXAMPLE, '--target', 'macs=0.5', '-o', out]]) {
        const r = await run(t, args, { message });
        assert.doesNotMatch(r.err, /\.tmp/, 'names the user’s path, not a temporary file');
        assert.ok(r.ms < 3000, `returned in ${r.ms.toFixed(0)} ms`);
      }
    });
  }

  it('in-process, the refusal comes in well under a second, before the model is even read', async () => {
    const t0 = performance.now();
    await assert.rejects(pruneModel(EXAMPLE, path.join(root, 'no', 'x.onnx'), { ratio: 0.5 }), /its folder does not exist/);
    assert.ok(performance.now() - t0 < 1000);
  });
});

/**
 * ENOSPC and EROFS for real, on a tmpfs mounted in a private mount namespace (needs root and unshare; skipped
 * elsewhere; test/outputs.test.ts fakes the same errors everywhere).
 */
describe('a full disk and a read-only file system', { concurrency: 1 }, () => {
  const can = process.platform === 'linux' && spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${JSON.stringify(OUT)}`]).status === 0;

  it('ENOSPC: nothing is published, exit 2, one line naming the file that did not fit (the report, after the model fitted)', async (t) => {
    if (!can) return t.skip('cannot mount a tmpfs here (needs root and unshare)');
    const sized = path.join(root, 'sized');
    fs.mkdirSync(sized);
    await run(t, ['prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(sized, 'p.onnx'), '--latency-runs', '0'], { code: 0 });
    const modelBytes = fs.statSync(path.join(sized, 'p.onnx')).size;
    const mnt = path.join(root, 'full');
    fs.mkdirSync(mnt);
    // room for the model, not for its report
    const size = Math.ceil((modelBytes + 2048) / 4096) * 4096;
    const r = await tmpfsProbe(t, mnt, `size=${size}`, ['prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(mnt, 'p.onnx'), '--latency-runs', '0']);
    assert.match(r.err, /cannot write .*p\.report\.json: no space left on the device/);
    assert.match(r.out, /^LIST:\s*$/m, 'nothing published, no temporary file left');
  });

  it('EROFS: refused before any work', async (t) => {
    if (!can) return t.skip('cannot mount a tmpfs here (needs root and unshare)');
    const mnt = path.join(root, 'ro');
    fs.mkdirSync(mnt);
    const r = await tmpfsProbe(t, mnt, 'ro,size=64k', ['prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(mnt, 'p.onnx')]);
    assert.match(r.err, /cannot write .*ro\/p\.onnx: the file system is read-only/);
    assert.match(r.out, /^LIST:\s*$/m);
    assert.ok(r.ms < 3000);
  });

  /** The command with a tmpfs at `mnt` (private to it), then a listing of what the tmpfs holds. */
  async function tmpfsProbe(t: TestContext, mnt: string, mountOpts: string, args: string[]): Promise<ProbeResult> {
    const script = `mount -t tmpfs -o ${mountOpts} tmpfs "$1" || exit 99; shift; "$@"; code=$?; echo "LIST: $(ls -A "$0")"; exit $code`;
    const r = await probeWrapped(['unshare', '-m', 'sh', '-c', script, mnt, mnt, process.execPath, path.join(ROOT, 'out/src/cli/index.js'), ...args]);
    t.diagnostic(`${(r.ms / 1000).toFixed(2)} s, exit ${r.code}: ${r.err.trim()} ${r.out.trim().split('\n').pop()}`);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /\.tmp|internal error|\n\s+at /);
    return r;
  }
});

/** A probe of a wrapped command (the wrapper runs the CLI itself). */
async function probeWrapped(argv: string[]): Promise<ProbeResult> {
  const { spawn } = await import('node:child_process');
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), LIMITS.ms);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code, signal, out, err, ms: performance.now() - t0, timedOut: false, leftover: false };
}

it('the probes measured memory (GNU time is installed)', (t) => {
  if (!HAVE_TIME) {
    assert.ok(!process.env.CI, 'GNU time (/usr/bin/time) is missing on CI: .ci/run installs it');
    t.skip('GNU time not installed: peak memory not measured');
  }
});
