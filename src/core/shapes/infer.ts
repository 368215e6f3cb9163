import { dtypeFromOnnx, isFloat, isInteger, type DType } from '../ir/dtype.js';
import type { Model, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { TensorType } from './types.js';

/**
 * Static shape inference for one concrete input shape, with constant folding of small tensors so that the
 * Shape → Gather → Concat → Reshape chains of PyTorch exports resolve. It covers the common operators; anything
 * else (data-dependent shapes, unknown ops) leaves values unknown and the caller probes with ONNX Runtime.
 */

/** Small tensors whose values we track (shape arithmetic, scales, axes). */
const MAX_TRACKED = 4096;

interface Ctx {
  node: Node;
  t: (TensorType | undefined)[];
  v: (number[] | undefined)[];
  opset: number;
}
type Out = { t: (TensorType | undefined)[]; v?: (number[] | undefined)[] };
type Rule = (c: Ctx) => Out | undefined;

export interface InferResult {
  types: Map<string, TensorType>;
  values: Map<string, number[]>;
  unknown: string[];
}

export function inferShapes(model: Model, inputs: Record<string, number[]>): InferResult {
  const g = model.graph;
  const types = new Map<string, TensorType>();
  const values = new Map<string, number[]>();
  const setConst = (name: string, t: Tensor) => {
    types.set(name, { dtype: t.dtype, dims: [...t.dims] });
    if (t.size <= MAX_TRACKED && (isInteger(t.dtype) || isFloat(t.dtype) || t.dtype === 'bool')) values.set(name, t.toNumbers());
  };
  for (const [name, t] of g.initializers) setConst(name, t);
  for (const i of g.inputs) {
    const dims = inputs[i.name];
    if (dims) types.set(i.name, { dtype: i.dtype, dims });
  }
  const opset = model.opsetVersion('') ?? 13;
  const unknown: string[] = [];
  for (const node of g.nodes) {
    const ctx: Ctx = {
      node,
      t: node.inputs.map((n) => (n ? types.get(n) : undefined)),
      v: node.inputs.map((n) => (n ? values.get(n) : undefined)),
      opset,
    };
    let out: Out | undefined;
    try {
      const rule = node.domain === '' || node.domain === 'ai.onnx' ? RULES[node.opType] : undefined;
      // A rule sees only known input types; missing required ones make it return undefined.
      out = rule ? rule(ctx) : undefined;
    } catch {
      out = undefined;
    }
    node.outputs.forEach((o, i) => {
      if (!o) return;
      const t = out?.t[i];
      if (t && t.dims.every((d) => Number.isInteger(d) && d >= 0)) {
        types.set(o, t);
        const v = out?.v?.[i];
        if (v && v.length === size(t.dims) && v.length <= MAX_TRACKED) values.set(o, v);
      } else unknown.push(o);
    });
  }
  return { types, values, unknown };
}

// ---------- helpers ----------
const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);
const same = (c: Ctx): Out | undefined => (c.t[0] ? { t: [c.t[0]] } : undefined);

function broadcast(shapes: number[][]): number[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - r + i] ?? 1;
      if (x === 1) continue;
      if (d !== 1 && d !== x) throw new Error('broadcast mismatch');
      d = x;
    }
    out.push(d);
  }
  return out;
}

/** Element-wise map over broadcast values (only for tracked small tensors). */
function mapValues(shapes: number[][], vals: number[][], out: number[], f: (...a: number[]) => number): number[] {
  const n = size(out);
  const res = new Array<number>(n);
  const idx = new Array<number>(out.length);
  for (let k = 0; k < n; k++) {
    let rem = k;
    for (let d = out.length - 1; d >= 0; d--) {
      idx[d] = rem % out[d];
      rem = Math.floor(rem / out[d]);
    }
    const args = shapes.map((s, j) => {
      let off = 0;
      for (let d = 0; d < s.length; d++) {
        const o = idx[out.length - s.length + d];
        off = off * s[d] + (s[d] === 1 ? 0 : o);
      }
      return vals[j][off];
    });
    res[k] = f(...args);
  }
  return res;
}

