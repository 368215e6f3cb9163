import * as path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  StringStringEntryProtoSchema,
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
import { PruneLensError } from '../../errors.js';
import { dtypeToOnnx } from '../../ir/dtype.js';
import type { Attr, Graph, Model, Node, ValueInfo } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import { writeAll, writeFileAtomic } from '../../util/atomic.js';

const encoder = new TextEncoder();
const EXTERNAL = 1;
/** Protobuf messages cannot exceed 2 GiB; above this many inline bytes, large tensors go to external data. */
const INLINE_LIMIT = 1.8 * 2 ** 30;
const EXTERNAL_MIN_BYTES = 1024;
const ALIGN = 64;

/**
 * Brings the ModelProto up to date with the IR. Unchanged parts keep their original protos, so every field the
 * schema does not know (and unknown enum values) is written back as it was read.
 */
export function syncOnnx(model: Model): ModelProto {
  const proto = (model.origin as ModelProto | undefined) ?? create(ModelProtoSchema);
  proto.graph = syncGraph(model.graph);
  return proto;
}

/** Serialise to bytes. External tensors keep pointing at their original files (for in-memory sessions). */
export function encodeOnnx(model: Model): Uint8Array {
  return toBinary(ModelProtoSchema, syncOnnx(model));
}

export interface SaveOptions {
  overwrite?: boolean;
  /** 'keep': tensors external in the source stay external (default); 'always': every tensor ≥ 1 KiB. */
  externalData?: 'keep' | 'always';
}

export interface SaveResult {
  path: string;
  bytes: number;
  dataFile?: string;
  dataBytes?: number;
}

/** Saves atomically; external tensors go to `<name>.data` beside the model, written atomically too. */
export function saveOnnx(model: Model, outPath: string, opts: SaveOptions = {}): SaveResult {
  const proto = syncOnnx(model);
  const tensors = collectTensors(model.graph);
  const inlineBytes = tensors.reduce((s, t) => s + (isExternal(t.proto) ? 0 : t.tensor.byteLength), 0);
  const external = tensors.filter(
    ({ tensor, proto: p }) =>
      isExternal(p) ||
      ((opts.externalData === 'always' || inlineBytes > INLINE_LIMIT) && tensor.byteLength >= EXTERNAL_MIN_BYTES),
  );
  const result: SaveResult = { path: outPath, bytes: 0 };
  // Point the protos at the new data file only while encoding; the loaded model keeps reading the old one.
  const saved = external.map(({ proto: p }) => ({ p, loc: p.dataLocation, ext: p.externalData, raw: p.rawData }));
  try {
    if (external.length) {
      const dataName = `${path.basename(outPath)}.data`;
      const dataFile = path.join(path.dirname(path.resolve(outPath)), dataName);
      let offset = 0;
      writeFileAtomic(
        dataFile,
        (fd) => {
          for (const { tensor, proto: p } of external) {
            const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
            if (pad) writeAll(fd, new Uint8Array(pad));
            offset += pad;
            const bytes = tensor.bytes();
            writeAll(fd, bytes);
            p.dataLocation = EXTERNAL;
            p.externalData = [
              entry('location', dataName),
              entry('offset', String(offset)),
              entry('length', String(bytes.length)),
            ];
            p.rawData = new Uint8Array(0);
            clearTypedFields(p);
            offset += bytes.length;
          }
        },
        opts,
      );
      result.dataFile = dataFile;
      result.dataBytes = offset;
    }
    const bytes = toBinary(ModelProtoSchema, proto);
    writeFileAtomic(outPath, (fd) => writeAll(fd, bytes), opts);
    result.bytes = bytes.length;
  } finally {
    for (const s of saved) {
      s.p.dataLocation = s.loc;
      s.p.externalData = s.ext;
      s.p.rawData = s.raw;
    }
  }
  return result;
}

function entry(key: string, value: string) {
  return create(StringStringEntryProtoSchema, { key, value });
}

function isExternal(p: TensorProto): boolean {
  return p.dataLocation === EXTERNAL;
}

function collectTensors(g: Graph): { tensor: Tensor; proto: TensorProto }[] {
  const out: { tensor: Tensor; proto: TensorProto }[] = [];
  for (const graph of g.allGraphs()) {
    for (const t of graph.initializers.values()) out.push({ tensor: t, proto: t.origin as TensorProto });
    for (const n of graph.nodes) {
      for (const a of n.attrs.values()) {
        if (a.type === 'tensor') out.push({ tensor: a.value, proto: a.value.origin as TensorProto });
      }
    }
  }
  return out;
}

/**
 * proto2 fields track presence: assigning an equal value (even '') to an absent field would make it present
 * and change the bytes. Assign only real changes.
 */
