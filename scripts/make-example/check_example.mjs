// Check examples/fashion-cnn.onnx with onnxruntime-node on the 500 labelled samples.
//
// Usage (from the repository root, after `npm install`):
//   node scripts/make-example/check_example.mjs
//
// Reads the preprocessing and the torch accuracy from examples/fashion-cnn.json,
// runs the model on the 500 samples (batched, then the first sample again with batch 1
// to exercise the dynamic batch axis), prints the accuracy and exits non-zero if it
// differs from the torch accuracy by more than 0.5 percentage points.
// If the full Fashion-MNIST t10k set is present (default /usr/share/datasets/fashion-mnist,
// override with FASHION_MNIST_DIR), the full 10k test accuracy is checked the same way.
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ex = (f) => join(root, 'examples', f);

function readIdx(path) {
  const buf = gunzipSync(readFileSync(path));
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) throw new Error(`${path}: not a uint8 IDX file`);
  const ndim = buf[3];
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const data = buf.subarray(4 + 4 * ndim);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${path}: size mismatch`);
  return { dims, data };
}

const desc = JSON.parse(readFileSync(ex('fashion-cnn.json'), 'utf8'));
const images = readIdx(ex(desc.samples.images));
const labels = readIdx(ex(desc.samples.labels));
const [n, h, w] = images.dims;
if (labels.dims[0] !== n) throw new Error('image/label count mismatch');
const { scale, mean, std } = desc.preprocessing;

const session = await ort.InferenceSession.create(ex(desc.model));
const inName = desc.input.name;
const outName = desc.output.name;

function batchInput(start, count, imgs = images) {
  const x = new Float32Array(count * h * w);
  for (let i = 0; i < x.length; i++) x[i] = (imgs.data[start * h * w + i] * scale - mean) / std;
  return new ort.Tensor('float32', x, [count, 1, h, w]);
}

const argmax = (arr, off, len) => {
  let best = 0;
  for (let j = 1; j < len; j++) if (arr[off + j] > arr[off + best]) best = j;
  return best;
};

const batch = 100;
let correct = 0;
const perClass = new Array(desc.classNames.length).fill(0);
const perClassTotal = new Array(desc.classNames.length).fill(0);
let firstLogits;
for (let s = 0; s < n; s += batch) {
  const count = Math.min(batch, n - s);
  const out = (await session.run({ [inName]: batchInput(s, count) }))[outName];
  const k = out.dims[1];
  if (s === 0) firstLogits = Array.from(out.data.subarray(0, k));
  for (let i = 0; i < count; i++) {
    const y = labels.data[s + i];
    perClassTotal[y]++;
    if (argmax(out.data, i * k, k) === y) { correct++; perClass[y]++; }
  }
}

// batch-1 run must give the same logits as the batched run
const single = (await session.run({ [inName]: batchInput(0, 1) }))[outName].data;
const maxDiff = Math.max(...firstLogits.map((v, j) => Math.abs(v - single[j])));

const acc = correct / n;
const ref = desc.accuracy.samples500;
console.log(`onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim());
console.log(`inputs=${session.inputNames} outputs=${session.outputNames}`);
console.log(`per-class: ${desc.classNames.map((c, i) => `${c}=${perClass[i]}/${perClassTotal[i]}`).join(', ')}`);
console.log(`batch-1 vs batched max |diff| = ${maxDiff.toExponential(2)}`);
console.log(`ONNX accuracy on ${n} samples: ${(acc * 100).toFixed(2)}% (torch: ${(ref * 100).toFixed(2)}%)`);
let failed = Math.abs(acc - ref) > 0.005 || maxDiff > 1e-4;

const dataDir = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const fullImgPath = join(dataDir, 't10k-images-idx3-ubyte.gz');
const fullLblPath = join(dataDir, 't10k-labels-idx1-ubyte.gz');
if (existsSync(fullImgPath) && existsSync(fullLblPath)) {
  const fullImgs = readIdx(fullImgPath);
  const fullLbls = readIdx(fullLblPath);
  const N = fullImgs.dims[0];
  let ok = 0;
  for (let s = 0; s < N; s += 500) {
    const count = Math.min(500, N - s);
    const out = (await session.run({ [inName]: batchInput(s, count, fullImgs) }))[outName];
    const k = out.dims[1];
    for (let i = 0; i < count; i++) if (argmax(out.data, i * k, k) === fullLbls.data[s + i]) ok++;
  }
  const fullAcc = ok / N;
  const fullRef = desc.accuracy.test10k;
  console.log(`ONNX accuracy on full t10k (${N}): ${(fullAcc * 100).toFixed(2)}% (torch: ${(fullRef * 100).toFixed(2)}%)`);
  if (Math.abs(fullAcc - fullRef) > 0.005) failed = true;
} else {
  console.log(`(full t10k not found under ${dataDir}; skipped the 10k check)`);
}
if (failed) {
  console.error('MISMATCH');
  process.exit(1);
}
console.log('OK');
