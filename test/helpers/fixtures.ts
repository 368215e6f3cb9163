/** Generated models for every channel-coupling pattern the dependency analysis must handle. */
import { OnnxBuilder } from './onnx-builder.js';

export type Fixture = { name: string; build: () => Uint8Array; input: number[] };

const I = [1, 3, 16, 16];

function head(b: OnnxBuilder, y: string, c: number): void {
  const p = b.op('Flatten', [b.op('GlobalAveragePool', [y])]);
  b.output(b.gemm(p, c, 5));
}

export const FIXTURES: Fixture[] = [
  {
    name: 'residual',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      let x = b.op('Relu', [b.bn(b.conv(b.input('x', ['N', 3, 16, 16]), 3, 8), 8)]);
      for (let i = 0; i < 2; i++) {
        const y = b.bn(b.conv(b.op('Relu', [b.bn(b.conv(x, 8, 8), 8)]), 8, 8), 8);
        x = b.op('Relu', [b.op('Add', [x, y])]);
      }
      head(b, x, 8);
      return b.build();
    },
  },
  {
    name: 'inception-concat',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 16, 16]), 3, 8)]);
      const b1 = b.op('Relu', [b.conv(x, 8, 4, 1)]);
      const b2 = b.op('Relu', [b.conv(b.op('Relu', [b.conv(x, 8, 6, 1)]), 6, 6)]);
      const b3 = b.op('Relu', [b.conv(b.op('MaxPool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }), 8, 5, 1)]);
      const cat = b.op('Concat', [b1, b2, b3], { axis: 1 });
      head(b, b.op('Relu', [b.conv(cat, 15, 12)]), 12);
      return b.build();
    },
  },
  {
    name: 'dense-concat',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      let x = b.conv(b.input('x', ['N', 3, 16, 16]), 3, 6);
      let c = 6;
      for (let i = 0; i < 3; i++) {
        const y = b.conv(b.op('Relu', [b.bn(x, c)]), c, 4);
        x = b.op('Concat', [x, y], { axis: 1 });
        c += 4;
      }
      head(b, b.op('Relu', [x]), c);
      return b.build();
    },
  },
  {
    name: 'depthwise',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      let x = b.op('Relu', [b.bn(b.conv(b.input('x', ['N', 3, 16, 16]), 3, 8), 8)]);
      x = b.op('Relu', [b.bn(b.conv(x, 8, 8, 3, { group: 8 }), 8)]);
      x = b.op('Relu', [b.conv(x, 8, 16, 3, { group: 8 })]); // depthwise with multiplier 2
      x = b.op('Relu', [b.conv(x, 16, 12, 1)]);
      head(b, x, 12);
      return b.build();
    },
  },
  {
    name: 'squeeze-excite',
    input: I,
    build: () => {
      const b = new OnnxBuilder(14);
      const x = b.op('HardSwish', [b.conv(b.input('x', ['N', 3, 16, 16]), 3, 16)]);
      const s = b.op('Relu', [b.conv(b.op('GlobalAveragePool', [x]), 16, 4, 1)]);
      const e = b.op('HardSigmoid', [b.conv(s, 4, 16, 1)], { alpha: { float: 0.2 }, beta: { float: 0.5 } });
      const y = b.op('Mul', [x, e]);
      head(b, b.op('Relu', [b.conv(y, 16, 8, 1)]), 8);
      return b.build();
    },
  },
  {
    name: 'flatten-gemm',
    input: [1, 3, 8, 8],
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('MaxPool', [b.op('Relu', [b.conv(b.input('x', ['N', 3, 8, 8]), 3, 6)])], { kernel_shape: [2, 2], strides: [2, 2] });
      const f = b.op('Relu', [b.gemm(b.op('Flatten', [x]), 6 * 16, 10)]);
      const shape = b.init('shape', [2], [0, -1], 'int64');
      const r = b.op('Reshape', [b.op('Relu', [b.conv(x, 6, 4)]), shape]);
      const g2 = b.gemm(r, 4 * 16, 10);
      const w = b.init('mm', [10, 5]);
      b.output(b.op('MatMul', [b.op('Add', [f, g2]), w]));
      return b.build();
    },
  },
  {
    name: 'reshape-literal',
    input: [1, 3, 8, 8],
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', [1, 3, 8, 8]), 3, 6)]);
      const shape = b.init('shape', [2], [1, 6 * 64], 'int64');
      b.output(b.gemm(b.op('Reshape', [x, shape]), 6 * 64, 7));
      return b.build();
    },
  },
  {
    name: 'split-concat',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 16, 16]), 3, 12)]);
      const sizes = b.init('split', [2], [4, 8], 'int64');
      const [p, q] = b.node('Split', [x, sizes], { axis: 1 }, 2);
      const q2 = b.op('Relu', [b.conv(q, 8, 8)]);
      const y = b.op('Concat', [b.op('Relu', [p]), q2], { axis: 1 });
      head(b, b.op('Relu', [b.conv(y, 12, 8)]), 8);
      return b.build();
    },
  },
  {
    name: 'channel-shuffle',
    input: I,
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', [1, 3, 16, 16]), 3, 8)]);
      const y = b.op('Relu', [b.conv(x, 8, 8)]);
      const cat = b.op('Concat', [x, y], { axis: 1 });
      const s1 = b.init('s1', [5], [1, 2, 8, 16, 16], 'int64');
      const s2 = b.init('s2', [4], [1, -1, 16, 16], 'int64');
      const t = b.op('Transpose', [b.op('Reshape', [cat, s1])], { perm: [0, 2, 1, 3, 4] });
      const sh = b.op('Reshape', [t, s2]);
      const starts = b.init('st', [1], [0], 'int64');
      const mid = b.init('mid', [1], [8], 'int64');
      const end = b.init('end', [1], [16], 'int64');
      const axes = b.init('ax', [1], [1], 'int64');
      const left = b.op('Slice', [sh, starts, mid, axes]);
      const right = b.op('Relu', [b.conv(b.op('Slice', [sh, mid, end, axes]), 8, 8)]);
      head(b, b.op('Concat', [left, right], { axis: 1 }), 16);
      return b.build();
    },
  },
  {
    name: 'conv-transpose',
    input: [1, 3, 8, 8],
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 8, 8]), 3, 8, 3, { stride: 2 })]);
      const w = b.init('up.w', [8, 6, 2, 2]);
      const bias = b.init('up.b', [6]);
      const up = b.op('Relu', [b.op('ConvTranspose', [x, w, bias], { strides: [2, 2] })]);
      const r = b.op('Resize', [up, '', b.init('scales', [4], [1, 1, 2, 2])], { mode: 'nearest' });
      b.output(b.conv(r, 6, 2, 1));
      return b.build();
    },
  },
  {
    name: 'mlp',
    input: [2, 12],
    build: () => {
      const b = new OnnxBuilder();
      let x = b.input('x', ['N', 12]);
      x = b.op('Relu', [b.gemm(x, 12, 16)]);
      const w = b.init('w1', [16, 20]);
      x = b.op('Sigmoid', [b.op('Add', [b.op('MatMul', [x, w]), b.init('b1', [20])])]);
      const w2 = b.init('w2', [20, 16]);
      x = b.op('Gemm', [x, w2, b.init('b2', [16])]);
      b.output(b.gemm(b.op('Tanh', [x]), 16, 3));
      return b.build();
    },
  },
  {
    name: 'grouped-conv',
    input: I,
    build: () => {
      // ResNeXt bottlenecks: 1x1 → grouped 3x3 → 1x1 with a residual; a grouped conv that widens (4 → 6 per group)
      const b = new OnnxBuilder();
      let x = b.op('Relu', [b.bn(b.conv(b.input('x', ['N', 3, 16, 16]), 3, 16), 16)]);
      for (let i = 0; i < 2; i++) {
        const a = b.op('Relu', [b.bn(b.conv(x, 16, 16, 1), 16)]);
        const g = b.op('Relu', [b.bn(b.conv(a, 16, 16, 3, { group: 4 }), 16)]);
        x = b.op('Relu', [b.op('Add', [x, b.bn(b.conv(g, 16, 16, 1), 16)])]);
      }
      const w = b.op('Relu', [b.conv(x, 16, 24, 3, { group: 4 })]);
      head(b, b.op('Relu', [b.conv(w, 24, 12, 3, { group: 2 })]), 12);
      return b.build();
    },
  },
  {
    name: 'grouped-conv-transpose',
    input: [1, 3, 8, 8],
    build: () => {
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 8, 8]), 3, 8, 3, { stride: 2 })]);
      const up = b.op('ConvTranspose', [x, b.init('up.w', [8, 3, 2, 2]), b.init('up.b', [6])], { strides: [2, 2], group: 2 });
      b.output(b.conv(b.op('Relu', [up]), 6, 2, 1));
      return b.build();
    },
  },
  ...[18, 21].map((opset) => ({
    name: `group-norm-${opset}`,
    input: I,
    build: () => {
      // scale and bias per group (opset 18) or per channel (21); statistics span each group's channels
      const b = new OnnxBuilder(opset);
      const gn = (x: string, c: number, groups: number) => {
        const n = opset === 18 ? groups : c;
        const scale = b.init(`gn${b.nodes.length}.s`, [n], Float32Array.from({ length: n }, (_, i) => 1 + 0.1 * ((i * 7) % 5)));
        return b.op('GroupNormalization', [x, scale, b.init(`gn${b.nodes.length}.b`, [n])], { num_groups: groups, epsilon: { float: 1e-5 } });
      };
      let x = b.op('Relu', [gn(b.conv(b.input('x', ['N', 3, 16, 16]), 3, 16), 16, 4)]);
      x = b.op('Relu', [b.op('Add', [x, gn(b.conv(x, 16, 16), 16, 2)])]);
      head(b, b.op('Relu', [gn(b.conv(x, 16, 12), 12, 3)]), 12);
      return b.build(10);
    },
  })),
  {
    name: 'convnext-ln',
    input: I,
    build: () => {
      // ConvNeXt: patchify, channels-first LN (Transpose → LN → Transpose), then blocks of depthwise 7x7 →
      // channels-last LN → MatMul 4x → Relu → MatMul back → layer scale → residual
      const b = new OnnxBuilder(17);
      const ln = (x: string, c: number) =>
        b.op('LayerNormalization', [x, b.init(`ln${b.nodes.length}.s`, [c], Float32Array.from({ length: c }, (_, i) => 1 + 0.05 * (i % 3))), b.init(`ln${b.nodes.length}.b`, [c])], { axis: -1, epsilon: { float: 1e-6 } });
      const last = (x: string) => b.op('Transpose', [x], { perm: [0, 2, 3, 1] });
      const first = (x: string) => b.op('Transpose', [x], { perm: [0, 3, 1, 2] });
      let x = first(ln(last(b.conv(b.input('x', ['N', 3, 16, 16]), 3, 16, 4, { stride: 4, pad: 0 })), 16));
      for (let i = 0; i < 2; i++) {
        const d = ln(last(b.conv(x, 16, 16, 7, { group: 16 })), 16);
        const h = b.op('Relu', [b.op('Add', [b.op('MatMul', [d, b.init(`pw${i}.w1`, [16, 64])]), b.init(`pw${i}.b1`, [64])])]);
        const y = b.op('Add', [b.op('MatMul', [h, b.init(`pw${i}.w2`, [64, 16])]), b.init(`pw${i}.b2`, [16])]);
        x = b.op('Add', [x, first(b.op('Mul', [y, b.init(`gamma${i}`, [16])]))]);
      }
      // LN over [C, H, W] (axis 1): the channels are among the normalised axes, scale [C, 1, 1]
      const all = b.op('LayerNormalization', [x, b.init('lnall.s', [16, 1, 1]), b.init('lnall.b', [16, 1, 1])], { axis: 1 });
      head(b, all, 16);
      return b.build(9);
    },
  },
  {
    name: 'gemm-trans',
    input: [2, 12],
    build: () => {
      // transA, transB both ways, and constant weights on the left of Gemm and MatMul
      const b = new OnnxBuilder();
      const h = b.op('Relu', [b.op('Gemm', [b.input('x', ['N', 12]), b.init('w1', [12, 16]), b.init('b1', [16])])]);
      const t = b.op('Transpose', [h], { perm: [1, 0] }); // [16, N]
      const h2 = b.op('Relu', [b.op('Gemm', [t, b.init('w2', [16, 10]), b.init('b2', [1, 10])], { transA: 1 })]); // [N, 10]
      const h3 = b.op('Relu', [b.op('Gemm', [h2, b.init('w3', [8, 10])], { transB: 1 })]); // [N, 8]
      const left = b.op('Relu', [b.op('Gemm', [b.init('w4', [6, 8]), h3, b.init('b4', [6, 1])], { transB: 1 })]); // [6, N]
      const mm = b.op('Relu', [b.op('MatMul', [b.init('w5', [5, 6]), left])]); // [5, N]
      const back = b.op('Gemm', [mm, b.init('w6', [5, 3])], { transA: 1 }); // [N, 3]
      b.output(back);
      return b.build();
    },
  },
  {
    name: 'attention',
    input: [1, 6, 16],
    build: () => {
      // single-head self-attention: Q·Kᵀ contracts Q's and K's channels together; V's channels pass to the output
      const b = new OnnxBuilder();
      const x = b.input('x', [1, 6, 16]);
      const proj = (n: number, name: string) => b.op('Add', [b.op('MatMul', [x, b.init(`${name}.w`, [16, n])]), b.init(`${name}.b`, [n])]);
      const q = proj(8, 'q');
      const k = b.op('Transpose', [proj(8, 'k')], { perm: [0, 2, 1] });
      const s = b.op('Softmax', [b.op('Div', [b.op('MatMul', [q, k]), b.init('scale', [], [Math.sqrt(8)])])], { axis: -1 });
      const o = b.op('MatMul', [s, proj(12, 'v')]);
      b.output(b.op('MatMul', [b.op('Relu', [o]), b.init('o.w', [12, 16])]));
      return b.build();
    },
  },
  {
    name: 'grouped-shuffle',
    input: I,
    build: () => {
      // ShuffleNet v1 unit: grouped 1x1 → channel shuffle → depthwise 3x3 → grouped 1x1, residual
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', [1, 3, 16, 16]), 3, 8)]);
      const g1 = b.op('Relu', [b.bn(b.conv(x, 8, 8, 1, { group: 2 }), 8)]);
      const t = b.op('Transpose', [b.op('Reshape', [g1, b.init('s1', [5], [1, 2, 4, 16, 16], 'int64')])], { perm: [0, 2, 1, 3, 4] });
      const sh = b.op('Reshape', [t, b.init('s2', [4], [1, -1, 16, 16], 'int64')]);
      const dw = b.bn(b.conv(sh, 8, 8, 3, { group: 8 }), 8);
      const y = b.op('Relu', [b.op('Add', [x, b.bn(b.conv(dw, 8, 8, 1, { group: 2 }), 8)])]);
      head(b, y, 8);
      return b.build();
    },
  },
  {
    name: 'grouped-concat',
    input: I,
    build: () => {
      // a grouped conv's output concatenated with another branch, whose channels are free of the conv-groups
      const b = new OnnxBuilder();
      const x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 16, 16]), 3, 8)]);
      const g = b.op('Relu', [b.conv(x, 8, 8, 3, { group: 4 })]);
      const cat = b.op('Concat', [g, b.op('Relu', [b.conv(x, 8, 4, 1)])], { axis: 1 });
      head(b, b.op('Relu', [b.conv(cat, 12, 6, 3)]), 6);
      return b.build();
    },
  },
];
