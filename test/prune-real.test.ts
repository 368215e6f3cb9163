import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect } from '../src/core/api.js';
import { pruneModel } from '../src/core/api.js';
import { torchvisionModel } from '../bench/models.js';
import { EXAMPLE, OCR_MODELS, ROOT, tmpdir } from './helpers/env.js';

const hasTorch = fs.existsSync('/usr/lib/python3/dist-packages/torchvision');

/** Real models: group counts that make sense, and pruning at 30 % and 70 % that verifies. */
const MODELS: { name: string; file: () => string; shape?: string; groups?: number; minPrunable: number }[] = [
  { name: 'example', file: () => EXAMPLE, groups: 7, minPrunable: 6 },
  { name: 'PP-OCRv4 det', file: () => OCR_MODELS[0], shape: 'x=1x3x320x320', minPrunable: 30 },
  { name: 'PP-OCRv4 rec', file: () => OCR_MODELS[1], shape: 'x=1x3x48x320', minPrunable: 20 },
  { name: 'PP-OCR cls', file: () => OCR_MODELS[2], shape: 'x=1x3x48x192', minPrunable: 20 },
  ...[
    // ResNet: stem + 2 per basic block (8) or … ; each residual stage is one group
    { net: 'resnet18', groups: 13, minPrunable: 12 },
    { net: 'resnet50', groups: 38, minPrunable: 37 },
    { net: 'mobilenet_v2', minPrunable: 25 },
    { net: 'mobilenet_v3_small', minPrunable: 27 },
    { net: 'squeezenet1_0', minPrunable: 17 },
    { net: 'densenet121', minPrunable: 58 },
    { net: 'googlenet', minPrunable: 30 },
    { net: 'shufflenet_v2_x1_0', minPrunable: 21 },
    { net: 'efficientnet_b0', minPrunable: 40 },
    // grouped 3x3 convs (32 groups): every group prunable, channels going equally from each conv-group
    { net: 'resnext50_32x4d', groups: 38, minPrunable: 37 },
    // opset 17: LayerNormalization over the channels (channels-last in blocks, channels-first between stages)
    { net: 'convnext_tiny', opset: 17, groups: 23, minPrunable: 22 },
  ].map((m) => ({
    name: m.net, file: () => torchvisionModel(ROOT, m.net, false, m.opset), groups: m.groups, minPrunable: m.minPrunable, torch: true,
  })),
];

describe('real models', () => {
  const dir = tmpdir();
  for (const m of MODELS) {
    const needsTorch = m.name.match(/net|google|convnext/) !== null;
    it(`${m.name}: groups, and pruning at 30 % and 70 % verifies`, async (t) => {
      if (needsTorch && !hasTorch) {
        assert.ok(!process.env.CI, 'torchvision is missing on CI');
        return t.skip('Debian python3-torchvision not installed');
      }
      const file = m.file();
      if (!fs.existsSync(file)) return t.skip(`${file} missing`);
      const shapes = m.shape ? [m.shape] : [];
      const info = await inspect(file, { inputShapes: shapes });
      const prunable = info.groups!.filter((g) => g.prunable);
      if (m.groups) assert.equal(info.groups!.length, m.groups);
      assert.ok(prunable.length >= m.minPrunable, `${prunable.length} prunable groups`);
      if (m.name.startsWith('resne')) {
        // each stage's residual path is one group holding all the convs that write into it
        const residual = prunable.filter((g) => g.sources.length >= 3);
        assert.equal(residual.length, 4);
      }
      for (const ratio of [0.3, 0.7]) {
        const out = path.join(dir, `${m.name}-${ratio}.onnx`);
        const r = await pruneModel(file, out, { ratio, inputShapes: shapes, overwrite: true });
        assert.ok(r.verification.passed);
        assert.ok(r.after.macs < r.before.macs * (1 - ratio / 2), `MACs ${r.before.macs} → ${r.after.macs}`);
        fs.unlinkSync(out);
      }
    });
  }
});
