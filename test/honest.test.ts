/**
 * Honest results (issue 11): a model whose output died is never called verified, every result says what it rests
 * on, real data is accepted everywhere, and ONNX Runtime's native log never reaches the user.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { speed } from '../src/cli/format.js';
import { loadCalibration } from '../src/core/data/calibration.js';
import { loadModel } from '../src/core/formats/index.js';
import { resolveInputShapes } from '../src/core/shapes/inputs.js';
import type { PruneReport, Recipe, ScanResult } from '../src/shared/types.js';
import { CLI, EXAMPLE, OCR_MODELS, ROOT, tmpdir } from './helpers/env.js';
import { torchvisionModel } from '../bench/models.js';

const [DET, , CLS] = OCR_MODELS;
const NPZ = path.join(ROOT, 'examples/ppocr-cls-orientation/test.npz');
const IDX = ['--data', path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'), '--labels', path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz')];

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = tmpdir();
const NATIVE_LOG = /\[[EWIV]:onnxruntime|onnxruntime::|\x1b\[/;

describe('a detector pruned on synthetic data is not called verified', () => {
  it('scan excites it with synthetic images and says so; the plan warns; prune says the output died', (t) => {
    if (!fs.existsSync(DET)) return t.skip('PP-OCR models not installed');
    const shape = ['--input-shape', 'x=1x3x320x320'];
    const scanFile = path.join(dir, 'det-scan.json');
    const s = cli('scan', DET, ...shape, '--samples', '4', '--ratios', '0.3,0.6,0.9', '-o', scanFile, '--no-cache');
    assert.equal(s.code, 0, s.err);
    const scan = JSON.parse(fs.readFileSync(scanFile, 'utf8')) as ScanResult;
    assert.equal(scan.data.synthetic, true);
    assert.match(scan.data.description, /synthetic images/, 'noise leaves the detector silent: images were chosen');
    assert.deepEqual(scan.dense.degenerate, [], 'the dense detector says something on the scan data');
    assert.match(s.out.split('\n')[1], /^data: SYNTHETIC \(the losses are fidelity to the dense model on such inputs, not task accuracy\)/);

    const recipe = path.join(dir, 'det-plan.json');
    const p = cli('plan', DET, '--scan', scanFile, '--target', 'macs=0.5', '-o', recipe);
    assert.equal(p.code, 0, p.err);
    const r = JSON.parse(fs.readFileSync(recipe, 'utf8')) as Recipe;
    assert.ok(r.warnings.some((w) => w.kind === 'destroyed'), `a loud warning: ${JSON.stringify(r.warnings.map((w) => w.kind))}`);
    for (const w of r.warnings.filter((x) => x.kind === 'destroyed' && x.group === undefined)) {
      // the sum warns from 90 % of the maximum: it says "past" the maximum only when it is
      const { predictedLoss, ceiling } = w.numbers;
      assert.match(w.message, predictedLoss >= ceiling ? /, past its maximum / : new RegExp(`, ${Math.round((100 * predictedLoss) / ceiling)} % of its maximum `));
    }
    assert.ok(r.warnings.some((w) => w.kind === 'data' && /detector/.test(w.fix)), 'says how to pass real data for a detector');
    assert.match(p.out.split('\n')[1], /based on a scan on SYNTHETIC data/);
    assert.match(p.out, /^WARNING: /m);
    assert.match(p.out, /pred\. loss: the scan's rel-l2 loss of each group pruned alone .* sum over groups/);

    const out = path.join(dir, 'det-pruned.onnx');
    const q = cli('prune', DET, '--plan', recipe, '-o', out, '--latency-runs', '0', '--json');
    assert.equal(q.code, 0, q.err);
    const rep = JSON.parse(q.out) as PruneReport;
    assert.equal(rep.verification.inputs.random.kind.startsWith('image'), true, rep.verification.inputs.random.description);
    assert.ok(rep.verification.silenced.length > 0 || !rep.verification.exercised, 'the dead output is found');
    const text = cli('prune', DET, '--plan', recipe, '-o', out, '--latency-runs', '0', '--force');
    assert.equal(text.code, 0, text.err);
    for (const line of text.out.split('\n').filter((l) => /verified/i.test(l))) assert.match(line, /\bon\b/, `"verified" without saying on what: ${line}`);
    assert.match(text.out, /NOT VERIFIED|has lost an output/);
  });

  it('a model whose outputs say nothing on any input is NOT VERIFIED (random-weight MobileNetV2: logits ~1e-10)', (t) => {
    if (!fs.existsSync('/usr/lib/python3/dist-packages/torchvision')) {
      assert.ok(!process.env.CI, 'torchvision is missing on CI');
      return t.skip('Debian python3-torchvision not installed');
    }
    // exported here when missing: this file may run before the real-model tests that also export it
    const file = torchvisionModel(ROOT, 'mobilenet_v2');
    const r = cli('prune', file, '--ratio', '0.3', '-o', path.join(dir, 'mnv2.onnx'), '--latency-runs', '0', '--json');
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(r.out) as PruneReport;
    assert.equal(rep.verification.exercised, false);
    assert.match(rep.verification.degenerate[0], /nearly zero/);
  });
});

describe('real data everywhere', () => {
  it('eval and prune --data take .npz for an RGB model (PP-OCR classifier at its own 48x192)', (t) => {
    if (!fs.existsSync(CLS)) return t.skip('PP-OCR models not installed');
    const e = cli('eval', CLS, '--data', NPZ, '--samples', '100', '--json');
    assert.equal(e.code, 0, e.err);
    const j = JSON.parse(e.out);
    assert.ok(j.top1 > 0.9, `top-1 ${j.top1}`);
    const p = cli('prune', CLS, '--ratio', '0.2', '-o', path.join(dir, 'cls.onnx'), '--data', NPZ, '--samples', '4', '--latency-runs', '0', '--json');
    assert.equal(p.code, 0, p.err);
    const rep = JSON.parse(p.out) as PruneReport;
    assert.deepEqual(rep.inputShapes, { x: [1, 3, 48, 192] }, 'the PaddleOCR convention, not 224x224');
    assert.equal(rep.verification.inputs.real?.samples, 4);
    assert.equal(rep.accuracy?.samples, 400);
    assert.ok(rep.verification.exercised);
  });

  it('eval and prune --data take an image folder (labels from sub-folders)', async (t) => {
    if (!fs.existsSync(CLS)) return t.skip('PP-OCR models not installed');
    // PNGs made from the labelled .npz: BGR, (x/255 − 0.5)/0.5 undone
    const model = await loadModel(CLS);
    const set = await loadCalibration(model, resolveInputShapes(model, ['x=1x3x48x192']).shapes, { data: NPZ, samples: 12 });
    const folder = path.join(dir, 'images');
    const [h, w] = [48, 192];
    const x = set.inputs.x.data as Float32Array;
    for (let i = 0; i < set.count; i++) {
      const px = Buffer.alloc(h * w * 3);
      for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) px[p * 3 + c] = Math.round((x[i * 3 * h * w + (2 - c) * h * w + p] * 0.5 + 0.5) * 255);
      fs.mkdirSync(path.join(folder, String(set.labels![i])), { recursive: true });
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(folder, String(set.labels![i]), `${i}.png`));
    }
    const pre = ['--preprocess', 'mean=0.5;std=0.5;order=bgr'];
    const e = cli('eval', CLS, '--data', folder, ...pre, '--json');
    assert.equal(e.code, 0, e.err);
    assert.ok(JSON.parse(e.out).top1 >= 0.75, e.out);
    const p = cli('prune', CLS, '--ratio', '0.2', '-o', path.join(dir, 'cls-img.onnx'), '--data', folder, ...pre, '--latency-runs', '0', '--json');
    assert.equal(p.code, 0, p.err);
    assert.match((JSON.parse(p.out) as PruneReport).verification.inputs.real!.description, /from images \(images\)/);
  });

  it('eval on a non-classifier measures fidelity to the original, or says what to give', (t) => {
    if (!fs.existsSync(DET)) return t.skip('PP-OCR models not installed');
    const folder = path.join(dir, 'det-images');
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'examples/ppocr-cls-orientation/preview.png'), path.join(folder, 'a.png'));
    const alone = cli('eval', DET, '--data', folder, '--input-shape', 'x=1x3x320x320');
    assert.equal(alone.code, 2);
    assert.match(alone.err, /^prunelens: error: --reference: output 'sigmoid_0\.tmp_0' \(1x1x320x320\) is not a classifier's \[N, classes\]: give a reference model/);
    const pruned = path.join(dir, 'det10.onnx');
    assert.equal(cli('prune', DET, '--ratio', '0.1', '-o', pruned, '--input-shape', 'x=1x3x320x320', '--latency-runs', '0').code, 0);
    // the pruned model's report names its original
    const f = cli('eval', pruned, '--data', folder, '--input-shape', 'x=1x3x320x320', '--json');
    assert.equal(f.code, 0, f.err);
    const j = JSON.parse(f.out);
    assert.equal(j.fidelity.reference, DET);
    assert.ok(j.fidelity.metrics['rel-l2'] > 0);
  });

  it('an .npz given as a model is named as data', () => {
    const r = cli('inspect', NPZ);
    assert.equal(r.code, 2);
    assert.match(r.err, /test\.npz is a NumPy \.npz archive \(data\), not a model/);
  });
});

describe('trustworthy latency and quiet, informative output', () => {
  it('speeds read as people say them', () => {
    assert.equal(speed(1.38), '1.38× faster');
    assert.equal(speed(0.8), '1.25× slower');
    assert.equal(speed(1.001), 'the same speed');
  });

  it('bench --runs N takes exactly N runs of each model, on one thread by default, in turn', () => {
    const pruned = path.join(dir, 'example-bench.onnx');
    assert.equal(cli('prune', EXAMPLE, '--ratio', '0.3', '-o', pruned, '--latency-runs', '0').code, 0);
    const r = cli('bench', EXAMPLE, '--compare', pruned, '--runs', '7', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.model.latency.runs, 7);
    assert.equal(j.compare.latency.runs, 7);
    assert.equal(j.model.latency.threads, 1);
    const text = cli('bench', EXAMPLE, '--compare', pruned, '--runs', '7');
    assert.match(text.out, /1 intra-op thread, 3 warm-up \+ 7 timed runs each, taken in turn/);
    assert.match(text.out, /is \d+\.\d\d× (faster|slower)|the same speed/);
  });

  it('--version, a did-you-mean for misspelt options, and a plan that announces the scan it runs', () => {
    const v = cli('--version');
    assert.equal(v.code, 0);
    assert.match(v.out.trim(), /^\d+\.\d+\.\d+$/);
    const typo = cli('prune', EXAMPLE, '-o', path.join(dir, 'x.onnx'), '--ratoi', '0.5');
    assert.equal(typo.code, 2);
    assert.match(typo.err, /Did you mean --ratio\?/);
    const plan = cli('plan', EXAMPLE, '--target', 'macs=0.6', '--samples', '16', '--ratios', '0.3,0.6', '--no-cache');
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.err, /no scan given: scanning 6 groups × 2 ratios first \(12 runs over 16 synthetic samples\)/);
  });

  it('progress on a non-terminal: a line per phase and every few seconds, then a summary', () => {
    // progress from the start: the scan alone may now finish within the usual 1 s of silence
    process.env.PRUNELENS_PROGRESS_AFTER_MS = '0';
    let r: ReturnType<typeof cli>;
    try {
      r = cli('scan', EXAMPLE, ...IDX, '--samples', '500', '--no-cache');
    } finally {
      delete process.env.PRUNELENS_PROGRESS_AFTER_MS;
    }
    assert.equal(r.code, 0, r.err);
    const lines = r.err.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith('prunelens: ')), r.err);
    assert.match(lines[lines.length - 1], /^prunelens: done in \d+\.\d s$/);
  });

  it('no ONNX Runtime native log line reaches the user, on success or failure', () => {
    const bad = path.join(dir, 'bad-domain.onnx');
    // an op from a domain ONNX Runtime does not know: a load failure
    const model = fs.readFileSync(EXAMPLE);
    fs.writeFileSync(bad, Buffer.from(model.toString('latin1').replace('Relu', 'Relx'), 'latin1'));
    const runs = [
      cli('inspect', EXAMPLE, '--probe'),
      cli('prune', EXAMPLE, '--ratio', '0.5', '-o', path.join(dir, 'quiet.onnx'), '--latency-runs', '3'),
      cli('scan', EXAMPLE, '--samples', '8', '--ratios', '0.5', '--no-cache'),
      cli('bench', EXAMPLE, '--runs', '3'),
      cli('eval', EXAMPLE, ...IDX, '--samples', '50'),
      cli('inspect', bad, '--probe'),
      cli('prune', bad, '--ratio', '0.5', '-o', path.join(dir, 'bad-out.onnx')),
    ];
    for (const r of runs) assert.doesNotMatch(r.out + r.err, NATIVE_LOG, r.out + r.err);
    assert.equal(runs[5].code, 2);
    assert.equal(runs[5].err.trim().split('\n').length, 1, runs[5].err);
  });
});
