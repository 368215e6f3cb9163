import * as path from 'node:path';
import JSZip from 'jszip';
import { parse, type NpyArray } from 'npyjs';
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { formatBytes, MAX_DATA_FILE_BYTES } from '../limits.js';
import { readRegular } from '../util/files.js';
import type { SampleSource } from './labelled.js';

const INPUT_KEYS = ['x', 'inputs', 'input', 'images', 'data'];
const LABEL_KEYS = ['y', 'labels', 'label', 'targets'];

/** Element sizes of the dtypes samples and labels may have; complex, string and object arrays are refused. */
const ITEM_BYTES: Record<string, number> = { b1: 1, i1: 1, u1: 1, i2: 2, u2: 2, f2: 2, i4: 4, u4: 4, f4: 4, i8: 8, u8: 8, f8: 8 };

/**
 * Already-preprocessed samples from `.npy` (with optional `.npy` labels) or `.npz` (the array named like the
 * model's input, or x/inputs/images/data; labels from y/labels/targets).
 */
export async function loadNumpy(file: string, labelsFile: string | undefined, inputName: string): Promise<SampleSource> {
  let x: NpyArray;
  let y: NpyArray | undefined;
  const name = path.basename(file);
  if (/\.npz$/i.test(file)) {
    const arrays = await readNpz(file);
    const key = [inputName, ...INPUT_KEYS].find((k) => arrays.has(k)) ?? [...arrays.keys()].find((k) => !LABEL_KEYS.includes(k));
    if (!key) throw new PruneLensError(`${name}: no input array (expected one named ${inputName} or ${INPUT_KEYS.join('/')})`, { option: 'data' });
    x = arrays.get(key)!;
    const lk = LABEL_KEYS.find((k) => arrays.has(k));
    if (lk) y = arrays.get(lk);
  } else {
    x = readNpy(file, 'data');
  }
  if (labelsFile) y = /\.npy$/i.test(labelsFile) ? readNpy(labelsFile, 'labels') : undefined;
  if (labelsFile && !y) throw new PruneLensError(`${labelsFile}: .npy data takes .npy labels`, { option: 'labels' });
  if (x.shape.length < 2) throw new PruneLensError(`${name}: expected samples [N, …], got shape [${x.shape.join(', ')}]`, { option: 'data' });
  const count = x.shape[0];
  if (count === 0) throw new PruneLensError(`${name}: has no samples (shape [${x.shape.join(', ')}])`, { option: 'data' });
  let labels: Int32Array | undefined;
  if (y) {
    if (y.shape.length !== 1 || y.shape[0] !== count) {
      throw new PruneLensError(`labels of shape [${y.shape.join(', ')}] do not match ${count} samples`, { option: 'labels' });
    }
    labels = Int32Array.from(y.data as unknown as ArrayLike<number>, Number);
  }
  const dims = x.shape.slice(1);
  const per = dims.reduce((a, b) => a * b, 1);
  const data = x.data as unknown as ArrayLike<number | bigint | boolean>;
  return {
    dims,
    count,
    labels,
    read(i, out) {
      for (let k = 0; k < per; k++) out[k] = Number(data[i * per + k]);
    },
  };
}

function readNpy(file: string, option: OptionName): NpyArray {
  const bytes = readRegular(file, { option, what: 'data file', maxBytes: MAX_DATA_FILE_BYTES });
  return parseNpy(bytes, path.basename(file), option);
}

/**
 * npyjs reads whatever follows the header as the data; the header is checked first, so that a truncated file, a
 * header that lies about the count, big-endian or complex values are refused instead of read as something else.
 */
