import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { formatBytes, MAX_DATA_FILE_BYTES } from '../limits.js';
import { readRegular } from '../util/files.js';

/**
 * IDX files (MNIST-style), optionally gzipped: magic 0x0000 TT RR, RR big-endian uint32 dims, then data. Values are
 * read on demand (`value(i)`), so only the samples a scan chooses are ever converted.
 */
export interface IdxArray {
  dims: number[];
  count: number;
  value(i: number): number;
}

const TYPES: Record<number, [number, (dv: DataView, o: number) => number]> = {
  0x08: [1, (dv, o) => dv.getUint8(o)],
  0x09: [1, (dv, o) => dv.getInt8(o)],
  0x0b: [2, (dv, o) => dv.getInt16(o)],
  0x0c: [4, (dv, o) => dv.getInt32(o)],
  0x0d: [4, (dv, o) => dv.getFloat32(o)],
  0x0e: [8, (dv, o) => dv.getFloat64(o)],
};

export function readIdx(file: string, option: OptionName = 'data'): IdxArray {
  const name = path.basename(file);
  const bad = (why: string) => new PruneLensError(`${name}: ${why}`, { option });
  let bytes: Uint8Array = readRegular(file, { option, what: 'data file', maxBytes: MAX_DATA_FILE_BYTES });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipIdx(bytes, bad);
  const { rank, size, read, count } = header(bytes, bad);
  const start = 4 + 4 * rank;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i));
  if (bytes.length < start + count * size) throw bad(`truncated IDX data (${dims.join('x')} expected)`);
  if (bytes.length > start + count * size) throw bad(`${bytes.length - start - count * size} bytes more than its header declares (${dims.join('x')})`);
  if (rank === 0 || dims[0] === 0) throw bad(`has no samples (dims ${dims.join('x') || 'none'})`);
  return { dims, count, value: (i) => read(dv, start + i * size) };
}

interface Header {
  rank: number;
  size: number;
  read: (dv: DataView, o: number) => number;
  count: number;
}

/** The magic number and dims; the element count they declare must be a size PruneLens reads. */
function header(bytes: Uint8Array, bad: (why: string) => PruneLensError): Header {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !TYPES[bytes[2]]) throw bad('not an IDX file');
  const [size, read] = TYPES[bytes[2]];
  const rank = bytes[3];
  if (bytes.length < 4 + 4 * rank) throw bad('truncated IDX header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const declared = 4 + 4 * rank + count * size;
  if (declared > MAX_DATA_FILE_BYTES) {
    throw bad(`declares ${dims.join('x')} values (${formatBytes(declared)}), more than the ${formatBytes(MAX_DATA_FILE_BYTES)} PruneLens reads from a data file`);
  }
  return { rank, size, read, count };
}

/**
 * Inflates a gzipped IDX file no further than its header declares: the header is inflated first (from the first
 * few kB of input, which can only grow ~1000-fold), then the whole stream with zlib's maxOutputLength set to the
 * declared size, so a 2 MB file that inflates to 2 GB stops at the size it claims.
 */
function gunzipIdx(gz: Uint8Array, bad: (why: string) => PruneLensError): Uint8Array {
  let head: Uint8Array = new Uint8Array();
  try {
    for (const k of [4096, 65536]) {
      head = zlib.gunzipSync(gz.subarray(0, k), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: k * 1100 });
      if (head.length >= 4 && head.length >= 4 + 4 * head[3]) break;
    }
  } catch {
    throw bad('corrupt gzip data');
  }
  const { rank, size, count } = header(head, bad);
  const declared = 4 + 4 * rank + count * size;
  try {
    // one byte more than declared tells "inflates further" apart from "exactly as declared"
    return zlib.gunzipSync(gz, { maxOutputLength: declared + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw bad(`the gzip stream inflates past the ${formatBytes(declared)} its IDX header declares (a decompression bomb?)`);
    }
    throw bad(`corrupt gzip data (${(e as Error).message})`);
  }
}
