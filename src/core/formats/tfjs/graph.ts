/**
 * TF.js graph models: model.json holding a GraphDef (`modelTopology.node`, attributes in protobuf's JSON form) whose
 * Const values live in the weight shards. The common ops become ONNX operators in NCHW (Conv2D, _FusedConv2D,
 * DepthwiseConv2dNative and its fused form, MatMul/_FusedMatMul, FusedBatchNorm*, BiasAdd, Add/AddV2/Sub/Mul,
 * ConcatV2, Relu/Relu6/…, pooling, Pad, Reshape, Squeeze, Mean); any other op is kept as an opaque node, so the
 * channels it reads cannot be pruned and the analysis says why. Written back as the same GraphDef with the pruned
 * Consts' shapes and the shards re-written.
 */
import * as path from 'node:path';
import { PruneLensError } from '../../errors.js';
import { Model, Node, type Attr, type Dim } from '../../ir/graph.js';
import type { ForeignSource, NativeFiles, WriteOptions } from '../foreign.js';
import { checkChannels, stateOutputShapes, float, int, ints, IrBuilder, str, TO_NCHW, TO_NHWC } from '../ir-builder.js';
import { readBack, retie, toFlattenedRows, type Binding, type Layout } from '../layout.js';
import { artifactsOf, renameTfjs, tfjsFiles } from './layers.js';
import { inferShapes } from '../../shapes/infer.js';
import { resolveInputShapes } from '../../shapes/inputs.js';
import { readWeights, type WeightEntry } from './weights.js';

type Json = Record<string, unknown>;

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, Json>;
}

/** A tensor during conversion: its IR value and rank (−1: unknown), and whether a 4-D map is held as NCHW. */
interface V {
  name: string;
  rank: number;
  nchw: boolean;
  /** Output of an NCHW Flatten of this map: MatMul weights reading it permute their rows. */
  flat?: string;
}

interface Const {
  key: string;
  dims: number[];
  values: Float32Array | Int32Array;
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

/** An attribute's value in protobuf JSON (`{"i": "1"}`, `{"s": base64}`, `{"list": {"i": [...]}}`, …). */
function attrOf(n: TfNode, name: string): unknown {
  const a = n.attr?.[name];
  if (!a) return undefined;
  if ('s' in a) return decode(String(a.s));
  if ('i' in a) return Number(a.i);
  if ('f' in a) return Number(a.f);
  if ('b' in a) return Boolean(a.b);
  if ('type' in a) return a.type;
  if ('list' in a) {
    const l = (a.list ?? {}) as Json;
    if (Array.isArray(l.i)) return l.i.map(Number);
    if (Array.isArray(l.s)) return l.s.map((x) => decode(String(x)));
    if (Array.isArray(l.f)) return l.f.map(Number);
    return [];
  }
  return a;
}

/** An NHWC axis as an NCHW one. */
const nchwAxis = (a: number) => [0, 2, 3, 1][a];
const ACTIVATIONS: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Elu: 'Elu', Selu: 'Selu', Softplus: 'Softplus' };
/** Element-wise TF ops that are ONNX ops of the same meaning. */
const UNARY: Record<string, string> = { ...ACTIVATIONS, Exp: 'Exp', Log: 'Log', Neg: 'Neg', Abs: 'Abs', Sqrt: 'Sqrt', Floor: 'Floor', Ceil: 'Ceil', Erf: 'Erf', Reciprocal: 'Reciprocal' };

class GraphBuilder extends IrBuilder {
  private readonly values = new Map<string, V>();
  private readonly consts = new Map<string, Const>();
  readonly opaque: string[] = [];
  /** Reshapes converted to an NCHW Flatten: their shape Const follows the MatMul kernel's rows when saved. */
  readonly flattens: { shape: string; reshape: string; matmul?: string }[] = [];
  readonly pendingRows: { node: string; flat: string; key: string }[] = [];

