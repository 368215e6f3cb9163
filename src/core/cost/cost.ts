import type { CostBasis, LayerInfo } from '../../shared/types.js';
import { bytesPerElement, isFloat } from '../ir/dtype.js';
import type { Graph, Model, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { ShapeResult } from '../shapes/types.js';

/**
 * Cost model for one input shape. Conventions (stated in every result as `COST_BASIS`):
 * - params: float elements of stored constants (initializers or Constant nodes) with more than one element, each
 *   counted once, at its first consumer. BatchNormalization therefore counts 4·C (γ, β, running mean and var).
 * - MACs: multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul (bias adds not counted), plus one operation
 *   per output element of cheap ops (per window element for pooling, per input element for reductions); pure data
 *   movement (Reshape, Transpose, Concat, Slice, …) counts zero. `computeMacs` is the Conv/Gemm/MatMul part.
 * - activation bytes: bytes of each node's outputs; the peak is the largest total of live values in graph order.
 */
export const COST_BASIS: CostBasis = {
  params: 'float elements of stored weights with more than one element, each tensor once (BatchNormalization: 4 per channel)',
  macs: 'multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul, plus one per output element of element-wise, ' +
    'normalisation and pooling ops (per window element for pooling); data movement counts zero; for the stated input shapes, batch included',
};

export type LayerCost = LayerInfo;

export interface CostSummary {
  params: number;
  macs: number;
  computeMacs: number;
  activationBytes: number;
  peakActivationBytes: number;
  /** Bytes of all stored constants (any dtype). */
  weightBytes: number;
  layers: LayerCost[];
}

const DATA_OPS = new Set([
  'Reshape', 'Transpose', 'Concat', 'Slice', 'Gather', 'Identity', 'Shape', 'Size', 'Cast', 'CastLike', 'Flatten',
  'Squeeze', 'Unsqueeze', 'Split', 'Expand', 'Tile', 'Pad', 'Constant', 'ConstantOfShape', 'Range', 'Dropout',
  'DepthToSpace', 'SpaceToDepth', 'GatherElements', 'GatherND', 'ScatterND', 'ScatterElements', 'NonZero', 'TopK',
]);
const POOL_OPS = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const REDUCE = /^(Reduce|Global|ArgM)/;

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

/** Inputs that carry configuration, not weights, even when float (scales, ROI, pads, clip bounds). */
export function isConfigInput(node: Node, index: number): boolean {
  if (index === 0) return false;
  return ['Resize', 'Upsample', 'Pad', 'Clip', 'Range', 'ConstantOfShape', 'Reshape', 'Expand', 'Tile', 'Slice',
    'Squeeze', 'Unsqueeze', 'Split', 'TopK', 'ReduceSum', 'ReduceMean'].includes(node.opType);
}

export function computeCost(model: Model, shapes: ShapeResult): CostSummary {
  const g = model.graph;
  const consts = g.constantTable();
  // by tensor, not by name: a weight routed through Identity has two names
  const counted = new Set<Tensor>();
  const dims = (v: string) => (v ? shapes.types.get(v)?.dims ?? null : null);
  const layers: LayerCost[] = [];
  let weightBytes = 0;
  for (const t of new Set(consts.values())) weightBytes += t.byteLength;
  for (const node of g.nodes) {
    if (node.opType === 'Constant' && node.domain === '') continue;
    let params = 0;
    node.inputs.forEach((name, i) => {
      const t = name ? consts.get(name) : undefined;
      if (!t || counted.has(t) || !countsAsParams(t) || isConfigInput(node, i)) return;
      counted.add(t);
      params += t.size;
    });
    for (const sub of node.subgraphs()) params += subgraphParams(sub);
    const inShapes = node.inputs.map(dims);
    const outShapes = node.outputs.map(dims);
    const { macs, kind } = nodeMacs(node, inShapes, outShapes);
    const activationBytes = node.outputs.reduce((s, o) => {
      const t = o ? shapes.types.get(o) : undefined;
      return s + (t ? prod(t.dims) * bytesPerElement(t.dtype) : 0);
    }, 0);
    layers.push({ name: node.name, op: node.key, params, macs, kind, outChannels: outChannels(node, g, inShapes, outShapes),
      inShapes, outShapes, activationBytes });
  }
  const params = layers.reduce((s, l) => s + l.params, 0);
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  const computeMacs = layers.filter((l) => l.kind === 'compute').reduce((s, l) => s + l.macs, 0);
  const activationBytes = layers.reduce((s, l) => s + l.activationBytes, 0);
  return { params, macs, computeMacs, activationBytes, peakActivationBytes: peakLive(g, shapes), weightBytes, layers };
}

function subgraphParams(g: Graph): number {
  let n = 0;
  for (const sub of g.allGraphs()) for (const t of new Set(sub.constantTable().values())) if (countsAsParams(t)) n += t.size;
  return n;
}

/** Whether a constant counts as parameters: float, more than one element. */
export function countsAsParams(t: Tensor): boolean {
  return isFloat(t.dtype) && t.size > 1;
}

/** MACs of one node for the given input and output dims, and its kind. */
export function nodeMacs(node: Node, ins: readonly (readonly number[] | null)[], outs: readonly (readonly number[] | null)[]): { macs: number; kind: LayerCost['kind'] } {
  const out = outs[0];
  const op = node.domain === '' ? node.opType : '';
  switch (op) {
    case 'Conv': {
      const w = ins[1];
      if (!out || !w) return { macs: 0, kind: 'compute' };
      return { macs: prod(out) * prod(w.slice(1)), kind: 'compute' };
    }
    case 'ConvTranspose': {
      const x = ins[0];
      const w = ins[1];
      if (!x || !w) return { macs: 0, kind: 'compute' };
      // every input element is multiplied by a (Cout/group)·k filter slice
      return { macs: prod(x) * prod(w.slice(1)), kind: 'compute' };
    }
    case 'Gemm': {
      const a = ins[0];
      if (!out || !a) return { macs: 0, kind: 'compute' };
      const k = node.int('transA', 0) ? a[0] : a[1];
      return { macs: prod(out) * k, kind: 'compute' };
    }
    case 'MatMul': {
      const a = ins[0];
      if (!out || !a) return { macs: 0, kind: 'compute' };
      return { macs: prod(out) * a[a.length - 1], kind: 'compute' };
    }
  }
  if (DATA_OPS.has(op) || !out) return { macs: 0, kind: 'data' };
  if (POOL_OPS.has(op)) return { macs: prod(out) * prod(node.ints('kernel_shape') ?? [1]), kind: 'cheap' };
  if (REDUCE.test(op) && ins[0]) return { macs: prod(ins[0]), kind: 'cheap' };
  return { macs: prod(out), kind: 'cheap' };
}

function outChannels(node: Node, g: Graph, ins: (number[] | null)[], outs: (number[] | null)[]): number | undefined {
  const w = node.inputs[1] ? g.constant(node.inputs[1]) : undefined;
  switch (node.opType) {
    case 'Conv': return w?.dims[0] ?? ins[1]?.[0];
    case 'ConvTranspose': return w ? w.dims[1] * node.int('group', 1) : undefined;
    case 'Gemm': return w ? (node.int('transB', 0) ? w.dims[0] : w.dims[1]) : undefined;
    case 'MatMul': return w ? w.dims[w.dims.length - 1] : undefined;
    case 'BatchNormalization': case 'InstanceNormalization': return outs[0]?.[1];
    default: return undefined;
  }
}

/** Peak bytes of simultaneously live values (produced and not yet consumed for the last time), in graph order. */
function peakLive(g: Graph, shapes: ShapeResult): number {
  const bytes = (v: string) => {
    const t = shapes.types.get(v);
    return t ? prod(t.dims) * bytesPerElement(t.dtype) : 0;
  };
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((v) => v && lastUse.set(v, i)));
  for (const o of g.outputs) lastUse.set(o.name, g.nodes.length);
  const consts = g.constantTable();
  let live = 0;
  let peak = 0;
  const dying = new Map<number, number>();
  for (const i of g.inputs) {
    if (consts.has(i.name)) continue;
    live += bytes(i.name);
    const end = lastUse.get(i.name) ?? -1;
    dying.set(end, (dying.get(end) ?? 0) + bytes(i.name));
  }
  peak = live;
  live -= dying.get(-1) ?? 0;
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o || consts.has(o)) continue;
      live += bytes(o);
      const end = lastUse.get(o) ?? i;
      dying.set(end, (dying.get(end) ?? 0) + bytes(o));
    }
    peak = Math.max(peak, live);
    live -= dying.get(i) ?? 0;
  });
  return peak;
}
