/** The model graph as plain data for drawing: nodes, producer edges, and the dependency groups each node touches. */
import type { ModelGraph } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';

export function buildGraph(a: Analysis): ModelGraph {
  const g = a.model.graph;
  const nodes = g.nodes.filter((n) => !(n.opType === 'Constant' && n.domain === ''));
  const index = new Map(nodes.map((n, i) => [n, i]));
  const groupOfSpace = new Map<number, number>();
  for (const grp of a.dep.groups) for (const s of grp.spaces) groupOfSpace.set(s.id, grp.id);
  const spacesOf = new Map<string, number[]>();
  for (const s of a.dep.spaces) spacesOf.set(s.value, [...(spacesOf.get(s.value) ?? []), groupOfSpace.get(s.id)!]);
  const weightGroups = new Map<string, Set<number>>();
  for (const grp of a.dep.groups) for (const p of grp.params) {
    const set = weightGroups.get(p.node) ?? new Set<number>();
    weightGroups.set(p.node, set.add(grp.id));
  }
  const layers = new Map(a.cost.layers.map((l) => [l.name, l]));
  return {
    nodes: nodes.map((n, id) => {
      const writes = spacesOf.get(n.outputs[0] ?? '')?.[0];
      const reads = new Set<number>([...n.inputs.flatMap((v) => spacesOf.get(v) ?? []), ...(weightGroups.get(n.name) ?? [])]);
      if (writes !== undefined) reads.delete(writes);
      const l = layers.get(n.name);
      const inputs = [...new Set(n.inputs.map((v) => g.producer(v)).filter((p) => p && index.has(p)).map((p) => index.get(p!)!))];
      return {
        id, name: n.name, op: n.key, inputs, ...(writes !== undefined ? { writes } : {}), reads: [...reads],
        params: l?.params ?? 0, macs: l?.macs ?? 0, kind: l?.kind ?? 'data',
        ...(l?.outChannels !== undefined ? { outChannels: l.outChannels } : {}),
        ...(l?.outShapes[0] ? { shape: l.outShapes[0] } : {}),
      };
    }),
    inputs: g.inputs.filter((i) => !g.initializers.has(i.name)).map((i) => ({
      name: i.name, consumers: g.consumersOf(i.name).filter((n) => index.has(n)).map((n) => index.get(n)!),
    })),
    outputs: g.outputs.map((o) => {
      const p = g.producer(o.name);
      return { name: o.name, ...(p && index.has(p) ? { producer: index.get(p)! } : {}) };
    }),
  };
}
