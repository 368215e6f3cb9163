import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { saveOnnx } from '../src/core/formats/onnx/save.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { CLI, EXAMPLE, OCR_MODELS, ROOT, tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tiny(): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', ['N', 3, 8, 8]);
  b.output(b.op('Relu', [b.conv(x, 3, 16)]));
  return b.build();
}

describe('prunelens inspect', () => {
  const dir = tmpdir();
  const good = path.join(dir, 'tiny.onnx');
  fs.writeFileSync(good, tiny());

  it('prints a table and totals', () => {
    const r = cli('inspect', good);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Conv_0\s+Conv\s+1x3x8x8\s+1x16x8x8\s+16\s+448\s+27\.65k/);
    assert.match(r.out, /params 448/);
  });

  it('--json has the documented fields', () => {
    const r = cli('inspect', good, '--json', '--input-shape', 'x=2x3x8x8');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ['format', 'irVersion', 'opsets', 'inputs', 'outputs', 'nodeCount', 'params', 'macs', 'layers']) {
      assert.ok(k in j, `missing ${k}`);
    }
    assert.equal(j.format, 'onnx');
    assert.deepEqual(j.inputShapes, { x: [2, 3, 8, 8] });
    assert.equal(j.macs, 2 * 16 * 64 * 27 + 2 * 16 * 64);
    assert.deepEqual(j.layers[0], {
      name: 'Conv_0', op: 'Conv', params: 448, macs: 2 * 16 * 64 * 27, kind: 'compute', outChannels: 16,
      inShapes: [[2, 3, 8, 8], [16, 3, 3, 3], [16]], outShapes: [[2, 16, 8, 8]], activationBytes: 2 * 16 * 64 * 4,
    });
  });

  it('works on a real model with weights in Constant nodes', (t) => {
    if (!fs.existsSync(OCR_MODELS[2])) return t.skip('PP-OCR models not installed');
    const r = cli('inspect', OCR_MODELS[2], '--json', '--input-shape', 'x=1x3x48x192');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.ok(j.params > 100_000, `params ${j.params}`);
    assert.ok(j.macs > 10_000_000);
  });

  const bad: [string, () => string, RegExp][] = [
    ['an empty file', () => write('empty.onnx', new Uint8Array()), /empty/],
    ['a truncated model', () => write('trunc.onnx', tiny().subarray(0, 300)), /truncated or corrupt/],
    ['random bytes', () => write('random.onnx', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), /not (a valid ONNX file|an ONNX model)/],
    ['a text file named .onnx', () => write('text.onnx', new TextEncoder().encode('hello, I am not a model\n')), /text file/],
    ['a missing file', () => path.join(dir, 'nope.onnx'), /no such file/],
    ['a folder', () => dir, /folder/],
    ['an unsupported IR version', () => {
      const p = fromBinary(ModelProtoSchema, tiny());
      p.irVersion = 99n;
      return write('ir99.onnx', toBinary(ModelProtoSchema, p));
    }, /unsupported ONNX IR version 99/],
    ['missing external data', () => {
      const sub = fs.mkdtempSync(path.join(dir, 'ext-'));
      const out = path.join(sub, 'ext.onnx');
      saveOnnx(decodeOnnx(tiny(), out), out, { externalData: 'always' });
      fs.unlinkSync(`${out}.data`);
      return out;
    }, /external data file 'ext\.onnx\.data'.*missing/],
    ['a bad --input-shape', () => good, /--input-shape/],
  ];
  function write(name: string, bytes: Uint8Array): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  }
  for (const [what, make, message] of bad) {
    it(`rejects ${what} with one clear line and exit code 2`, () => {
      const file = make();
      const extra = what.includes('input-shape') ? ['--input-shape', 'x=1xfoo'] : [];
      const r = cli('inspect', file, ...extra);
      assert.equal(r.code, 2, `exit code for ${what}: ${r.err}`);
      assert.equal(r.out, '');
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0], /^prunelens: error: /);
      assert.match(lines[0], message);
      assert.doesNotMatch(r.err, /\n\s+at /);
    });
  }

  it('shows a stack trace only with --debug', () => {
    const r = cli('--debug', 'inspect', path.join(dir, 'nope.onnx'));
    assert.equal(r.code, 2);
    assert.match(r.err, /\n\s+at /);
  });

  it('rejects unknown commands and options with exit code 2', () => {
    assert.equal(cli('frobnicate').code, 2);
    assert.equal(cli('inspect', good, '--nope').code, 2);
  });
});

describe('prunelens prune', () => {
  const dir = tmpdir();
  const data = ['--data', path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'), '--labels', path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz')];

  it('--data verifies on real samples too and the report says so', () => {
    const out = path.join(dir, 'real.onnx');
    const r = cli('prune', EXAMPLE, '-o', out, '--ratio', '0.5', ...data, '--samples', '4', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.verification.inputs.random.seeds, [11, 12]);
    assert.equal(j.verification.exercised, true);
    assert.equal(j.verification.inputs.real.samples, 4);
    assert.match(j.verification.inputs.real.description, /4 of 500 labelled samples from fashion-mnist-500-images/);
    const text = cli('prune', EXAMPLE, '-o', out, '--ratio', '0.5', ...data, '--force');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /verified against the masked original on 2 × (Gaussian noise|synthetic images[^:]*) and 8 of 500 labelled samples from fashion-mnist-500-images/);
  });

  it('IDX --data without --labels is an error', () => {
    const r = cli('prune', EXAMPLE, '-o', path.join(dir, 'x.onnx'), '--ratio', '0.5', data[0], data[1]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^prunelens: error: --labels: fashion-mnist-500-images-idx3-ubyte\.gz: IDX images need an IDX labels file\n$/);
  });

  it('criterion bn names the groups it scored by l1', () => {
    const b = new OnnxBuilder();
    const x = b.op('Relu', [b.bn(b.conv(b.input('x', ['N', 3, 8, 8]), 3, 8), 8)]);
    b.output(b.conv(b.op('Relu', [b.conv(x, 8, 6)]), 6, 2));
    const file = path.join(dir, 'bn.onnx');
    fs.writeFileSync(file, b.build());
    const r = cli('prune', file, '-o', path.join(dir, 'bn-pruned.onnx'), '--ratio', '0.5', '--criterion', 'bn');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /bn: 1 group\(s\) without BatchNormalization, scored by l1: 1\b/);
  });
});
