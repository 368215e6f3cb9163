import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadModel } from '../src/core/formats/index.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { inferShapes } from '../src/core/shapes/infer.js';
import { probeShapes } from '../src/core/shapes/probe.js';
import { resolveInputShapes } from '../src/core/shapes/inputs.js';
import type { Model } from '../src/core/ir/graph.js';
import { EXAMPLE, OCR_MODELS } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

/** Static inference must agree with what ONNX Runtime computes, for every value it claims to know. */
async function agree(model: Model, specs: string[] = []) {
  const { shapes } = resolveInputShapes(model, specs);
  const inferred = inferShapes(model, shapes);
  const probed = await probeShapes(model, shapes);
  let compared = 0;
  for (const [name, t] of probed) {
    const mine = inferred.types.get(name);
    if (!mine) continue;
    compared++;
    assert.deepEqual(mine.dims, t.dims, `shape of ${name}`);
  }
  return { compared, unknown: inferred.unknown.length };
}

describe('shapes', () => {
  for (const file of [EXAMPLE, ...OCR_MODELS]) {
    it(`inference agrees with ONNX Runtime and leaves nothing unknown: ${path.basename(file)}`, async (t) => {
      if (!fs.existsSync(file)) return t.skip('model not present');
      const model = await loadModel(file);
      const specs = file.includes('_rec_') ? ['x=2x3x48x320'] : file.includes('_det_') ? ['x=1x3x320x256'] : [];
      const r = await agree(model, specs);
      assert.equal(r.unknown, 0);
      assert.ok(r.compared >= model.graph.nodes.length, `compared ${r.compared} values`);
    });
  }

  it('resolves a PyTorch-style dynamic reshape (Shape → Gather → Unsqueeze → Concat → Reshape)', async () => {
    const b = new OnnxBuilder();
    const x = b.input('x', ['N', 4, 5, 5]);
    const s = b.op('Shape', [x]);
    const idx = b.init('zero', [], [0], 'int64');
    const n = b.op('Gather', [s, idx], { axis: 0 });
    const ax = b.init('ax', [1], [0], 'int64');
    const n1 = b.op('Unsqueeze', [n, ax]);
    const m1 = b.init('m1', [1], [-1], 'int64');
    const shape = b.op('Concat', [n1, m1], { axis: 0 });
    const y = b.op('Reshape', [b.op('Relu', [x]), shape]);
    b.output(y);
    const model = decodeOnnx(b.build(), 'reshape.onnx');
    const r = inferShapes(model, { x: [3, 4, 5, 5] });
    assert.deepEqual(r.types.get(y)!.dims, [3, 100]);
    assert.equal(r.unknown.length, 0);
    await agree(model, ['x=3x4x5x5']);
  });

  it('applies defaults to dynamic dims and says so', async () => {
    const b = new OnnxBuilder();
    b.output(b.op('Relu', [b.input('img', ['batch', 3, 'h', 'w'])]));
    const model = decodeOnnx(b.build(), 'dyn.onnx');
    const r = resolveInputShapes(model);
    assert.deepEqual(r.shapes.img, [1, 3, 224, 224]);
    assert.equal(r.assumed.length, 3);
    assert.deepEqual(resolveInputShapes(model, ['img=2x3x64x32']).shapes.img, [2, 3, 64, 32]);
    assert.throws(() => resolveInputShapes(model, ['img=2x4x64x32']), /fixed at 3/);
    assert.throws(() => resolveInputShapes(model, ['nope=1x3x4x4']), /no input 'nope'/);
    assert.throws(() => resolveInputShapes(model, ['img=1xAx3']), /whole numbers/);
  });
});
