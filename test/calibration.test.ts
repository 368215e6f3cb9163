import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import JSZip from 'jszip';
import { dump } from 'npyjs';
import sharp from 'sharp';
import { loadCalibration } from '../src/core/data/calibration.js';
import { parsePreprocess } from '../src/core/data/preprocess.js';
import { PruneLensError } from '../src/core/errors.js';
import { loadModel } from '../src/core/formats/index.js';
import { resolveInputShapes } from '../src/core/shapes/inputs.js';
import { EXAMPLE, ROOT, tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

const npy = (data: Float32Array | Int32Array, shape: number[]) => new Uint8Array(dump(data, shape));

/** A 3-channel model taking 1x3x16x16 (NCHW). */
function rgbModel(dir: string): string {
  const b = new OnnxBuilder();
  const x = b.input('img', ['N', 3, 16, 16]);
  b.output(b.op('Flatten', [b.op('GlobalAveragePool', [b.conv(x, 3, 4)])]), ['N', 4]);
  const file = path.join(dir, 'rgb.onnx');
  fs.writeFileSync(file, b.build());
  return file;
}

async function load(file: string, opts: Parameters<typeof loadCalibration>[2]) {
  const model = await loadModel(file);
  return loadCalibration(model, resolveInputShapes(model).shapes, opts);
}

describe('calibration data', () => {
  const dir = tmpdir();

  it('defaults to seeded synthetic samples of the kind that excites the model, said clearly', async () => {
    const a = await load(EXAMPLE, { samples: 5 });
    assert.equal(a.kind, 'synthetic');
    assert.deepEqual([...a.inputs.input.dims], [5, 1, 28, 28]);
    assert.match(a.description, /^5 samples of (Gaussian noise|synthetic images) .*\(seed 1\)$/);
    const b = await load(EXAMPLE, { samples: 5 });
    assert.deepEqual(a.inputs.input.data, b.inputs.input.data);
  });

  it('IDX images with labels, a seeded spread-out choice of samples', async () => {
    const s = await load(EXAMPLE, {
      data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
      labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
      samples: 100,
    });
    assert.equal(s.count, 100);
    assert.equal(s.labels!.length, 100);
    assert.ok(new Set(s.labels).size === 10, 'the choice spans all classes');
  });

  it('.npy with .npy labels, and .npz with named arrays', async () => {
    const x = Float32Array.from({ length: 6 * 28 * 28 }, (_, i) => (i % 7) / 7);
    const y = Int32Array.from([0, 1, 2, 3, 4, 5]);
    fs.writeFileSync(path.join(dir, 'x.npy'), npy(x, [6, 1, 28, 28]));
    fs.writeFileSync(path.join(dir, 'y.npy'), npy(y, [6]));
    const a = await load(EXAMPLE, { data: path.join(dir, 'x.npy'), labels: path.join(dir, 'y.npy') });
    assert.equal(a.kind, 'npy');
    assert.deepEqual([...a.labels!], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(a.inputs.input.data, x);
    // [N, H, W] is accepted for a [N, 1, H, W] input: same elements, same order
    const zip = new JSZip();
    zip.file('images.npy', npy(x, [6, 28, 28]));
    zip.file('labels.npy', npy(y, [6]));
    fs.writeFileSync(path.join(dir, 'd.npz'), await zip.generateAsync({ type: 'uint8array' }));
    const b = await load(EXAMPLE, { data: path.join(dir, 'd.npz') });
    assert.equal(b.kind, 'npz');
    assert.deepEqual([...b.labels!], [0, 1, 2, 3, 4, 5]);
  });

  it('image folders: labels from sub-folders, resize, crop, mean/std, channel order', async () => {
    const model = rgbModel(dir);
    const root = path.join(dir, 'imgs');
    for (const [cls, colour] of [['cat', { r: 255, g: 0, b: 0 }], ['dog', { r: 0, g: 0, b: 255 }]] as const) {
      fs.mkdirSync(path.join(root, cls), { recursive: true });
      for (let i = 0; i < 3; i++) {
        await sharp({ create: { width: 40, height: 24, channels: 3, background: colour } }).png().toFile(path.join(root, cls, `${i}.png`));
      }
    }
    const s = await load(model, { data: root, preprocess: parsePreprocess('resize=20;crop=16;mean=0.5;std=0.5') });
    assert.equal(s.kind, 'images');
    assert.deepEqual(s.classes, ['cat', 'dog']);
    assert.deepEqual([...s.labels!], [0, 0, 0, 1, 1, 1]);
    const d = s.inputs.img.data as Float32Array;
    const plane = 16 * 16;
    // a red cat: R = (1 − 0.5) / 0.5 = 1, B = −1
    assert.equal(d[0], 1);
    assert.equal(d[2 * plane], -1);
    const bgr = await load(model, { data: root, preprocess: parsePreprocess('order=bgr;mean=0.5;std=0.5') });
    assert.equal((bgr.inputs.img.data as Float32Array)[0], -1);
  });

  it('bad data is refused before any compute, with a clear message', async () => {
    fs.writeFileSync(path.join(dir, 'bad.npy'), npy(new Float32Array(2 * 9), [2, 3, 3]));
    await assert.rejects(load(EXAMPLE, { data: path.join(dir, 'bad.npy') }), (e: Error) => e instanceof PruneLensError && /3x3.*1x28x28/.test(e.message));
    fs.writeFileSync(path.join(dir, 'junk.npy'), 'not numpy');
    await assert.rejects(load(EXAMPLE, { data: path.join(dir, 'junk.npy') }), /not a readable \.npy/);
    fs.writeFileSync(path.join(dir, 'y3.npy'), npy(Int32Array.from([1, 2, 3]), [3]));
    fs.writeFileSync(path.join(dir, 'x2.npy'), npy(new Float32Array(2 * 784), [2, 1, 28, 28]));
    await assert.rejects(load(EXAMPLE, { data: path.join(dir, 'x2.npy'), labels: path.join(dir, 'y3.npy') }), /do not match 2 samples/);
    await assert.rejects(load(EXAMPLE, { data: path.join(dir, 'nope') }), /no such file/);
    await assert.rejects(load(EXAMPLE, { data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz') }), (e: Error) => e instanceof PruneLensError && e.option === 'labels' && /need an IDX labels file/.test(e.message));
    const broken = path.join(dir, 'broken');
    fs.mkdirSync(path.join(broken, 'a'), { recursive: true });
    fs.writeFileSync(path.join(broken, 'a', 'x.png'), 'not a png');
    await assert.rejects(load(rgbModel(dir), { data: broken }), /x\.png: cannot read as an image/);
    assert.throws(() => parsePreprocess('size=3'), /unknown key 'size'/);
    assert.throws(() => parsePreprocess('std=0'), /std/);
  });
});
