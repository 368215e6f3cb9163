import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { analyzeDependencies, describeGroup } from '../src/core/deps/analyze.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { pruneModel } from '../src/core/prune.js';
import { rng } from '../src/core/runtime/feeds.js';
import { computeShapes } from '../src/core/shapes/index.js';
import { tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

/** A random conv network: residual adds, concats, depthwise convs, splits, pooling, BN, a Flatten → Gemm head. */
function randomNet(seed: number): Uint8Array {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const b = new OnnxBuilder(13, seed);
  let c = pick([4, 6, 8]);
  let x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 12, 12]), 3, c)]);
  const blocks = 2 + Math.floor(r() * 4);
  for (let i = 0; i < blocks; i++) {
    switch (pick(['residual', 'concat', 'depthwise', 'split', 'plain', 'bn'])) {
      case 'residual':
        x = b.op('Add', [x, b.conv(b.op('Relu', [b.conv(x, c, c)]), c, c)]);
        break;
      case 'concat': {
        const k = pick([2, 3, 5]);
        x = b.op('Concat', [x, b.op('Relu', [b.conv(x, c, k, 1)])], { axis: 1 });
        c += k;
        break;
      }
      case 'depthwise':
        x = b.op('Relu', [b.conv(x, c, c, 3, { group: c })]);
        break;
      case 'split': {
        if (c < 2) break;
        const first = 1 + Math.floor(r() * (c - 1));
        const [p, q] = b.node('Split', [x, b.init(`split${i}`, [2], [first, c - first], 'int64')], { axis: 1 }, 2);
        x = b.op('Concat', [b.op('Relu', [b.conv(q, c - first, c - first)]), p], { axis: 1 });
        break;
      }
      case 'bn':
        x = b.op('Relu', [b.bn(x, c)]);
        break;
      default: {
        const n = pick([4, 6, 10]);
        x = b.op('Relu', [b.conv(x, c, n)]);
        c = n;
      }
    }
  }
  const pooled = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  const h = b.op('Relu', [b.gemm(b.op('Flatten', [pooled]), c * 36, 8)]);
  b.output(b.gemm(h, 8, 3));
  return b.build();
}

it('random conv graphs pruned at random per-group ratios always verify', async () => {
  const dir = tmpdir();
  let pruned = 0;
  for (let seed = 1; seed <= 25; seed++) {
    const bytes = randomNet(seed);
    const file = path.join(dir, `rand${seed}.onnx`);
    fs.writeFileSync(file, bytes);
    const model = decodeOnnx(bytes, file);
    const dep = analyzeDependencies(model, await computeShapes(model, { x: [1, 3, 12, 12] }));
    const r = rng(seed * 31);
    const plan: Record<string, number> = {};
    for (const g of dep.groups) if (describeGroup(g, model).prunable) plan[String(g.id)] = Math.round(r() * 90) / 100;
    const out = path.join(dir, `rand${seed}-pruned.onnx`);
    const rep = await pruneModel(file, out, { plan, criterion: r() < 0.5 ? 'l2' : 'fpgm', inputShapes: ['x=1x3x12x12'] });
    assert.ok(rep.verification.passed, `seed ${seed}: ${rep.verification.maxRelError}`);
    pruned += rep.groups.length;
  }
  assert.ok(pruned > 40, `only ${pruned} groups pruned over all graphs`);
});