  constructor(private readonly where: string, weights: Map<string, Float32Array | Int32Array>, entries: WeightEntry[]) {
    super();
    for (const e of entries) this.consts.set(e.name, { key: e.name, dims: [...e.shape], values: weights.get(e.name)! });
  }

  private fail(n: TfNode, why: string): PruneLensError {
    return new PruneLensError(`${this.where}: ${n.op} '${n.name}' ${why}`, { code: 'unsupported' });
  }

  /** An input reference: a computed tensor, or a Const's value. */
  private ref(name: string): { v?: V; c?: Const } {
    const base = name.replace(/:0$/, '');
    const v = this.values.get(base);
    if (v) return { v };
    const c = this.consts.get(base);
    if (c) return { c };
    throw new PruneLensError(`${this.where}: '${name}' is read before it is made, or is a Const without a weight in the manifest`, { code: 'bad-model' });
  }

  private computed(n: TfNode, i: number): V {
    const r = this.ref(n.input![i]);
    if (!r.v) throw this.fail(n, `reads a constant as input ${i}, where a tensor is expected`);
    return r.v;
  }

  private constOf(n: TfNode, i: number): Const {
    const r = this.ref(n.input![i]);
    if (!r.c) throw this.fail(n, `needs a constant as input ${i}`);
    return r.c;
  }

  private nhwc(v: V, base: string): string {
    return v.nchw ? this.node('Transpose', [v.name], { perm: ints(TO_NHWC) }, `${base}/to_nhwc`) : v.name;
  }

  placeholder(n: TfNode): void {
    const dims = ((n.attr?.shape as Json)?.shape as { dim?: { size?: string }[] } | undefined)?.dim?.map((d, i): Dim => {
      const s = Number(d.size ?? -1);
      return s > 0 ? s : i === 0 ? 'batch' : null;
    });
    if (attrOf(n, 'dtype') !== 'DT_FLOAT') throw this.fail(n, `is ${String(attrOf(n, 'dtype'))}; only float32 inputs are supported`);
    if (!dims) throw this.fail(n, 'has no shape');
    this.reserve(n.name);
    this.graph.inputs.push({ name: n.name, dtype: 'float32', shape: dims, kind: 'tensor' });
    if (dims.length === 4) this.values.set(n.name, { name: this.node('Transpose', [n.name], { perm: ints(TO_NCHW) }, `${n.name}/to_nchw`), rank: 4, nchw: true });
    else this.values.set(n.name, { name: n.name, rank: dims.length, nchw: false });
  }

  /** Converts one node; ops without a rule become opaque nodes. */
  convert(n: TfNode, outputsUsed: number, consumers: TfNode[]): void {
    n.input = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const mark = this.graph.nodes.length;
    try {
      if (this.rule(n, outputsUsed, consumers)) return;
    } catch (e) {
      // an op this converter cannot state in ONNX here is kept opaque; a malformed file is still an error
      if (!(e instanceof PruneLensError && e.code === 'unsupported')) throw e;
      this.graph.nodes.length = mark;
    }
    this.opaqueNode(n, outputsUsed);
  }

