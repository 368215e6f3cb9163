/**
 * The hostile corpus, made by the tests themselves: malformed and malicious models, data files and recipes, each
 * written into its own folder. Built with the project's ONNX builder and zlib; nothing is downloaded.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  ModelProtoSchema, OperatorSetIdProtoSchema, SparseTensorProtoSchema, StringStringEntryProtoSchema,
  type ModelProto, type TensorProto,
} from 'onnx-buf';
import { OnnxBuilder, tensor } from './onnx-builder.js';

/** A small prunable CNN: x[1,3,8,8] → Conv 3→8 → Relu → Conv 8→4 → GlobalAveragePool → Flatten → Gemm → logits[1,3]. */
export function smallNet(opts: { channels?: number; input?: (number | string)[] } = {}): ModelProto {
  const b = new OnnxBuilder();
  const c = opts.channels ?? 8;
  const x = b.input('x', opts.input ?? [1, 3, 8, 8]);
  const h = b.op('Relu', [b.conv(x, 3, c)]);
  const y = b.op('Relu', [b.conv(h, c, 4)]);
  const p = b.op('Flatten', [b.op('GlobalAveragePool', [y])]);
  b.output(b.gemm(p, 4, 3), [1, 3]);
  return b.proto();
}

export function bytes(m: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, m);
}

/** The first Conv's weight (conv0.w, [channels, 3, 3, 3]). */
export function firstWeight(m: ModelProto): TensorProto {
  return m.graph!.initializer.find((t) => t.name.endsWith('.w'))!;
}

/** Moves a tensor's data to an external reference with the given fields; returns the bytes it had. */
export function externalize(t: TensorProto, fields: Record<string, string>): Uint8Array {
  const data = t.rawData;
  t.rawData = new Uint8Array(0);
  t.dataLocation = 1;
  t.externalData = Object.entries(fields).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  return data;
}

/** A folder with `m.onnx` in it (and whatever `extra` writes beside it). */
export function modelDir(root: string, name: string, model: ModelProto | Uint8Array, extra?: (dir: string) => void): { dir: string; model: string } {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'm.onnx');
  extra?.(dir);
  fs.writeFileSync(file, model instanceof Uint8Array ? model : bytes(model));
  return { dir, model: file };
}

/** The first Conv's weight as a sparse initializer whose values are external data at `location`. */
export function sparseWeight(m: ModelProto, location: string): Uint8Array {
  const g = m.graph!;
  const i = g.initializer.findIndex((t) => t.name.endsWith('.w'));
  const w = g.initializer[i];
  g.initializer.splice(i, 1);
  const n = w.dims.reduce((a, b) => a * Number(b), 1);
  const idx = [0, 5, n - 1];
  const values = tensor(w.name, [idx.length], [1, -2, 3]);
  const data = externalize(values, { location, length: String(idx.length * 4) });
  g.sparseInitializer.push(create(SparseTensorProtoSchema, { values, indices: tensor(`${w.name}.idx`, [idx.length], idx, 'int64'), dims: w.dims }));
  return data;
}

/** A model of one node (with an opset and domain of our choosing), for ONNX Runtime's refusals. */
export function oneNode(op: string, opts: { domain?: string; opset?: number; weightType?: 'float64' } = {}): Uint8Array {
  const b = new OnnxBuilder(opts.opset ?? 13);
  const x = b.input('x', [1, 3, 8, 8]);
  let y: string;
  if (op === 'Conv') {
    const w = b.init('w', [4, 3, 3, 3], undefined, opts.weightType ?? 'float32');
    y = b.op('Conv', [x, w], { kernel_shape: [3, 3] });
  } else {
    y = b.node(op, [x], {}, 1, opts.domain ?? '')[0];
  }
  b.output(y);
  const p = b.proto();
  if (opts.domain) p.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: opts.domain, version: 1n }));
  return bytes(p);
}

/** Conv 3→0 (weight [0,3,3,3]) then Conv 0→4: ONNX Runtime loops for ever on it. */
export function emptyConv(): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', [1, 3, 8, 8]);
  const h = b.op('Relu', [b.op('Conv', [x, b.init('w1', [0, 3, 3, 3], [])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })]);
  b.output(b.op('Conv', [h, b.init('w2', [4, 0, 3, 3], [])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }));
  return b.build();
}

/** Expand of a 1×3×1×1 input to 1×3×40000×40000 (18 GB), beside a NonZero that static inference cannot follow. */
export function expandBomb(): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', [1, 3, 1, 1]);
  const e = b.op('Expand', [x, b.init('shape', [4], [1, 3, 40000, 40000], 'int64')]);
  b.output(b.op('Relu', [e]));
  b.output(b.op('NonZero', [b.input('m', [2, 2])]), undefined, 'int64');
  return b.build();
}

