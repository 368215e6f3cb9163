import { bytesPerElement, type DType } from './dtype.js';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from './half.js';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** Where a tensor's bytes come from. Loading is lazy so that a model is not held twice in memory. */
export interface TensorSource {
  /** Little-endian raw bytes. May be a view into the model file's buffer: treat as read-only. */
  read(): Uint8Array;
  /** True when read() is cheap (no disk I/O) and may be called repeatedly. */
  readonly inMemory: boolean;
}

export function memorySource(bytes: Uint8Array): TensorSource {
  return { read: () => bytes, inMemory: true };
}

/**
 * A constant tensor (weight, bias, shape constant). Format-neutral: the loader that made it may keep a
 * back-reference in `origin` so that saving an unmodified tensor writes exactly what was read.
 */
export class Tensor {
  /** Set when the data or dims were replaced: savers must write the new data instead of the original field. */
  modified = false;

  constructor(
    public name: string,
    readonly dtype: DType,
    public dims: number[],
    private source: TensorSource,
    public origin?: unknown,
  ) {}

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  get byteLength(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  get inMemory(): boolean {
    return this.source.inMemory;
  }

  /** Raw little-endian bytes (read-only view when possible). */
  bytes(): Uint8Array {
    return this.source.read();
  }

  /** The values as float32 (converted from any numeric dtype). Read-only: may alias the model's buffer. */
  toFloat32(): Float32Array {
    const b = this.bytes();
    if (this.dtype === 'float32') {
      if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      // a copy of just these bytes (a Node Buffer's slice() is a view of its whole pool, not a copy)
      return new Float32Array(new Uint8Array(b).buffer);
    }
    const n = this.size;
    const out = new Float32Array(n);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < n; i++) out[i] = readElement(dv, this.dtype, i);
    return out;
  }

  /** Values as JS numbers (int64 beyond 2^53 lose precision): meant for small shape-like tensors. */
  toNumbers(): number[] {
    const b = this.bytes();
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = this.size;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(dv, this.dtype, i);
    return out;
  }

  /** Replace with raw little-endian bytes of this dtype. */
  replaceBytes(dims: number[], bytes: Uint8Array): void {
    if (bytes.length !== dims.reduce((a, b) => a * b, 1) * bytesPerElement(this.dtype)) {
      throw new Error(`tensor '${this.name}': ${bytes.length} bytes do not fit dims ${dims.join('x')}`);
    }
    this.dims = dims;
    this.source = memorySource(bytes);
    this.modified = true;
  }

  /** Replace data and dims (e.g. after slicing channels). `data` must hold the new dtype's elements. */
  replace(dims: number[], data: TypedArray | number[]): void {
    const n = dims.reduce((a, b) => a * b, 1);
    const bytes = encodeElements(this.dtype, data, n);
    this.dims = dims;
    this.source = memorySource(bytes);
    this.modified = true;
  }
}

function readElement(dv: DataView, t: DType, i: number): number {
  switch (t) {
    case 'float32': return dv.getFloat32(i * 4, true);
    case 'float64': return dv.getFloat64(i * 8, true);
    case 'float16': return halfToFloat(dv.getUint16(i * 2, true));
    case 'bfloat16': return bfloat16ToFloat(dv.getUint16(i * 2, true));
    case 'int8': return dv.getInt8(i);
    case 'uint8': case 'bool': return dv.getUint8(i);
    case 'int16': return dv.getInt16(i * 2, true);
    case 'uint16': return dv.getUint16(i * 2, true);
    case 'int32': return dv.getInt32(i * 4, true);
    case 'uint32': return dv.getUint32(i * 4, true);
    case 'int64': return Number(dv.getBigInt64(i * 8, true));
    case 'uint64': return Number(dv.getBigUint64(i * 8, true));
    default: throw new Error(`cannot read elements of dtype ${t}`);
  }
}

/** Encode numbers as little-endian bytes of the given dtype. */
export function encodeElements(t: DType, data: ArrayLike<number | bigint>, n = data.length): Uint8Array {
  if (data.length !== n) throw new Error(`expected ${n} elements, got ${data.length}`);
  const out = new Uint8Array(n * bytesPerElement(t));
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    switch (t) {
      case 'float32': dv.setFloat32(i * 4, Number(v), true); break;
      case 'float64': dv.setFloat64(i * 8, Number(v), true); break;
      case 'float16': dv.setUint16(i * 2, floatToHalf(Number(v)), true); break;
      case 'bfloat16': dv.setUint16(i * 2, floatToBfloat16(Number(v)), true); break;
      case 'int8': dv.setInt8(i, Number(v)); break;
      case 'uint8': case 'bool': dv.setUint8(i, Number(v)); break;
      case 'int16': dv.setInt16(i * 2, Number(v), true); break;
      case 'uint16': dv.setUint16(i * 2, Number(v), true); break;
      case 'int32': dv.setInt32(i * 4, Number(v), true); break;
      case 'uint32': dv.setUint32(i * 4, Number(v), true); break;
      case 'int64': dv.setBigInt64(i * 8, BigInt(typeof v === 'bigint' ? v : Math.trunc(v)), true); break;
      case 'uint64': dv.setBigUint64(i * 8, BigInt(typeof v === 'bigint' ? v : Math.trunc(v)), true); break;
      default: throw new Error(`cannot encode dtype ${t}`);
    }
  }
  return out;
}
