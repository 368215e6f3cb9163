/**
 * Reverse-mode rules, one per ONNX operator (as the dependency rules are): given the gradient of a node's outputs,
 * emit the nodes that compute the gradients of its inputs, in plain ONNX operators so ONNX Runtime's inference
 * build runs them. An operator without a rule stops the gradient with a reason.
 */
import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { Emitter } from './emitter.js';
import { explicitPads } from '../shapes/pads.js';

export interface GradCtx {
  node: Node;
  e: Emitter;
  opset: number;
  /** Gradient of output i, when one flows back to it. */
  gout(i: number): string | undefined;
  /** Whether input i needs a gradient (it leads back to something asked for). */
  wants(i: number): boolean;
  give(i: number, grad: string): void;
  /** Static dims of a value, at the batch the graph was analysed with (2: so a broadcast batch axis shows). */
  dims(value: string): number[] | undefined;
  constant(value: string): Tensor | undefined;
  /** An extra output of the forward node (MaxPool's indices), added on request. */
  extraOutput(i: number): string;
}

export type GradRule = (c: GradCtx) => void;

// ---------------------------------------------------------------------------------------------------------------
// helpers

function reduceSum(c: GradCtx, x: string, axes: number[], keepdims: boolean): string {
  if (!axes.length) return x;
  if (c.opset >= 13) return c.e.op('ReduceSum', [x, c.e.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  return c.e.op('ReduceSum', [x], { axes, keepdims: keepdims ? 1 : 0 });
}

/** Sums a broadcast gradient back down to the shape of input i. */
function unbroadcast(c: GradCtx, g: string, out: number[] | undefined, i: number): string {
  const x = c.node.inputs[i];
  const xd = c.dims(x);
  if (!out || !xd) throw new Error(`no static shape for '${x}'`);
  const lead = out.length - xd.length;
  const axes: number[] = [];
  for (let a = 0; a < out.length; a++) if (a < lead || (xd[a - lead] === 1 && out[a] !== 1)) axes.push(a);
  const s = reduceSum(c, g, axes, true);
  return axes.length ? c.e.op('Reshape', [s, c.e.op('Shape', [x])]) : s;
}

function slice(c: GradCtx, x: string, axis: number, start: number, end: number): string {
  if (c.opset >= 10) return c.e.op('Slice', [x, c.e.ints([start]), c.e.ints([end]), c.e.ints([axis])]);
  return c.e.op('Slice', [x], { starts: [start], ends: [end], axes: [axis] });
}

/** A float 0/1 mask of a boolean. */
const mask = (c: GradCtx, b: string) => c.e.op('Cast', [b], { to: 1 });

const zerosLike = (c: GradCtx, x: string) => c.e.op('Mul', [x, c.e.scalar(0)]);

/** Gives input i the output gradient unchanged (shape-preserving ops), reshaped when it must be. */
const passThrough = (reshape: boolean): GradRule => (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  c.give(0, reshape ? c.e.op('Reshape', [g, c.e.op('Shape', [c.node.inputs[0]])]) : g);
};

const elementwise = (derivative: (c: GradCtx, x: string, y: string) => string): GradRule => (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  c.give(0, c.e.op('Mul', [g, derivative(c, c.node.inputs[0], c.node.outputs[0])]));
};

function attrFloat(n: Node, name: string, fallback: number): number {
  return n.float(name, fallback);
}

// ---------------------------------------------------------------------------------------------------------------
// rules

const add: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const out = c.dims(c.node.outputs[0]);
  for (const i of [0, 1]) if (c.wants(i)) c.give(i, unbroadcast(c, i === 1 && c.node.opType === 'Sub' ? c.e.op('Neg', [g]) : g, out, i));
};

const mul: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const [a, b] = c.node.inputs;
  const out = c.dims(c.node.outputs[0]);
  if (c.wants(0)) c.give(0, unbroadcast(c, c.e.op('Mul', [g, b]), out, 0));
  if (c.wants(1)) c.give(1, unbroadcast(c, c.e.op('Mul', [g, a]), out, 1));
};