function elementwise(f?: (...a: number[]) => number, outType?: DType): Rule {
  return (c) => {
    const ins = c.t.filter((t, i) => c.node.inputs[i]);
    if (ins.length === 0 || ins.some((t) => !t)) return undefined;
    const shapes = ins.map((t) => t!.dims);
    const dims = broadcast(shapes);
    const dtype = outType ?? (c.node.opType === 'Where' ? c.t[1]!.dtype : ins[0]!.dtype);
    let v: number[] | undefined;
    if (f && c.v.every((x, i) => x || !c.node.inputs[i]) && size(dims) <= MAX_TRACKED) {
      const fi = isInteger(dtype) && c.node.opType === 'Div' ? (a: number, b: number) => Math.trunc(a / b) : f;
      v = mapValues(shapes, c.v as number[][], dims, fi);
    }
    return { t: [{ dtype, dims }], v: [v] };
  };
}

function spatialOut(
  inDims: number[], kernel: number[], strides: number[], pads: number[], dilations: number[], autoPad: string, ceil: boolean,
): number[] {
  const n = kernel.length;
  return inDims.map((x, i) => {
    const s = strides[i] ?? 1;
    const d = dilations[i] ?? 1;
    const k = (kernel[i] - 1) * d + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(x / s);
    if (autoPad === 'VALID') return Math.floor((x - k) / s) + 1;
    const p = (pads[i] ?? 0) + (pads[i + n] ?? 0);
    const f = (x + p - k) / s;
    let o = (ceil ? Math.ceil(f) : Math.floor(f)) + 1;
    // ceil mode must not start a window entirely in the padding
    if (ceil && (o - 1) * s >= x + (pads[i] ?? 0)) o--;
    return o;
  });
}

const convLike: Rule = (c) => {
  const x = c.t[0];
  const w = c.t[1];
  if (!x || !w) return undefined;
  const sp = x.dims.slice(2);
  const kernel = c.node.ints('kernel_shape') ?? w.dims.slice(2);
  const o = spatialOut(sp, kernel, c.node.ints('strides') ?? [], c.node.ints('pads') ?? [], c.node.ints('dilations') ?? [],
    c.node.str('auto_pad', 'NOTSET'), false);
  return { t: [{ dtype: x.dtype, dims: [x.dims[0], w.dims[0], ...o] }] };
};

