/**
 * How a weight of a channels-last format (TF.js, Keras) becomes an IR tensor in ONNX's channels-first layout, and
 * back. Every converter records one `Binding` per source weight; saving reads the (pruned) IR tensors through the
 * inverse of the same layout, so pruning never has to know where a weight came from.
 */
import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';

export type Layout =
  /** Element order unchanged (biases, BatchNormalization statistics, a Dense kernel [in, out]). */
  | { kind: 'same' }
  /** Conv2D kernel HWIO [kh, kw, cin, cout] ↔ OIHW [cout, cin, kh, kw]. */
  | { kind: 'conv' }
  /** Depthwise kernel [kh, kw, cin, m] ↔ a grouped Conv's [cin·m, 1, kh, kw] (output channel c·m + j). */
  | { kind: 'depthwise' }
  /** Conv2DTranspose kernel [kh, kw, cout, cin] ↔ ConvTranspose [cin, cout, kh, kw]. */
  | { kind: 'conv-transpose' }
  /** Dense rows in the (h, w, c) order of a flattened NHWC map ↔ (c, h, w), the order of the NCHW Flatten. */
  | { kind: 'dense-hwc'; h: number; w: number }
  /** The same elements with other dims (a per-channel [C] constant that broadcasts as [C, 1, 1] on NCHW). */
  | { kind: 'reshape' }
  /** int32 constants (shapes) held as int64, as ONNX wants them. */
  | { kind: 'int64' };

/** One weight (or config value) of the source file and the IR inputs that read it. */
export interface Binding {
  /** The source's key: a manifest weight name, an HDF5 dataset path, a GraphDef node name. */
  key: string;
  /** The IR node inputs that read it; a shared layer's weights have one per call. */
  readers: { node: string; input: number }[];
  layout: Layout;
  /** Dims as the source stores them. */
  dims: number[];
}

/** Values in the source's own layout, from the IR's. */
export interface SourceValues {
  dims: number[];
  values: Float32Array | Int32Array;
}

/** IR dims and values for source dims and values (the forward transform). */
export function toIr(layout: Layout, dims: number[], v: Float32Array | Int32Array): { dims: number[]; values: Float32Array | Int32Array } {
  switch (layout.kind) {
    case 'same':
    case 'int64':
      return { dims: [...dims], values: v };
    case 'conv': {
      const [kh, kw, ci, co] = dims;
      return { dims: [co, ci, kh, kw], values: permute(v, dims, [3, 2, 0, 1]) };
    }
    case 'depthwise': {
      const [kh, kw, ci, m] = dims;
      // [kh, kw, ci, m] → [ci, m, kh, kw] → [ci·m, 1, kh, kw]
      return { dims: [ci * m, 1, kh, kw], values: permute(v, dims, [2, 3, 0, 1]) };
    }
    case 'conv-transpose': {
      const [kh, kw, co, ci] = dims;
      return { dims: [ci, co, kh, kw], values: permute(v, dims, [3, 2, 0, 1]) };
    }
    case 'dense-hwc': {
      const [rows, units] = dims;
      const c = rows / (layout.h * layout.w);
      // rows (h, w, c) → (c, h, w)
      const perm = permute(v, [layout.h, layout.w, c, units], [2, 0, 1, 3]);
      return { dims: [rows, units], values: perm };
    }
    case 'reshape':
      throw new Error('reshape layouts take their IR dims from the converter');
  }
}

/** Source dims and values for IR dims and values (the inverse transform), e.g. after pruning. */
/** `source` is the weight's dims as read (for what pruning never changes: its rank, a depth multiplier). */
export function fromIr(layout: Layout, irDims: number[], v: Float32Array | Int32Array, source: number[]): SourceValues {
  switch (layout.kind) {
    case 'same':
    case 'int64':
      return { dims: [...irDims], values: v };
    case 'reshape': {
      // a per-channel constant: the channel count is its size, in the source's rank ([C] or [1, 1, 1, C])
      const n = v.length;
      return { dims: source.length <= 1 ? [n] : [...Array(source.length - 1).fill(1), n], values: v };
    }
    case 'conv': {
      const [co, ci, kh, kw] = irDims;
      return { dims: [kh, kw, ci, co], values: permute(v, irDims, [2, 3, 1, 0]) };
    }
    case 'depthwise': {
      const [cm, , kh, kw] = irDims;
      const m = source[3];
      return { dims: [kh, kw, cm / m, m], values: permute(v, [cm / m, m, kh, kw], [2, 3, 0, 1]) };
    }
    case 'conv-transpose': {
      const [ci, co, kh, kw] = irDims;
      return { dims: [kh, kw, co, ci], values: permute(v, irDims, [2, 3, 1, 0]) };
    }
    case 'dense-hwc': {
      const [rows, units] = irDims;
      const c = rows / (layout.h * layout.w);
      return { dims: [rows, units], values: permute(v, [c, layout.h, layout.w, units], [1, 2, 0, 3]) };
    }
  }
}

