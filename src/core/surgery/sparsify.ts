/**
 * Unstructured and N:M sparsity: weights zeroed in place, shapes unchanged. Offered so their accuracy cost can be
 * measured; dense kernels (ONNX Runtime CPU) run them no faster, and reports say so.
 */
import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { lowestIndices } from '../util/lowest.js';

import type { Sparsity } from '../../shared/types.js';

export type { Sparsity } from '../../shared/types.js';

const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * Zeroes weights of every Conv/ConvTranspose/Gemm/MatMul (but the weight tensors in `except`, sparsified already);
 * returns how many were zeroed of how many, and in how many tensors.
 */
export function sparsify(model: Model, s: Sparsity, except: ReadonlySet<string> = new Set()): { zeroed: number; total: number; tensors: number } {
  const g = model.graph;
  let zeroed = 0;
  let total = 0;
  const done = new Set<string>(except);
  for (const node of g.nodes) {
    if (!WEIGHTED.has(node.opType) || node.domain !== '') continue;
    const name = node.inputs[1];
    const t = name ? g.constant(name) : undefined;
    if (!t || done.has(name) || t.size < 2 || (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16')) continue;
    done.add(name);
    const w = t.toFloat32();
    let z: number;
    if (s.kind === 'unstructured') {
      const k = Math.floor(s.ratio * w.length + 1e-9);
      for (const i of lowestIndices(w.map(Math.abs), k)) w[i] = 0;
      z = k;
    } else {
      z = nm(w, t.dims, node.opType, node.int('transB', 0) === 1, s.n, s.m);
    }
    t.replace(t.dims, w);
    zeroed += z;
    total += w.length;
  }
  if (total === 0 && except.size === 0) throw new PruneLensError('no Conv, Gemm or MatMul weights to sparsify');
  return { zeroed, total, tensors: done.size - except.size };
}

/**
 * N:M along the reduction axis (Conv input channels, Gemm/MatMul K): in every run of M consecutive weights that are
 * summed together, only the N largest stay (the layout sparse tensor cores use).
 */
function nm(w: Float32Array, dims: number[], op: string, transB: boolean, n: number, m: number): number {
  // index of element (row r, k) along the reduction axis
  let rows: number;
  let K: number;
  let at: (r: number, k: number) => number;
  if (op === 'Conv') {
    const spatial = dims.slice(2).reduce((a, b) => a * b, 1);
    [rows, K] = [dims[0] * spatial, dims[1]];
    at = (r, k) => Math.floor(r / spatial) * K * spatial + k * spatial + (r % spatial);
  } else if (op === 'ConvTranspose') {
    const inner = dims.slice(1).reduce((a, b) => a * b, 1);
    [rows, K] = [inner, dims[0]];
    at = (r, k) => k * inner + r;
  } else if (op === 'Gemm' && transB) {
    [rows, K] = [dims[0], dims[1]];
    at = (r, k) => r * K + k;
  } else {
    [K, rows] = [dims[dims.length - 2] ?? 1, dims[dims.length - 1]];
    at = (r, k) => k * rows + r;
  }
  let zeroed = 0;
  for (let r = 0; r < rows; r++) {
    for (let k0 = 0; k0 + m <= K; k0 += m) {
      const idx = Array.from({ length: m }, (_, j) => at(r, k0 + j)).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]));
      for (let j = 0; j < m - n; j++) {
        if (w[idx[j]] !== 0) zeroed++;
        w[idx[j]] = 0;
      }
    }
  }
  return zeroed;
}