const div: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const [a, b] = c.node.inputs;
  const out = c.dims(c.node.outputs[0]);
  if (c.wants(0)) c.give(0, unbroadcast(c, c.e.op('Div', [g, b]), out, 0));
  if (c.wants(1)) c.give(1, unbroadcast(c, c.e.op('Neg', [c.e.op('Div', [c.e.op('Mul', [g, c.node.outputs[0]]), b])]), out, 1));
};

const sum: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const out = c.dims(c.node.outputs[0]);
  c.node.inputs.forEach((_, i) => c.wants(i) && c.give(i, unbroadcast(c, g, out, i)));
};

const relu = elementwise((c, x) => mask(c, c.e.op('Greater', [x, c.e.scalar(0)])));
const leakyRelu = elementwise((c, x) => {
  const alpha = attrFloat(c.node, 'alpha', 0.01);
  return c.e.op('Where', [c.e.op('Greater', [x, c.e.scalar(0)]), c.e.scalar(1), c.e.scalar(alpha)]);
});
const sigmoid = elementwise((c, _x, y) => c.e.op('Mul', [y, c.e.op('Sub', [c.e.scalar(1), y])]));
const tanh = elementwise((c, _x, y) => c.e.op('Sub', [c.e.scalar(1), c.e.op('Mul', [y, y])]));
const hardSigmoid = elementwise((c, x) => {
  const alpha = attrFloat(c.node, 'alpha', 0.2);
  const beta = attrFloat(c.node, 'beta', 0.5);
  const z = c.e.op('Add', [c.e.op('Mul', [x, c.e.scalar(alpha)]), c.e.scalar(beta)]);
  const inside = c.e.op('And', [c.e.op('Greater', [z, c.e.scalar(0)]), c.e.op('Less', [z, c.e.scalar(1)])]);
  return c.e.op('Mul', [mask(c, inside), c.e.scalar(alpha)]);
});
/** HardSwish: x·hs(x), hs = clip(x/6 + 1/2, 0, 1): derivative hs(x) + x/6 inside (−3, 3). */
const hardSwish = elementwise((c, x) => {
  const z = c.e.op('Add', [c.e.op('Mul', [x, c.e.scalar(1 / 6)]), c.e.scalar(0.5)]);
  const hs = c.e.op('Clip', [z, c.e.scalar(0), c.e.scalar(1)]);
  const inside = mask(c, c.e.op('And', [c.e.op('Greater', [z, c.e.scalar(0)]), c.e.op('Less', [z, c.e.scalar(1)])]));
  return c.e.op('Add', [hs, c.e.op('Mul', [c.e.op('Mul', [x, c.e.scalar(1 / 6)]), inside])]);
});

const clip: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const x = c.node.inputs[0];
  const lo = c.node.inputs[1] ? c.constant(c.node.inputs[1])?.toNumbers()[0] : c.node.attrs.has('min') ? attrFloat(c.node, 'min', -Infinity) : undefined;
  const hi = c.node.inputs[2] ? c.constant(c.node.inputs[2])?.toNumbers()[0] : c.node.attrs.has('max') ? attrFloat(c.node, 'max', Infinity) : undefined;
  let m: string | undefined;
  if (lo !== undefined && Number.isFinite(lo)) m = c.e.op('Greater', [x, c.e.scalar(lo)]);
  if (hi !== undefined && Number.isFinite(hi)) {
    const below = c.e.op('Less', [x, c.e.scalar(hi)]);
    m = m ? c.e.op('And', [m, below]) : below;
  }
  c.give(0, m ? c.e.op('Mul', [g, mask(c, m)]) : g);
};