const convTranspose: Rule = (c) => {
  const x = c.t[0];
  const w = c.t[1];
  if (!x || !w) return undefined;
  const group = c.node.int('group', 1);
  const sp = x.dims.slice(2);
  const n = sp.length;
  const kernel = c.node.ints('kernel_shape') ?? w.dims.slice(2);
  const strides = c.node.ints('strides') ?? sp.map(() => 1);
  const dil = c.node.ints('dilations') ?? sp.map(() => 1);
  const outPad = c.node.ints('output_padding') ?? sp.map(() => 0);
  const outShape = c.node.ints('output_shape');
  const pads = c.node.ints('pads') ?? new Array(2 * n).fill(0);
  const autoPad = c.node.str('auto_pad', 'NOTSET');
  const o = outShape
    ? outShape.slice(-n)
    : sp.map((xi, i) => {
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return xi * strides[i];
        return strides[i] * (xi - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[i + n];
      });
  return { t: [{ dtype: x.dtype, dims: [x.dims[0], w.dims[1] * group, ...o] }] };
};

const pool: Rule = (c) => {
  const x = c.t[0];
  if (!x) return undefined;
  const kernel = c.node.ints('kernel_shape');
  if (!kernel) return undefined;
  const o = spatialOut(x.dims.slice(2), kernel, c.node.ints('strides') ?? [], c.node.ints('pads') ?? [],
    c.node.ints('dilations') ?? [], c.node.str('auto_pad', 'NOTSET'), c.node.int('ceil_mode', 0) === 1);
  const dims = [x.dims[0], x.dims[1], ...o];
  return { t: [{ dtype: x.dtype, dims }, { dtype: 'int64', dims }] };
};

const globalPool: Rule = (c) => {
  const x = c.t[0];
  return x ? { t: [{ dtype: x.dtype, dims: [x.dims[0], x.dims[1], ...x.dims.slice(2).map(() => 1)] }] } : undefined;
};

/** Axes from the attribute (older opsets) or the given input (newer ones). */
function axesOf(c: Ctx, inputIndex: number): number[] | undefined | null {
  const a = c.node.ints('axes');
  if (a) return a;
  if (c.node.inputs[inputIndex]) return c.v[inputIndex] ?? null; // null: present but unknown
  return undefined;
}

const reduce: Rule = (c) => {
  const x = c.t[0];
  if (!x) return undefined;
  const axesInput = c.node.opType === 'ReduceSum' ? (c.opset >= 13 ? 1 : -1) : c.opset >= 18 ? 1 : -1;
  const axes = axesInput > 0 ? axesOf(c, axesInput) : c.node.ints('axes');
  if (axes === null) return undefined;
  const keep = c.node.int('keepdims', 1) === 1;
  const r = x.dims.length;
  const all = axes === undefined || axes.length === 0;
  if (all && c.node.int('noop_with_empty_axes', 0) === 1) return { t: [x] };
  const set = new Set((all ? x.dims.map((_, i) => i) : axes!).map((a) => normAxis(a, r)));
  const dims: number[] = [];
  x.dims.forEach((d, i) => {
    if (!set.has(i)) dims.push(d);
    else if (keep) dims.push(1);
  });
  return { t: [{ dtype: x.dtype, dims }] };
};

function fromAttrTensor(node: Node): { t: TensorType; v?: number[] } | undefined {
  const a = node.attrs;
  const value = a.get('value');
  if (value?.type === 'tensor') {
    const t = value.value;
    const v = t.size <= MAX_TRACKED && t.dtype !== 'string' && t.dtype !== 'unknown' ? t.toNumbers() : undefined;
    return { t: { dtype: t.dtype, dims: [...t.dims] }, v };
  }
  const f = a.get('value_float');
  if (f?.type === 'float') return { t: { dtype: 'float32', dims: [] }, v: [f.value] };
  const fs = a.get('value_floats');
  if (fs?.type === 'floats') return { t: { dtype: 'float32', dims: [fs.value.length] }, v: fs.value };
  const i = a.get('value_int');
  if (i?.type === 'int') return { t: { dtype: 'int64', dims: [] }, v: [i.value] };
  const is = a.get('value_ints');
  if (is?.type === 'ints') return { t: { dtype: 'int64', dims: [is.value.length] }, v: is.value };
  return undefined;
}

/** Slice of one axis with ONNX's clamping rules. */
function sliceRange(dim: number, start: number, end: number, step: number): [number, number, number] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  const n = Math.max(0, Math.ceil((e - s) / step));
  return [s, step, n];
}