  /** Converts `n` when a rule applies; false leaves it to be kept opaque. */
  private rule(n: TfNode, outputsUsed: number, consumers: TfNode[]): boolean {
    const ins = n.input!;
    const set = (v: V): true => {
      this.values.set(n.name, v);
      return true;
    };
    switch (n.op) {
      case 'Identity':
      case 'StopGradient':
      case 'Snapshot': {
        const r = this.ref(ins[0]);
        if (r.v) return set(r.v);
        this.consts.set(n.name, r.c!);
        return true;
      }
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return set(this.conv(n));
      case 'MatMul':
      case '_FusedMatMul':
        return set(this.matmul(n));
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum': {
        const v = this.elementwise(n);
        if (v) return set(v);
        break;
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3': {
        const x = this.computed(n, 0);
        if (!(x.nchw || x.rank === 2) || attrOf(n, 'is_training') === true) break;
        if (outputsUsed > 1) break;
        return set({ ...x, name: this.batchNorm(n, x, ins.slice(1, 5), Number(attrOf(n, 'epsilon') ?? 1e-3), n.name) });
      }
      case 'Relu6': {
        const x = this.computed(n, 0);
        return set({ ...x, name: this.clip(x.name, 0, 6, n.name, n.name) });
      }
      case 'LeakyRelu': {
        const x = this.computed(n, 0);
        return set({ ...x, name: this.node('LeakyRelu', [x.name], { alpha: float(Number(attrOf(n, 'alpha') ?? 0.2)) }, n.name, n.name) });
      }
      case 'Softmax':
      case 'LogSoftmax': {
        const x = this.computed(n, 0);
        if (x.rank < 1) break;
        return set({ ...x, name: this.node(n.op, [x.name], { axis: int(x.nchw ? 1 : x.rank - 1) }, n.name, n.name) });
      }
      case 'ConcatV2': {
        const axisC = this.ref(ins[ins.length - 1]).c;
        const xs = ins.slice(0, -1).map((i) => this.ref(i).v);
        if (!axisC || xs.some((v) => !v || v.nchw !== xs[0]!.nchw || v.rank !== xs[0]!.rank) || xs[0]!.rank < 1) break;
        const x = xs[0]!;
        let axis = Number(axisC.values[0]);
        if (axis < 0) axis += x.rank;
        return set({ ...x, name: this.node('Concat', xs.map((v) => v!.name), { axis: int(x.nchw ? nchwAxis(axis) : axis) }, n.name, n.name) });
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = this.computed(n, 0);
        if (!x.nchw || attrOf(n, 'data_format') === 'NCHW') break;
        const k = attrOf(n, 'ksize') as number[];
        const s = attrOf(n, 'strides') as number[];
        const pad = attrOf(n, 'padding');
        if (pad !== 'SAME' && pad !== 'VALID') break;
        const attrs: Record<string, Attr> = { kernel_shape: ints([k[1], k[2]]), strides: ints([s[1], s[2]]), ...(pad === 'SAME' ? { auto_pad: str('SAME_UPPER') } : {}) };
        return set({ ...x, name: this.node(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], attrs, n.name, n.name) });
      }
      case 'Pad':
      case 'PadV2': {
        const x = this.computed(n, 0);
        const p = this.constOf(n, 1);
        if (p.dims[0] !== x.rank) break;
        const rows = Array.from({ length: x.rank }, (_, i) => [Number(p.values[2 * i]), Number(p.values[2 * i + 1])]);
        const order = x.nchw ? [0, 3, 1, 2] : rows.map((_, i) => i);
        const pads = this.constant(`${n.name}/pads`, 'int64', [2 * x.rank], [...order.map((a) => rows[a][0]), ...order.map((a) => rows[a][1])]);
        const inputs = [x.name, pads];
        if (n.op === 'PadV2') inputs.push(this.constant(`${n.name}/value`, 'float32', [], [Number(this.constOf(n, 2).values[0])]));
        return set({ ...x, name: this.node('Pad', inputs, { mode: str('constant') }, n.name, n.name) });
      }
      case 'Reshape': {
        const x = this.computed(n, 0);
        const shape = this.constOf(n, 1);
        // a map flattened for MatMuls with constant weights: flatten NCHW and permute their rows instead (as for
        // Keras's Flatten → Dense), so its channels stay prunable
        const toMatmul = consumers.length > 0 && consumers.every((c) => /^_?(Fused)?MatMul$/.test(c.op) && c.input?.[0]?.replace(/:0$/, '') === n.name
          && this.consts.has(String(c.input?.[1]).replace(/:0$/, '')) && attrOf(c, 'transpose_b') !== true);
        if (x.nchw && shape.values.length === 2 && toMatmul) {
          this.flattens.push({ shape: shape.key, reshape: n.name });
          return set({ name: this.node('Flatten', [x.name], { axis: int(1) }, n.name, n.name), rank: 2, nchw: false, flat: x.name });
        }
        const xin = this.nhwc(x, n.name);
        // the target may hold a channel count pruning changes: bound, written back into the Const
        const s = this.weight(shape, { kind: 'int64' });
        const rank = shape.values.length;
        const y = this.node('Reshape', [xin, s], {}, rank === 4 ? `${n.name}/nhwc` : n.name, rank === 4 ? undefined : n.name);
        this.read(shape.key, 1);
        if (rank === 4) return set({ name: this.node('Transpose', [y], { perm: ints(TO_NCHW) }, `${n.name}/to_nchw`, n.name), rank: 4, nchw: true });
        return set({ name: y, rank, nchw: false });
      }
      case 'Squeeze': {
        const x = this.computed(n, 0);
        const dims = ((attrOf(n, 'squeeze_dims') ?? attrOf(n, 'axis') ?? []) as number[]).map((d) => (d < 0 ? d + x.rank : d));
        if (!dims.length || x.rank < 0) break;
        return set(this.reduceLike(n, x, dims, (xin, axes, out) => this.node('Squeeze', [xin, this.constant(`${n.name}/axes`, 'int64', [axes.length], axes)], {}, n.name, out)));
      }
      case 'Mean': {
        const x = this.computed(n, 0);
        const axes = Array.from(this.constOf(n, 1).values, (d) => (d < 0 ? d + x.rank : d));
        const keep = attrOf(n, 'keep_dims') === true;
        if (x.rank < 0) break;
        if (keep) return set({ ...x, name: this.node('ReduceMean', [x.name], { axes: ints(x.nchw ? axes.map(nchwAxis) : axes), keepdims: int(1) }, n.name, n.name) });
        return set(this.reduceLike(n, x, axes, (xin, ax, out) => this.node('ReduceMean', [xin], { axes: ints(ax), keepdims: int(0) }, n.name, out)));
      }
      case 'Square': {
        const x = this.computed(n, 0);
        return set({ ...x, name: this.node('Mul', [x.name, x.name], {}, n.name, n.name) });
      }
      case 'Rsqrt': {
        const x = this.computed(n, 0);
        return set({ ...x, name: this.node('Reciprocal', [this.node('Sqrt', [x.name], {}, `${n.name}/sqrt`)], {}, n.name, n.name) });
      }
      default: {
        const op = UNARY[n.op];
        if (op) {
          const x = this.computed(n, 0);
          return set({ ...x, name: this.node(op, [x.name], {}, n.name, n.name) });
        }
      }
    }
    return false;
  }

  /** Squeeze or reduce `axes` (NHWC numbering) of a value: in NCHW when the kept axes keep their order, else in NHWC. */
  private reduceLike(n: TfNode, x: V, axes: number[], emit: (xin: string, axes: number[], out: string) => string): V {
    const rank = x.rank - axes.length;
    if (!x.nchw) return { name: emit(x.name, axes, n.name), rank, nchw: false };
    const kept = [0, 1, 2, 3].filter((a) => !axes.includes(a));
    const asNchw = kept.map(nchwAxis);
    if (asNchw.every((a, i) => i === 0 || a > asNchw[i - 1])) return { name: emit(x.name, axes.map(nchwAxis), n.name), rank, nchw: false };
    return { name: emit(this.nhwc(x, n.name), axes, n.name), rank, nchw: false };
  }

  private opaqueNode(n: TfNode, outputsUsed: number): void {
    // the source's semantics are NHWC: an opaque op reads its inputs as the source holds them
    const inputs = (n.input ?? []).map((i) => {
      const r = this.ref(i);
      if (r.v) return this.nhwc(r.v, `${n.name}/in`);
      const c = r.c!;
      return this.constant(`${c.key}/value`, c.values instanceof Int32Array ? 'int32' : 'float32', c.dims, c.values);
    });
    const outs = Array.from({ length: Math.max(1, outputsUsed) }, (_, k) => (k === 0 ? n.name : `${n.name}:${k}`));
    for (const o of outs) this.reserve(o);
    this.graph.nodes.push(new Node(this.fresh(`${n.name}/op`), n.op, 'tfjs', inputs, outs, new Map()));
    outs.forEach((o, k) => this.values.set(k === 0 ? n.name : o, { name: o, rank: -1, nchw: false }));
    this.opaque.push(n.op);
  }

  private clip(x: string, lo: number, hi: number, base: string, out?: string): string {
    const l = this.constant(`${base}/min`, 'float32', [], [lo]);
    const h = this.constant(`${base}/max`, 'float32', [], [hi]);
    return this.node('Clip', [x, l, h], {}, base, out);
  }

  private batchNorm(n: TfNode, x: V, names: string[], eps: number, out: string): string {
    const cs = names.map((i) => this.ref(i).c);
    if (cs.some((c) => !c)) throw this.fail(n, 'has computed batch-norm statistics');
    const ws = cs.map((c) => this.weight(c!, { kind: 'same' }));
    const y = this.node('BatchNormalization', [x.name, ...ws], { epsilon: float(eps) }, out === n.name ? n.name : `${n.name}/bn`, out === n.name ? n.name : undefined);
    cs.forEach((c, i) => this.read(c!.key, i + 1));
    return y;
  }

  /** The activation a fused op ends with, on `x`; the last op writes the node's own name. */
  private fusedActivation(n: TfNode, op: string | undefined, x: string, rank: number): string {
    if (!op) return x;
    switch (op) {
      case 'Relu6': return this.clip(x, 0, 6, `${n.name}/relu6`, n.name);
      case 'LeakyRelu': return this.node('LeakyRelu', [x], { alpha: float(Number(attrOf(n, 'leakyrelu_alpha') ?? 0.2)) }, `${n.name}/act`, n.name);
      case 'Prelu': {
        const a = this.constOf(n, (n.input ?? []).length - 1);
        const s = this.weight(a, rank === 4 ? { kind: 'reshape' } : { kind: 'same' }, rank === 4 ? [a.values.length, 1, 1] : undefined);
        const y = this.node('PRelu', [x, s], {}, `${n.name}/act`, n.name);
        this.read(a.key, 1);
        return y;
      }
      default: {
        const act = ACTIVATIONS[op];
        if (!act) throw this.fail(n, `fuses ${op}, which PruneLens cannot convert`);
        return this.node(act, [x], {}, `${n.name}/act`, n.name);
      }
    }
  }

  private conv(n: TfNode): V {
    const x = this.computed(n, 0);
    if (!x.nchw) throw this.fail(n, 'reads a tensor that is not a 4-D map');
    if (attrOf(n, 'data_format') === 'NCHW') throw this.fail(n, 'is NCHW; only NHWC graphs are supported');
    const f = this.constOf(n, 1);
    const depthwise = n.op.includes('Depthwise');
    const s = (attrOf(n, 'strides') as number[] | undefined) ?? [1, 1, 1, 1];
    const d = (attrOf(n, 'dilations') as number[] | undefined) ?? [1, 1, 1, 1];
    const pad = attrOf(n, 'padding');
    const attrs: Record<string, Attr> = {
      kernel_shape: ints([f.dims[0], f.dims[1]]), strides: ints([s[1], s[2]]), dilations: ints([d[1], d[2]]),
      group: int(depthwise ? f.dims[2] : 1),
    };
    if (pad === 'SAME') attrs.auto_pad = str('SAME_UPPER');
    else if (pad === 'EXPLICIT') {
      const p = attrOf(n, 'explicit_paddings') as number[];
      attrs.pads = ints([p[2], p[4], p[3], p[5]]);
    } else if (pad !== 'VALID') throw this.fail(n, `has padding ${String(pad)}`);
    const fused = ((attrOf(n, 'fused_ops') as string[] | undefined) ?? []);
    const layout: Layout = depthwise ? { kind: 'depthwise' } : { kind: 'conv' };
    const w = this.weight(f, layout);
    const inputs = [x.name, w];
    let biasKey: string | undefined;
    if (fused[0] === 'BiasAdd') {
      const b = this.constOf(n, 2);
      inputs.push(this.weight(b, { kind: 'same' }));
      biasKey = b.key;
    } else if (fused.length && fused[0] !== 'FusedBatchNorm') throw this.fail(n, `fuses ${fused[0]}`);
    const last = fused.length === 0 || (fused.length === 1 && fused[0] === 'BiasAdd');
    let y = this.node('Conv', inputs, attrs, last ? n.name : `${n.name}/conv`, last ? n.name : undefined);
    this.read(f.key, 1);
    if (biasKey) this.read(biasKey, 2);
    if (fused[0] === 'FusedBatchNorm') {
      const bnLast = fused.length === 1;
      y = this.batchNorm(n, { name: y, rank: 4, nchw: true }, (n.input ?? []).slice(2, 6), Number(attrOf(n, 'epsilon') ?? 1e-3), bnLast ? n.name : `${n.name}/bn`);
    }
    y = this.fusedActivation(n, fused[1], y, 4);
    return { name: y, rank: 4, nchw: true };
  }

  private matmul(n: TfNode): V {
    const a = this.computed(n, 0);
    const b = this.constOf(n, 1);
    if (a.rank !== 2 || attrOf(n, 'transpose_a') === true) throw this.fail(n, 'multiplies what PruneLens cannot convert (a rank-2 input times a constant)');
    const transB = attrOf(n, 'transpose_b') === true;
    const fused = ((attrOf(n, 'fused_ops') as string[] | undefined) ?? []);
    if (fused.length && fused[0] !== 'BiasAdd') throw this.fail(n, `fuses ${fused[0]}`);
    const inputs = [a.name, this.weight(b, { kind: 'same' })];
    let biasKey: string | undefined;
    if (fused[0] === 'BiasAdd') {
      const c = this.constOf(n, 2);
      inputs.push(this.weight(c, { kind: 'same' }));
      biasKey = c.key;
    } else if (fused.length) throw this.fail(n, `fuses ${fused[0]}`);
    const last = fused.length <= 1;
    let y = this.node('Gemm', inputs, transB ? { transB: int(1) } : {}, last ? n.name : `${n.name}/gemm`, last ? n.name : undefined);
    this.read(b.key, 1);
    if (a.flat) {
      this.pendingRows.push({ node: this.graph.nodes[this.graph.nodes.length - 1].name, flat: a.flat, key: b.key });
      for (const f of this.flattens) if (f.reshape === n.input![0].replace(/:0$/, '')) f.matmul = b.key;
    }
    if (biasKey) this.read(biasKey, 2);
    y = this.fusedActivation(n, fused[1], y, 2);
    return { name: y, rank: 2, nchw: false };
  }

  /** Binary element-wise ops; a constant operand of an NCHW map is restated per channel ([C] → [C, 1, 1]). */
  private elementwise(n: TfNode): V | undefined {
    const op = { BiasAdd: 'Add', Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[n.op]!;
    const [ra, rb] = [this.ref(n.input![0]), this.ref(n.input![1])];
    if (ra.v && rb.v) {
      if (ra.v.nchw !== rb.v.nchw || ra.v.rank !== rb.v.rank) return undefined;
      return { ...ra.v, name: this.node(op, [ra.v.name, rb.v.name], {}, n.name, n.name) };
    }
    const x = (ra.v ?? rb.v)!;
    const c = (ra.c ?? rb.c)!;
    if (c.values instanceof Int32Array) return undefined;
    let name: string;
    const size = c.values.length;
    // one value broadcasts alike in NHWC and NCHW
    if (!x.nchw || size === 1) name = this.weight(c, { kind: 'same' });
    else if (c.dims.length === 1 || (c.dims.length === 4 && c.dims[0] * c.dims[1] * c.dims[2] === 1)) {
      name = this.weight(c, { kind: 'reshape' }, c.dims.length === 1 ? [size, 1, 1] : [1, size, 1, 1]);
    } else return undefined;
    const inputs = ra.v ? [x.name, name] : [name, x.name];
    const y = this.node(op, inputs, {}, n.name, n.name);
    this.read(c.key, ra.v ? 1 : 0);
    return { ...x, name: y };
  }

  outputValue(name: string): V {
    const v = this.values.get(name.replace(/:0$/, ''));
    if (!v) throw new PruneLensError(`${this.where}: output '${name}' is not computed by the graph`, { code: 'bad-model' });
    return v;
  }

  get allBindings(): Binding[] {
    return [...this.bindings.values()];
  }

  /** MatMul kernels after an NCHW Flatten: rows from (h, w, c) to (c, h, w), now that shapes are known. */
  settleRows(model: Model): void {
    if (!this.pendingRows.length) return;
    const { types } = inferShapes(model, resolveInputShapes(model).shapes);
    for (const p of this.pendingRows) {
      const dims = types.get(p.flat)?.dims;
      const b = this.bindings.get(p.key)!;
      if (!dims || dims.length !== 4 || b.dims[0] !== dims[1] * dims[2] * dims[3]) {
        throw new PruneLensError(`${this.where}: Const '${p.key}' has ${b.dims[0]} rows, but the map flattened before '${p.node}' is ${dims?.join('x') ?? 'of unknown shape'}`, { code: 'bad-model' });
      }
      const [, , h, w] = dims;
      if (h * w === 1) continue;
      toFlattenedRows(model.graph.initializers.get(this.irName.get(p.key)!)!, b, h, w);
    }
  }

  /** Drops what a rule made before it gave up on an op (kept opaque instead). */
  prune(): void {
    const nodes = new Set(this.graph.nodes.map((n) => n.name));
    for (const [k, b] of this.bindings) {
      b.readers = b.readers.filter((r) => nodes.has(r.node));
      if (!b.readers.length) this.bindings.delete(k);
    }
    const read = new Set(this.graph.nodes.flatMap((n) => n.inputs));
    for (const name of [...this.graph.initializers.keys()]) if (!read.has(name)) this.graph.initializers.delete(name);
  }
}