const softmax: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const y = c.node.outputs[0];
  const rank = c.dims(y)?.length ?? 2;
  const axis = ((c.node.int('axis', c.opset >= 13 ? -1 : 1) % rank) + rank) % rank;
  if (c.opset < 13 && axis !== rank - 1) throw new Error('Softmax over more than the last axis (opset < 13)');
  const dot = reduceSum(c, c.e.op('Mul', [g, y]), [axis], true);
  c.give(0, c.e.op('Mul', [y, c.e.op('Sub', [g, dot])]));
};

const batchNorm: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const [x, scale, bias, mean, variance] = c.node.inputs;
  const eps = attrFloat(c.node, 'epsilon', 1e-5);
  const rank = c.dims(x)?.length ?? 4;
  const chan = (v: string) => c.e.op('Reshape', [v, c.e.ints([-1, ...Array.from({ length: rank - 2 }, () => 1)])]);
  const inv = c.e.op('Div', [c.e.scalar(1), c.e.op('Sqrt', [c.e.op('Add', [variance, c.e.scalar(eps)])])]);
  if (c.wants(0)) c.give(0, c.e.op('Mul', [g, chan(c.e.op('Mul', [scale, inv]))]));
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  if (c.wants(1)) c.give(1, reduceSum(c, c.e.op('Mul', [g, c.e.op('Mul', [c.e.op('Sub', [x, chan(mean)]), chan(inv)])]), axes, false));
  if (c.wants(2)) c.give(2, reduceSum(c, g, axes, false));
};

const conv: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const n = c.node;
  const [x, w, b] = n.inputs;
  const wd = c.dims(w) ?? c.constant(w)?.dims;
  const xd = c.dims(x);
  const yd = c.dims(n.outputs[0]);
  if (!wd || !xd || !yd || xd.length !== 4) throw new Error('Conv gradients need static 2-D shapes');
  const group = n.int('group', 1);
  const strides = n.ints('strides') ?? [1, 1];
  const dil = n.ints('dilations') ?? [1, 1];
  const pads = explicitPads(n, xd.slice(2), wd.slice(2));
  const [kh, kw] = [wd[2], wd[3]];
  if (c.wants(0)) {
    const wt = c.constant(w);
    const flipPads = [kh, kw, kh, kw].map((k, i) => dil[i % 2] * (k - 1) - pads[i]);
    if (wt?.dtype === 'float32' && group === 1 && strides.every((v) => v === 1) && flipPads.every((p) => p >= 0)) {
      // at stride 1 the transposed convolution is a convolution with the kernel flipped and its channel axes swapped,
      // which ONNX Runtime runs about twice as fast as ConvTranspose
      c.give(0, c.e.op('Conv', [g, flippedKernel(c, wt)], { dilations: dil, pads: flipPads, kernel_shape: [kh, kw] }));
    } else {
      // the input gradient is the transposed convolution of the output gradient; output_padding restores rows the
      // forward stride skipped at the end
      const op = [0, 1].map((a) => xd[2 + a] + pads[a] + pads[a + 2] - ((yd[2 + a] - 1) * strides[a] + (a ? kw - 1 : kh - 1) * dil[a] + 1));
      c.give(0, c.e.op('ConvTranspose', [g, w], { strides, dilations: dil, pads, group, output_padding: op, kernel_shape: [kh, kw] }));
    }
  }
  if (b && c.wants(2)) c.give(2, reduceSum(c, g, [0, 2, 3], false));
  if (c.wants(1)) c.give(1, c.opset >= 10 ? weightGradByShifts(c, g, x, xd, yd, wd) : weightGradByConv(c, g, x, xd, yd, wd));
};

/**
 * dW[o,c,i,j] = Σ_n,y,x g[n,o,y,x]·x[n,c,y·s+i·d−p, …]: for each kernel offset (i, j) the strided view of the padded
 * input at that offset, and one GEMM over all positions (dense and grouped), or an element-wise product summed
 * (depthwise). As many multiply-adds as the forward convolution, in large GEMMs.
 */
