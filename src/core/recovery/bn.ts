/**
 * BatchNormalization re-calibration: pruning changes the distribution of every normalised activation downstream,
 * while the running mean and variance still describe the dense model's. Recomputed on calibration data, layer after
 * layer (each BN's input depends on the BNs before it), as AdaBN does. Where the export folded BN into the
 * convolutions there is no BN to recompute: each affected layer's bias is re-estimated instead, so that its mean
 * output matches the dense model's (bias correction).
 */
import type { CalibrationSet } from '../data/calibration.js';
import type { Model } from '../ir/graph.js';
import { computeShapes } from '../shapes/index.js';
import type { ShapeResult } from '../shapes/types.js';
import { ownConstant } from '../surgery/apply.js';
import { capture, channelMoments } from './capture.js';

export interface BnStep {
  node: string;
  kind: 'bn' | 'bias';
  /** Mean absolute change of the running mean (bn) or of the bias (bias), relative to the values' spread. */
  shift: number;
}

export async function recalibrateBatchNorm(
  pruned: Model, inputs: Record<string, number[]>, data: CalibrationSet, affected: Set<string>, signal?: AbortSignal,
): Promise<BnStep[]> {
  const g = pruned.graph;
  const steps: BnStep[] = [];
  const shapes = await computeShapes(pruned, inputs);
  for (const bn of g.nodes.filter((n) => n.opType === 'BatchNormalization' && n.domain === '' && affected.has(n.name))) {
    if (!g.constant(bn.inputs[3]) || !g.constant(bn.inputs[4])) continue;
    const mean = ownConstant(g, bn, 3);
    const variance = ownConstant(g, bn, 4);
    if (mean.dtype !== 'float32' || variance.dtype !== 'float32') continue;
    const x = (await capture(pruned, shapes, [bn.inputs[0]], data, { signal })).get(bn.inputs[0])!;
    const m = channelMoments(x);
    if (m.mean.length !== mean.size) continue;
    const old = mean.toFloat32();
    let shift = 0;
    for (let c = 0; c < old.length; c++) shift += Math.abs(m.mean[c] - old[c]) / Math.sqrt(m.variance[c] + 1e-12);
    mean.replace(mean.dims, Float32Array.from(m.mean));
    variance.replace(variance.dims, Float32Array.from(m.variance));
    steps.push({ node: bn.name, kind: 'bn', shift: shift / old.length });
  }
  return steps;
}

/**
 * Bias correction for layers that feed no BatchNormalization (folded exports): each affected Conv/Gemm with a bias
 * gets b += mean(dense output) − mean(pruned output) per kept channel, layer after layer.
 */
export async function correctBiases(
  pruned: Model, dense: { model: Model; shapes: ShapeResult }, inputs: Record<string, number[]>, data: CalibrationSet,
  layers: { node: string; kept: number[] }[], signal?: AbortSignal,
): Promise<BnStep[]> {
  const g = pruned.graph;
  const steps: BnStep[] = [];
  const targets = layers.filter(({ node }) => {
    const n = g.nodes.find((x) => x.name === node)!;
    return !!n.inputs[2] && !!g.constant(n.inputs[2]) && !g.consumersOf(n.outputs[0]).some((c) => c.opType === 'BatchNormalization');
  });
  if (!targets.length) return steps;
  const outs = targets.map(({ node }) => g.nodes.find((x) => x.name === node)!.outputs[0]);
  const want = await capture(dense.model, dense.shapes, outs, data, { signal });
  const shapes = await computeShapes(pruned, inputs);
  for (const [i, { node, kept }] of targets.entries()) {
    const n = g.nodes.find((x) => x.name === node)!;
    const bias = ownConstant(g, n, 2);
    if (bias.dtype !== 'float32' || bias.size !== kept.length) continue;
    const have = channelMoments((await capture(pruned, shapes, [outs[i]], data, { signal })).get(outs[i])!, axisOf(n.opType)).mean;
    const dense = channelMoments(want.get(outs[i])!, axisOf(n.opType));
    const b = Float32Array.from(bias.toFloat32());
    let shift = 0;
    for (let c = 0; c < b.length; c++) {
      const d = dense.mean[kept[c]] - have[c];
      b[c] += d;
      shift += Math.abs(d) / Math.sqrt(dense.variance[kept[c]] + 1e-12);
    }
    bias.replace(bias.dims, b);
    steps.push({ node, kind: 'bias', shift: shift / b.length });
  }
  return steps;
}

/** The channel axis of a layer's output: 1 for Conv ([N, C, …]), the last for Gemm/MatMul rows. */
export function axisOf(op: string): number {
  return op === 'Conv' ? 1 : -1;
}
