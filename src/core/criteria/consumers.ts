/**
 * The layers whose outputs change when a group loses channels, as ThiNet measures them: the Conv, Gemm and MatMul
 * layers that read the group's channels as inputs (their weights are the group's `in` members) without making
 * channels of the group themselves. For each, which unit of the group every input feature belongs to.
 */
import type { AnalysedModel } from './analysed.js';
import type { Group } from '../deps/analyze.js';
import type { Node } from '../ir/graph.js';

export interface Consumer {
  node: Node;
  kind: 'conv' | 'dense';
  /** The value the layer reads (its first input), captured on the data. */
  input: string;
  /** Per input feature (conv: input channel; dense: last-axis index), the group's unit, or −1. */
  unitOf: Int32Array;
}

/** Readers of a channel value that do not depend on its contents. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/** The group's consumer layers, or why ThiNet cannot measure what removing its channels changes. */
export function consumersOf(a: AnalysedModel, group: Group): { consumers: Consumer[] } | { reason: string } {
  const g = a.model.graph;
  const inGroup = new Set(group.spaces.map((s) => s.value));
  const makers = new Set(group.params.filter((p) => p.role !== 'in').map((p) => p.node));
  const unitOfElement = new Map<number, number>();
  group.units.forEach((els, u) => els.forEach((e) => unitOfElement.set(e, u)));
  const consumers: Consumer[] = [];
  const seen = new Set<string>();
  for (const p of group.params.filter((x) => x.role === 'in' && !makers.has(x.node))) {
    if (seen.has(p.node)) continue;
    seen.add(p.node);
    const node = g.nodes.find((n) => n.name === p.node)!;
    const space = a.dep.spaces[p.space];
    const what = `${node.opType} '${node.name}'`;
    if (node.domain !== '' || !['Conv', 'Gemm', 'MatMul'].includes(node.opType)) return { reason: `its channels feed ${what}, whose output ThiNet does not model` };
    const w = g.constant(node.inputs[1] ?? '');
    if (!w || w.dtype !== 'float32' || p.input !== 1) return { reason: `${what} has no constant float32 weight` };
    const x = a.shapes.types.get(node.inputs[0]);
    // the weight's axis must index the features of the value the layer reads, channel for channel (or block for block)
    const axis = node.opType === 'Conv' ? 1 : (x?.dims.length ?? 0) - 1;
    const features = x?.dims[axis];
    if (space.value !== node.inputs[0] || space.axis !== axis || features !== space.size * p.block) {
      return { reason: `the channels reach ${what} through a mapping ThiNet does not resolve` };
    }
    if (node.opType === 'Conv' && (w.dims.length !== 4 || x!.dims.length !== 4)) return { reason: `${what} is not a 2-D convolution` };
    if (node.opType === 'Gemm' && node.int('transA', 0)) return { reason: `${what} transposes its input` };
    if (node.opType === 'MatMul' && w.dims.length !== 2) return { reason: `${what} multiplies by a weight of rank ${w.dims.length}` };
    const unitOf = Int32Array.from({ length: features }, (_, f) => unitOfElement.get(space.base + Math.floor(f / p.block)) ?? -1);
    consumers.push({ node, kind: node.opType === 'Conv' ? 'conv' : 'dense', input: node.inputs[0], unitOf });
  }
  if (!consumers.length) return { reason: 'its channels feed no Conv, Gemm or MatMul layer' };
  // a channel that also flows somewhere else (a graph output, an operator the group does not contain) changes more
  // than the consumers' outputs: ThiNet would not see that cost
  const consumerNames = new Set(consumers.map((c) => c.node.name));
  for (const value of inGroup) {
    for (const n of g.consumersOf(value)) {
      const internal = makers.has(n.name) || n.outputs.some((o) => inGroup.has(o));
      if (!internal && !consumerNames.has(n.name) && !SHAPE_ONLY.has(n.opType)) return { reason: `its channels also reach ${n.opType} '${n.name}', whose change ThiNet does not measure` };
    }
  }
  return { consumers };
}