function parseNpy(bytes: Uint8Array, name: string, option: OptionName): NpyArray {
  const bad = (why: string) => new PruneLensError(`${name}: ${why}`, { option });
  const h = npyHeader(bytes);
  if (!h) throw bad('not a readable .npy array (no .npy header)');
  const { descr, shape, dataOffset } = h;
  const order = descr[0];
  const code = descr.slice(1);
  if (/^c\d+$/.test(code)) throw bad(`holds complex numbers (${descr}), which no model input takes`);
  const item = ITEM_BYTES[code];
  if (!item || !'<|='.includes(order)) throw bad(`holds ${descr} values: PruneLens reads little-endian bool, integer and float arrays`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`has a bad shape (${shape.join(', ')})`);
  const expected = shape.reduce((a, b) => a * b, 1) * item;
  const stored = bytes.length - dataOffset;
  if (stored < expected) throw bad(`is truncated: its header declares shape (${shape.join(', ')}), ${formatBytes(expected)} of data, but it stores ${formatBytes(Math.max(stored, 0))}`);
  if (stored > expected) throw bad(`stores ${stored - expected} bytes more than its header's shape (${shape.join(', ')}) declares`);
  try {
    // a whole-buffer view needs no copy; a pooled or sliced one is copied out
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const buf = (whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer;
    const arr = parse(buf);
    if (arr.fortranOrder) throw new Error('Fortran-ordered arrays are not supported (save with np.ascontiguousarray)');
    return arr;
  } catch (e) {
    throw bad(`not a readable .npy array (${(e as Error).message})`);
  }
}

/** The .npy header: magic, version, then a Python dict literal with descr, fortran_order and shape. */
function npyHeader(bytes: Uint8Array): { descr: string; shape: number[]; dataOffset: number } | undefined {
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const [offset, len] = major <= 1 ? [10, dv.getUint16(8, true)] : bytes.length >= 12 ? [12, dv.getUint32(8, true)] : [0, 0];
  if (!offset || offset + len > bytes.length) return undefined;
  const text = new TextDecoder('latin1').decode(bytes.subarray(offset, offset + len));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || shapeText === undefined) return undefined;
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, dataOffset: offset + len };
}

/**
 * The arrays of an .npz archive. The sizes its directory declares are checked before anything is inflated, and each
 * entry is inflated as a stream that stops at its declared size, so a small archive cannot inflate to gigabytes.
 */
async function readNpz(file: string): Promise<Map<string, NpyArray>> {
  const name = path.basename(file);
  const bytes = readRegular(file, { option: 'data', what: 'data file', maxBytes: MAX_DATA_FILE_BYTES });
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes);
  } catch (e) {
    throw new PruneLensError(`${name}: not a readable .npz archive (${(e as Error).message})`, { option: 'data' });
  }
  const entries = Object.values(zip.files).filter((e) => !e.dir && e.name.endsWith('.npy'));
  const sizes = entries.map((e) => declaredSize(e));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_DATA_FILE_BYTES) {
    throw new PruneLensError(`${name}: its arrays declare ${formatBytes(total)}, more than the ${formatBytes(MAX_DATA_FILE_BYTES)} PruneLens reads from a data file`, { option: 'data' });
  }
  const out = new Map<string, NpyArray>();
  for (const [i, entry] of entries.entries()) {
    const data = await inflateCapped(entry, sizes[i], `${name}:${entry.name}`);
    out.set(entry.name.slice(0, -4), parseNpy(data, `${name}:${entry.name}`, 'data'));
  }
  return out;
}

/** The uncompressed size an entry's directory record declares (JSZip keeps it on the entry it read). */
function declaredSize(entry: JSZip.JSZipObject): number {
  const n = (entry as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize;
  // JSZip reads the 32-bit field as a signed number: 2 GB and more come out negative
  return typeof n === 'number' ? (n < 0 ? n + 2 ** 32 : n) : MAX_DATA_FILE_BYTES;
}

interface ZipStream {
  on(event: 'data', fn: (chunk: Uint8Array) => void): ZipStream;
  on(event: 'error', fn: (e: Error) => void): ZipStream;
  on(event: 'end', fn: () => void): ZipStream;
  pause(): ZipStream;
  resume(): ZipStream;
}

function inflateCapped(entry: JSZip.JSZipObject, cap: number, shown: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let n = 0;
    let stopped = false;
    // JSZip's streaming API (not in its type declarations): inflates chunk by chunk, and stops when paused
    const stream = (entry as unknown as { internalStream(type: 'uint8array'): ZipStream }).internalStream('uint8array');
    stream
      .on('data', (chunk: Uint8Array) => {
        if (stopped) return;
        n += chunk.length;
        if (n > cap) {
          stopped = true;
          stream.pause();
          reject(new PruneLensError(`${shown}: inflates past the ${formatBytes(cap)} the archive declares for it (a decompression bomb?)`, { option: 'data' }));
          return;
        }
        parts.push(chunk);
      })
      .on('error', (e: Error) => {
        if (!stopped) reject(new PruneLensError(`${shown}: cannot inflate (${e.message})`, { option: 'data' }));
        stopped = true;
      })
      .on('end', () => {
        if (stopped) return;
        const out = new Uint8Array(n);
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
        resolve(out);
      })
      .resume();
  });
}
