/**
 * External data references of a model, resolved and checked once per file when it is loaded, before anything reads
 * a byte or writes an output: the location must name a regular file inside the model's folder by its real path (a
 * symlink to /etc/passwd, or `../x`, is refused), and offset and length must be whole numbers inside that file.
 * ONNX Runtime later reads the same files, so what passes here is all it can read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TensorProto } from 'onnx-buf';
import { PruneLensError } from '../../errors.js';

const EXTERNAL = 1;

export interface ExternalRef {
  location: string;
  offset: number;
  /** -1 when the reference gives no length (the tensor's size is read). */
  length: number;
  /** The real path of the data file. */
  file: string;
  /** Its size in bytes. */
  size: number;
}

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === EXTERNAL;
}

/** Resolves the external references of one model file (each location once). */
export class ExternalData {
  private readonly files = new Map<string, { file: string; size: number }>();
  private realBase?: string;

  constructor(readonly baseDir: string, readonly modelFile: string) {}

  /** The checked reference of a tensor, or undefined when its data is inline. */
  ref(t: TensorProto): ExternalRef | undefined {
    if (!isExternal(t)) return undefined;
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    const fail = (why: string) => new PruneLensError(`${this.modelFile}: tensor '${t.name}' ${why}`, { code: 'bad-model' });
    if (!location) throw fail('is external but names no location');
    const { file, size } = this.resolve(location, fail);
    const offset = wholeNumber(kv.get('offset') ?? '0');
    if (offset === undefined) throw fail(`has a bad external-data offset '${kv.get('offset')}' (a whole number of bytes ≥ 0 is needed)`);
    const lengthField = kv.get('length');
    const length = lengthField === undefined ? -1 : wholeNumber(lengthField);
    if (length === undefined) throw fail(`has a bad external-data length '${lengthField}' (a whole number of bytes ≥ 0 is needed)`);
    if (offset > size || (length >= 0 && offset + length > size)) {
      throw fail(`reads bytes ${offset}..${offset + Math.max(length, 0)} of external data file '${location}', which has ${size}`);
    }
    return { location, offset, length, file, size };
  }

  private resolve(location: string, fail: (why: string) => PruneLensError): { file: string; size: number } {
    const hit = this.files.get(location);
    if (hit) return hit;
    if (location.includes('\0') || path.isAbsolute(location) || path.win32.isAbsolute(location)) {
      throw fail(`points outside the model's folder (${location})`);
    }
    const joined = path.resolve(this.baseDir, location);
    let real: string;
    try {
      this.realBase ??= fs.realpathSync(this.baseDir);
      real = fs.realpathSync(joined);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw fail(code === 'ENOENT' ? `needs external data file '${location}', which is missing` : `cannot resolve external data file '${location}' (${code})`);
    }
    const rel = path.relative(this.realBase, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw fail(`points outside the model's folder: external data file '${location}' resolves to ${real}`);
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(real);
    } catch (e) {
      throw fail(`cannot read external data file '${location}' (${(e as NodeJS.ErrnoException).code})`);
    }
    if (st.isDirectory()) throw fail(`names a folder as its external data file ('${location}')`);
    if (!st.isFile()) throw fail(`names '${location}' as its external data file, which is not a regular file (a FIFO, socket or device)`);
    const out = { file: real, size: st.size };
    this.files.set(location, out);
    return out;
  }
}

function wholeNumber(s: string): number | undefined {
  if (!/^\d{1,16}$/.test(s.trim())) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}