/** out[...] = x transposed by `perm` (numpy's transpose: out axis i is input axis perm[i]). */
export function permute<T extends Float32Array | Int32Array>(x: T, dims: number[], perm: number[]): T {
  const r = dims.length;
  const out = new (x.constructor as { new (n: number): T })(x.length);
  const outDims = perm.map((p) => dims[p]);
  const inStrides = new Array<number>(r);
  for (let i = r - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= dims[i];
  }
  const stride = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[src];
    for (let a = r - 1; a >= 0; a--) {
      idx[a]++;
      src += stride[a];
      if (idx[a] < outDims[a]) break;
      src -= stride[a] * outDims[a];
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * The current values of every bound source weight in the source's layout, read from a (pruned) IR. A shared
 * layer's weight must still be one tensor: its readers must agree.
 */
export function readBack(model: Model, bindings: Binding[], opts: { firstReader?: boolean } = {}): Map<string, SourceValues> {
  const g = model.graph;
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  const out = new Map<string, SourceValues>();
  for (const b of bindings) {
    let first: { dims: number[]; v: Float32Array | Int32Array } | undefined;
    for (const r of b.readers) {
      const node = nodes.get(r.node);
      const t = node ? g.constant(node.inputs[r.input]) : undefined;
      if (!t) throw new PruneLensError(`internal: weight '${b.key}' lost its reader ${r.node}`, { code: 'internal' });
      const v = b.layout.kind === 'int64' ? Int32Array.from(t.toNumbers()) : Float32Array.from(t.toFloat32());
      if (!first) first = { dims: [...t.dims], v };
      else if (!opts.firstReader && (first.dims.join() !== t.dims.join() || !sameValues(first.v, v))) {
        throw new PruneLensError(
          `weight '${b.key}' belongs to a layer called more than once, and its calls now differ (${first.dims.join('x')} vs ${t.dims.join('x')}): ` +
            'the format keeps one set of weights per layer',
          { code: 'unsupported' },
        );
      }
    }
    if (first) out.set(b.key, fromIr(b.layout, first.dims, first.v, b.dims));
  }
  return out;
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/**
 * Surgery gives each reader of a shared weight its own copy; a format that keeps one set of weights per layer holds
 * one. Where a shared layer's calls were pruned alike, their copies are made one tensor again, so the pruned IR
 * (and its params) is what the file will hold.
 */
export function retie(model: Model, bindings: Binding[]): void {
  const g = model.graph;
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  let changed = false;
  for (const b of bindings) {
    if (b.readers.length < 2) continue;
    const inputs = b.readers.map((r) => ({ node: nodes.get(r.node), input: r.input })).filter((x) => x.node);
    const names = inputs.map((x) => x.node!.inputs[x.input]);
    if (new Set(names).size < 2) continue;
    const ts = names.map((n) => g.initializers.get(n));
    if (ts.some((t) => !t)) continue;
    const first = ts[0]!;
    const same = ts.every((t) => t!.dims.join() === first.dims.join() && sameValues(t!.bytes(), first.bytes()));
    if (!same) continue;
    for (const x of inputs) x.node!.inputs[x.input] = names[0];
    changed = true;
  }
  if (!changed) return;
  g.invalidate();
  for (const name of [...g.initializers.keys()]) if (g.consumersOf(name).length === 0 && !g.outputs.some((o) => o.name === name)) g.initializers.delete(name);
  g.invalidate();
}

/**
 * A Dense kernel read after a Flatten of an h×w map: its rows come in (h, w, c) order in the source and must be in
 * (c, h, w) order for the NCHW Flatten of the IR. Reorders the IR weight `t` once and records the layout, so that
 * writing back restores the source's order.
 */
export function toFlattenedRows(t: Tensor, b: Binding, h: number, w: number): void {
  const layout: Layout = { kind: 'dense-hwc', h, w };
  const v = toIr(layout, b.dims, Float32Array.from(t.toFloat32()));
  t.replace(v.dims, v.values);
  b.layout = layout;
}
