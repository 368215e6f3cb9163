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

/** The model's nodes by name. */
export function byName(model: Model): Map<string, Node> {
  return new Map(model.graph.nodes.map((n) => [n.name, n]));
}

/**
 * Which channels of the dense model a pruned model still holds, value by value, through one prune or several
 * (an iterative schedule prunes an already pruned model; names of values stay, indices shift).
 */
export class DenseChannels {
  private readonly kept = new Map<string, number[]>();
  /** Nodes whose outputs differ from the dense model's. */
  readonly affected = new Set<string>();

  /** Records a prune of `model` (whose channels this mapping describes) by `selections` of its groups `dep`. */
  apply(model: Model, dep: DepGraph, selections: Selection[]): void {
    const removed = removedBySpace(dep, selections);
    for (const [id, r] of removed) {
      const s = dep.spaces[id];
      const key = `${s.value}\u0000${s.axis}`;
      const cur = this.kept.get(key) ?? Array.from({ length: s.size }, (_, i) => i);
      this.kept.set(key, cur.filter((_, pos) => !r.has(pos)));
    }
    for (const n of affectedNodes(model.graph, dep, selections)) this.affected.add(n);
  }

  /** The dense indices a value keeps on `axis` (all `size` of them if it never lost one). */
  keptOf(value: string, axis: number, size: number): number[] {
    return this.kept.get(`${value}\u0000${axis}`) ?? Array.from({ length: size }, (_, i) => i);
  }
}
