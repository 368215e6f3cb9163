import { bytesPerElement } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';

type Lanes = Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** The bytes as an aligned typed array of `el`-byte lanes (copied only when unaligned). */
function lanes(bytes: Uint8Array, el: number): Lanes {
  const b = bytes.byteOffset % el === 0 ? bytes : bytes.slice();
  switch (el) {
    case 1: return b;
    case 2: return new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
    case 4: return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    case 8: return new BigUint64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    default: throw new Error(`cannot slice ${el}-byte elements`);
  }
}

/** Removes indices along several axes of a tensor (any fixed-size dtype), in one pass over the kept elements. */
export function sliceTensor(t: Tensor, removals: Map<number, Set<number>>): { dims: number[]; bytes: Uint8Array } {
  const dims = t.dims;
  const r = dims.length;
  const keep = dims.map((d, a) => {
    const rm = removals.get(a);
    return Int32Array.from({ length: d }, (_, i) => i).filter((i) => !rm?.has(i));
  });
  const newDims = keep.map((k) => k.length);
  const el = bytesPerElement(t.dtype);
  const src = lanes(t.bytes(), el);
  const n = newDims.reduce((a, b) => a * b, 1);
  const out = lanes(new Uint8Array(n * el), el);
  if (n === 0) return { dims: newDims, bytes: new Uint8Array(0) };
  const strides = new Array<number>(r).fill(1);
  for (let a = r - 2; a >= 0; a--) strides[a] = strides[a + 1] * dims[a + 1];
  if (r === 0) {
    out[0] = src[0];
    return { dims: newDims, bytes: new Uint8Array(out.buffer) };
  }
  // odometer over all but the last axis; the last axis is a tight loop over its kept indices
  const last = keep[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let w = 0;
  for (;;) {
    let base = 0;
    for (let a = 0; a < r - 1; a++) base += keep[a][idx[a]] * strides[a];
    for (let k = 0; k < last.length; k++) (out as Uint32Array)[w++] = (src as Uint32Array)[base + last[k]];
    let a = r - 2;
    while (a >= 0 && ++idx[a] === newDims[a]) idx[a--] = 0;
    if (a < 0) break;
  }
  return { dims: newDims, bytes: new Uint8Array(out.buffer, 0, n * el) };
}

/** Sets the given indices along several axes to zero (the masked twin of a pruned tensor). */
export function zeroTensor(t: Tensor, removals: Map<number, Set<number>>): Uint8Array {
  const dims = t.dims;
  const el = bytesPerElement(t.dtype);
  const out = t.bytes().slice();
  const n = t.size;
  const strides = new Array<number>(dims.length).fill(1);
  for (let a = dims.length - 2; a >= 0; a--) strides[a] = strides[a + 1] * dims[a + 1];
  const axes = [...removals.entries()].filter(([, r]) => r.size);
  for (let i = 0; i < n; i++) {
    for (const [a, r] of axes) {
      if (r.has(Math.floor(i / strides[a]) % dims[a])) {
        out.fill(0, i * el, i * el + el);
        break;
      }
    }
  }
  return out;
}
