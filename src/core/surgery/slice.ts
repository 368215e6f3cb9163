import { bytesPerElement } from '../ir/dtype.js';
import { memorySource, Tensor } from '../ir/tensor.js';

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

/** Axis-`axis` indices removed per block of axis 0 (a grouped convolution's weight: each conv-group its own). */
export interface BlockRemoval {
  axis: number;
  perBlock: Set<number>[];
}

/**
 * Applies `f` (slice or zero) to each axis-0 block of `t` with its own removal along `blocks.axis`, and joins the
 * results: axis 0 is outermost, so the blocks are consecutive bytes.
 */
export function byBlocks(
  t: Tensor,
  removals: Map<number, Set<number>>,
  blocks: BlockRemoval,
  f: (t: Tensor, removals: Map<number, Set<number>>) => { dims: number[]; bytes: Uint8Array },
): { dims: number[]; bytes: Uint8Array } {
  const n = blocks.perBlock.length;
  const rows = t.dims[0] / n;
  const rowBytes = t.byteLength / t.dims[0];
  const bytes = t.bytes();
  const parts = blocks.perBlock.map((cols, b) => {
    const sub = new Tensor(t.name, t.dtype, [rows, ...t.dims.slice(1)], memorySource(bytes.subarray(b * rows * rowBytes, (b + 1) * rows * rowBytes)));
    const own = new Map(removals);
    const gone = removals.get(0);
    if (gone) own.set(0, new Set([...gone].filter((r) => r >= b * rows && r < (b + 1) * rows).map((r) => r - b * rows)));
    own.set(blocks.axis, cols);
    return f(sub, own);
  });
  const tail = parts[0].dims.slice(1).join('x');
  if (parts.some((p) => p.dims.slice(1).join('x') !== tail)) throw new Error(`tensor '${t.name}': blocks lose unequal slices`);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.bytes.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p.bytes, o);
    o += p.bytes.length;
  }
  return { dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...parts[0].dims.slice(1)], bytes: out };
}