function stridesOf(dims: number[]): number[] {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

const BIG = 2 ** 62;

const RULES: Record<string, Rule> = {
  Identity: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]] } : undefined),
  Cast: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const dtype = dtypeFromOnnx(c.node.int('to', 1));
    const v = c.v[0] && isInteger(dtype) ? c.v[0].map(Math.trunc) : c.v[0];
    return { t: [{ dtype, dims: x.dims }], v: [v] };
  },
  CastLike: (c) => (c.t[0] && c.t[1] ? { t: [{ dtype: c.t[1].dtype, dims: c.t[0].dims }], v: [c.v[0]] } : undefined),
  Constant: (c) => {
    const r = fromAttrTensor(c.node);
    return r ? { t: [r.t], v: [r.v] } : undefined;
  },
  ConstantOfShape: (c) => {
    const dims = c.v[0];
    if (!dims) return undefined;
    const val = c.node.attrs.get('value');
    const t = val?.type === 'tensor' ? val.value : undefined;
    const dtype = t?.dtype ?? 'float32';
    const fill = t ? t.toNumbers()[0] : 0;
    const n = size(dims);
    return { t: [{ dtype, dims }], v: [n <= MAX_TRACKED ? new Array(n).fill(fill) : undefined] };
  },
  Shape: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const r = x.dims.length;
    let start = normAxis(c.node.int('start', 0), r);
    let end = c.node.attrs.has('end') ? normAxis(c.node.int('end', r), r) : r;
    start = Math.min(Math.max(start, 0), r);
    end = Math.min(Math.max(end, 0), r);
    const v = x.dims.slice(start, Math.max(start, end));
    return { t: [{ dtype: 'int64', dims: [v.length] }], v: [v] };
  },
  Size: (c) => (c.t[0] ? { t: [{ dtype: 'int64', dims: [] }], v: [[size(c.t[0].dims)]] } : undefined),
  Range: (c) => {
    const [s, l, d] = [c.v[0]?.[0], c.v[1]?.[0], c.v[2]?.[0]];
    if (s === undefined || l === undefined || d === undefined || !c.t[0]) return undefined;
    const n = Math.max(Math.ceil((l - s) / d), 0);
    return { t: [{ dtype: c.t[0].dtype, dims: [n] }], v: [n <= MAX_TRACKED ? Array.from({ length: n }, (_, i) => s + i * d) : undefined] };
  },
  Conv: convLike,
  ConvInteger: convLike,
  QLinearConv: (c) => {
    const x = c.t[0];
    const w = c.t[3];
    if (!x || !w) return undefined;
    const r = convLike({ ...c, t: [x, w] });
    return r ? { t: [{ dtype: c.t[7]?.dtype ?? x.dtype, dims: r.t[0]!.dims }] } : undefined;
  },
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  BatchNormalization: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const ch: TensorType = { dtype: x.dtype, dims: [x.dims[1]] };
    return { t: [x, ch, ch, ch, ch] };
  },
  LayerNormalization: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const axis = normAxis(c.node.int('axis', -1), x.dims.length);
    const stat: TensorType = { dtype: 'float32', dims: x.dims.map((d, i) => (i < axis ? d : 1)) };
    return { t: [x, stat, stat] };
  },
  Dropout: (c) => (c.t[0] ? { t: [c.t[0], { dtype: 'bool', dims: c.t[0].dims }], v: [c.v[0]] } : undefined),
  Gemm: (c) => {
    const a = c.t[0];
    const b = c.t[1];
    if (!a || !b) return undefined;
    const m = c.node.int('transA', 0) ? a.dims[1] : a.dims[0];
    const n = c.node.int('transB', 0) ? b.dims[0] : b.dims[1];
    return { t: [{ dtype: a.dtype, dims: [m, n] }] };
  },
  MatMul: (c) => {
    const a = c.t[0];
    const b = c.t[1];
    if (!a || !b) return undefined;
    const ad = a.dims.length === 1 ? [1, a.dims[0]] : a.dims;
    const bd = b.dims.length === 1 ? [b.dims[0], 1] : b.dims;
    const batch = broadcast([ad.slice(0, -2), bd.slice(0, -2)]);
    const dims = [...batch];
    if (a.dims.length > 1) dims.push(ad[ad.length - 2]);
    if (b.dims.length > 1) dims.push(bd[bd.length - 1]);
    return { t: [{ dtype: a.dtype, dims }] };
  },
  Flatten: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const axis = normAxis(c.node.int('axis', 1), x.dims.length);
    return { t: [{ dtype: x.dtype, dims: [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))] }], v: [c.v[0]] };
  },
  Reshape: (c) => {
    const x = c.t[0];
    const shapeVals = c.opset >= 5 ? c.v[1] : c.node.ints('shape');
    if (!x || !shapeVals) return undefined;
    const allowZero = c.node.int('allowzero', 0) === 1;
    const dims = shapeVals.map((d, i) => (d === 0 && !allowZero ? x.dims[i] : d));
    const neg = dims.indexOf(-1);
    if (neg >= 0) {
      const rest = size(dims.filter((_, i) => i !== neg));
      dims[neg] = rest === 0 ? 0 : size(x.dims) / rest;
    }
    if (size(dims) !== size(x.dims)) return undefined;
    return { t: [{ dtype: x.dtype, dims }], v: [c.v[0]] };
  },
  Transpose: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const r = x.dims.length;
    const perm = c.node.ints('perm') ?? x.dims.map((_, i) => r - 1 - i);
    const dims = perm.map((p) => x.dims[p]);
    let v: number[] | undefined;
    if (c.v[0]) {
      const src = c.v[0];
      const st = stridesOf(x.dims);
      const ost = stridesOf(dims);
      v = new Array(src.length);
      for (let k = 0; k < src.length; k++) {
        let rem = k;
        let off = 0;
        for (let d = 0; d < r; d++) {
          const i = Math.floor(rem / ost[d]);
          rem %= ost[d];
          off += i * st[perm[d]];
        }
        v[k] = src[off];
      }
    }
    return { t: [{ dtype: x.dtype, dims }], v: [v] };
  },
  Squeeze: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const axes = axesOf(c, 1);
    if (axes === null) return undefined;
    const r = x.dims.length;
    const set = new Set((axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, r)));
    return { t: [{ dtype: x.dtype, dims: x.dims.filter((_, i) => !set.has(i)) }], v: [c.v[0]] };
  },
  Unsqueeze: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const axes = axesOf(c, 1);
    if (!axes) return undefined;
    const r = x.dims.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, r)));
    const dims: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) dims.push(set.has(i) ? 1 : x.dims[j++]);
    return { t: [{ dtype: x.dtype, dims }], v: [c.v[0]] };
  },
  Concat: (c) => {
    const ins = c.t.filter((_, i) => c.node.inputs[i]);
    if (ins.length === 0 || ins.some((t) => !t)) return undefined;
    const first = ins[0]!;
    const axis = normAxis(c.node.int('axis', 0), first.dims.length);
    const dims = [...first.dims];
    dims[axis] = ins.reduce((s, t) => s + t!.dims[axis], 0);
    let v: number[] | undefined;
    if (first.dims.length === 1 && c.v.every((x, i) => x || !c.node.inputs[i])) v = c.v.flatMap((x) => x ?? []);
    return { t: [{ dtype: first.dtype, dims }], v: [v] };
  },
  Split: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const axis = normAxis(c.node.int('axis', 0), x.dims.length);
    let parts = c.node.ints('split') ?? (c.node.inputs[1] ? c.v[1] : undefined);
    const n = c.node.outputs.length;
    if (c.node.inputs[1] && !parts) return undefined;
    if (!parts) {
      const d = x.dims[axis];
      const k = c.node.int('num_outputs', n);
      const chunk = Math.ceil(d / k);
      parts = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
    }
    return { t: parts.map((p) => ({ dtype: x.dtype, dims: x.dims.map((d, i) => (i === axis ? p : d)) })) };
  },
  Slice: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const r = x.dims.length;
    let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
    if (c.opset < 10) {
      starts = c.node.ints('starts');
      ends = c.node.ints('ends');
      axes = c.node.ints('axes');
    } else {
      starts = c.v[1];
      ends = c.v[2];
      if (c.node.inputs[3]) axes = c.v[3] ?? [NaN];
      if (c.node.inputs[4]) steps = c.v[4] ?? [NaN];
    }
    if (!starts || !ends || axes?.some(isNaN) || steps?.some(isNaN)) return undefined;
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
    const dims = [...x.dims];
    const ranges = x.dims.map((d) => [0, 1, d] as [number, number, number]);
    ax.forEach((a, i) => {
      const st = steps?.[i] ?? 1;
      ranges[a] = sliceRange(x.dims[a], Math.max(-BIG, Math.min(BIG, starts![i])), Math.max(-BIG, Math.min(BIG, ends![i])), st);
      dims[a] = ranges[a][2];
    });
    let v: number[] | undefined;
    if (c.v[0] && r === 1) v = Array.from({ length: dims[0] }, (_, k) => c.v[0]![ranges[0][0] + k * ranges[0][1]]);
    return { t: [{ dtype: x.dtype, dims }], v: [v] };
  },
  Gather: (c) => {
    const x = c.t[0];
    const idx = c.t[1];
    if (!x || !idx) return undefined;
    const axis = normAxis(c.node.int('axis', 0), x.dims.length);
    const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
    let v: number[] | undefined;
    if (c.v[0] && c.v[1] && x.dims.length === 1) v = c.v[1].map((i) => c.v[0]![i < 0 ? i + x.dims[0] : i]);
    return { t: [{ dtype: x.dtype, dims }], v: [v] };
  },
  Expand: (c) => {
    const x = c.t[0];
    const shape = c.v[1];
    if (!x || !shape) return undefined;
    const dims = broadcast([x.dims, shape]);
    const v = c.v[0] && size(dims) <= MAX_TRACKED ? mapValues([x.dims], [c.v[0]], dims, (a) => a) : undefined;
    return { t: [{ dtype: x.dtype, dims }], v: [v] };
  },
  Tile: (c) => {
    const x = c.t[0];
    const reps = c.v[1];
    if (!x || !reps) return undefined;
    return { t: [{ dtype: x.dtype, dims: x.dims.map((d, i) => d * reps[i]) }] };
  },
  Pad: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const pads = c.opset < 11 ? c.node.ints('pads') ?? c.node.ints('paddings') : c.v[1];
    if (!pads) return undefined;
    const r = x.dims.length;
    const axes = c.node.inputs[3] ? c.v[3]?.map((a) => normAxis(a, r)) : x.dims.map((_, i) => i);
    if (!axes) return undefined;
    const dims = [...x.dims];
    axes.forEach((a, i) => (dims[a] += pads[i] + pads[i + axes.length]));
    return { t: [{ dtype: x.dtype, dims }] };
  },
  Resize: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const r = x.dims.length;
    let scales: number[] | undefined;
    let sizes: number[] | undefined;
    if (c.opset < 11) scales = c.v[1];
    else {
      if (c.node.inputs[3]) sizes = c.v[3];
      if (!sizes && c.node.inputs[2] && c.v[2]?.length) scales = c.v[2];
      if (!sizes && !scales) return undefined;
    }
    const axes = c.node.ints('axes')?.map((a) => normAxis(a, r)) ?? x.dims.map((_, i) => i);
    const dims = [...x.dims];
    if (sizes) axes.forEach((a, i) => (dims[a] = sizes![i]));
    else if (scales) axes.forEach((a, i) => (dims[a] = Math.floor(x.dims[a] * scales![i] + 1e-9)));
    else return undefined;
    if (sizes && c.node.str('keep_aspect_ratio_policy', 'stretch') !== 'stretch') return undefined;
    return { t: [{ dtype: x.dtype, dims }] };
  },
  Upsample: (c) => {
    const x = c.t[0];
    if (!x) return undefined;
    const a = c.node.attrs.get('scales');
    const scales = a?.type === 'floats' ? a.value : c.v[1];
    if (!scales) return undefined;
    return { t: [{ dtype: x.dtype, dims: x.dims.map((d, i) => Math.floor(d * scales[i])) }] };
  },
  ArgMax: (c) => argReduce(c),
  ArgMin: (c) => argReduce(c),
  TopK: (c) => {
    const x = c.t[0];
    const k = c.opset < 10 ? c.node.int('k') : c.v[1]?.[0];
    if (!x || k === undefined) return undefined;
    const axis = normAxis(c.node.int('axis', -1), x.dims.length);
    const dims = x.dims.map((d, i) => (i === axis ? k : d));
    return { t: [{ dtype: x.dtype, dims }, { dtype: 'int64', dims }] };
  },
  DepthToSpace: (c) => {
    const x = c.t[0];
    const b = c.node.int('blocksize', 1);
    return x ? { t: [{ dtype: x.dtype, dims: [x.dims[0], x.dims[1] / (b * b), x.dims[2] * b, x.dims[3] * b] }] } : undefined;
  },
  SpaceToDepth: (c) => {
    const x = c.t[0];
    const b = c.node.int('blocksize', 1);
    return x ? { t: [{ dtype: x.dtype, dims: [x.dims[0], x.dims[1] * b * b, x.dims[2] / b, x.dims[3] / b] }] } : undefined;
  },
  QuantizeLinear: (c) => (c.t[0] ? { t: [{ dtype: c.t[2]?.dtype ?? 'uint8', dims: c.t[0].dims }] } : undefined),
  DequantizeLinear: (c) => (c.t[0] ? { t: [{ dtype: c.t[1]?.dtype ?? 'float32', dims: c.t[0].dims }] } : undefined),
  Where: elementwise((cond, a, b) => (cond ? a : b)),
  Not: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map((x) => (x ? 0 : 1))] } : undefined),
  Neg: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map((x) => -x)] } : undefined),
  Abs: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map(Math.abs)] } : undefined),
  Floor: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map(Math.floor)] } : undefined),
  Ceil: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map(Math.ceil)] } : undefined),
  Sqrt: (c) => (c.t[0] ? { t: [c.t[0]], v: [c.v[0]?.map(Math.sqrt)] } : undefined),
  ReduceProd: (c) => {
    const r = reduce(c);
    if (r && c.v[0] && c.t[0]!.dims.length === 1 && r.t[0]!.dims.length <= 1) r.v = [[c.v[0].reduce((a, b) => a * b, 1)]];
    return r;
  },
};