function weightGradByShifts(c: GradCtx, g: string, x: string, xd: number[], yd: number[], wd: number[]): string {
  const n = c.node;
  const group = n.int('group', 1);
  const [sh, sw] = n.ints('strides') ?? [1, 1];
  const [dh, dw] = n.ints('dilations') ?? [1, 1];
  const [pt, pl, pb, pr] = explicitPads(n, xd.slice(2), wd.slice(2));
  const [kh, kw] = [wd[2], wd[3]];
  const [Ho, Wo] = [yd[2], yd[3]];
  const perIn = xd[1] / group;
  const perOut = yd[1] / group;
  const depthwise = perIn === 1 && perOut === 1 && group > 1;
  const padded = pt || pl || pb || pr
    ? c.e.op('Pad', [x, c.e.ints([0, 0, pt, pl, 0, 0, pb, pr])].slice(0, c.opset >= 11 ? 2 : 1), c.opset >= 11 ? {} : { pads: [0, 0, pt, pl, 0, 0, pb, pr] })
    : x;
  // dense and grouped: the input as [C, N, Hp, Wp] once, so each view flattens to [C, N·Ho·Wo]
  const src = depthwise ? padded : c.e.op('Transpose', [padded], { perm: [1, 0, 2, 3] });
  const gT = depthwise ? g : c.e.op('Reshape', [c.e.op('Transpose', [g], { perm: [1, 0, 2, 3] }), c.e.ints([yd[1], -1])]);
  const zero = c.e.scalar(0);
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const view = c.e.op('Slice', [src, c.e.ints([i * dh, j * dw]), c.e.ints([i * dh + sh * (Ho - 1) + 1, j * dw + sw * (Wo - 1) + 1]), c.e.ints([2, 3]), c.e.ints([sh, sw])]);
      if (depthwise) {
        taps.push(reduceSum(c, c.e.op('Mul', [g, view]), [0, 2, 3], false));
        continue;
      }
      const flat = c.e.op('Reshape', [view, c.e.ints([xd[1], -1])]);
      const parts: string[] = [];
      for (let k = 0; k < group; k++) {
        const a = group === 1 ? gT : slice(c, gT, 0, k * perOut, (k + 1) * perOut);
        const b = group === 1 ? flat : slice(c, flat, 0, k * perIn, (k + 1) * perIn);
        parts.push(c.e.op('Gemm', [a, b, zero], { transB: 1 }));
      }
      taps.push(parts.length === 1 ? parts[0] : c.e.op('Concat', parts, { axis: 0 }));
    }
  }
  // taps[i·kw+j] is [O, C/g] (or [C]): stacked last, then shaped as the weight
  const stacked = c.e.op('Concat', taps.map((t) => unsqueezeLast(c, t)), { axis: -1 });
  return c.e.op('Reshape', [stacked, c.e.ints(wd)]);
}

function unsqueezeLast(c: GradCtx, t: string): string {
  return c.e.op('Reshape', [t, c.e.op('Concat', [c.e.op('Shape', [t]), c.e.ints([1])], { axis: 0 })]);
}

/** dW by one convolution of the inputs (batch as channels) with the output gradients as kernels (opset < 10). */
function weightGradByConv(c: GradCtx, g: string, x: string, xd: number[], yd: number[], wd: number[]): string {
  const n = c.node;
  const group = n.int('group', 1);
  const strides = n.ints('strides') ?? [1, 1];
  const dil = n.ints('dilations') ?? [1, 1];
  const pads = explicitPads(n, xd.slice(2), wd.slice(2));
  const [kh, kw] = [wd[2], wd[3]];
  const perIn = xd[1] / group;
  const perOut = yd[1] / group;
  const parts: string[] = [];
  const xT = c.e.op('Transpose', [x], { perm: [1, 0, 2, 3] });
  const gT = c.e.op('Transpose', [g], { perm: [1, 0, 2, 3] });
  if (perIn === 1 && group > 1) {
    // depthwise (any multiplier): one grouped convolution over [1, C·N, H, W]
    const xs = c.e.op('Reshape', [xT, c.e.ints([1, -1, xd[2], xd[3]])]);
    const r = c.e.op('Conv', [xs, gT], { strides: dil, dilations: strides, pads, group });
    parts.push(c.e.op('Transpose', [sliceKernel(c, r, kh, kw)], { perm: [1, 0, 2, 3] }));
  } else {
    for (let k = 0; k < group; k++) {
      const xk = group === 1 ? xT : slice(c, xT, 0, k * perIn, (k + 1) * perIn);
      const gk = group === 1 ? gT : slice(c, gT, 0, k * perOut, (k + 1) * perOut);
      const r = c.e.op('Conv', [xk, gk], { strides: dil, dilations: strides, pads });
      parts.push(c.e.op('Transpose', [sliceKernel(c, r, kh, kw)], { perm: [1, 0, 2, 3] }));
    }
  }
  return parts.length === 1 ? parts[0] : c.e.op('Concat', parts, { axis: 0 });
}

