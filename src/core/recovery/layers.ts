/** Which layers of a pruned model recovery touches, and how a pruned layer's channels map to the dense model's. */
import type { DepGraph } from '../deps/analyze.js';
import type { Graph, Model, Node } from '../ir/graph.js';
import { removedBySpace, type Selection } from '../surgery/apply.js';

const WEIGHTED = new Set(['Conv', 'Gemm', 'MatMul']);

/** A layer with a constant weight that recovery can refit: Conv, Gemm, or MatMul with a constant right operand. */
export function weightedLayers(g: Graph): Node[] {
  return g.nodes.filter((n) => n.domain === '' && WEIGHTED.has(n.opType) && !!g.constant(n.inputs[1] ?? ''));
}

/**
 * Nodes whose outputs differ from the dense model's once `selections` are pruned: the members of pruned groups and
 * everything downstream of them, in graph order.
 */
export function affectedNodes(g: Graph, dep: DepGraph, selections: Selection[]): Set<string> {
  const changed = new Set<string>();
  for (const s of selections) if (s.remove.length) for (const p of dep.groups[s.group].params) changed.add(p.node);
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (changed.has(n.name) || n.inputs.some((v) => v && out.has(g.producer(v)?.name ?? ''))) out.add(n.name);
  }
  return out;
}

/**
 * For a value of the dense model on `axis`, the dense indices the pruned model keeps, in order (all of them when
 * the value lost no channels).
 */
export function keptIndices(dep: DepGraph, selections: Selection[], value: string, axis: number, size: number): number[] {
  const removed = removedBySpace(dep, selections);
  const space = dep.spaces.find((s) => s.value === value && s.axis === axis);
  const r = space ? removed.get(space.id) : undefined;
  return Array.from({ length: size }, (_, i) => i).filter((i) => !r?.has(i));
}

/** The model's nodes by name. */
export function byName(model: Model): Map<string, Node> {
  return new Map(model.graph.nodes.map((n) => [n.name, n]));
}
