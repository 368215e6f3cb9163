/**
 * TF.js weights: the `weightsManifest` of a model.json and its binary shards. Reading checks the manifest against
 * the shards (missing, short or long files, unknown dtypes, bad shapes) and dequantises exactly as TF.js does
 * (`q · scale + min` into float32, float16 widened). Writing keeps each weight's quantisation: pruning only drops
 * and reorders values, so the kept ones are still on their weight's original grid and re-quantise exactly; a weight
 * whose values left the grid (recovery) is written as float32.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PruneLensError } from '../../errors.js';
import { floatToHalf, halfToFloat } from '../../ir/half.js';
import { readRegular } from '../../util/files.js';

export type WeightDType = 'float32' | 'int32' | 'bool';

export interface Quantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

/** One manifest entry, as read (what saving keeps for every weight it does not change). */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: WeightDType;
  quantization?: Quantization;
  /** Any other fields of the entry, kept as read. */
  extra: Record<string, unknown>;
}

export interface ReadWeights {
  entries: WeightEntry[];
  /** Shard bytes per weight value (float weights only). */
  bytesPerWeight: number;
  values: Map<string, Float32Array | Int32Array>;
  /** Shard files read, in manifest order. */
  files: string[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

const bad = (where: string, m: string) => new PruneLensError(`${where}: ${m}`, { code: 'bad-model' });

/** Parses and checks a `weightsManifest` (without reading shards). */
export function parseManifest(manifest: unknown, where: string): { paths: string[]; weights: WeightEntry[] }[] {
  if (!Array.isArray(manifest)) throw bad(where, 'weightsManifest is not a list of weight groups');
  return manifest.map((group, gi) => {
    const g = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(g?.paths) || !g.paths.every((p) => typeof p === 'string') || !Array.isArray(g.weights)) {
      throw bad(where, `weight group ${gi + 1} needs paths and weights`);
    }
    for (const p of g.paths as string[]) {
      if (path.isAbsolute(p) || /^[a-z]+:\/\//i.test(p) || path.normalize(p).split(/[\\/]/).includes('..')) {
        throw bad(where, `weight shard '${p}' is not a file beside the model`);
      }
    }
    const weights = (g.weights as unknown[]).map((w) => parseEntry(w, where));
    return { paths: g.paths as string[], weights };
  });
}

function parseEntry(w: unknown, where: string): WeightEntry {
  const e = w as Record<string, unknown>;
  if (typeof e?.name !== 'string') throw bad(where, 'a weight without a name in weightsManifest');
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw bad(where, `weight '${e.name}' has a bad shape ${JSON.stringify(shape)}`);
  }
  const dtype = e.dtype;
  if (dtype === 'string') throw new PruneLensError(`${where}: weight '${e.name}' holds strings, which PruneLens does not read`, { code: 'unsupported' });
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') throw bad(where, `weight '${e.name}' has an unknown dtype ${JSON.stringify(dtype)}`);
  let quantization: Quantization | undefined;
  if (e.quantization !== undefined) {
    const q = e.quantization as Record<string, unknown>;
    if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
      if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
        throw bad(where, `weight '${e.name}' is ${q.dtype}-quantised without a numeric scale and min`);
      }
      if (dtype === 'bool') throw bad(where, `weight '${e.name}' is a quantised bool`);
      quantization = { dtype: q.dtype, scale: q.scale, min: q.min };
    } else if (q?.dtype === 'float16') {
      if (dtype !== 'float32') throw bad(where, `weight '${e.name}' is float16-quantised but its dtype is ${dtype}`);
      quantization = { dtype: 'float16' };
    } else {
      throw bad(where, `weight '${e.name}' has an unknown quantization ${JSON.stringify(q?.dtype)}`);
    }
  }
  const { name: _n, shape: _s, dtype: _d, quantization: _q, ...extra } = e;
  return { name: e.name, shape: shape as number[], dtype, quantization, extra };
}

/** Bytes one entry takes in its shard. */
export function entryBytes(e: { shape: number[]; dtype: string; quantization?: Quantization }): number {
  return e.shape.reduce((a, b) => a * b, 1) * BYTES[e.quantization?.dtype ?? e.dtype];
}

/**
 * Reads the shards of every weight group from `dir` (or from `files`, a name → bytes map for shards held in
 * memory), checks their sizes against the manifest and decodes every weight.
 */
