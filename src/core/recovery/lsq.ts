/**
 * Least-squares reconstruction (He et al. 2017, "Channel Pruning for Accelerating Very Deep Neural Networks"): after
 * pruning, each weighted layer gets the weights that make its output on calibration data as close as possible to the
 * dense model's, given the inputs the pruned network really feeds it. Layer after layer, so each fit corrects the
 * error the layers before it left. Convolutions are fitted on sampled output positions (im2col rows), per conv-group.
 */
import type { CalibrationSet } from '../data/calibration.js';
import type { Model, Node } from '../ir/graph.js';
import { computeShapes } from '../shapes/index.js';
import type { ShapeResult } from '../shapes/types.js';
import { ownConstant } from '../surgery/apply.js';
import { rng } from '../util/random.js';
import { capture, type Captured } from './capture.js';
import { convGeometry, convRows, sampleRows } from './im2col.js';
import { gram, ridgeSolve } from './linalg.js';

export interface LsqStep {
  node: string;
  features: number;
  rows: number;
  /** Relative error ‖Y − Ŷ‖/‖Y‖ of the layer's output on the sampled rows, before and after the fit. */
  before: number;
  after: number;
  skipped?: string;
}

/** Rows × features a fit may hold in memory (float32): 64 MB. */
const MAX_CELLS = 16 << 20;
/** Largest solve (features) done: the Cholesky is O(d³) in JavaScript. */
export const MAX_FEATURES = 2400;

/**
 * Refits `layers` (nodes of `pruned`, in graph order) to the dense model's outputs: `kept[i]` lists, for each of a
 * layer's output channels, the dense channel it is.
 */
export async function reconstructLayers(
  pruned: Model, dense: { model: Model; shapes: ShapeResult }, inputs: Record<string, number[]>, data: CalibrationSet,
  layers: { node: string; kept: number[] }[], opts: { seed?: number; signal?: AbortSignal; onLayer?: (i: number) => void } = {},
): Promise<LsqStep[]> {
  const g = pruned.graph;
  const nodes = layers.map(({ node }) => g.nodes.find((n) => n.name === node)!);
  const want = await capture(dense.model, dense.shapes, nodes.map((n) => n.outputs[0]), data, { signal: opts.signal });
  const shapes = await computeShapes(pruned, inputs);
  const steps: LsqStep[] = [];
  for (const [i, node] of nodes.entries()) {
    opts.onLayer?.(i);
    const x = (await capture(pruned, shapes, [node.inputs[0]], data, { signal: opts.signal })).get(node.inputs[0])!;
    const y = want.get(node.outputs[0])!;
    const r = rng((opts.seed ?? 1) * 31 + i);
    steps.push(node.opType === 'Conv' ? await fitConv(pruned, node, x, y, layers[i].kept, r) : await fitDense(pruned, node, x, y, layers[i].kept, r));
  }
  return steps;
}

/** Conv: per conv-group, rows = sampled output positions, features = the group's input patch (+ 1 for the bias). */
async function fitConv(model: Model, node: Node, x: Captured, y: Captured, kept: number[], r: () => number): Promise<LsqStep> {
  const g = model.graph;
  // a weight or bias shared with other layers (some exports reuse identical tensors) gets a copy of its own first
  const w = ownConstant(g, node, 1);
  const b = node.inputs[2] && g.constant(node.inputs[2]) ? ownConstant(g, node, 2) : undefined;
  const skip = (why: string): LsqStep => ({ node: node.name, features: 0, rows: 0, before: 0, after: 0, skipped: why });
  if (w.dtype !== 'float32' || (b && b.dtype !== 'float32')) return skip('weights are not float32');
  if (x.dims.length !== 4) return skip('only 2-D convolutions are refitted');
  const [O, Cg, kh, kw] = w.dims;
  const geo = convGeometry(node, w.dims, x.dims);
  const groups = geo.groups;
  const [N, C] = x.dims;
  const [, Od, Ho, Wo] = y.dims;
  if (C !== Cg * groups || kept.length !== O) return skip('shapes do not line up');
  const Og = O / groups;
  const bias = b ? 1 : 0;
  const d = Cg * kh * kw + bias;
  if (d - bias > MAX_FEATURES) return skip(`${d - bias} features per output is more than this refit handles (${MAX_FEATURES})`);
  const positions = N * Ho * Wo;
  const m = Math.min(positions, Math.max(4 * d, 2048), Math.floor(MAX_CELLS / d));
  if (m < 2 * d) return skip(`${m} output positions for ${d} unknowns per output (needs at least ${2 * d})`);
  // the same sampled positions for every group
  const rows = sampleRows(positions, m, r);
  const wv = Float32Array.from(w.toFloat32());
  const bv = b ? Float32Array.from(b.toFloat32()) : undefined;
  let errBefore = 0;
  let errAfter = 0;
  let norm = 0;
  for (let grp = 0; grp < groups; grp++) {
    const A = convRows(x, geo, grp, rows, Ho, Wo, !!bias);
    const T = new Float32Array(m * Og);
    for (let k = 0; k < m; k++) {
      const p = rows[k];
      const n = Math.floor(p / (Ho * Wo));
      const rest = p % (Ho * Wo);
      for (let o = 0; o < Og; o++) T[k * Og + o] = y.data[(n * Od + kept[grp * Og + o]) * Ho * Wo + rest];
    }
    const { G, B } = await gram(A, T, m, d, Og);
    const X = await ridgeSolve(G, B, d, Og);
    // residuals before (current weights) and after (the fit), on the same rows
    for (let o = 0; o < Og; o++) {
      const oc = grp * Og + o;
      for (let k = 0; k < m; k++) {
        let cur = bv ? bv[oc] : 0;
        let fit = bias ? X[(d - 1) * Og + o] : 0;
        const row = k * d;
        const wrow = oc * Cg * kh * kw;
        for (let f = 0; f < d - bias; f++) {
          cur += A[row + f] * wv[wrow + f];
          fit += A[row + f] * X[f * Og + o];
        }
        const t = T[k * Og + o];
        errBefore += (t - cur) ** 2;
        errAfter += (t - fit) ** 2;
        norm += t * t;
      }
      for (let f = 0; f < d - bias; f++) wv[oc * Cg * kh * kw + f] = X[f * Og + o];
      if (bv) bv[oc] = X[(d - 1) * Og + o];
    }
  }
  // keep the fit only where it helps (it always should on the rows it saw)
  if (errAfter < errBefore) {
    w.replace(w.dims, wv);
    if (b && bv) b.replace(b.dims, bv);
  }
  return { node: node.name, features: d, rows: m, before: Math.sqrt(errBefore / Math.max(norm, 1e-30)), after: Math.sqrt(Math.min(errAfter, errBefore) / Math.max(norm, 1e-30)) };
}

