import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PruneLensError } from '../errors.js';

/** IDX files (MNIST-style), optionally gzipped: magic 0x0000 TT RR, RR big-endian uint32 dims, then data. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, [number, (dv: DataView, o: number) => number, new (n: number) => IdxArray['data']]> = {
  0x08: [1, (dv, o) => dv.getUint8(o), Uint8Array],
  0x09: [1, (dv, o) => dv.getInt8(o), Int8Array],
  0x0b: [2, (dv, o) => dv.getInt16(o), Int16Array],
  0x0c: [4, (dv, o) => dv.getInt32(o), Int32Array],
  0x0d: [4, (dv, o) => dv.getFloat32(o), Float32Array],
  0x0e: [8, (dv, o) => dv.getFloat64(o), Float64Array],
};

export function readIdx(file: string): IdxArray {
  const name = path.basename(file);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new PruneLensError(`${file}: cannot read`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new PruneLensError(`${name}: corrupt gzip data`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !TYPES[bytes[2]]) {
    throw new PruneLensError(`${name}: not an IDX file`);
  }
  const [size, read, Ctor] = TYPES[bytes[2]];
  const rank = bytes[3];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * rank) throw new PruneLensError(`${name}: truncated IDX header`);
  const dims = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length < start + n * size) throw new PruneLensError(`${name}: truncated IDX data (${dims.join('x')} expected)`);
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) data[i] = read(dv, start + i * size);
  return { dims, data };
}
