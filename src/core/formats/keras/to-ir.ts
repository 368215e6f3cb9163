/**
 * A Keras model (TF.js layers, .keras, legacy .h5) as the IR: equivalent ONNX operators in NCHW. The input gets one
 * Transpose (NHWC → NCHW) and 4-D outputs one back; kernels are transposed (HWIO → OIHW), depthwise kernels become
 * grouped Convs, Dense becomes Gemm, and a Flatten of a feature map becomes an NCHW Flatten with the next Dense
 * kernel's rows permuted from (h, w, c) to (c, h, w). Every source weight is recorded as a Binding (which IR inputs
 * read it, through which layout), so the pruned IR can be written back onto the original weights.
 */
import { PruneLensError } from '../../errors.js';
import { Model, type Attr, type Dim } from '../../ir/graph.js';
import { inferShapes } from '../../shapes/infer.js';
import { resolveInputShapes } from '../../shapes/inputs.js';
import { checkChannels, stateOutputShapes, float, int, ints, IrBuilder, str, type SourceWeight } from '../ir-builder.js';
import { toFlattenedRows, type Binding } from '../layout.js';

export type { SourceWeight } from '../ir-builder.js';
import { plain, type KLayer, type KModel, type TensorRef } from './model.js';

export const OPSET = 17;

/** Where a format keeps a layer's weights. */
export interface WeightStore {
  /**
   * The weight of `layer` called `names[0]` (or an alias), which is its `index`-th variable (Keras 3 stores
   * variables by position). `scope` lists the models the layer is nested in, outermost first.
   */
  get(scope: KLayer[], layer: KLayer, names: string[], index: number): SourceWeight | undefined;
  /** Weights no layer read (a file with more weights than its layers use is refused). */
  unused?(): string[];
}

/** Which layer a source weight (or config value, key `path#field`) belongs to, and its role there. */
export interface Owner {
  /** Names of the enclosing models' layers, then the layer's own name. */
  path: string[];
  className: string;
  role: string;
}

/** A layer call's input and output values in the IR (Keras 3 keeps their shapes in the config). */
export interface CallValues {
  path: string[];
  call: number;
  inputs: { name: string; nchw: boolean }[];
  outputs: { name: string; nchw: boolean }[];
}

export interface Converted {
  model: Model;
  bindings: Binding[];
  owners: Map<string, Owner>;
  calls: CallValues[];
  /** IR tensors that must stay one tensor for all readers (a shared layer's weights), with why. */
  tied: Map<string, string>;
}

/** A tensor during conversion: its IR value, rank, and whether a 4-D map is held as NCHW. */
interface V {
  name: string;
  rank: number;
  nchw: boolean;
  /** Output of an NCHW Flatten of a map: a Dense reading it permutes its kernel rows. */
  flat?: string;
}

const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise',
  'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'Masking']);

const bad = (m: string) => new PruneLensError(m, { code: 'bad-model' });
const unsupported = (m: string) => new PruneLensError(m, { code: 'unsupported' });

export interface ConvertOptions {
  /** File name for messages. */
  where: string;
  format: Model['format'];
  path: string;
  files: string[];
  producer: string;
  /** Keras 3 defines hard_sigmoid as relu6(x + 3) / 6; Keras 2 and TF.js as 0.2·x + 0.5. */
  keras3: boolean;
  metadata?: Record<string, string>;
}

export function kerasToIr(km: KModel, store: WeightStore, opts: ConvertOptions): Converted {
  const b = new Builder(store, opts);
  const inputs: V[] = [];
  for (const ref of km.inputs) {
    const layer = km.layers.find((l) => l.name === ref.layer)!;
    if (layer.className !== 'InputLayer') throw bad(`${opts.where}: model input '${ref.layer}' is a ${layer.className}, not an InputLayer`);
    inputs.push(b.graphInput(layer));
  }
  const outs = b.model(km, [], inputs.map((v, i) => ({ ref: km.inputs[i], v })));
  b.outputs(km.outputs.map((r, i) => ({ name: r.layer, value: outs[i].name, nchw: outs[i].nchw })));
  return b.finish();
}

class Builder extends IrBuilder {
  private readonly pendingDense: { node: string; flat: string; key: string }[] = [];
  private readonly owners = new Map<string, Owner>();
  private readonly calls: CallValues[] = [];
  private readonly w: string;

