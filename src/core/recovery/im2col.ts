/** A layer's inputs as rows of features (im2col for convolutions): what least squares and OBS fit to. */
import type { Node } from '../ir/graph.js';
import type { Captured } from './capture.js';
import { explicitPads } from '../shapes/pads.js';

export interface ConvGeometry {
  groups: number;
  /** Input channels per conv-group, kernel size, strides, dilations, top/left pads. */
  cg: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
}

export function convGeometry(node: Node, weightDims: number[], inputDims: number[]): ConvGeometry {
  const [sh, sw] = node.ints('strides') ?? [1, 1];
  const [dh, dw] = node.ints('dilations') ?? [1, 1];
  const [pt, pl] = explicitPads(node, inputDims.slice(2), weightDims.slice(2));
  return { groups: node.int('group', 1), cg: weightDims[1], kh: weightDims[2], kw: weightDims[3], sh, sw, dh, dw, pt, pl };
}

/**
 * Rows of a conv-group's input patches at sampled output positions (position p = (n·Ho + y)·Wo + x), features in the
 * weight's (c, i, j) order, plus a trailing 1 when `bias`. `x` is [N, C, H, W]; the output is Ho×Wo.
 */
export function convRows(x: Captured, geo: ConvGeometry, group: number, rows: ArrayLike<number>, ho: number, wo: number, bias: boolean): Float32Array {
  const [, C, H, W] = x.dims;
  const d = geo.cg * geo.kh * geo.kw + (bias ? 1 : 0);
  const A = new Float32Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) {
    const p = rows[k];
    const n = Math.floor(p / (ho * wo));
    const oy = Math.floor((p % (ho * wo)) / wo);
    const ox = p % wo;
    let f = k * d;
    for (let c = 0; c < geo.cg; c++) {
      const plane = (n * C + group * geo.cg + c) * H * W;
      for (let i = 0; i < geo.kh; i++) {
        const iy = oy * geo.sh - geo.pt + i * geo.dh;
        for (let j = 0; j < geo.kw; j++) {
          const ix = ox * geo.sw - geo.pl + j * geo.dw;
          A[f++] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x.data[plane + iy * W + ix] : 0;
        }
      }
    }
    if (bias) A[f] = 1;
  }
  return A;
}

/** `m` distinct indices of 0…n−1 (all of them when m ≥ n), seeded, in increasing order. */
export function sampleRows(n: number, m: number, r: () => number): Int32Array {
  if (m >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < m) picked.add(Math.floor(r() * n));
  return Int32Array.from([...picked].sort((a, b) => a - b));
}