/** Nodes in an order where every input comes first (GraphDefs need not be sorted). */
function topological(nodes: TfNode[]): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const out: TfNode[] = [];
  const visit = (n: TfNode, stack: Set<string>) => {
    if (done.has(n.name)) return;
    if (stack.has(n.name)) throw new PruneLensError(`a cycle through '${n.name}' (control flow is not supported)`, { code: 'unsupported' });
    stack.add(n.name);
    for (const i of n.input ?? []) {
      const m = byName.get(i.replace(/^\^/, '').replace(/:\d+$/, ''));
      if (m) visit(m, stack);
    }
    stack.delete(n.name);
    done.add(n.name);
    out.push(n);
  };
  for (const n of nodes) visit(n, new Set());
  return out;
}

interface GraphDoc {
  json: Json;
  /** Reshape targets that follow a MatMul kernel's rows (the Reshape became an NCHW Flatten in the IR). */
  flattens: { shape: string; matmul: string }[];
  bindings: Binding[];
  entries: WeightEntry[];
  values: Map<string, Float32Array | Int32Array>;
}

export function loadTfjsGraph(json: Json, file: string): Model {
  const where = path.basename(file);
  const nodes = (json.modelTopology as { node: TfNode[] }).node;
  if (!Array.isArray(nodes) || nodes.some((n) => typeof n?.name !== 'string' || typeof n?.op !== 'string')) {
    throw new PruneLensError(`${where}: modelTopology.node is not a list of GraphDef nodes`, { code: 'bad-model' });
  }
  const w = readWeights(json.weightsManifest, path.dirname(file), where);
  const b = new GraphBuilder(where, w.values, w.entries);
  const used = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) {
    const m = /^(.*?):(\d+)$/.exec(i.replace(/^\^/, ''));
    if (m) used.set(m[1], Math.max(used.get(m[1]) ?? 1, Number(m[2]) + 1));
  }
  const sorted = topological(structuredClone(nodes));
  const consumers = new Map<string, TfNode[]>();
  for (const n of sorted) for (const i of n.input ?? []) {
    const k = i.replace(/^\^/, '').replace(/:\d+$/, '');
    if (!consumers.has(k)) consumers.set(k, []);
    consumers.get(k)!.push(n);
  }
  for (const n of sorted) {
    if (n.op === 'Placeholder') b.placeholder(n);
    else if (n.op !== 'Const' && n.op !== 'NoOp') b.convert(n, used.get(n.name) ?? 1, consumers.get(n.name) ?? []);
  }
  b.prune();
  const sig = json.signature as { outputs?: Record<string, { name?: string }> } | undefined;
  let outputs = Object.values(sig?.outputs ?? {}).map((o) => String(o.name ?? '').replace(/:0$/, '')).filter(Boolean);
  if (!outputs.length) {
    const read = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^/, '').replace(/:\d+$/, ''))));
    outputs = nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && n.op !== 'Placeholder').map((n) => n.name);
  }
  b.outputs(outputs.map((name) => {
    const v = b.outputValue(name);
    return { name, value: v.name, nchw: v.nchw };
  }));
  const model = new Model('tfjs-graph', file, b.graph, {
    irVersion: 8, opsets: [{ domain: '', version: 17 }, ...(b.opaque.length ? [{ domain: 'tfjs', version: 1 }] : [])],
    producer: String(json.convertedBy ?? json.generatedBy ?? 'TensorFlow.js'), producerVersion: '', domain: '', modelVersion: 0, docString: '',
    metadata: {},
  });
  b.settleRows(model);
  const bindings = b.allBindings;
  checkChannels(model, where, bindings);
  if (!b.opaque.length) stateOutputShapes(model);
  const doc: GraphDoc = { json, bindings, entries: w.entries, values: w.values, flattens: b.flattens.filter((f) => f.matmul) as GraphDoc['flattens'] };
  const kinds = [...new Set(b.opaque)];
  const source: ForeignSource = {
    files: [file, ...new Set(w.files)],
    bytesPerWeight: w.bytesPerWeight,
    warnings: kinds.length ? [
      `${b.opaque.length} op(s) PruneLens does not convert (${kinds.join(', ')}) are kept as opaque nodes: the channels they read cannot be pruned, ` +
        'and ONNX Runtime cannot run the converted graph, so this model can be inspected but not scanned or pruned',
    ] : [],
    tied: b.tiedTensors((key, k) => `Const '${key}' is read by ${k} ops, which keep one copy`),
    write: async (m, main, opts) => writeGraph(doc, m, main, opts),
    rename: renameTfjs,
    retie: (m) => retie(m, bindings),
    tfjs: async (files) => artifactsOf(JSON.parse(new TextDecoder().decode(files.files.get(files.main)!)) as Json, files, 'graph'),
  };
  return new Model('tfjs-graph', file, model.graph, model.meta, undefined, source);
}

function writeGraph(doc: GraphDoc, model: Model, main: string, opts: WriteOptions = {}): NativeFiles {
  const values = readBack(model, doc.bindings, opts);
  for (const f of doc.flattens) {
    const rows = values.get(f.matmul)?.dims[0];
    const old = doc.values.get(f.shape)!;
    if (rows !== undefined) values.set(f.shape, { dims: [old.length], values: Int32Array.from([old[0] > 0 ? old[0] : -1, rows]) });
  }
  const json = structuredClone(doc.json);
  for (const n of (json.modelTopology as { node: TfNode[] }).node) {
    const v = n.op === 'Const' ? values.get(n.name) : undefined;
    const tensor = v && (n.attr?.value as { tensor?: Json } | undefined)?.tensor;
    if (tensor) tensor.tensorShape = v.dims.length ? { dim: v.dims.map((d) => ({ size: String(d) })) } : {};
  }
  return tfjsFiles(json, doc, values, main, opts);
}