/** Gemm / MatMul: rows = samples (× leading positions), features = the input vector (+ 1 for Gemm's bias). */
async function fitDense(model: Model, node: Node, x: Captured, y: Captured, kept: number[], r: () => number): Promise<LsqStep> {
  const g = model.graph;
  const w = ownConstant(g, node, 1);
  const c = node.opType === 'Gemm' && node.inputs[2] && g.constant(node.inputs[2]) ? ownConstant(g, node, 2) : undefined;
  const skip = (why: string): LsqStep => ({ node: node.name, features: 0, rows: 0, before: 0, after: 0, skipped: why });
  if (w.dtype !== 'float32' || w.dims.length !== 2) return skip('the weight is not a float32 matrix');
  if (node.opType === 'Gemm' && (node.int('transA', 0) || node.float('alpha', 1) !== 1 || node.float('beta', 1) !== 1)) return skip('transA, alpha or beta');
  if (c && (c.dtype !== 'float32' || c.size !== kept.length)) return skip('the bias is not one per output');
  const transB = node.opType === 'Gemm' && node.int('transB', 0) === 1;
  const [K, O] = transB ? [w.dims[1], w.dims[0]] : w.dims;
  const Od = y.dims[y.dims.length - 1];
  const positions = x.data.length / K;
  if (!Number.isInteger(positions) || kept.length !== O) return skip('shapes do not line up');
  const bias = c ? 1 : 0;
  const d = K + bias;
  if (K > MAX_FEATURES) return skip(`${K} inputs is more than this refit handles (${MAX_FEATURES})`);
  const m = Math.min(positions, Math.max(4 * d, 4096), Math.floor(MAX_CELLS / d));
  // fewer rows than unknowns (a Dense layer sees one row per sample) would only fit the noise of these samples
  if (m < 2 * d) return skip(`${m} samples for ${d} unknowns per output (needs at least ${2 * d})`);
  const rows = sampleRows(positions, m, r);
  const A = new Float32Array(m * d);
  const T = new Float32Array(m * O);
  for (let k = 0; k < m; k++) {
    A.set(x.data.subarray(rows[k] * K, (rows[k] + 1) * K), k * d);
    if (bias) A[k * d + K] = 1;
    for (let o = 0; o < O; o++) T[k * O + o] = y.data[rows[k] * Od + kept[o]];
  }
  const { G, B } = await gram(A, T, m, d, O);
  const X = await ridgeSolve(G, B, d, O);
  const wv = w.toFloat32();
  const cv = c?.toFloat32();
  const out = new Float32Array(w.size);
  const bv = new Float32Array(O);
  let errBefore = 0;
  let errAfter = 0;
  let norm = 0;
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < m; k++) {
      let cur = cv ? cv[o] : 0;
      let fit = bias ? X[K * O + o] : 0;
      for (let f = 0; f < K; f++) {
        const a = A[k * d + f];
        cur += a * wv[transB ? o * K + f : f * O + o];
        fit += a * X[f * O + o];
      }
      const t = T[k * O + o];
      errBefore += (t - cur) ** 2;
      errAfter += (t - fit) ** 2;
      norm += t * t;
    }
    for (let f = 0; f < K; f++) out[transB ? o * K + f : f * O + o] = X[f * O + o];
    bv[o] = bias ? X[K * O + o] : 0;
  }
  if (errAfter < errBefore) {
    w.replace(w.dims, out);
    if (c) c.replace(c.dims, bv);
  }
  return { node: node.name, features: d, rows: m, before: Math.sqrt(errBefore / Math.max(norm, 1e-30)), after: Math.sqrt(Math.min(errAfter, errBefore) / Math.max(norm, 1e-30)) };
}
