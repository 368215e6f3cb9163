import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TensorProto } from 'onnx-buf';
import { dtypeFromOnnx, bytesPerElement, type DType } from '../../ir/dtype.js';
import { PruneLensError } from '../../errors.js';
import { encodeElements, memorySource, Tensor, type TensorSource } from '../../ir/tensor.js';

const EXTERNAL = 1;

export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
  file: string;
}

/** The external-data reference of a tensor, resolved against the model's folder, or undefined if inline. */
export function externalRef(t: TensorProto, baseDir: string, modelFile: string): ExternalRef | undefined {
  if (t.dataLocation !== EXTERNAL) return undefined;
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new PruneLensError(`${modelFile}: tensor '${t.name}' is external but names no location`, { code: 'bad-model' });
  if (path.isAbsolute(location) || path.normalize(location).startsWith('..')) {
    throw new PruneLensError(`${modelFile}: tensor '${t.name}' points outside the model's folder (${location})`, { code: 'bad-model' });
  }
  const file = path.join(baseDir, location);
  const offset = Number(kv.get('offset') ?? 0);
  const lengthField = kv.get('length');
  return { location, offset, length: lengthField === undefined ? -1 : Number(lengthField), file };
}

/** Lazily reads a byte range of an external-data file; the bytes are not cached, so huge models stay on disk. */
function externalSource(ref: ExternalRef, expected: number, modelFile: string): TensorSource {
  return {
    inMemory: false,
    read() {
      const length = ref.length >= 0 ? ref.length : expected;
      const out = new Uint8Array(length);
      let fd: number;
      try {
        fd = fs.openSync(ref.file, 'r');
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

/** Makes an IR tensor over a TensorProto without copying its data. */
export function tensorFromProto(t: TensorProto, baseDir: string, modelFile: string): Tensor {
  const dtype = dtypeFromOnnx(t.dataType);
  const dims = t.dims.map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const expected = n * bytesPerElement(dtype);
  const ext = externalRef(t, baseDir, modelFile);
  let source: TensorSource;
  if (ext) {
    let size: number;
    try {
      size = fs.statSync(ext.file).size;
    } catch {
      throw new PruneLensError(`${modelFile}: external data file '${ext.location}' (tensor '${t.name}') is missing`, { code: 'bad-model' });
    }
    const length = ext.length >= 0 ? ext.length : expected;
    if (ext.offset + length > size) {
      throw new PruneLensError(
        `${modelFile}: external data file '${ext.location}' is too short for tensor '${t.name}' ` +
          `(needs bytes ${ext.offset}..${ext.offset + length}, file has ${size})`,
        { code: 'bad-model' },
      );
    }
    source = externalSource(ext, expected, modelFile);
  } else if (t.rawData.length > 0 || expected === 0 || dtype === 'string' || dtype === 'unknown') {
    source = memorySource(t.rawData);
  } else {
    source = typedFieldSource(t, dtype, n);
  }
  return new Tensor(t.name, dtype, dims, source, t);
}
