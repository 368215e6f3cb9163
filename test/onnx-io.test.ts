import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { loadModel } from '../src/core/formats/index.js';
import { encodeOnnx, saveOnnx } from '../src/core/formats/onnx/save.js';
import { syntheticFeeds } from '../src/core/runtime/feeds.js';
import { resolveInputShapes } from '../src/core/shapes/inputs.js';
import { PruneLensError } from '../src/core/errors.js';
import { EXAMPLE, OCR_MODELS, runOnce, tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';
import { memorySource, Tensor } from '../src/core/ir/tensor.js';

function smallCnn(): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', ['N', 3, 16, 16]);
  let y = b.op('Relu', [b.bn(b.conv(x, 3, 8), 8)]);
  y = b.op('Add', [y, b.conv(y, 8, 8)]);
  y = b.op('GlobalAveragePool', [y]);
  y = b.op('Flatten', [y]);
  b.output(b.gemm(y, 8, 4), ['N', 4]);
  return b.build();
}

async function assertSameOutputs(a: string, b: string, inputSpecs: string[] = []) {
  const model = await loadModel(a);
  const feeds = syntheticFeeds(model, resolveInputShapes(model, inputSpecs).shapes, 3);
  const ra = await runOnce(a, feeds);
  const rb = await runOnce(b, feeds);
  assert.deepEqual(Object.keys(rb), Object.keys(ra));
  for (const k of Object.keys(ra)) {
    assert.deepEqual(rb[k].dims, ra[k].dims);
    assert.deepEqual(Buffer.from(new Float32Array(Array.from(rb[k].data, Number)).buffer),
      Buffer.from(new Float32Array(Array.from(ra[k].data, Number)).buffer), `output ${k} differs`);
  }
}

