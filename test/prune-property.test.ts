import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { analyzeDependencies, describeGroup } from '../src/core/deps/analyze.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { pruneModel } from '../src/core/api.js';
import { rng } from '../src/core/util/random.js';
import { computeShapes } from '../src/core/shapes/index.js';
import { tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

const BASIC = ['residual', 'concat', 'depthwise', 'split', 'plain', 'bn'];
/** Blocks whose channels go in equal numbers per group, and normalisations whose statistics span channels. */
const GROUPED = [...BASIC, 'grouped', 'groupnorm', 'layernorm'];

/**
 * A random conv network: residual adds, concats, depthwise convs, splits, pooling, BN, a Flatten → Gemm head; with
 * GROUPED kinds also grouped convs, GroupNormalization (opset 18: per-group scale) and channels-last LayerNorm.
 */
function randomNet(seed: number, kinds = BASIC): Uint8Array {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const b = new OnnxBuilder(kinds === BASIC ? 13 : 18, seed);
  // a group count g > 1 with at least two channels per group, if c has one
  const groupsOf = (c: number) => pick([2, 3, 4].filter((g) => c % g === 0 && c / g >= 2).concat([1]));
  let c = pick([4, 6, 8]);
  let x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 12, 12]), 3, c)]);
  const blocks = 2 + Math.floor(r() * 4);
  for (let i = 0; i < blocks; i++) {
    switch (pick(kinds)) {
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
      case 'grouped': {
        const g = groupsOf(c);
        const n = g * pick([2, 3]);
        x = b.op('Relu', [b.conv(x, c, n, 3, { group: g })]);
        c = n;
        break;
      }
      case 'groupnorm': {
        const g = groupsOf(c);
        if (g === 1) break;
        x = b.op('GroupNormalization', [x, b.init(`gn${i}.s`, [g]), b.init(`gn${i}.b`, [g])], { num_groups: g });
        break;
      }
      case 'layernorm': {
        const last = b.op('Transpose', [x], { perm: [0, 2, 3, 1] });
        const ln = b.op('LayerNormalization', [last, b.init(`ln${i}.s`, [c]), b.init(`ln${i}.b`, [c])], { axis: -1 });
        x = b.op('Transpose', [ln], { perm: [0, 3, 1, 2] });
        break;
      }
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
  return b.build(kinds === BASIC ? 8 : 9);
}

async function pruneRandomNets(kinds: string[], seeds: number[]): Promise<number> {
  const dir = tmpdir();
  let pruned = 0;
  for (const seed of seeds) {
    const bytes = randomNet(seed, kinds);
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
  return pruned;
}

const seeds = (from: number) => Array.from({ length: 25 }, (_, i) => from + i);

it('random conv graphs pruned at random per-group ratios always verify', async () => {
  const pruned = await pruneRandomNets(BASIC, seeds(1));
  assert.ok(pruned > 40, `only ${pruned} groups pruned over all graphs`);
});

it('random graphs with grouped convs, GroupNorm and LayerNorm pruned at random ratios always verify', async () => {
  const pruned = await pruneRandomNets(GROUPED, seeds(101));
  assert.ok(pruned > 40, `only ${pruned} groups pruned over all graphs`);
});