  constructor(private readonly store: WeightStore, private readonly opts: ConvertOptions) {
    super();
    this.w = opts.where;
  }

  graphInput(layer: KLayer): V {
    const c = layer.config;
    const shape = (c.batch_input_shape ?? c.batch_shape ?? c.batchInputShape) as (number | null)[] | undefined;
    if (!Array.isArray(shape)) throw bad(`${this.w}: input layer '${layer.name}' has no shape`);
    const dtype = String(plain(c.dtype) ?? 'float32');
    if (dtype !== 'float32') throw unsupported(`${this.w}: input '${layer.name}' is ${dtype}; only float32 inputs are supported`);
    const dims: Dim[] = shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 'batch' : null));
    this.reserve(layer.name);
    this.graph.inputs.push({ name: layer.name, dtype: 'float32', shape: dims, kind: 'tensor' });
    if (dims.length !== 4) return { name: layer.name, rank: dims.length, nchw: false };
    const t = this.node('Transpose', [layer.name], { perm: ints([0, 3, 1, 2]) }, `${layer.name}/to_nchw`);
    return { name: t, rank: 4, nchw: true };
  }

  /** Converts a (possibly nested) model's layers; returns its outputs. */
  model(km: KModel, scope: KLayer[], given: { ref: TensorRef; v: V }[]): V[] {
    const prefix = scope.map((l) => `${l.name}/`).join('');
    const values = new Map<string, V>();
    const key = (r: TensorRef) => `${r.layer}\u0000${r.node}\u0000${r.tensor}`;
    for (const g of given) values.set(key(g.ref), g.v);
    const byName = new Map(km.layers.map((l) => [l.name, l]));
    const consumers = consumerCounts(km);
    for (const layer of km.layers) {
      if (layer.className === 'InputLayer') continue;
      layer.calls.forEach((call, i) => {
        const ins = call.map((r) => {
          const v = values.get(key(r));
          if (!v) {
            if (!byName.has(r.layer)) throw bad(`${this.w}: layer '${layer.name}' reads '${r.layer}', which does not exist`);
            throw bad(`${this.w}: layer '${layer.name}' reads node ${r.node} of '${r.layer}' before it is made (layers must be in call order)`);
          }
          return v;
        });
        const node = layer.callOffset + i;
        const base = `${prefix}${layer.name}${i > 0 ? `:${i}` : ''}`;
        const outs = this.layer(layer, ins, base, scope, consumers.get(layer.name) ?? []);
        outs.forEach((v, t) => values.set(key({ layer: layer.name, node, tensor: t }), v));
        this.calls.push({
          path: [...scope.map((l) => l.name), layer.name], call: i,
          inputs: ins.map((v) => ({ name: v.name, nchw: v.nchw })), outputs: outs.map((v) => ({ name: v.name, nchw: v.nchw })),
        });
      });
    }
    return km.outputs.map((r) => {
      const v = values.get(key(r));
      if (!v) throw bad(`${this.w}: output '${r.layer}' (node ${r.node}) is never computed`);
      return v;
    });
  }

  private get(scope: KLayer[], layer: KLayer, names: string[], index: number, required = true): SourceWeight | undefined {
    const w = this.store.get(scope, layer, names, index);
    if (!w && required) throw bad(`${this.w}: the weights of layer '${layer.name}' (${layer.className}) have no '${names[0]}'`);
    if (w) this.owners.set(w.key, { path: [...scope.map((l) => l.name), layer.name], className: layer.className, role: names[0] });
    return w;
  }

  private layer(layer: KLayer, ins: V[], base: string, scope: KLayer[], consumers: string[]): V[] {
    const c = layer.config;
    const cls = layer.className;
    const what = `layer '${layer.name}' (${cls})`;
    const x = ins[0];
    const one = (): V => {
      if (ins.length !== 1) throw bad(`${this.w}: ${what} takes one input, got ${ins.length}`);
      return x;
    };
    const map4 = (v: V) => {
      if (!(v.rank === 4 && v.nchw)) throw unsupported(`${this.w}: ${what} needs a 4-D channels-last input, got rank ${v.rank}`);
    };
    if (c.data_format === 'channels_first') throw unsupported(`${this.w}: ${what} is channels_first; only channels_last models are supported`);
    if (layer.inner) {
      const inner = layer.inner;
      if (ins.length !== inner.inputs.length) throw bad(`${this.w}: model '${layer.name}' takes ${inner.inputs.length} inputs, called with ${ins.length}`);
      return this.model(inner, [...scope, layer], inner.inputs.map((ref, i) => ({ ref, v: ins[i] })));
    }
    if (IDENTITY_LAYERS.has(cls)) return [one()];
    switch (cls) {
      case 'Conv2D':
      case 'Convolution2D': {
        map4(one());
        const k = this.get(scope, layer, ['kernel'], 0)!;
        const useBias = c.use_bias !== false;
        const bias = useBias ? this.get(scope, layer, ['bias'], 1)! : undefined;
        const ks = pair(c.kernel_size, 'kernel_size', what, this.w);
        const groups = Number(c.groups ?? 1);
        this.checkDims(k, [ks[0], ks[1], null, Number(c.filters)], what);
        const inputs = [x.name, this.weight(k, { kind: 'conv' })];
        if (bias) {
          this.checkDims(bias, [Number(c.filters)], what);
          inputs.push(this.weight(bias, { kind: 'same' }));
        }
        const y = this.node('Conv', inputs, { ...this.spatial(c, what), group: int(groups) }, base);
        this.read(k.key, 1);
        if (bias) this.read(bias.key, 2);
        return [this.activation(c.activation, { name: y, rank: 4, nchw: true }, base, what)];
      }
      case 'DepthwiseConv2D': {
        map4(one());
        const k = this.get(scope, layer, ['depthwise_kernel', 'kernel'], 0)!;
        const useBias = c.use_bias !== false;
        const bias = useBias ? this.get(scope, layer, ['bias'], 1)! : undefined;
        const ks = pair(c.kernel_size, 'kernel_size', what, this.w);
        const m = Number(c.depth_multiplier ?? 1);
        this.checkDims(k, [ks[0], ks[1], null, m], what);
        const cin = k.dims[2];
        const inputs = [x.name, this.weight(k, { kind: 'depthwise' })];
        if (bias) {
          this.checkDims(bias, [cin * m], what);
          inputs.push(this.weight(bias, { kind: 'same' }));
        }
        const y = this.node('Conv', inputs, { ...this.spatial(c, what), group: int(cin) }, base);
        this.read(k.key, 1);
        if (bias) this.read(bias.key, 2);
        return [this.activation(c.activation, { name: y, rank: 4, nchw: true }, base, what)];
      }
      case 'SeparableConv2D':
      case 'SeparableConvolution2D': {
        map4(one());
        const dk = this.get(scope, layer, ['depthwise_kernel'], 0)!;
        const pk = this.get(scope, layer, ['pointwise_kernel'], 1)!;
        const useBias = c.use_bias !== false;
        const bias = useBias ? this.get(scope, layer, ['bias'], 2)! : undefined;
        const ks = pair(c.kernel_size, 'kernel_size', what, this.w);
        const m = Number(c.depth_multiplier ?? 1);
        this.checkDims(dk, [ks[0], ks[1], null, m], what);
        const cin = dk.dims[2];
        this.checkDims(pk, [1, 1, cin * m, Number(c.filters)], what);
        const d = this.node('Conv', [x.name, this.weight(dk, { kind: 'depthwise' })], { ...this.spatial(c, what), group: int(cin) }, `${base}/depthwise`);
        this.read(dk.key, 1);
        const inputs = [d, this.weight(pk, { kind: 'conv' })];
        if (bias) inputs.push(this.weight(bias, { kind: 'same' }));
        const y = this.node('Conv', inputs, { kernel_shape: ints([1, 1]) }, base);
        this.read(pk.key, 1);
        if (bias) this.read(bias.key, 2);
        return [this.activation(c.activation, { name: y, rank: 4, nchw: true }, base, what)];
      }
      case 'Conv2DTranspose':
      case 'Convolution2DTranspose': {
        map4(one());
        const k = this.get(scope, layer, ['kernel'], 0)!;
        const useBias = c.use_bias !== false;
        const bias = useBias ? this.get(scope, layer, ['bias'], 1)! : undefined;
        const ks = pair(c.kernel_size, 'kernel_size', what, this.w);
        this.checkDims(k, [ks[0], ks[1], Number(c.filters), null], what);
        if (c.output_padding !== undefined && c.output_padding !== null) throw unsupported(`${this.w}: ${what} sets output_padding`);
        const inputs = [x.name, this.weight(k, { kind: 'conv-transpose' })];
        if (bias) inputs.push(this.weight(bias, { kind: 'same' }));
        const y = this.node('ConvTranspose', inputs, this.spatial(c, what), base);
        this.read(k.key, 1);
        if (bias) this.read(bias.key, 2);
        return [this.activation(c.activation, { name: y, rank: 4, nchw: true }, base, what)];
      }
      case 'Dense': {
        one();
        const k = this.get(scope, layer, ['kernel'], 0)!;
        const useBias = c.use_bias !== false;
        const bias = useBias ? this.get(scope, layer, ['bias'], 1)! : undefined;
        this.checkDims(k, [null, Number(c.units)], what);
        if (bias) this.checkDims(bias, [Number(c.units)], what);
        let y: string;
        if (x.rank === 2) {
          const inputs = [x.name, this.weight(k, { kind: 'same' })];
          if (bias) inputs.push(this.weight(bias, { kind: 'same' }));
          y = this.node('Gemm', inputs, {}, base);
          this.read(k.key, 1);
          if (bias) this.read(bias.key, 2);
          if (x.flat) this.pendingDense.push({ node: this.graph.nodes[this.graph.nodes.length - 1].name, flat: x.flat, key: k.key });
          return [this.activation(c.activation, { name: y, rank: 2, nchw: false }, base, what)];
        }
        // Dense on the last axis of a higher-rank tensor (channels-last)
        const xin = x.nchw ? this.node('Transpose', [x.name], { perm: ints([0, 2, 3, 1]) }, `${base}/to_nhwc`) : x.name;
        y = this.node('MatMul', [xin, this.weight(k, { kind: 'same' })], {}, base);
        this.read(k.key, 1);
        if (bias) {
          y = this.node('Add', [y, this.weight(bias, { kind: 'same' })], {}, `${base}/bias`);
          this.read(bias.key, 1);
        }
        let v: V = { name: y, rank: x.rank, nchw: false };
        v = this.activation(c.activation, v, base, what);
        if (x.nchw) v = { name: this.node('Transpose', [v.name], { perm: ints([0, 3, 1, 2]) }, `${base}/to_nchw`), rank: 4, nchw: true };
        return [v];
      }
      case 'BatchNormalization': {
        one();
        const axis = Array.isArray(c.axis) ? (c.axis.length === 1 ? Number(c.axis[0]) : NaN) : Number(c.axis ?? -1);
        const ok = (x.nchw && (axis === -1 || axis === 3)) || (x.rank === 2 && (axis === -1 || axis === 1));
        if (!ok) throw unsupported(`${this.w}: ${what} normalises axis ${JSON.stringify(c.axis)} of a rank-${x.rank} tensor; only the channel axis is supported`);
        const scale = c.scale !== false;
        const center = c.center !== false;
        let i = 0;
        const gamma = scale ? this.get(scope, layer, ['gamma'], i++)! : undefined;
        const beta = center ? this.get(scope, layer, ['beta'], i++)! : undefined;
        const mean = this.get(scope, layer, ['moving_mean'], i++)!;
        const variance = this.get(scope, layer, ['moving_variance'], i++)!;
        const C = mean.dims[0];
        for (const w of [gamma, beta, variance]) if (w) this.checkDims(w, [C], what);
        const gName = gamma ? this.weight(gamma, { kind: 'same' }) : this.constant(`${base}/gamma(ones)`, 'float32', [C], new Float32Array(C).fill(1));
        const bName = beta ? this.weight(beta, { kind: 'same' }) : this.constant(`${base}/beta(zeros)`, 'float32', [C], new Float32Array(C));
        const y = this.node('BatchNormalization', [x.name, gName, bName, this.weight(mean, { kind: 'same' }), this.weight(variance, { kind: 'same' })],
          { epsilon: float(Number(c.epsilon ?? 1e-3)) }, base);
        if (gamma) this.read(gamma.key, 1);
        if (beta) this.read(beta.key, 2);
        this.read(mean.key, 3);
        this.read(variance.key, 4);
        return [{ name: y, rank: x.rank, nchw: x.nchw }];
      }
      case 'Activation':
        return [this.activation(c.activation, one(), base, what, true)];
      case 'ReLU': {
        one();
        const max = c.max_value === null || c.max_value === undefined ? undefined : Number(c.max_value);
        const slope = Number(c.negative_slope ?? 0);
        if (Number(c.threshold ?? 0) !== 0) throw unsupported(`${this.w}: ${what} has a threshold`);
        if (slope && max !== undefined) throw unsupported(`${this.w}: ${what} has both a negative slope and a maximum`);
        if (slope) return [{ ...x, name: this.node('LeakyRelu', [x.name], { alpha: float(slope) }, base), flat: undefined }];
        if (max !== undefined) return [{ ...x, name: this.clip(x.name, 0, max, base), flat: undefined }];
        return [{ ...x, name: this.node('Relu', [x.name], {}, base), flat: undefined }];
      }
      case 'LeakyReLU': {
        one();
        const alpha = Number(c.negative_slope ?? c.alpha ?? 0.3);
        return [{ ...x, name: this.node('LeakyRelu', [x.name], { alpha: float(alpha) }, base), flat: undefined }];
      }
      case 'ELU':
        one();
        return [{ ...x, name: this.node('Elu', [x.name], { alpha: float(Number(c.alpha ?? 1)) }, base), flat: undefined }];
      case 'Softmax': {
        one();
        const axis = Array.isArray(c.axis) ? Number(c.axis[0]) : Number(c.axis ?? -1);
        return [{ ...x, name: this.node('Softmax', [x.name], { axis: int(this.axis(x, axis, what)) }, base), flat: undefined }];
      }
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Maximum':
      case 'Minimum':
      case 'Average': {
        if (ins.length < 2) throw bad(`${this.w}: ${what} needs at least two inputs`);
        if (ins.some((v) => v.rank !== x.rank || v.nchw !== x.nchw)) throw unsupported(`${this.w}: ${what} combines tensors of different ranks`);
        const op = { Add: 'Add', Subtract: 'Sub', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Mean' }[cls]!;
        if (cls === 'Subtract' && ins.length !== 2) throw bad(`${this.w}: ${what} takes two inputs`);
        let y: string;
        if (op === 'Max' || op === 'Min' || op === 'Mean') y = this.node(op, ins.map((v) => v.name), {}, base);
        else {
          y = ins[0].name;
          for (let i = 1; i < ins.length; i++) y = this.node(op, [y, ins[i].name], {}, i === ins.length - 1 ? base : `${base}/${i}`);
        }
        return [{ name: y, rank: x.rank, nchw: x.nchw }];
      }
      case 'Concatenate': {
        if (ins.some((v) => v.rank !== x.rank || v.nchw !== x.nchw)) throw unsupported(`${this.w}: ${what} joins tensors of different ranks`);
        const axis = this.axis(x, Number(c.axis ?? -1), what);
        return [{ name: this.node('Concat', ins.map((v) => v.name), { axis: int(axis) }, base), rank: x.rank, nchw: x.nchw }];
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
      case 'MaxPool2D':
      case 'AvgPool2D':
      case 'AveragePool2D': {
        map4(one());
        const ks = pair(c.pool_size ?? [2, 2], 'pool_size', what, this.w);
        const st = c.strides === null || c.strides === undefined ? ks : pair(c.strides, 'strides', what, this.w);
        const same = padding(c.padding, what, this.w);
        const max = cls.startsWith('Max');
        const attrs: Record<string, Attr> = { kernel_shape: ints(ks), strides: ints(st), ...(same ? { auto_pad: str('SAME_UPPER') } : {}) };
        // TF's average pooling leaves the padding out of the count, as ONNX's default count_include_pad=0 does
        return [{ name: this.node(max ? 'MaxPool' : 'AveragePool', [x.name], attrs, base), rank: 4, nchw: true }];
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
      case 'GlobalAvgPool2D':
      case 'GlobalMaxPool2D': {
        map4(one());
        const op = cls.includes('Max') ? 'GlobalMaxPool' : 'GlobalAveragePool';
        if (c.keepdims === true) return [{ name: this.node(op, [x.name], {}, base), rank: 4, nchw: true }];
        const p = this.node(op, [x.name], {}, `${base}/pool`);
        return [{ name: this.node('Flatten', [p], { axis: int(1) }, base), rank: 2, nchw: false }];
      }
      case 'ZeroPadding2D': {
        map4(one());
        const [[t, bo], [l, r]] = padding2(c.padding, what, this.w);
        const pads = this.constant(`${base}/pads`, 'int64', [8], [0, 0, t, l, 0, 0, bo, r]);
        return [{ name: this.node('Pad', [x.name, pads], { mode: str('constant') }, base), rank: 4, nchw: true }];
      }
      case 'Cropping2D': {
        map4(one());
        const [[t, bo], [l, r]] = padding2(c.cropping, what, this.w);
        const big = 2 ** 31 - 1;
        const starts = this.constant(`${base}/starts`, 'int64', [2], [t, l]);
        const ends = this.constant(`${base}/ends`, 'int64', [2], [bo ? -bo : big, r ? -r : big]);
        const axes = this.constant(`${base}/axes`, 'int64', [2], [2, 3]);
        return [{ name: this.node('Slice', [x.name, starts, ends, axes], {}, base), rank: 4, nchw: true }];
      }
      case 'UpSampling2D': {
        map4(one());
        const [sh, sw] = pair(c.size ?? [2, 2], 'size', what, this.w);
        if ((c.interpolation ?? 'nearest') !== 'nearest') throw unsupported(`${this.w}: ${what} uses ${String(c.interpolation)} interpolation; only nearest is supported`);
        const scales = this.constant(`${base}/scales`, 'float32', [4], [1, 1, sh, sw]);
        return [{
          name: this.node('Resize', [x.name, '', scales], {
            mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor'),
          }, base), rank: 4, nchw: true,
        }];
      }
      case 'Flatten': {
        one();
        if (!x.nchw) {
          if (x.rank <= 2) return [x];
          return [{ name: this.node('Flatten', [x.name], { axis: int(1) }, base), rank: 2, nchw: false }];
        }
        // Keras flattens NHWC in (h, w, c) order. When only Dense layers read the result, flatten NCHW and permute
        // those kernels' rows instead, so channels stay visible to the dependency analysis.
        if (consumers.length > 0 && consumers.every((k) => k === 'Dense')) {
          const y = this.node('Flatten', [x.name], { axis: int(1) }, base);
          return [{ name: y, rank: 2, nchw: false, flat: x.name }];
        }
        const t = this.node('Transpose', [x.name], { perm: ints([0, 2, 3, 1]) }, `${base}/to_nhwc`);
        return [{ name: this.node('Flatten', [t], { axis: int(1) }, base), rank: 2, nchw: false }];
      }
      case 'Reshape': {
        one();
        const target = c.target_shape;
        if (!Array.isArray(target) || target.some((d) => typeof d !== 'number')) throw bad(`${this.w}: ${what} has no target_shape`);
        const xin = x.nchw ? this.node('Transpose', [x.name], { perm: ints([0, 2, 3, 1]) }, `${base}/to_nhwc`) : x.name;
        const shape = this.constant(`${base}/shape`, 'int64', [target.length + 1], [0, ...(target as number[])]);
        const y = this.node('Reshape', [xin, shape], {}, base);
        // the target may hold a channel count that pruning changes: bound like a weight, written back to the config
        const key = `${[...scope.map((l) => l.name), layer.name].join('/')}#target_shape`;
        if (!this.bindings.has(key)) {
          this.bindings.set(key, { key, readers: [], layout: { kind: 'int64' }, dims: [target.length + 1] });
          this.owners.set(key, { path: [...scope.map((l) => l.name), layer.name], className: cls, role: 'target_shape' });
        }
        this.read(key, 1);
        if (target.length + 1 === 4) return [{ name: this.node('Transpose', [y], { perm: ints([0, 3, 1, 2]) }, `${base}/to_nchw`), rank: 4, nchw: true }];
        return [{ name: y, rank: target.length + 1, nchw: false }];
      }
      case 'Rescaling': {
        one();
        const s = Number(c.scale ?? 1);
        const o = Number(c.offset ?? 0);
        if (!Number.isFinite(s) || !Number.isFinite(o)) throw unsupported(`${this.w}: ${what} has per-channel scale or offset`);
        let y = this.node('Mul', [x.name, this.constant(`${base}/scale`, 'float32', [], [s])], {}, o ? `${base}/mul` : base);
        if (o) y = this.node('Add', [y, this.constant(`${base}/offset`, 'float32', [], [o])], {}, base);
        return [{ ...x, name: y, flat: undefined }];
      }
      default:
        throw unsupported(`${this.w}: layer '${layer.name}' is a ${cls}, which PruneLens cannot convert`);
    }
  }

  /** An axis of a Keras tensor as an axis of the IR value (NHWC axes 1, 2, 3 are NCHW's 2, 3, 1). */
  private axis(v: V, axis: number, what: string): number {
    const a = axis < 0 ? axis + v.rank : axis;
    if (a <= 0 || a >= v.rank) throw unsupported(`${this.w}: ${what} works on axis ${axis} (batch or out of range)`);
    return v.nchw ? [0, 2, 3, 1][a] : a;
  }

  private clip(x: string, lo: number, hi: number, base: string): string {
    const l = this.constant(`${base}/min`, 'float32', [], [lo]);
    const h = this.constant(`${base}/max`, 'float32', [], [hi]);
    return this.node('Clip', [x, l, h], {}, base);
  }

  private activation(a: unknown, x: V, base: string, what: string, own = false): V {
    const name = String(plain(a) ?? 'linear');
    // a fused activation is a node of its own, named after the layer
    const n = own ? base : `${base}/${name}`;
    const un = (op: string, attrs: Record<string, Attr> = {}) => ({ ...x, name: this.node(op, [x.name], attrs, n), flat: undefined });
    switch (name) {
      case 'linear': return x;
      case 'relu': return un('Relu');
      case 'relu6': return { ...x, name: this.clip(x.name, 0, 6, n), flat: undefined };
      case 'sigmoid': return un('Sigmoid');
      case 'tanh': return un('Tanh');
      case 'elu': return un('Elu', { alpha: float(1) });
      case 'selu': return un('Selu');
      case 'softplus': return un('Softplus');
      case 'softsign': return un('Softsign');
      case 'exponential': return un('Exp');
      case 'leaky_relu': return un('LeakyRelu', { alpha: float(0.2) });
      case 'hard_sigmoid':
        return un('HardSigmoid', this.opts.keras3 ? { alpha: float(1 / 6), beta: float(0.5) } : { alpha: float(0.2), beta: float(0.5) });
      case 'hard_swish':
      case 'hard_silu': return un('HardSwish');
      case 'swish':
      case 'silu': {
        const s = this.node('Sigmoid', [x.name], {}, `${n}/sigmoid`);
        return { ...x, name: this.node('Mul', [x.name, s], {}, n), flat: undefined };
      }
      case 'softmax':
      case 'log_softmax':
        return un(name === 'softmax' ? 'Softmax' : 'LogSoftmax', { axis: int(this.axis(x, -1, what)) });
      default:
        throw unsupported(`${this.w}: ${what} uses the activation '${name}', which PruneLens cannot convert`);
    }
  }

  /** kernel_shape, strides, dilations and padding of a Keras conv. */
  private spatial(c: Record<string, unknown>, what: string): Record<string, Attr> {
    const ks = pair(c.kernel_size, 'kernel_size', what, this.w);
    const st = pair(c.strides ?? 1, 'strides', what, this.w);
    const dl = pair(c.dilation_rate ?? 1, 'dilation_rate', what, this.w);
    const same = padding(c.padding, what, this.w);
    return { kernel_shape: ints(ks), strides: ints(st), dilations: ints(dl), ...(same ? { auto_pad: str('SAME_UPPER') } : {}) };
  }

  /** A weight whose dims contradict the layer's config is refused (a manifest that lies about shapes). */
  private checkDims(w: SourceWeight, want: (number | null)[], what: string): void {
    const ok = w.dims.length === want.length && want.every((d, i) => d === null || !Number.isFinite(d) || d === w.dims[i]);
    if (!ok) {
      throw bad(`${this.w}: weight '${w.key}' is ${w.dims.join('x')}, but ${what} needs ${want.map((d) => (d === null || !Number.isFinite(d) ? '?' : d)).join('x')}`);
    }
  }

  finish(): Converted {
    const model = new Model(this.opts.format, this.opts.path, this.graph, {
      irVersion: 8, opsets: [{ domain: '', version: OPSET }], producer: this.opts.producer, producerVersion: '', domain: '',
      modelVersion: 0, docString: '', metadata: this.opts.metadata ?? {},
    });
    this.settleDense(model);
    checkChannels(model, this.opts.where, [...this.bindings.values()]);
    stateOutputShapes(model);
    const unused = this.store.unused?.() ?? [];
    if (unused.length) throw bad(`${this.w}: ${unused.length} weight(s) belong to no layer (e.g. '${unused[0]}')`);
    const tied = this.tiedTensors((key, n) => `'${key}' belongs to a layer called ${n} times, which keeps one set of weights`);
    return { model, bindings: [...this.bindings.values()], owners: this.owners, calls: this.calls, tied };
  }

  /** Dense kernels after an NCHW Flatten: rows permuted from (h, w, c) to (c, h, w), now that shapes are known. */
  private settleDense(model: Model): void {
    if (!this.pendingDense.length) return;
    const { shapes } = resolveInputShapes(model);
    const { types } = inferShapes(model, shapes);
    for (const p of this.pendingDense) {
      const dims = types.get(p.flat)?.dims;
      if (!dims || dims.length !== 4) throw bad(`${this.w}: cannot tell the shape flattened before '${p.node}'`);
      const [, c, h, w] = dims;
      const b = this.bindings.get(p.key)!;
      if (b.dims[0] !== c * h * w) throw bad(`${this.w}: weight '${p.key}' has ${b.dims[0]} rows, but the flattened map before it has ${c}·${h}·${w} = ${c * h * w} values`);
      if (h * w === 1) continue;
      toFlattenedRows(model.graph.initializers.get(this.irName.get(p.key)!)!, b, h, w);
    }
  }
}

/** Each consumer layer class of each layer's outputs (identity layers looked through). */
function consumerCounts(km: KModel): Map<string, string[]> {
  const direct = new Map<string, KLayer[]>();
  for (const l of km.layers) for (const call of l.calls) for (const r of call) {
    let list = direct.get(r.layer);
    if (!list) direct.set(r.layer, (list = []));
    list.push(l);
  }
  for (const o of km.outputs) {
    let list = direct.get(o.layer);
    if (!list) direct.set(o.layer, (list = []));
    list.push({ name: '(output)', className: '(output)', config: {}, calls: [], callOffset: 0 });
  }
  const out = new Map<string, string[]>();
  const resolve = (name: string, seen: Set<string>): string[] =>
    (direct.get(name) ?? []).flatMap((l) => (IDENTITY_LAYERS.has(l.className) && !seen.has(l.name) ? resolve(l.name, new Set([...seen, l.name])) : [l.inner ? '(model)' : l.className]));
  for (const l of km.layers) out.set(l.name, resolve(l.name, new Set([l.name])));
  return out;
}

function pair(v: unknown, field: string, what: string, where: string): [number, number] {
  const a = typeof v === 'number' ? [v, v] : Array.isArray(v) ? v.map(Number) : [];
  if (a.length === 1) a.push(a[0]);
  if (a.length !== 2 || a.some((d) => !Number.isInteger(d) || d < 1)) throw bad(`${where}: ${what} has a bad ${field} ${JSON.stringify(v)}`);
  return [a[0], a[1]];
}

function padding(p: unknown, what: string, where: string): boolean {
  const v = String(p ?? 'valid').toLowerCase();
  if (v === 'same') return true;
  if (v === 'valid') return false;
  throw unsupported(`${where}: ${what} uses padding '${v}'`);
}

function padding2(p: unknown, what: string, where: string): [[number, number], [number, number]] {
  if (typeof p === 'number') return [[p, p], [p, p]];
  if (Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number')) return [[p[0], p[0]], [p[1], p[1]]];
  if (Array.isArray(p) && p.length === 2 && p.every((x) => Array.isArray(x) && x.length === 2)) return [[Number(p[0][0]), Number(p[0][1])], [Number(p[1][0]), Number(p[1][1])]];
  throw bad(`${where}: ${what} has a bad padding ${JSON.stringify(p)}`);
}
