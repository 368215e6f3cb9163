import * as fs from 'node:fs';
import type { TensorProto } from 'onnx-buf';
import { dtypeFromOnnx, bytesPerElement, type DType } from '../../ir/dtype.js';
import { PruneLensError } from '../../errors.js';
import { encodeElements, memorySource, Tensor, type TensorSource } from '../../ir/tensor.js';
import type { ExternalData, ExternalRef } from './external.js';

export type { ExternalRef } from './external.js';

/** Lazily reads a byte range of an external-data file; the bytes are not cached, so huge models stay on disk. */
function externalSource(ref: ExternalRef, length: number, modelFile: string): TensorSource {
  return {
    inMemory: false,
    read() {
      const out = new Uint8Array(length);
      let fd: number;
      try {
        // the real path checked at load (a regular file inside the model's folder)
        fd = fs.openSync(ref.file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
      } catch {
        throw new PruneLensError(`${modelFile}: external data file '${ref.location}' is missing`, { code: 'bad-model' });
      }
      try {
        let done = 0;
        while (done < length) {
          const n = fs.readSync(fd, out, done, length - done, ref.offset + done);
          if (n === 0) throw new PruneLensError(`${modelFile}: external data file '${ref.location}' is truncated`, { code: 'bad-model' });
          done += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      return out;
    },
  };
}

/** Bytes of a tensor stored in the typed repeated fields (float_data, int32_data, …) instead of raw_data. */
function typedFieldSource(t: TensorProto, dtype: DType, n: number): TensorSource {
  let cache: Uint8Array | undefined;
  return {
    inMemory: true,
    read() {
      if (cache) return cache;
      let values: ArrayLike<number | bigint>;
      switch (dtype) {
        case 'float32': case 'complex64': values = t.floatData; break;
        case 'float64': case 'complex128': values = t.doubleData; break;
        case 'int64': values = t.int64Data; break;
        case 'uint32': case 'uint64': values = t.uint64Data; break;
        // int8/16, uint8/16, bool, float16 and bfloat16 are carried in int32_data
        default: values = t.int32Data;
      }
      if (dtype === 'float16' || dtype === 'bfloat16') {
        const out = new Uint8Array(n * 2);
        const dv = new DataView(out.buffer);
        for (let i = 0; i < n; i++) dv.setUint16(i * 2, Number(values[i]) & 0xffff, true);
        cache = out;
      } else {
        cache = encodeElements(dtype, values, n);
      }
      return cache;
    },
  };
}

/** The repeated field a dtype's values live in when there is no raw_data, and how many numbers each element takes. */
function typedField(t: TensorProto, dtype: DType): { count: number; per: number } | undefined {
  switch (dtype) {
    case 'float32': return { count: t.floatData.length, per: 1 };
    case 'complex64': return { count: t.floatData.length, per: 2 };
    case 'float64': return { count: t.doubleData.length, per: 1 };
    case 'complex128': return { count: t.doubleData.length, per: 2 };
    case 'int64': return { count: t.int64Data.length, per: 1 };
    case 'uint32': case 'uint64': return { count: t.uint64Data.length, per: 1 };
    case 'string': return { count: t.stringData.length, per: 1 };
    case 'unknown': return undefined;
    default: return { count: t.int32Data.length, per: 1 };
  }
}

/**
 * Makes an IR tensor over a TensorProto without copying its data. Its declared shape must match the bytes it stores
 * (inline or external): a few bytes declaring [1e9, 1e9, 3, 3] are refused here, before anything allocates for them.
 */
export function tensorFromProto(t: TensorProto, ext: ExternalData): Tensor {
  const modelFile = ext.modelFile;
  const dtype = dtypeFromOnnx(t.dataType);
  const fail = (why: string) => new PruneLensError(`${modelFile}: tensor '${t.name}' ${why}`, { code: 'bad-model' });
  const dims = t.dims.map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw fail(`has a negative or impossible dimension (${t.dims.join('x')})`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw fail(`declares ${dims.join('x')} = ${n.toExponential(2)} elements`);
  const per = bytesPerElement(dtype);
  const expected = n * per;
  const sized = per > 0; // strings and element types PruneLens does not name (float8, int4) are kept as they are
  const ref = ext.ref(t);
  let source: TensorSource;
  if (ref) {
    if (sized && ref.length >= 0 && ref.length !== expected) {
      throw fail(`stores ${ref.length} bytes of external data, but its shape ${dims.join('x')} (${dtype}) needs ${expected}`);
    }
    const length = ref.length >= 0 ? ref.length : expected;
    if (ref.offset + length > ref.size) {
      throw fail(`needs bytes ${ref.offset}..${ref.offset + length} of external data file '${ref.location}', which has ${ref.size}` +
        (sized ? ` (its shape ${dims.join('x')} declares ${expected} bytes)` : ''));
    }
    source = externalSource(ref, length, modelFile);
  } else if (t.rawData.length > 0 || expected === 0 || dtype === 'string' || dtype === 'unknown') {
    if (sized && t.rawData.length !== expected) {
      throw fail(`stores ${t.rawData.length} bytes, but its shape ${dims.join('x')} (${dtype}) needs ${expected}`);
    }
    if (dtype === 'string') {
      const f = typedField(t, dtype)!;
      if (f.count !== n) throw fail(`stores ${f.count} strings, but its shape ${dims.join('x')} needs ${n}`);
    }
    source = memorySource(t.rawData);
  } else {
    const f = typedField(t, dtype)!;
    if (f.count === 0) throw fail(`has no data (its shape ${dims.join('x')} needs ${n} values)`);
    if (f.count !== n * f.per) throw fail(`stores ${f.count / f.per} values, but its shape ${dims.join('x')} needs ${n}`);
    source = typedFieldSource(t, dtype, n);
  }
  return new Tensor(t.name, dtype, dims, source, t);
}