function argReduce(c: Ctx): Out | undefined {
  const x = c.t[0];
  if (!x) return undefined;
  const axis = normAxis(c.node.int('axis', 0), x.dims.length);
  const keep = c.node.int('keepdims', 1) === 1;
  const dims = keep ? x.dims.map((d, i) => (i === axis ? 1 : d)) : x.dims.filter((_, i) => i !== axis);
  return { t: [{ dtype: 'int64', dims }] };
}

const binary: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => a / b,
  Pow: (a, b) => a ** b, Mod: (a, b) => a % b, Max: Math.max, Min: Math.min,
};
for (const [op, f] of Object.entries(binary)) RULES[op] = elementwise(f);
RULES.Sum = elementwise((...a) => a.reduce((x, y) => x + y, 0));
RULES.Mean = elementwise();
for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
  const f: Record<string, (a: number, b: number) => number> = {
    Equal: (a, b) => +(a === b), Less: (a, b) => +(a < b), Greater: (a, b) => +(a > b),
    LessOrEqual: (a, b) => +(a <= b), GreaterOrEqual: (a, b) => +(a >= b),
  };
  RULES[op] = elementwise(f[op], 'bool');
}
for (const op of ['And', 'Or', 'Xor']) RULES[op] = elementwise(undefined, 'bool');
RULES.PRelu = elementwise();
RULES.BitShift = elementwise();
for (const op of ['IsNaN', 'IsInf']) RULES[op] = (c) => (c.t[0] ? { t: [{ dtype: 'bool', dims: c.t[0].dims }] } : undefined);
for (const op of [
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign',
  'Gelu', 'Erf', 'Exp', 'Log', 'Reciprocal', 'Round', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh',
  'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Clip', 'Softmax', 'LogSoftmax', 'Hardmax', 'LRN', 'InstanceNormalization',
  'GroupNormalization', 'MeanVarianceNormalization', 'Mish', 'ThresholdedRelu', 'Shrink', 'CumSum', 'Trilu',
  'ReverseSequence', 'Scatter', 'ScatterElements', 'ScatterND', 'Bernoulli',
]) RULES[op] ??= same;
for (const op of ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare']) RULES[op] = reduce;

/** Ops our inference knows (for tests and for deciding whether probing is needed). */
export function inferenceKnows(opType: string): boolean {
  return opType in RULES;
}

