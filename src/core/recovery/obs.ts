/**
 * Unstructured and N:M sparsity from calibration data, layer by layer:
 * - wanda (Sun et al. 2023): a weight's importance is |w|·‖x_j‖, its input feature's norm over the data; the lowest
 *   go within each output row (N:M: within each run of M input channels);
 * - obs: layer-wise Optimal Brain Surgeon as SparseGPT does it (Frantar & Alistarh 2023): with H = XᵀX of the
 *   layer's inputs, weights are removed column by column by w²/[H⁻¹]_jj, and each removal's error is spread over the
 *   row's later weights (w −= w_j/U_jj · U_j,·, U the upper Cholesky factor of H⁻¹), so the layer's output on the
 *   data moves as little as possible.
 * Layers go in graph order, each fitted on the inputs the already sparsified layers before it produce.
 */
import type { CalibrationSet } from '../data/calibration.js';
import type { Model } from '../ir/graph.js';
import { computeShapes } from '../shapes/index.js';
import type { Sparsity } from '../surgery/sparsify.js';
import { ownConstant } from '../surgery/apply.js';
import { throwIfCancelled } from '../errors.js';
import { lowestIndices } from '../util/lowest.js';
import { rng } from '../util/random.js';
import { capture } from './capture.js';
import { convGeometry, convRows, sampleRows } from './im2col.js';
import { gemm, gram, upperCholeskyOfInverse } from './linalg.js';
import { weightedLayers } from './layers.js';
import { MAX_FEATURES } from './lsq.js';

export type DataSparsityMethod = 'obs' | 'wanda';

export interface SparseLayer {
  node: string;
  /** Weights zero afterwards, of all the layer's weights. */
  zeroed: number;
  total: number;
  /** Relative change of the layer's output on sampled calibration rows, ‖X(W′−W)ᵀ‖ / ‖XWᵀ‖. */
  error: number;
}

/** Rows × features a layer's fit holds (float32): 64 MB. */
const MAX_CELLS = 16 << 20;
/** Rows the output error is measured on. */
const ERROR_ROWS = 256;

/**
 * The layers `sparsifyWithData` handles: ungrouped 2-D Conv, Gemm and MatMul with a float32 constant weight (OBS: up
 * to MAX_FEATURES inputs per output). The rest are left for magnitude.
 */
function handled(model: Model, method: DataSparsityMethod) {
  const g = model.graph;
  return weightedLayers(g).filter((node) => {
    const w = g.constant(node.inputs[1]);
    if (!w || w.dtype !== 'float32' || w.size < 2) return false;
    if (node.opType === 'Conv') {
      const d = w.dims.length === 4 ? w.dims[1] * w.dims[2] * w.dims[3] : Infinity;
      return node.int('group', 1) === 1 && w.dims.length === 4 && (method === 'wanda' || d <= MAX_FEATURES);
    }
    if (node.opType === 'Gemm' && node.int('transA', 0)) return false;
    const K = node.opType === 'Gemm' && node.int('transB', 0) ? w.dims[1] : w.dims[0];
    return w.dims.length === 2 && (method === 'wanda' || K <= MAX_FEATURES);
  });
}

