/** Element types of the IR, named as in ONNX Runtime's JavaScript API so tensors pass through unchanged. */
export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128' | 'unknown';

const BYTES: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8,
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  bool: 1, string: 0, complex64: 8, complex128: 16, unknown: 0,
};

export function bytesPerElement(t: DType): number {
  return BYTES[t];
}

export function isFloat(t: DType): boolean {
  return t === 'float32' || t === 'float16' || t === 'bfloat16' || t === 'float64';
}

export function isInteger(t: DType): boolean {
  return /^u?int\d+$/.test(t);
}

/** ONNX TensorProto.DataType codes. Codes we do not name (float8, int4, …) map to 'unknown' but are kept. */
const ONNX_CODES: [number, DType][] = [
  [1, 'float32'], [2, 'uint8'], [3, 'int8'], [4, 'uint16'], [5, 'int16'], [6, 'int32'], [7, 'int64'],
  [8, 'string'], [9, 'bool'], [10, 'float16'], [11, 'float64'], [12, 'uint32'], [13, 'uint64'],
  [14, 'complex64'], [15, 'complex128'], [16, 'bfloat16'],
];
const FROM_ONNX = new Map(ONNX_CODES);
const TO_ONNX = new Map(ONNX_CODES.map(([c, t]) => [t, c]));

export function dtypeFromOnnx(code: number): DType {
  return FROM_ONNX.get(code) ?? 'unknown';
}

export function dtypeToOnnx(t: DType): number {
  const c = TO_ONNX.get(t);
  if (c === undefined) throw new Error(`no ONNX code for dtype ${t}`);
  return c;
}