/** W[o, c, i, j] → W'[c, o, kh−1−i, kw−1−j]: the kernel of the transposed convolution at stride 1. */
function flippedKernel(c: GradCtx, w: Tensor): string {
  const [O, C, kh, kw] = w.dims;
  const v = w.toFloat32();
  const out = new Float32Array(v.length);
  for (let o = 0; o < O; o++) {
    for (let ch = 0; ch < C; ch++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) out[((ch * O + o) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)] = v[((o * C + ch) * kh + i) * kw + j];
      }
    }
  }
  return c.e.constant('float32', [C, O, kh, kw], out);
}

/** The first kh×kw of a kernel-gradient map (the forward's last rows and columns may have gone unused). */
function sliceKernel(c: GradCtx, r: string, kh: number, kw: number): string {
  if (c.opset >= 10) return c.e.op('Slice', [r, c.e.ints([0, 0]), c.e.ints([kh, kw]), c.e.ints([2, 3])]);
  return c.e.op('Slice', [r], { starts: [0, 0], ends: [kh, kw], axes: [2, 3] });
}

const gemm: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const n = c.node;
  const [a, b, bias] = n.inputs;
  const alpha = attrFloat(n, 'alpha', 1);
  const beta = attrFloat(n, 'beta', 1);
  const tA = n.int('transA', 0);
  const tB = n.int('transB', 0);
  const ga = alpha === 1 ? g : c.e.op('Mul', [g, c.e.scalar(alpha)]);
  const t = (x: string) => c.e.op('Transpose', [x], { perm: [1, 0] });
  // Y = A'·B' with A' = Aᵀ when transA (B' likewise): dA' = g·B'ᵀ, dB' = A'ᵀ·g, transposed back where A or B were.
  // MatMul, not Gemm: Gemm's bias input is required before opset 11.
  const bT = tB ? b : t(b);
  const aT = tA ? a : t(a);
  if (c.wants(0)) {
    const dA = c.e.op('MatMul', [ga, bT]);
    c.give(0, tA ? t(dA) : dA);
  }
  if (c.wants(1)) {
    const dB = c.e.op('MatMul', [aT, ga]);
    c.give(1, tB ? t(dB) : dB);
  }
  if (bias && c.wants(2)) c.give(2, unbroadcast(c, beta === 1 ? g : c.e.op('Mul', [g, c.e.scalar(beta)]), c.dims(n.outputs[0]), 2));
};

const matmul: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const [a, b] = c.node.inputs;
  const ad = c.dims(a);
  const bd = c.dims(b);
  if (!ad || !bd || ad.length < 2 || bd.length < 2) throw new Error('MatMul gradients need operands of rank ≥ 2');
  const swap = (x: string, r: number) => c.e.op('Transpose', [x], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
  const out = c.dims(c.node.outputs[0]);
  const r = out?.length ?? 2;
  if (c.wants(0)) c.give(0, unbroadcastMat(c, c.e.op('MatMul', [g, swap(b, bd.length)]), r, ad, 0));
  if (c.wants(1)) c.give(1, unbroadcastMat(c, c.e.op('MatMul', [swap(a, ad.length), g]), r, bd, 1));
};

