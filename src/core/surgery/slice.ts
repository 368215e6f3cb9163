import { bytesPerElement } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';

/** Removes indices along several axes of a tensor (any dtype, on raw bytes). */
export function sliceTensor(t: Tensor, removals: Map<number, Set<number>>): { dims: number[]; bytes: Uint8Array } {
  const dims = t.dims;
  const keep = dims.map((d, a) => {
    const r = removals.get(a);
    return r && r.size ? Array.from({ length: d }, (_, i) => i).filter((i) => !r.has(i)) : null;
  });
  const newDims = dims.map((d, a) => keep[a]?.length ?? d);
  const el = bytesPerElement(t.dtype);
  const src = t.bytes();
  const out = new Uint8Array(newDims.reduce((a, b) => a * b, 1) * el);
  const strides = new Array<number>(dims.length).fill(1);
  for (let a = dims.length - 2; a >= 0; a--) strides[a] = strides[a + 1] * dims[a + 1];
  // the innermost run of untouched axes is copied in one piece
  let tail = dims.length;
  while (tail > 0 && !keep[tail - 1]) tail--;
  const run = (tail < dims.length ? strides[tail - 1] : 1) * el;
  const runLen = tail < dims.length ? strides[tail - 1] : 1;
  let w = 0;
  const walk = (axis: number, offset: number) => {
    if (axis === tail) {
      out.set(src.subarray(offset * el, offset * el + run), w);
      w += run;
      return;
    }
    const k = keep[axis];
    if (k) for (const i of k) walk(axis + 1, offset + i * strides[axis]);
    else for (let i = 0; i < dims[axis]; i++) walk(axis + 1, offset + i * strides[axis]);
  };
  if (tail === 0) return { dims: newDims, bytes: src.slice() };
  void runLen;
  walk(0, 0);
  return { dims: newDims, bytes: out };
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
