import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
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
import { OutputBatch, writeAll } from '../../util/atomic.js';
import { ExternalData } from './external.js';
import { forEachTensorProto } from './load.js';
import { tensorFromProto } from './tensor.js';

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
  const proto = (model.origin as ModelProto | undefined) ?? freshModelProto(model);
  proto.graph = syncGraph(model.graph);
  return proto;
}

/** A ModelProto for a model converted from another format (nothing read to keep): its header from `meta`. */
function freshModelProto(model: Model): ModelProto {
  const m = model.meta;
  return create(ModelProtoSchema, {
    irVersion: BigInt(m.irVersion),
    opsetImport: m.opsets.map((o) => create(OperatorSetIdProtoSchema, { domain: o.domain, version: BigInt(o.version) })),
    producerName: m.producer,
    producerVersion: m.producerVersion,
    metadataProps: Object.entries(m.metadata).map(([key, value]) => entry(key, value)),
  });
}

/** Serialise to bytes. External tensors keep pointing at their original files (for in-memory sessions). */
export function encodeOnnx(model: Model): Uint8Array {
  return toBinary(ModelProtoSchema, syncOnnx(model));
}

export interface SaveOptions {
  overwrite?: boolean;
  /** 'keep': tensors external in the source stay external (default); 'always': every tensor ≥ 1 KiB. */
  externalData?: 'keep' | 'always';
  /** Stage the files into this batch (the caller publishes them with its own); else they are published at once. */
  batch?: OutputBatch;
}

export interface SaveResult {
  path: string;
  bytes: number;
  dataFile?: string;
  dataBytes?: number;
}

/**
 * Saves atomically. External tensors go to a data file beside the model, `<name>.data` or, when that name is taken,
 * `<name>.<random>.data`: a new name each time, published before the model that points at it, so a reader sees the
 * old model with its old data or the new model with its new data, never a mix. Once a replaced model is gone, the
 * data files of our naming it pointed at are removed.
 */
export function saveOnnx(model: Model, outPath: string, opts: SaveOptions = {}): SaveResult {
  const own = !opts.batch;
  const batch = opts.batch ?? new OutputBatch({ overwrite: opts.overwrite });
  try {
    const result = stageOnnx(model, outPath, batch, opts);
    if (own) batch.commit();
    return result;
  } catch (e) {
    if (own) batch.discard();
    throw e;
  }
}

function stageOnnx(model: Model, outPath: string, batch: OutputBatch, opts: SaveOptions): SaveResult {
  const proto = syncOnnx(model);
  const tensors = [...collectTensors(model.graph), ...otherExternalTensors(model, proto)];
  const inlineBytes = tensors.reduce((s, t) => s + (isExternal(t.proto) ? 0 : t.tensor.byteLength), 0);
  const external = tensors.filter(
    ({ tensor, proto: p }) =>
      isExternal(p) ||
      ((opts.externalData === 'always' || inlineBytes > INLINE_LIMIT) && tensor.byteLength >= EXTERNAL_MIN_BYTES),
  );
  const result: SaveResult = { path: outPath, bytes: 0 };
  const dir = path.dirname(path.resolve(outPath));
  const replaced = opts.overwrite ? ourDataFilesOf(outPath) : [];
  // Point the protos at the new data file only while encoding; the loaded model keeps reading the old one.
  const saved = external.map(({ proto: p }) => ({ p, loc: p.dataLocation, ext: p.externalData, raw: p.rawData, typed: typedFields(p) }));
  try {
    if (external.length) {
      const dataName = freeDataName(outPath);
      const dataFile = path.join(dir, dataName);
      let offset = 0;
      batch.stage(
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
        // a name no file has: created, never replaced
        { overwrite: false },
      );
      result.dataFile = dataFile;
      result.dataBytes = offset;
    }
    const bytes = toBinary(ModelProtoSchema, proto);
    batch.stage(outPath, (fd) => writeAll(fd, bytes));
    result.bytes = bytes.length;
  } finally {
    for (const s of saved) {
      s.p.dataLocation = s.loc;
      s.p.externalData = s.ext;
      s.p.rawData = s.raw;
      Object.assign(s.p, s.typed);
    }
  }
  batch.afterCommit(() => {
    for (const f of replaced) {
      if (f === result.dataFile) continue;
      try { fs.unlinkSync(f); } catch { /* already gone */ }
    }
  });
  return result;
}

/**
 * Tensors the IR does not hold whose data is external (sparse initializers, sparse attribute values, training
 * initializers): their bytes are copied into the new data file too, since a location relative to the original's
 * folder would not resolve beside the output.
 */
function otherExternalTensors(model: Model, proto: ModelProto): { tensor: Tensor; proto: TensorProto }[] {
  if (!model.path) return [];
  const held = new Set(collectTensors(model.graph).map((t) => t.proto));
  const ext = new ExternalData(path.dirname(model.path), path.basename(model.path));
  const out: { tensor: Tensor; proto: TensorProto }[] = [];
  forEachTensorProto(proto, (p) => {
    if (isExternal(p) && !held.has(p)) out.push({ tensor: tensorFromProto(p, ext), proto: p });
  });
  return out;
}

/** `<name>.data` when no file has that name, else `<name>.<random>.data`. */
function freeDataName(outPath: string): string {
  const dir = path.dirname(path.resolve(outPath));
  const base = path.basename(outPath);
  for (let i = 0; ; i++) {
    const name = i === 0 ? `${base}.data` : `${base}.${randomBytes(4).toString('hex')}.data`;
    if (!exists(path.join(dir, name))) return name;
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The data files of our naming (`<name>.data`, `<name>.<random>.data`) that the model now at `outPath` points at. */
function ourDataFilesOf(outPath: string): string[] {
  const dir = path.dirname(path.resolve(outPath));
  const base = path.basename(outPath);
  const ours = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[0-9a-f]{8})?\\.data$`);
  let old: ModelProto;
  try {
    const st = fs.statSync(outPath);
    if (!st.isFile() || st.size > 2 ** 31) return [];
    old = fromBinary(ModelProtoSchema, fs.readFileSync(outPath));
  } catch {
    return [];
  }
  const found = new Set<string>();
  forEachTensorProto(old, (p) => {
    const loc = isExternal(p) ? p.externalData.find((e) => e.key === 'location')?.value : undefined;
    if (loc && ours.test(loc)) found.add(path.join(dir, loc));
  });
  return [...found];
}

function typedFields(p: TensorProto): Partial<TensorProto> {
  return { floatData: p.floatData, int32Data: p.int32Data, int64Data: p.int64Data, doubleData: p.doubleData, uint64Data: p.uint64Data };
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