export function readWeights(manifest: unknown, dir: string, where: string, files?: Map<string, Uint8Array>): ReadWeights {
  const groups = parseManifest(manifest, where);
  const entries: WeightEntry[] = [];
  const values = new Map<string, Float32Array | Int32Array>();
  const read: string[] = [];
  for (const g of groups) {
    const parts = g.paths.map((p) => {
      if (files) {
        const b = files.get(p);
        if (!b) throw bad(where, `weight shard '${p}' is missing`);
        return b;
      }
      const file = path.join(dir, p);
      read.push(file);
      if (!fs.existsSync(file)) throw bad(where, `weight shard '${p}' is missing`);
      // inside the model's folder by real path (a symlink out of it is refused), a regular file (a FIFO would hang)
      const real = fs.realpathSync(file);
      if (!real.startsWith(fs.realpathSync(dir) + path.sep)) throw bad(where, `weight shard '${p}' points outside the model's folder`);
      return new Uint8Array(readRegular(file, { code: 'bad-model', what: 'weight shard' }));
    });
    const total = parts.reduce((s, p) => s + p.length, 0);
    const need = g.weights.reduce((s, e) => s + entryBytes(e), 0);
    if (total < need) {
      throw bad(where, `weight shards ${g.paths.join(', ')} hold ${total} bytes, but the manifest describes ${need} (a shard is short, or the manifest lies about shapes or dtypes)`);
    }
    if (total > need) {
      throw bad(where, `weight shards ${g.paths.join(', ')} hold ${total} bytes, but the manifest describes only ${need} (the manifest lies about shapes or dtypes)`);
    }
    const all = concat(parts);
    let offset = 0;
    for (const e of g.weights) {
      const n = entryBytes(e);
      if (values.has(e.name)) throw bad(where, `weight '${e.name}' is listed twice`);
      values.set(e.name, decode(e, all.subarray(offset, offset + n)));
      entries.push(e);
      offset += n;
    }
  }
  const floats = entries.filter((e) => e.dtype === 'float32');
  const count = floats.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  return { entries, values, files: read, bytesPerWeight: count ? floats.reduce((n, e) => n + entryBytes(e), 0) / count : 4 };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Decodes as TF.js's io.decodeWeights does, value for value. */
function decode(e: WeightEntry, bytes: Uint8Array): Float32Array | Int32Array {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = e.quantization;
  if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
    const at = q.dtype === 'uint8' ? (i: number) => dv.getUint8(i) : (i: number) => dv.getUint16(i * 2, true);
    if (e.dtype === 'int32') {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.round(at(i) * q.scale! + q.min!);
      return out;
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = at(i) * q.scale! + q.min!;
    return out;
  }
  if (q?.dtype === 'float16') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
    return out;
  }
  if (e.dtype === 'float32') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = e.dtype === 'int32' ? dv.getInt32(i * 4, true) : dv.getUint8(i);
  return out;
}

/** How weights are stored when written: each with its own quantisation as read, or all as plain float32. */
export type Quantize = 'original' | 'none';

export interface WrittenWeights {
  /** The new weightsManifest (one group). */
  manifest: { paths: string[]; weights: Record<string, unknown>[] }[];
  shards: Map<string, Uint8Array>;
  /** Quantised weights whose values left their grid (recovery moved them): written as float32 instead. */
  unquantised: string[];
}

/** TF.js converter's default shard size. */
export const SHARD_BYTES = 4 * 1024 * 1024;

/**
 * Encodes weights (entries in manifest order, values in the entries' shapes) into shards named `shardName(i, n)`.
 */
export function writeWeights(
  weights: { entry: WeightEntry; shape: number[]; values: Float32Array | Int32Array }[],
  quantize: Quantize,
  shardName: (i: number, n: number) => string,
): WrittenWeights {
  const specs: Record<string, unknown>[] = [];
  const blobs: Uint8Array[] = [];
  const unquantised: string[] = [];
  for (const { entry, shape, values } of weights) {
    const q = quantize === 'original' ? entry.quantization : undefined;
    const { bytes, quantization } = (q && encode(entry.dtype, values, q)) || encode(entry.dtype, values)!;
    if (q && !quantization) unquantised.push(entry.name);
    specs.push({ name: entry.name, shape, dtype: entry.dtype, ...(quantization ? { quantization } : {}), ...entry.extra });
    blobs.push(bytes);
  }
  const all = concat(blobs.length ? blobs : [new Uint8Array(0)]);
  const n = Math.max(1, Math.ceil(all.length / SHARD_BYTES));
  const shards = new Map<string, Uint8Array>();
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = shardName(i + 1, n);
    paths.push(name);
    shards.set(name, all.subarray(i * SHARD_BYTES, Math.min(all.length, (i + 1) * SHARD_BYTES)));
  }
  return { manifest: [{ paths, weights: specs }], shards, unquantised };
}

/**
 * A weight's bytes: in its original quantisation when every value is still on its grid (pruning only drops values,
 * so they are), else undefined. Re-quantising values that left the grid (recovery moves them) with a new per-tensor
 * range was measured on nsfwjs's MobileNetV2 after BatchNorm re-calibration: outputs moved by 0.67 of their scale,
 * so such weights are written as float32 instead (exact), which TF.js reads alike.
 */
function encode(dtype: WeightDType, v: Float32Array | Int32Array, q?: Quantization): { bytes: Uint8Array; quantization?: Quantization } | undefined {
  const n = v.length;
  if (!q) {
    if (dtype === 'bool') return { bytes: Uint8Array.from(v) };
    const out = dtype === 'float32' ? Float32Array.from(v) : Int32Array.from(v);
    return { bytes: new Uint8Array(out.buffer) };
  }
  if (q.dtype === 'float16') {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = floatToHalf(v[i]);
      if (Math.fround(halfToFloat(out[i])) !== Math.fround(v[i])) return undefined;
    }
    return { bytes: new Uint8Array(out.buffer), quantization: { dtype: 'float16' } };
  }
  const levels = q.dtype === 'uint8' ? 255 : 65535;
  const { scale, min } = q as Required<Quantization>;
  const out = q.dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.min(levels, Math.max(0, Math.round(scale > 0 ? (v[i] - min) / scale : 0)));
    // exactly what TF.js computes when it reads the weight back
    const back = dtype === 'int32' ? Math.round(k * scale + min) : Math.fround(k * scale + min);
    if (back !== v[i]) return undefined;
    out[i] = k;
  }
  return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), quantization: { dtype: q.dtype, scale, min } };
}
