import * as fs from 'node:fs';
import * as path from 'node:path';
import JSZip from 'jszip';
import { parse, type NpyArray } from 'npyjs';
import { PruneLensError } from '../errors.js';

export interface NumpySet {
  data: Float32Array;
  /** Per-sample dims (axis 0 of the array is the sample axis). */
  dims: number[];
  count: number;
  labels?: Int32Array;
}

const INPUT_KEYS = ['x', 'inputs', 'input', 'images', 'data'];
const LABEL_KEYS = ['y', 'labels', 'label', 'targets'];

/**
 * Already-preprocessed samples from `.npy` (with optional `.npy` labels) or `.npz` (the array named like the
 * model's input, or x/inputs/images/data; labels from y/labels/targets).
 */
export async function loadNumpy(file: string, labelsFile: string | undefined, inputName: string): Promise<NumpySet> {
  let x: NpyArray;
  let y: NpyArray | undefined;
  if (/\.npz$/i.test(file)) {
    const arrays = await readNpz(file);
    const key = [inputName, ...INPUT_KEYS].find((k) => arrays.has(k)) ?? [...arrays.keys()].find((k) => !LABEL_KEYS.includes(k));
    if (!key) throw new PruneLensError(`${path.basename(file)}: no input array (expected one named ${inputName} or ${INPUT_KEYS.join('/')})`);
    x = arrays.get(key)!;
    const lk = LABEL_KEYS.find((k) => arrays.has(k));
    if (lk) y = arrays.get(lk);
  } else {
    x = readNpy(file);
  }
  if (labelsFile) y = /\.npy$/i.test(labelsFile) ? readNpy(labelsFile) : undefined;
  if (labelsFile && !y) throw new PruneLensError(`${labelsFile}: .npy data takes .npy labels`, { option: 'labels' });
  if (x.shape.length < 2) throw new PruneLensError(`${path.basename(file)}: expected samples [N, …], got shape [${x.shape.join(', ')}]`);
  const count = x.shape[0];
  let labels: Int32Array | undefined;
  if (y) {
    if (y.shape.length !== 1 || y.shape[0] !== count) {
      throw new PruneLensError(`labels of shape [${y.shape.join(', ')}] do not match ${count} samples`);
    }
    labels = Int32Array.from(y.data as unknown as ArrayLike<number>, Number);
  }
  return { data: toFloat32(x, file), dims: x.shape.slice(1), count, labels };
}

function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new PruneLensError(`${file}: cannot read`);
  }
  return parseNpy(bytes, path.basename(file));
}

function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  try {
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const arr = parse(buf);
    if (arr.fortranOrder) throw new Error('Fortran-ordered arrays are not supported (save with np.ascontiguousarray)');
    return arr;
  } catch (e) {
    throw new PruneLensError(`${name}: not a readable .npy array (${(e as Error).message})`);
  }
}

async function readNpz(file: string): Promise<Map<string, NpyArray>> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(fs.readFileSync(file));
  } catch (e) {
    throw new PruneLensError(`${path.basename(file)}: not a readable .npz archive (${(e as Error).message})`);
  }
  const out = new Map<string, NpyArray>();
  for (const entry of Object.values(zip.files)) {
    if (entry.dir || !entry.name.endsWith('.npy')) continue;
    out.set(entry.name.slice(0, -4), parseNpy(await entry.async('uint8array'), `${path.basename(file)}:${entry.name}`));
  }
  return out;
}

function toFloat32(a: NpyArray, file: string): Float32Array {
  const d = a.data as unknown;
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d, Number);
  if (ArrayBuffer.isView(d) && !(d instanceof DataView)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new PruneLensError(`${path.basename(file)}: unsupported dtype ${a.dtype}`);
}