describe('ONNX load → save round trip', () => {
  const dir = tmpdir();
  const fixture = path.join(dir, 'small.onnx');
  fs.writeFileSync(fixture, smallCnn());
  const models = [fixture, EXAMPLE, ...OCR_MODELS].filter((f) => fs.existsSync(f));

  for (const file of models) {
    it(`is byte-identical and runs bit-identically: ${path.basename(file)}`, async () => {
      const model = await loadModel(file);
      const out = path.join(dir, `rt-${path.basename(file)}`);
      saveOnnx(model, out);
      assert.ok(Buffer.from(fs.readFileSync(out)).equals(fs.readFileSync(file)), 'saved bytes differ from the original');
      const shapes = path.basename(file).includes('rec') ? ['x=1x3x48x160'] : [];
      await assertSameOutputs(file, out, shapes);
    });
  }

  it('keeps fields and enum values newer than the schema', async () => {
    const proto = fromBinary(ModelProtoSchema, smallCnn());
    // Unknown field 99 (varint 12345) on the ModelProto and on a NodeProto, and an attribute type enum value (77)
    // that the schema does not define: all must survive.
    const unknownField = new Uint8Array([0x98, 0x06, 0xb9, 0x60]);
    const withUnknown = new Uint8Array([...toBinary(ModelProtoSchema, proto), ...unknownField]);
    const p2 = fromBinary(ModelProtoSchema, withUnknown);
    p2.graph!.node[0].attribute[0].type = 77 as never;
    const nodeBytes = toBinary(ModelProtoSchema, p2);
    const file = path.join(dir, 'unknown.onnx');
    fs.writeFileSync(file, nodeBytes);
    const model = await loadModel(file);
    const out = path.join(dir, 'unknown-rt.onnx');
    saveOnnx(model, out);
    const saved = fs.readFileSync(out);
    assert.ok(Buffer.from(saved).equals(Buffer.from(nodeBytes)));
    // proto2 enums are closed: the value is kept as an unknown field (tag 20, varint 77) and written back.
    assert.ok(Buffer.from(saved).includes(Buffer.from([0xa0, 0x01, 0x4d])));
    assert.ok(Buffer.from(saved).includes(Buffer.from(unknownField)));
  });

  it('writes changed tensors and attributes, keeping the rest', async () => {
    const model = await loadModel(fixture);
    const w = model.graph.initializers.get('conv0.w')!;
    const data = Float32Array.from(w.toFloat32(), (v) => v * 2);
    w.replace(w.dims, data);
    const conv = model.graph.nodes[0];
    conv.setAttr('dilations', { type: 'ints', value: [1, 1] });
    const back = fromBinary(ModelProtoSchema, encodeOnnx(model));
    const t = back.graph!.initializer.find((i) => i.name === 'conv0.w')!;
    assert.deepEqual(new Float32Array(t.rawData.slice().buffer), data);
    assert.deepEqual(back.graph!.node[0].attribute.find((a) => a.name === 'dilations')!.ints, [1n, 1n]);
    assert.equal(back.graph!.node[0].attribute.length, 5);
  });

  it('saves and loads external data, with bit-identical outputs', async () => {
    const model = await loadModel(fixture);
    const out = path.join(dir, 'ext.onnx');
    const r = saveOnnx(model, out, { externalData: 'always' });
    assert.equal(r.dataFile, path.join(dir, 'ext.onnx.data'));
    assert.ok(fs.statSync(out).size + 2000 < fs.statSync(fixture).size, 'the 8→8 conv weight (2304 bytes) should leave the protobuf');
    const reloaded = await loadModel(out);
    const external = [...reloaded.graph.initializers.values()].filter((t) => !t.inMemory);
    assert.ok(external.length > 0 && external.every((t) => t.byteLength >= 1024));
    for (const t of external) assert.deepEqual(t.toFloat32(), model.graph.initializers.get(t.name)!.toFloat32());
    await assertSameOutputs(fixture, out);
    // Saving an external model elsewhere writes its data file there too (data stays external).
    const sub = fs.mkdtempSync(path.join(dir, 'copy-'));
    const again = saveOnnx(reloaded, path.join(sub, 'copy.onnx'));
    assert.ok(again.dataFile && fs.existsSync(again.dataFile));
    await assertSameOutputs(fixture, path.join(sub, 'copy.onnx'));
  });

  it('names a missing external-data file', async () => {
    const model = await loadModel(fixture);
    const sub = fs.mkdtempSync(path.join(dir, 'missing-'));
    const out = path.join(sub, 'm.onnx');
    saveOnnx(model, out, { externalData: 'always' });
    fs.unlinkSync(`${out}.data`);
    await assert.rejects(loadModel(out), (e: Error) => e instanceof PruneLensError && /m\.onnx\.data.*missing/.test(e.message));
  });

  it('refuses to overwrite without the flag and leaves no temporary file', async () => {
    const model = await loadModel(fixture);
    const out = path.join(dir, 'exists.onnx');
    fs.writeFileSync(out, 'keep me');
    assert.throws(() => saveOnnx(model, out), /already exists/);
    assert.equal(fs.readFileSync(out, 'utf8'), 'keep me');
    saveOnnx(model, out, { overwrite: true });
    assert.ok(fs.readdirSync(dir).every((f) => !f.endsWith('.tmp')));
  });
});

describe('ONNX IR', () => {
  it('reads float32 weights at an odd offset of a Node Buffer as themselves (Buffer.slice is a view, not a copy)', () => {
    const values = Float32Array.from([1.5, -2, 3.25]);
    const whole = Buffer.alloc(13 + 12 + 3);
    Buffer.from(values.buffer).copy(whole, 13);
    const t = new Tensor('w', 'float32', [3], memorySource(whole.subarray(13, 25)));
    assert.deepEqual(Array.from(t.toFloat32()), [1.5, -2, 3.25]);
  });

  it('treats weights in Constant nodes as weights', async (t) => {
    const file = OCR_MODELS[2];
    if (!fs.existsSync(file)) return t.skip('PP-OCR models not installed');
    const model = await loadModel(file);
    assert.equal(model.graph.initializers.size, 0);
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    const w = model.graph.constant(conv.inputs[1]);
    assert.ok(w && w.dims.length === 4 && w.dtype === 'float32');
  });

  it('walks sub-graphs of If/Loop/Scan', async (t) => {
    const file = '/usr/share/libonnx-testdata/data/node/test_if/model.onnx';
    if (!fs.existsSync(file)) return t.skip('libonnx-testdata not installed');
    const model = await loadModel(file);
    const graphs = [...model.graph.allGraphs()];
    assert.equal(graphs.length, 3);
    assert.ok(graphs[1].parent === model.graph);
  });
});
