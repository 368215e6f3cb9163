/** Builds small ONNX models in tests, with deterministic random weights. */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { dtypeToOnnx, type DType } from '../../src/core/ir/dtype.js';
import { encodeElements } from '../../src/core/ir/tensor.js';
import { gaussian, rng } from '../../src/core/util/random.js';

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: TensorProto } | { graph: GraphProto };

export class OnnxBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private n = 0;
  private readonly normal: () => number;

  /** `prefix` keeps the names of a sub-graph's builder apart from the main graph's. */
  constructor(readonly opset = 13, seed = 7, private readonly prefix = '') {
    this.normal = gaussian(rng(seed));
  }

  input(name: string, dims: (number | string)[], dtype: DType = 'float32'): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dims?: (number | string)[], dtype: DType = 'float32'): void {
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** An initializer; random normal × scale when `data` is not given. */
  init(name: string, dims: number[], data?: ArrayLike<number>, dtype: DType = 'float32', scale = 0.5): string {
    this.inits.push(tensor(name, dims, data ?? this.random(dims, scale), dtype));
    return name;
  }

  random(dims: number[], scale = 0.5): Float32Array {
    const n = dims.reduce((a, b) => a * b, 1);
    return Float32Array.from({ length: n }, () => this.normal() * scale);
  }

  /** Adds a node; returns its output names (one by default). */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, domain = ''): string[] {
    const id = this.n++;
    const outs = Array.from({ length: outputs }, (_, i) => `${this.prefix}${op.toLowerCase()}${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push(
      create(NodeProtoSchema, {
        name: `${this.prefix}${op}_${id}`,
        opType: op,
        domain,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
      }),
    );
    return outs;
  }

  /** Shorthand for single-output nodes. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs)[0];
  }

  /** Conv with random weights (+ bias). */
  conv(x: string, cin: number, cout: number, k = 3, opts: { stride?: number; group?: number; bias?: boolean; pad?: number } = {}): string {
    const g = opts.group ?? 1;
    const id = this.n;
    const w = this.init(`${this.prefix}conv${id}.w`, [cout, cin / g, k, k], undefined, 'float32', Math.sqrt(2 / ((cin / g) * k * k)));
    const ins = [x, w];
    if (opts.bias ?? true) ins.push(this.init(`${this.prefix}conv${id}.b`, [cout], undefined, 'float32', 0.1));
    const p = opts.pad ?? Math.floor(k / 2);
    return this.op('Conv', ins, { kernel_shape: [k, k], pads: [p, p, p, p], strides: [opts.stride ?? 1, opts.stride ?? 1], group: g });
  }

  bn(x: string, c: number): string {
    const id = this.n;
    const gamma = this.init(`${this.prefix}bn${id}.g`, [c], Float32Array.from({ length: c }, () => 1 + 0.2 * this.normal()));
    const beta = this.init(`${this.prefix}bn${id}.b`, [c], undefined, 'float32', 0.1);
    const mean = this.init(`${this.prefix}bn${id}.m`, [c], undefined, 'float32', 0.1);
    const v = this.init(`${this.prefix}bn${id}.v`, [c], Float32Array.from({ length: c }, () => 0.5 + Math.abs(this.normal())));
    return this.op('BatchNormalization', [x, gamma, beta, mean, v], { epsilon: { float: 1e-5 } });
  }

  gemm(x: string, k: number, n: number): string {
    const id = this.n;
    const w = this.init(`${this.prefix}fc${id}.w`, [n, k], undefined, 'float32', Math.sqrt(1 / k));
    const b = this.init(`${this.prefix}fc${id}.b`, [n], undefined, 'float32', 0.1);
    return this.op('Gemm', [x, w, b], { transB: 1 });
  }

  /** This builder's nodes as a graph (also a sub-graph: an If branch reads outer values by name). */
  graph(name = 'g'): GraphProto {
    return create(GraphProtoSchema, { name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs });
  }

  proto(irVersion = 8): ModelProto {
    return create(ModelProtoSchema, {
      irVersion: BigInt(irVersion),
      producerName: 'prunelens-tests',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(this.opset) })],
      graph: this.graph(),
    });
  }

  build(irVersion = 8): Uint8Array {
    return toBinary(ModelProtoSchema, this.proto(irVersion));
  }
}

export function tensor(name: string, dims: number[], data: ArrayLike<number>, dtype: DType = 'float32'): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dims: dims.map((d) => BigInt(d)),
    dataType: dtypeToOnnx(dtype),
    rawData: encodeElements(dtype, data) as Uint8Array<ArrayBuffer>,
  });
}

export function valueInfo(name: string, dtype: DType, dims?: (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: dtypeToOnnx(dtype),
          shape: dims
            ? create(TensorShapeProtoSchema, {
                dim: dims.map((d) =>
                  create(TensorShapeProto_DimensionSchema, {
                    value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
                  }),
                ),
              })
            : undefined,
        }),
      },
    }),
  });
}

function attr(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(v) })
      : create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v });
  }
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: v.map((x) => BigInt(x)) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v.float });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: v.floats });
  if ('graph' in v) return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: v.graph });
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: v.tensor });
}