function assign<T extends object, K extends keyof T>(p: T, key: K, value: T[K]): void {
  if (p[key] !== value) p[key] = value;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function syncGraph(g: Graph): GraphProto {
  const p = (g.origin as GraphProto | undefined) ?? create(GraphProtoSchema, { name: g.name });
  g.origin = p;
  p.node = g.nodes.map(syncNode);
  p.initializer = [...g.initializers.values()].map(syncTensor);
  p.input = g.inputs.map(syncValueInfo);
  p.output = g.outputs.map(syncValueInfo);
  p.valueInfo = [...g.valueInfo.values()].map(syncValueInfo);
  assign(p, 'name', g.name);
  return p;
}

function syncNode(n: Node): NodeProto {
  let p = n.origin as NodeProto | undefined;
  if (!p) {
    p = create(NodeProtoSchema, { name: n.name });
    n.origin = p;
    for (const k of n.attrs.keys()) n.changedAttrs.add(k);
  } else if (!n.nameGenerated) {
    assign(p, 'name', n.name);
  }
  assign(p, 'opType', n.opType);
  assign(p, 'domain', n.domain);
  if (!sameList(p.input, n.inputs)) p.input = [...n.inputs];
  if (!sameList(p.output, n.outputs)) p.output = [...n.outputs];
  for (const name of n.changedAttrs) {
    const i = p.attribute.findIndex((a) => a.name === name);
    const a = n.attrs.get(name);
    if (!a) {
      if (i >= 0) p.attribute.splice(i, 1);
      continue;
    }
    const ap = attrProto(name, a);
    if (i >= 0) p.attribute[i] = ap;
    else p.attribute.push(ap);
  }
  n.changedAttrs.clear();
  // Sub-graphs and tensors in unchanged attributes are synced in place.
  for (const a of n.attrs.values()) {
    if (a.type === 'graph') syncGraph(a.value);
    else if (a.type === 'graphs') a.value.forEach(syncGraph);
    else if (a.type === 'tensor') syncTensor(a.value);
  }
  return p;
}

function attrProto(name: string, a: Attr): AttributeProto {
  switch (a.type) {
    case 'int': return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(a.value) });
    case 'float': return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: a.value });
    case 'string': return create(AttributeProtoSchema, { name, type: AT.STRING, s: encoder.encode(a.value) });
    case 'ints': return create(AttributeProtoSchema, { name, type: AT.INTS, ints: a.value.map((v) => BigInt(v)) });
    case 'floats': return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: a.value });
    case 'strings':
      return create(AttributeProtoSchema, { name, type: AT.STRINGS, strings: a.value.map((s) => encoder.encode(s)) });
    case 'tensor': return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: syncTensor(a.value) });
    case 'graph': return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: syncGraph(a.value) });
    case 'graphs': return create(AttributeProtoSchema, { name, type: AT.GRAPHS, graphs: a.value.map(syncGraph) });
    default: throw new PruneLensError(`cannot write attribute '${name}' of an unsupported kind`);
  }
}

function clearTypedFields(p: TensorProto): void {
  p.floatData = [];
  p.int32Data = [];
  p.int64Data = [];
  p.doubleData = [];
  p.uint64Data = [];
}

function syncTensor(t: Tensor): TensorProto {
  let p = t.origin as TensorProto | undefined;
  if (!p) {
    p = create(TensorProtoSchema);
    t.origin = p;
    t.modified = true;
  }
  assign(p, 'name', t.name);
  if (t.modified) {
    p.dataType = dtypeToOnnx(t.dtype);
    p.dims = t.dims.map((d) => BigInt(d));
    clearTypedFields(p);
    p.rawData = t.bytes() as Uint8Array<ArrayBuffer>;
    p.dataLocation = 0;
    p.externalData = [];
    t.modified = false;
  }
  return p;
}

export function syncValueInfo(v: ValueInfo): ValueInfoProto {
  const p = v.origin as ValueInfoProto | undefined;
  if (p && !v.changed) {
    assign(p, 'name', v.name);
    return p;
  }
  const q = p ?? create(ValueInfoProtoSchema);
  q.name = v.name;
  if (v.kind === undefined || v.kind === 'tensor') {
    q.type = create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: v.dtype === 'unknown' ? 0 : dtypeToOnnx(v.dtype),
          shape: v.shape
            ? create(TensorShapeProtoSchema, {
                dim: v.shape.map((d) =>
                  create(TensorShapeProto_DimensionSchema, {
                    value:
                      typeof d === 'number'
                        ? { case: 'dimValue', value: BigInt(d) }
                        : typeof d === 'string'
                          ? { case: 'dimParam', value: d }
                          : { case: undefined },
                  }),
                ),
              })
            : undefined,
        }),
      },
    });
  }
  v.origin = q;
  v.changed = false;
  return q;
}