/** A 1×3×40000×40000 tensor whose shape only ONNX Runtime can find (NonZero's output size): past any static check. */
export function runtimeBomb(side = 40000): Uint8Array {
  const b = new OnnxBuilder();
  const x = b.input('x', [1]);
  const nz = b.op('NonZero', [b.init('ones', [side], new Float32Array(side).fill(1))]);
  const n = b.op('Slice', [b.op('Shape', [nz]), b.init('one', [1], [1], 'int64'), b.init('two', [1], [2], 'int64')]);
  const shape = b.op('Concat', [b.init('head', [2], [1, 3], 'int64'), n, n], { axis: 0 });
  const big = b.op('ConstantOfShape', [shape], { value: { tensor: tensor('v', [1], [1]) } });
  b.output(b.op('Add', [x, b.op('ReduceSum', [big], { keepdims: 0 })]));
  return b.build();
}

/** A Loop of 10^15 cheap iterations: one ONNX Runtime run that does not end. */
export function endlessLoop(): Uint8Array {
  const body = new OnnxBuilder(13, 7, 'body_');
  body.input('iter', [], 'int64');
  const cond = body.input('cond_in', [], 'bool');
  const v = body.input('v_in', [1]);
  body.output(body.op('Identity', [cond]), [], 'bool');
  body.output(body.op('Add', [v, body.init('body_one', [1], [1])]), [1]);
  const b = new OnnxBuilder();
  const x = b.input('x', [1]);
  const trip = b.init('M', [], [1e15], 'int64');
  const keep = b.init('C', [], [1], 'bool');
  b.output(b.op('Loop', [trip, keep, x], { body: { graph: body.graph('body') } }), [1]);
  return b.build();
}

/** A tensor whose fields lie about its size. */
export function lyingTensor(kind: 'huge-dims' | 'negative-dim' | 'no-data' | 'short-raw'): Uint8Array {
  const m = smallNet();
  const w = firstWeight(m);
  if (kind === 'huge-dims') w.dims = [1_000_000_000n, 1_000_000_000n, 3n, 3n];
  if (kind === 'negative-dim') w.dims = [8n, -3n, 3n, 3n];
  if (kind === 'no-data') w.rawData = new Uint8Array(0);
  if (kind === 'short-raw') w.rawData = w.rawData.slice(0, 100);
  return bytes(m);
}

/** An external-data model whose first weight's reference has the given fields (the weight's bytes go to w.bin). */
export function externalModel(root: string, name: string, fields: Record<string, string>, writeData = true): { dir: string; model: string } {
  const m = smallNet();
  const data = externalize(firstWeight(m), { location: 'w.bin', ...fields });
  return modelDir(root, name, m, (dir) => {
    if (writeData) fs.writeFileSync(path.join(dir, 'w.bin'), data);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Data files

/** An IDX header: type 0x08 (uint8), the dims. */
export function idxHeader(dims: number[]): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = 0x08;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

export function idx(dims: number[], fill = (i: number) => i % 251): Buffer {
  const n = dims.reduce((a, b) => a * b, 1);
  return Buffer.concat([idxHeader(dims), Buffer.from(Uint8Array.from({ length: n }, (_, i) => fill(i)))]);
}

/**
 * A gzip IDX file whose header declares `declared` but which inflates to about `inflatedMB` MB: gzip members of 1 MB
 * of zeros (about 1 kB each) concatenated, as the decompression bomb of issue 10 (2 MB that inflates to 2 GB).
 */
export function gzipBomb(declared: number[], inflatedMB: number): Buffer {
  const mb = zlib.gzipSync(Buffer.alloc(2 ** 20), { level: 9 });
  return Buffer.concat([zlib.gzipSync(idxHeader(declared)), ...Array.from({ length: inflatedMB }, () => mb)]);
}

/** A .npy file: header with `descr` and `shape`, then `data` (which may disagree with the header, on purpose). */
export function npy(descr: string, shape: number[], data: Uint8Array): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre);
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

export const f32 = (n: number, v = (i: number) => Math.sin(i)) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => v(i)).buffer);

/**
 * A zip archive (as .npz) of one deflated entry, with the uncompressed size its headers declare given separately from
 * the real one: a declared 1 kB that inflates to 64 MB is the .npz bomb.
 */
export function zipOf(name: string, content: Buffer, declaredSize = content.length): Buffer {
  const data = zlib.deflateRawSync(content, { level: 9 });
  const crc = zlib.crc32 ? zlib.crc32(content) : 0;
  const nameBuf = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declaredSize, 22);
  local.writeUInt16LE(nameBuf.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declaredSize, 24);
  central.writeUInt16LE(nameBuf.length, 28);
  const cdOffset = local.length + nameBuf.length + data.length;
  const cdSize = central.length + nameBuf.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBuf, data, central, nameBuf, end]);
}