/** Sparsifies the layers it handles of `model` in place; returns what it did and which weight tensors it did. */
export async function sparsifyWithData(
  model: Model, inputs: Record<string, number[]>, data: CalibrationSet, s: Sparsity, method: DataSparsityMethod,
  opts: { seed?: number; signal?: AbortSignal; batch?: number; onLayer?: (done: number, total: number) => void } = {},
): Promise<{ layers: SparseLayer[]; weights: Set<string> }> {
  const g = model.graph;
  const shapes = await computeShapes(model, inputs);
  const layers: SparseLayer[] = [];
  const weights = new Set<string>();
  const todo = handled(model, method);
  for (const [li, node] of todo.entries()) {
    throwIfCancelled(opts.signal);
    opts.onLayer?.(li, todo.length);
    if (weights.has(node.inputs[1])) continue;
    const w = ownConstant(g, node, 1);
    const x = (await capture(model, shapes, [node.inputs[0]], data, { signal: opts.signal, batch: opts.batch })).get(node.inputs[0])!;
    const r = rng((opts.seed ?? 1) * 131 + li);
    let A: Float32Array;
    let m: number;
    let d: number;
    // the weight as [rows = outputs, cols = features], features in the order A's columns come
    let W: Float64Array;
    let rows: number;
    // features per input channel (kernel positions): N:M runs go along channels, as surgery/sparsify's do
    let spatial = 1;
    let put: (Wm: Float64Array) => Float32Array;
    if (node.opType === 'Conv') {
      const geo = convGeometry(node, w.dims, x.dims);
      const [, , ho, wo] = shapes.types.get(node.outputs[0])!.dims;
      spatial = geo.kh * geo.kw;
      d = geo.cg * spatial;
      rows = w.dims[0];
      const positions = x.dims[0] * ho * wo;
      m = Math.min(positions, Math.max(4 * d, 2048), Math.floor(MAX_CELLS / d));
      A = convRows(x, geo, 0, sampleRows(positions, m, r), ho, wo, false);
      W = Float64Array.from(w.toFloat32());
      put = (Wm) => Float32Array.from(Wm);
    } else {
      const transB = node.opType === 'Gemm' && node.int('transB', 0) === 1;
      const [K, O] = transB ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
      d = K;
      rows = O;
      const positions = x.data.length / K;
      m = Math.min(positions, Math.max(4 * d, 4096), Math.floor(MAX_CELLS / d));
      const picked = sampleRows(positions, m, r);
      A = new Float32Array(m * d);
      picked.forEach((p, k) => A.set(x.data.subarray(p * K, (p + 1) * K), k * d));
      const wv = w.toFloat32();
      W = transB ? Float64Array.from(wv) : Float64Array.from({ length: O * K }, (_, i) => wv[(i % K) * O + Math.floor(i / K)]);
      put = (Wm) => (transB ? Float32Array.from(Wm) : Float32Array.from({ length: O * K }, (_, i) => Wm[(i % O) * K + Math.floor(i / O)]));
    }
    const before = Float64Array.from(W);
    const { G } = await gram(A, new Float32Array(m), m, d, 1);
    if (method === 'obs') await obsPrune(W, rows, d, spatial, G, s);
    else wandaPrune(W, rows, d, spatial, G, s);
    w.replace(w.dims, put(W));
    weights.add(node.inputs[1]);
    let zeroed = 0;
    for (let i = 0; i < W.length; i++) if (W[i] === 0) zeroed++;
    layers.push({ node: node.name, zeroed, total: W.length, error: await outputError(A, Math.min(m, ERROR_ROWS), d, before, W, rows) });
  }
  opts.onLayer?.(todo.length, todo.length);
  return { layers, weights };
}

/** ‖A(W′−W)ᵀ‖ / ‖AWᵀ‖ over the first `m` rows of A. */
async function outputError(A: Float32Array, m: number, d: number, W: Float64Array, W2: Float64Array, rows: number): Promise<number> {
  const X = { rows: m, cols: d, data: Float64Array.from(A.subarray(0, m * d)) };
  const Y = await gemm(X, { rows, cols: d, data: W }, { transB: true });
  const D = await gemm(X, { rows, cols: d, data: Float64Array.from(W2, (v, i) => v - W[i]) }, { transB: true });
  let e2 = 0;
  let n2 = 0;
  for (let i = 0; i < Y.data.length; i++) {
    e2 += D.data[i] ** 2;
    n2 += Y.data[i] ** 2;
  }
  return n2 > 0 ? Math.sqrt(e2 / n2) : 0;
}

/** Runs of M features summed together along the input channels, within features [j0, j1): N:M's comparison groups. */
function runsIn(j0: number, j1: number, spatial: number, m: number): number[][] {
  const runs: number[][] = [];
  const c0 = Math.ceil(j0 / spatial);
  const c1 = Math.floor(j1 / spatial);
  for (let c = c0; c + m <= c1; c += m) {
    for (let p = 0; p < spatial; p++) runs.push(Array.from({ length: m }, (_, k) => (c + k) * spatial + p));
  }
  return runs;
}

/** The lowest-scoring entries of `js` (by `score`, ties by index). */
function lowest(js: number[], k: number, score: (j: number) => number): number[] {
  return js.sort((a, b) => score(a) - score(b) || a - b).slice(0, k);
}