/** A batched MatMul gradient summed over the batch axes the operand was broadcast along. */
function unbroadcastMat(c: GradCtx, g: string, rank: number, xd: number[], i: number): string {
  const lead = rank - xd.length;
  const axes: number[] = [];
  const out = c.dims(c.node.outputs[0])!;
  for (let a = 0; a < rank - 2; a++) if (a < lead || (xd[a - lead] === 1 && out[a] !== 1)) axes.push(a);
  const s = reduceSum(c, g, axes, true);
  return axes.length ? c.e.op('Reshape', [s, c.e.op('Shape', [c.node.inputs[i]])]) : s;
}

const globalAveragePool: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const x = c.node.inputs[0];
  const xd = c.dims(x)!;
  const area = xd.slice(2).reduce((p, q) => p * q, 1);
  c.give(0, c.e.op('Expand', [c.e.op('Mul', [g, c.e.scalar(1 / area)]), c.e.op('Shape', [x])]));
};

const averagePool: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const n = c.node;
  const xd = c.dims(n.inputs[0])!;
  const yd = c.dims(n.outputs[0])!;
  const [kh, kw] = n.ints('kernel_shape')!;
  const strides = n.ints('strides') ?? [1, 1];
  const pads = explicitPads(n, xd.slice(2), [kh, kw]);
  if (pads.some((p) => p) && n.int('count_include_pad', 0) === 0) throw new Error('AveragePool with padding not counted');
  const ch = xd[1];
  const k = c.e.constant('float32', [ch, 1, kh, kw], new Float32Array(ch * kh * kw).fill(1 / (kh * kw)));
  const op = [0, 1].map((a) => xd[2 + a] + pads[a] + pads[a + 2] - ((yd[2 + a] - 1) * strides[a] + (a ? kw : kh)));
  c.give(0, c.e.op('ConvTranspose', [g, k], { strides, pads, group: ch, output_padding: op, kernel_shape: [kh, kw] }));
};

/** MaxPool: the gradient goes to each window's maximum (MaxUnpool with the forward's indices; overlapping windows keep one). */
const maxPool: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const idx = c.extraOutput(1);
  c.give(0, c.e.op('MaxUnpool', [g, idx, c.e.op('Shape', [c.node.inputs[0]])], {
    kernel_shape: c.node.ints('kernel_shape')!, strides: c.node.ints('strides') ?? [1, 1], pads: c.node.ints('pads') ?? [0, 0, 0, 0],
  }));
};

const concat: GradRule = (c) => {
  const g = c.gout(0);
  if (!g) return;
  const rank = c.dims(c.node.outputs[0])!.length;
  const axis = (c.node.int('axis', 0) + rank) % rank;
  let offset = 0;
  c.node.inputs.forEach((v, i) => {
    const size = c.dims(v)![axis];
    if (c.wants(i)) c.give(i, slice(c, g, axis, offset, offset + size));
    offset += size;
  });
};

const split: GradRule = (c) => {
  if (!c.wants(0)) return;
  const rank = c.dims(c.node.inputs[0])!.length;
  const axis = (c.node.int('axis', 0) + rank) % rank;
  const parts = c.node.outputs.map((o, i) => c.gout(i) ?? zerosLike(c, o));
  c.give(0, c.e.op('Concat', parts, { axis }));
};

const sliceRule: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const n = c.node;
  const xd = c.dims(n.inputs[0])!;
  const yd = c.dims(n.outputs[0])!;
  const rank = xd.length;
  const value = (i: number) => (n.inputs[i] ? c.constant(n.inputs[i])?.toNumbers() : undefined);
  const starts = n.ints('starts') ?? value(1);
  const axes = (n.ints('axes') ?? value(3) ?? starts?.map((_, i) => i))?.map((a) => (a + rank) % rank);
  const steps = value(4);
  if (!starts || !axes || steps?.some((s) => s !== 1)) throw new Error('Slice with computed bounds or steps');
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, k) => {
    const st = Math.min(Math.max(starts[k] < 0 ? starts[k] + xd[a] : starts[k], 0), xd[a]);
    pads[a] = st;
    pads[rank + a] = xd[a] - st - yd[a];
  });
  c.give(0, c.opset >= 11 ? c.e.op('Pad', [g, c.e.ints(pads)]) : c.e.op('Pad', [g], { pads }));
};

