/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly), in its in-memory file system: files are opened
 * from bytes and written to bytes, so saving stays atomic (src/core/util/atomic.ts) and nothing touches the disk
 * behind the engine's back.
 */
import h5wasm, { Dataset, File, Group } from 'h5wasm';
import { PruneLensError } from '../../errors.js';
import { halfToFloat } from '../../ir/half.js';

let module: Awaited<typeof h5wasm.ready> | undefined;
let serial = 0;

/** Starts h5wasm once; afterwards every call here is synchronous. */
export async function h5ready(): Promise<void> {
  if (module) return;
  module = await h5wasm.ready;
  // HDF5 prints its error stack to stderr by default; thrown instead, a damaged file becomes one line
  (module as unknown as { activate_throwing_error_handler?: () => number }).activate_throwing_error_handler?.();
}

function fs() {
  if (!module) throw new Error('h5wasm is not ready (call h5ready first)');
  return module.FS!;
}

/** Opens HDF5 bytes read-only; `use` must not keep the file. */
export function withH5<T>(bytes: Uint8Array, where: string, use: (f: File) => T): T {
  const name = `/prunelens-in-${process.pid}-${serial++}.h5`;
  fs().writeFile(name, bytes);
  let f: File;
  try {
    f = new h5wasm.File(name, 'r');
    if (Number(f.file_id) < 0) throw new Error('HDF5 cannot open it');
  } catch (e) {
    fs().unlink(name);
    throw new PruneLensError(`${where}: not a readable HDF5 file (${hdf5Reason(e)})`, { code: 'bad-model' });
  }
  try {
    return use(f);
  } catch (e) {
    if (e instanceof PruneLensError) throw e;
    throw new PruneLensError(`${where}: a damaged HDF5 file (${hdf5Reason(e)})`, { code: 'bad-model', cause: e });
  } finally {
    f.close();
    fs().unlink(name);
  }
}

/** The innermost reason in HDF5's error stack (e.g. "truncated file: eof = 3000, …"), else the first line. */
function hdf5Reason(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const frames = [...text.matchAll(/#\d+: .*?\(\): ([^\n]+)/g)];
  return (frames.length ? frames[frames.length - 1][1] : text.split('\n')[0]).trim();
}

/** Builds a new HDF5 file with `build` and returns its bytes. */
export function newH5(build: (f: File) => void): Uint8Array {
  const name = `/prunelens-out-${process.pid}-${serial++}.h5`;
  const f = new h5wasm.File(name, 'w');
  try {
    build(f);
  } finally {
    f.close();
  }
  try {
    return fs().readFile(name) as Uint8Array;
  } finally {
    fs().unlink(name);
  }
}

export function isGroup(e: unknown): e is Group {
  return e instanceof Group;
}

export function isDataset(e: unknown): e is Dataset {
  return e instanceof Dataset;
}

/** A string attribute's value (vlen or fixed, one string or a list), or undefined. */
export function stringAttr(g: Group | Dataset, name: string): string | string[] | undefined {
  const a = g.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  const dec = (x: unknown) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x));
  if (Array.isArray(v)) return v.map(dec);
  if (typeof v === 'string' || v instanceof Uint8Array) return dec(v);
  // an empty attribute (Keras writes `weight_names = []` as an empty float64 array)
  if (a.shape && a.shape.length === 1 && a.shape[0] === 0) return [];
  return undefined;
}

/** A float dataset as float32 values with its dims. */
export function readFloats(d: Dataset, where: string): { dims: number[]; values: Float32Array } {
  const dims = d.shape ?? [];
  const meta = d.metadata as { type: number; size: number };
  const v = d.value as unknown;
  let values: Float32Array;
  if (v instanceof Float32Array) values = v;
  else if (v instanceof Float64Array) values = Float32Array.from(v);
  else if (meta.size === 2 && v instanceof Uint16Array) values = Float32Array.from(v, halfToFloat);
  else if (typeof v === 'number') values = Float32Array.of(v);
  else throw new PruneLensError(`${where}: dataset '${d.path}' is not a float tensor (${d.dtype})`, { code: 'bad-model' });
  const n = dims.reduce((a, b) => a * b, 1);
  if (values.length !== n) throw new PruneLensError(`${where}: dataset '${d.path}' holds ${values.length} values for shape ${dims.join('x')}`, { code: 'bad-model' });
  return { dims, values };
}

/** What to do with a dataset while copying: new values, or leave it out. */
export type Replace = (path: string, d: Dataset) => { dims: number[]; values: Float32Array } | 'drop' | undefined;

/**
 * Copies `src`'s attributes, groups and datasets into `dst` as read (dtypes, shapes, attribute types), except the
 * datasets `replace` gives new values (written in their original float dtype) and the groups `skip` names.
 */
export function copyTree(src: Group, dst: Group, replace: Replace, skip: (path: string) => boolean = () => false, attrs: (path: string, name: string) => string | undefined = () => undefined): void {
  copyAttrs(src, dst, attrs);
  for (const key of src.keys()) {
    const e = src.get(key);
    const path = `${src.path === '/' ? '' : src.path}/${key}`;
    if (skip(path)) continue;
    if (isGroup(e)) {
      copyTree(e, dst.create_group(key), replace, skip, attrs);
    } else if (isDataset(e)) {
      const r = replace(path, e);
      if (r === 'drop') continue;
      const dtype = e.dtype as string;
      let ds: Dataset;
      if (r) {
        const data = dtype === '<d' ? Float64Array.from(r.values) : r.values;
        if (dtype !== '<f' && dtype !== '<d') throw new PruneLensError(`cannot write dataset '${path}' of dtype ${dtype}`, { code: 'unsupported' });
        ds = dst.create_dataset({ name: key, data, shape: r.dims, dtype });
      } else {
        ds = dst.create_dataset({ name: key, data: e.value as Float32Array, shape: e.shape, dtype: dtype as string });
      }
      copyAttrs(e, ds, attrs);
    }
  }
}

function copyAttrs(src: Group | Dataset, dst: Group | Dataset, override: (path: string, name: string) => string | undefined): void {
  for (const [name, a] of Object.entries(src.attrs)) {
    const replaced = override(src.path, name);
    if (replaced !== undefined) {
      writeStringAttr(dst, name, replaced, a.dtype as string);
      continue;
    }
    const v = a.value;
    if (a.shape && a.shape.length === 1 && a.shape[0] === 0) {
      // an empty list (Keras: a layer without weights); h5wasm cannot write zero-size attributes, so as float64 zeros-size via h5py's type
      dst.create_attribute(name, new Float64Array(0), [0], '<d');
      continue;
    }
    dst.create_attribute(name, v as never, a.shape, a.dtype as never);
  }
}

/** A string attribute in the dtype it was read with (a fixed-length one grows to fit). */
function writeStringAttr(dst: Group | Dataset, name: string, value: string, dtype: string): void {
  const fixed = /^[AS]\d+$/.test(dtype);
  const kind = dtype.startsWith('S') ? 'S' : 'A';
  dst.create_attribute(name, value, null, fixed ? `${kind}${new TextEncoder().encode(value).length + 1}` : kind);
}