/** Wanda: |w|·‖x_j‖ (‖x_j‖² = H_jj), lowest per output row (N:M: per run of M input channels). */
function wandaPrune(W: Float64Array, rows: number, d: number, spatial: number, G: ArrayLike<number>, s: Sparsity): void {
  const norm = Float64Array.from({ length: d }, (_, j) => Math.sqrt(Math.max(G[j * d + j], 0)));
  const runs = s.kind === 'nm' ? runsIn(0, d, spatial, s.m) : [];
  const sc = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const score = (j: number) => Math.abs(W[r * d + j]) * norm[j];
    for (let j = 0; j < d; j++) sc[j] = score(j);
    const drop = s.kind === 'unstructured' ? lowestIndices(sc, Math.floor(s.ratio * d + 1e-9)) : runs.flatMap((run) => lowest([...run], s.m - s.n, score));
    for (const j of drop) W[r * d + j] = 0;
  }
}

/**
 * SparseGPT's OBS: a mask per block of columns chosen by w²/U_jj² on the weights as earlier updates left them; column
 * by column each removed weight's error e = w/U_jj is spread over the block's later columns (w −= e·U_j,·), and once
 * the block is done, over all later columns at once as one GEMM (SparseGPT's lazy batch update).
 */
async function obsPrune(W: Float64Array, rows: number, d: number, spatial: number, G: ArrayLike<number>, s: Sparsity): Promise<void> {
  const H = Float64Array.from(G);
  let trace = 0;
  for (let j = 0; j < d; j++) trace += H[j * d + j];
  // SparseGPT's 1 % damping; dead inputs (H_jj = 0) would otherwise make H singular
  const damp = 0.01 * (trace / d) || 1e-8;
  for (let j = 0; j < d; j++) H[j * d + j] += damp;
  const U = await upperCholeskyOfInverse(H, d);
  // blocks whole runs of N:M fit in
  const unit = s.kind === 'nm' ? s.m * spatial : 1;
  const block = unit * Math.max(1, Math.round(128 / unit));
  const score = (r: number, j: number) => (W[r * d + j] / U[j * d + j]) ** 2;
  for (let j0 = 0; j0 < d; j0 += block) {
    const j1 = Math.min(d, j0 + block);
    const width = j1 - j0;
    const mask = new Uint8Array(rows * width);
    if (s.kind === 'unstructured') {
      const sc = new Float64Array(rows * width);
      for (let i = 0; i < sc.length; i++) sc[i] = score(Math.floor(i / width), j0 + (i % width));
      for (const i of lowestIndices(sc, Math.floor(s.ratio * sc.length + 1e-9))) mask[i] = 1;
    } else {
      const runs = runsIn(j0, j1, spatial, s.m);
      for (let r = 0; r < rows; r++) for (const run of runs) for (const j of lowest([...run], s.m - s.n, (j) => score(r, j))) mask[r * width + j - j0] = 1;
    }
    // errors of this block's removals, [rows, width]
    const E = new Float64Array(rows * width);
    for (let j = j0; j < j1; j++) {
      const uj = j * d;
      const ujj = U[uj + j];
      for (let r = 0; r < rows; r++) {
        const w = W[r * d + j];
        if (!mask[r * width + j - j0] || w === 0) continue;
        const e = w / ujj;
        const wr = r * d;
        for (let k = j + 1; k < j1; k++) W[wr + k] -= e * U[uj + k];
        W[wr + j] = 0;
        E[r * width + j - j0] = e;
      }
    }
    if (j1 === d) break;
    // W[:, j1:] −= E · U[j0:j1, j1:]
    const rest = d - j1;
    const Wr = new Float64Array(rows * rest);
    for (let r = 0; r < rows; r++) Wr.set(W.subarray(r * d + j1, (r + 1) * d), r * rest);
    const Ub = new Float64Array(width * rest);
    for (let j = j0; j < j1; j++) Ub.set(U.subarray(j * d + j1, (j + 1) * d), (j - j0) * rest);
    const out = await gemm({ rows, cols: width, data: E }, { rows: width, cols: rest, data: Ub }, { minus: { rows, cols: rest, data: Wr } });
    for (let r = 0; r < rows; r++) W.set(out.data.subarray(r * rest, (r + 1) * rest), r * d + j1);
  }
}
