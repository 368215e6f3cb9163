/**
 * A fast model of what pruning several groups at once costs, for searching allocations: params and MACs (compute
 * layers by their weight, per-element layers by their channels) as functions of each group's kept fraction. Exact for ordinary groups; Concat groups are assumed to lose
 * channels evenly across their inputs. The final plan is costed exactly (real surgery) afterwards.
 */
import type { CostSummary } from '../cost/cost.js';
import type { DepGraph } from '../deps/analyze.js';
import type { Model } from '../ir/graph.js';

interface Axis {
  index: number;
  len: number;
  /** (group, elements of this axis the group's units occupy) */
  parts: { group: number; share: number }[];
}

interface TensorTerm {
  size: number;
  axes: Axis[];
}

export interface PlanCost {
  params: number;
  macs: number;
}

export class CostModel {
  readonly params: number;
  readonly macs: number;
  private readonly tensors = new Map<string, TensorTerm>();
  /** MACs of compute layers, with the weight that scales them (MACs ∝ weight elements at fixed shapes). */
  private readonly layers: { macs: number; weight: string }[] = [];
  /** Per-element layers (BN, activations, Add, pooling): MACs ∝ the channels of their output (or input). */
  private readonly cheap: { macs: number; axis: Axis }[] = [];

  constructor(model: Model, dep: DepGraph, cost: CostSummary) {
    this.params = cost.params;
    this.macs = cost.macs;
    const g = model.graph;
    const byName = new Map(g.nodes.map((n) => [n.name, n]));
    for (const grp of dep.groups) {
      for (const p of grp.params) {
        const t = g.constant(p.tensor);
        if (!t) continue;
        let term = this.tensors.get(p.tensor);
        if (!term) this.tensors.set(p.tensor, (term = { size: t.size, axes: [] }));
        let axis = term.axes.find((a) => a.index === p.axis);
        if (!axis) term.axes.push((axis = { index: p.axis, len: t.dims[p.axis], parts: [] }));
        const space = dep.spaces[p.space];
        const share = (space.size * p.block) / grp.units.length;
        // one entry per (group, axis): a shared tensor lists the same slice once per reader
        if (!axis.parts.some((x) => x.group === grp.id)) axis.parts.push({ group: grp.id, share });
      }
    }
    const macsOf = new Map(cost.layers.map((l) => [l.name, l]));
    for (const [name, l] of macsOf) {
      if (l.kind !== 'compute' || l.macs === 0) continue;
      const node = byName.get(name);
      const weight = node?.inputs.find((i, k) => k > 0 && i && this.tensors.has(i)) ?? (node?.opType === 'MatMul' && this.tensors.has(node.inputs[0]) ? node.inputs[0] : undefined);
      if (weight) this.layers.push({ macs: l.macs, weight });
    }
    const spaceOf = new Map<string, { size: number; group: number; units: number }>();
    for (const grp of dep.groups) for (const sp of grp.spaces) if (!spaceOf.has(sp.value)) spaceOf.set(sp.value, { size: sp.size, group: grp.id, units: grp.units.length });
    for (const l of cost.layers) {
      if (l.kind !== 'cheap' || l.macs === 0) continue;
      const node = byName.get(l.name);
      const sp = spaceOf.get(node?.outputs[0] ?? '') ?? spaceOf.get(node?.inputs[0] ?? '');
      if (sp) this.cheap.push({ macs: l.macs, axis: { index: 0, len: sp.size, parts: [{ group: sp.group, share: sp.size / sp.units }] } });
    }
  }

  /** Kept fraction of an axis whose elements belong to groups losing units. */
  private static kept(a: Axis, kept: Map<number, number>, units: (g: number) => number): number {
    let removed = 0;
    for (const p of a.parts) {
      const k = kept.get(p.group);
      if (k !== undefined) removed += (units(p.group) - k) * p.share;
    }
    return Math.max(0, 1 - removed / a.len);
  }

  /** Params and MACs when each group keeps `kept[g]` of its units (groups absent keep everything). */
  evaluate(kept: Map<number, number>, units: (g: number) => number): PlanCost {
    const frac = new Map<string, number>();
    let params = this.params;
    for (const [name, t] of this.tensors) {
      let f = 1;
      for (const a of t.axes) f *= CostModel.kept(a, kept, units);
      frac.set(name, f);
      params -= t.size * (1 - f);
    }
    let macs = this.macs;
    for (const l of this.layers) macs -= l.macs * (1 - (frac.get(l.weight) ?? 1));
    for (const c of this.cheap) macs -= c.macs * (1 - CostModel.kept(c.axis, kept, units));
    return { params, macs };
  }
}