const transpose: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const rank = c.dims(c.node.inputs[0])!.length;
  const perm = c.node.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inv = new Array<number>(rank);
  perm.forEach((p, i) => (inv[p] = i));
  c.give(0, c.e.op('Transpose', [g], { perm: inv }));
};

const pad: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const n = c.node;
  if (n.str('mode', 'constant') !== 'constant') throw new Error('Pad other than constant');
  const pads = n.ints('pads') ?? (n.inputs[1] ? c.constant(n.inputs[1])?.toNumbers() : undefined);
  const xd = c.dims(n.inputs[0])!;
  if (!pads || n.inputs[3]) throw new Error('Pad with computed pads or axes');
  const rank = xd.length;
  let y = g;
  for (let a = 0; a < rank; a++) if (pads[a] || pads[rank + a]) y = slice(c, y, a, pads[a], pads[a] + xd[a]);
  c.give(0, y);
};

/** Resize by whole nearest-neighbour factors: each input element's gradient is the sum over its block. */
const resize: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const n = c.node;
  if (n.str('mode', 'nearest') !== 'nearest') throw new Error(`Resize mode ${n.str('mode', '')}`);
  const xd = c.dims(n.inputs[0])!;
  const yd = c.dims(n.outputs[0])!;
  const f = [yd[2] / xd[2], yd[3] / xd[3]];
  if (xd.length !== 4 || f.some((v) => !Number.isInteger(v)) || xd[1] !== yd[1]) throw new Error('Resize by non-integer factors');
  c.give(0, c.e.op('Mul', [c.e.op('AveragePool', [g], { kernel_shape: f, strides: f }), c.e.scalar(f[0] * f[1])]));
};

const reduceMean: GradRule = (c) => {
  const g = c.gout(0);
  if (!g || !c.wants(0)) return;
  const n = c.node;
  const x = n.inputs[0];
  const xd = c.dims(x)!;
  const axes = (n.ints('axes') ?? (n.inputs[1] ? c.constant(n.inputs[1])?.toNumbers() : undefined) ?? xd.map((_, i) => i)).map((a) => (a + xd.length) % xd.length);
  const count = axes.reduce((p, a) => p * xd[a], 1);
  let gg = c.e.op('Mul', [g, c.e.scalar(1 / count)]);
  if (n.int('keepdims', 1) === 0) gg = c.e.op('Reshape', [gg, c.e.ints(xd.map((d, i) => (axes.includes(i) ? 1 : i === 0 ? -1 : d)))]);
  c.give(0, c.e.op('Expand', [gg, c.e.op('Shape', [x])]));
};

export const GRAD_RULES: Record<string, GradRule> = {
  Add: add, Sub: add, Mul: mul, Div: div, Sum: sum,
  Relu: relu, LeakyRelu: leakyRelu, Sigmoid: sigmoid, Tanh: tanh, HardSigmoid: hardSigmoid, HardSwish: hardSwish, Clip: clip,
  Softmax: softmax, BatchNormalization: batchNorm, Conv: conv, Gemm: gemm, MatMul: matmul,
  GlobalAveragePool: globalAveragePool, AveragePool: averagePool, MaxPool: maxPool,
  Concat: concat, Split: split, Slice: sliceRule, Transpose: transpose, Pad: pad, Resize: resize, ReduceMean: reduceMean,
  Flatten: passThrough(true), Reshape: passThrough(true), Squeeze: passThrough(true), Unsqueeze: passThrough(true),
  Identity: passThrough(false), Dropout: passThrough(false),
};
