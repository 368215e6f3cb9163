import * as path from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { PruneLensError } from '../../errors.js';
import { dtypeFromOnnx } from '../../ir/dtype.js';
import { Graph, Model, Node, type Attr, type Dim, type ValueInfo } from '../../ir/graph.js';
import { ExternalData } from './external.js';
import { tensorFromProto } from './tensor.js';

/** IR versions this build understands (ONNX 1.0 … 1.20). */
export const MIN_IR_VERSION = 3;
export const MAX_IR_VERSION = 12;

const decoder = new TextDecoder();

/** Parse ONNX bytes into the IR. `file` is used for messages and to resolve external data. */
export function decodeOnnx(bytes: Uint8Array, file: string): Model {
  const shown = path.basename(file) || '<memory>';
  if (bytes.length === 0) throw new PruneLensError(`${shown}: file is empty`, { code: 'bad-model' });
  if (looksLikeText(bytes)) throw new PruneLensError(`${shown}: not an ONNX model (this is a text file)`, { code: 'bad-model' });
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new PruneLensError(
      `${shown}: not a valid ONNX file: truncated or corrupt protobuf (${(e as Error).message})`,
      { code: 'bad-model', cause: e },
    );
  }
  const ir = Number(proto.irVersion);
  if (!proto.graph || ir === 0) {
    throw new PruneLensError(`${shown}: not an ONNX model (no ${ir === 0 ? 'IR version' : 'graph'} in the file)`, { code: 'bad-model' });
  }
  if (ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
    throw new PruneLensError(
      `${shown}: unsupported ONNX IR version ${ir} (PruneLens reads IR versions ${MIN_IR_VERSION} to ${MAX_IR_VERSION})`,
      { code: 'unsupported' },
    );
  }
  const ctx: Ctx = { ext: new ExternalData(path.dirname(path.resolve(file)), shown) };
  const graph = convertGraph(proto.graph, undefined, ctx);
  checkOtherTensors(proto, ctx.ext);
  return new Model(
    'onnx',
    file ? path.resolve(file) : '',
    graph,
    {
      irVersion: ir,
      opsets: proto.opsetImport.map((o) => ({ domain: o.domain, version: Number(o.version) })),
      producer: proto.producerName,
      producerVersion: proto.producerVersion,
      domain: proto.domain,
      modelVersion: Number(proto.modelVersion),
      docString: proto.docString,
      metadata: Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value])),
    },
    proto,
  );
}

/** Protobuf starts with a field tag; a model never starts with '{', '<', '#' or plain printable text. */
function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) printable++;
  }
  return printable === n;
}

interface Ctx {
  ext: ExternalData;
}

/**
 * Tensors the IR does not hold (sparse initializers and sparse attribute values, training initializers) are kept as
 * they were read, but checked like every other: external data inside the model's folder, sizes that match the shape.
 */
function checkOtherTensors(proto: ModelProto, ext: ExternalData): void {
  forEachTensorProto(proto, (t) => void tensorFromProto(t, ext));
}

/** Every TensorProto in a model, wherever it sits (graphs, sub-graphs, attributes, sparse tensors, training info). */
export function forEachTensorProto(proto: ModelProto, fn: (t: TensorProto) => void): void {
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
    if (Array.isArray(v)) {
      for (const x of v) if (x && typeof x === 'object') visit(x);
      return;
    }
    if ((v as { $typeName?: string }).$typeName === 'onnx.TensorProto') return fn(v as TensorProto);
    for (const [k, x] of Object.entries(v)) if (k !== '$typeName' && k !== '$unknown') visit(x);
  };
  visit(proto);
}

function convertGraph(g: GraphProto, parent: Graph | undefined, ctx: Ctx): Graph {
  const graph = new Graph(g.name, parent, g);
  for (const t of g.initializer) graph.initializers.set(t.name, tensorFromProto(t, ctx.ext));
  graph.inputs = g.input.map(valueInfo);
  graph.outputs = g.output.map(valueInfo);
  for (const v of g.valueInfo) graph.valueInfo.set(v.name, valueInfo(v));
  graph.nodes = g.node.map((n, i) => convertNode(n, i, graph, ctx));
  return graph;
}

function convertNode(n: NodeProto, index: number, graph: Graph, ctx: Ctx): Node {
  const attrs = new Map<string, Attr>();
  for (const a of n.attribute) attrs.set(a.name, convertAttr(a, graph, ctx));
  // Unnamed nodes get a stable name so reports and plans can refer to them; the file keeps its empty name.
  const node = new Node(n.name || `${n.opType}_${index}`, n.opType, n.domain, [...n.input], [...n.output], attrs, n);
  node.nameGenerated = !n.name;
  return node;
}

function convertAttr(a: AttributeProto, graph: Graph, ctx: Ctx): Attr {
  if (a.refAttrName) return { type: 'other' };
  let type = a.type;
  if (type === AT.UNDEFINED) type = guessAttrType(a);
  switch (type) {
    case AT.INT: return { type: 'int', value: Number(a.i) };
    case AT.FLOAT: return { type: 'float', value: a.f };
    case AT.STRING: return { type: 'string', value: decoder.decode(a.s) };
    case AT.INTS: return { type: 'ints', value: a.ints.map(Number) };
    case AT.FLOATS: return { type: 'floats', value: [...a.floats] };
    case AT.STRINGS: return { type: 'strings', value: a.strings.map((s) => decoder.decode(s)) };
    case AT.TENSOR: return a.t ? { type: 'tensor', value: tensorFromProto(a.t, ctx.ext) } : { type: 'other' };
    case AT.GRAPH: return a.g ? { type: 'graph', value: convertGraph(a.g, graph, ctx) } : { type: 'other' };
    case AT.GRAPHS: return { type: 'graphs', value: a.graphs.map((g) => convertGraph(g, graph, ctx)) };
    default: return { type: 'other' };
  }
}

/** IR-1 files may leave `type` unset: infer it from the field that holds a value. */
function guessAttrType(a: AttributeProto): AT {
  if (a.ints.length) return AT.INTS;
  if (a.floats.length) return AT.FLOATS;
  if (a.strings.length) return AT.STRINGS;
  if (a.graphs.length) return AT.GRAPHS;
  if (a.t) return AT.TENSOR;
  if (a.g) return AT.GRAPH;
  if (a.s.length) return AT.STRING;
  if (a.f !== 0) return AT.FLOAT;
  return AT.INT;
}

export function valueInfo(v: ValueInfoProto): ValueInfo {
  return { name: v.name, ...describeType(v.type), origin: v };
}

function describeType(t: TypeProto | undefined): Omit<ValueInfo, 'name'> {
  switch (t?.value.case) {
    case 'tensorType': {
      const tt = t.value.value;
      const shape: Dim[] | undefined = tt.shape
        ? tt.shape.dim.map((d) =>
            d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null,
          )
        : undefined;
      return { dtype: dtypeFromOnnx(tt.elemType), shape, kind: 'tensor' };
    }
    case 'sequenceType': return { dtype: 'unknown', kind: 'sequence' };
    case 'mapType': return { dtype: 'unknown', kind: 'map' };
    case 'optionalType': return { dtype: 'unknown', kind: 'optional' };
    case 'sparseTensorType': return { dtype: dtypeFromOnnx(t.value.value.elemType), kind: 'sparse' };
    default: return { dtype: 'unknown', kind: 'unknown' };
  }
}
