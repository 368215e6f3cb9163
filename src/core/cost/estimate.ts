/**
 * The one cost estimator: exact params, MACs and file size of the model after any per-group removal, without surgery.
 * Scans (what one group's removal saves), plans (searching allocations) and live estimates (the ratio editor) all use
 * it, on the basis `computeCost` states.
 *
 * It mirrors what surgery does: every value's channel axes shrink by the removed indices of their space; every weight
 * reader gets its weight sliced along its member axes (a reader of a shared weight gets a private copy, and the
 * original stays only while another reader still uses it); node MACs follow from the new dims by the same formulas.
 * Changing one group touches only the nodes and weights around it, so plans can try thousands of moves.
 */
import type { DepGraph, Group } from '../deps/analyze.js';
import type { Model, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { ShapeResult } from '../shapes/types.js';
import { bytesPerElement } from '../ir/dtype.js';
import { countsAsParams, isConfigInput, nodeMacs, type CostSummary } from './cost.js';

export interface CostTotals {
  params: number;
  macs: number;
  computeMacs: number;
  /** Bytes of all stored constants (what the file size changes by). */
  weightBytes: number;
}

/** How one reader's copy of a weight shrinks: along `axis`, (removed in `space`) × `block` indices, or ÷ `groups`. */
interface Cut {
  space: number;
  axis: number;
  block: number;
  groups: number;
}

interface Reader {
  node: Node;
  input: number;
  /** The weight's dims as stored. */
  dims: readonly number[];
  cuts: Cut[];
}

interface WeightTerm {
  tensor: Tensor;
  counted: boolean;
  bpe: number;
  /** Every (node, input) that reads the tensor as a constant, except Identity nodes passing it on. */
  readers: Reader[];
}

interface NodeTerm {
  node: Node;
  /** For each input and output: its base dims and the spaces that shrink its axes; or the reader for a weight. */
  ins: ({ dims: number[] | null; axes: [number, number][] } | { reader: Reader })[];
  outs: { dims: number[] | null; axes: [number, number][] }[];
}

export class CostEstimator {
  readonly base: CostTotals;
  private readonly nodes: NodeTerm[] = [];
  private readonly weights: WeightTerm[] = [];
  /** Per group: the node and weight terms whose cost depends on it. */
  private readonly nodesOf = new Map<number, number[]>();
  private readonly weightsOf = new Map<number, number[]>();
  private readonly spacesOfGroup = new Map<number, number[]>();
  readonly spaceCount: number;

  constructor(model: Model, shapes: ShapeResult, private readonly dep: DepGraph, cost: CostSummary) {
    this.base = { params: cost.params, macs: cost.macs, computeMacs: cost.computeMacs, weightBytes: cost.weightBytes };
    this.spaceCount = dep.spaces.length;
    const g = model.graph;
    const groupOfSpace = new Int32Array(dep.spaces.length);
    for (const grp of dep.groups) {
      this.spacesOfGroup.set(grp.id, grp.spaces.map((s) => s.id));
      for (const s of grp.spaces) groupOfSpace[s.id] = grp.id;
    }
    // value → [axis, space]
    const valueAxes = new Map<string, [number, number][]>();
    for (const s of dep.spaces) {
      const l = valueAxes.get(s.value) ?? [];
      if (!l.some(([a]) => a === s.axis)) l.push([s.axis, s.id]);
      valueAxes.set(s.value, l);
    }
    // weight readers and their cuts
    const consts = g.constantTable();
    const readerOf = new Map<string, Reader>();
    const weightOf = new Map<Tensor, WeightTerm>();
    const identityPass = (n: Node) => n.opType === 'Identity' && n.domain === '' && consts.has(n.outputs[0]);
    for (const node of g.nodes) {
      if (node.opType === 'Constant' && node.domain === '') continue;
      node.inputs.forEach((name, i) => {
        const t = name ? consts.get(name) : undefined;
        if (!t || identityPass(node)) return;
        let w = weightOf.get(t);
        if (!w) weightOf.set(t, (w = { tensor: t, counted: false, bpe: bytesPerElement(t.dtype), readers: [] }));
        const r: Reader = { node, input: i, dims: t.dims, cuts: [] };
        w.readers.push(r);
        readerOf.set(`${node.name}\u0000${i}`, r);
        if (countsAsParams(t) && !isConfigInput(node, i)) w.counted = true;
      });
    }
    const touched = (map: Map<number, number[]>, group: number, index: number) => {
      const l = map.get(group) ?? [];
      if (l[l.length - 1] !== index) l.push(index);
      map.set(group, l);
    };
    for (const grp of dep.groups) {
      for (const p of grp.params) {
        const r = readerOf.get(`${p.node}\u0000${p.input}`);
        if (!r) continue;
        if (!r.cuts.some((c) => c.axis === p.axis && c.space === p.space)) r.cuts.push({ space: p.space, axis: p.axis, block: p.block, groups: p.groups ?? 1 });
      }
    }
    for (const w of weightOf.values()) {
      const groups = new Set(w.readers.flatMap((r) => r.cuts.map((c) => groupOfSpace[c.space])));
      if (!groups.size) continue;
      for (const grp of groups) touched(this.weightsOf, grp, this.weights.length);
      this.weights.push(w);
    }
    // nodes whose dims change with some group
    const dimsOf = (v: string) => (v ? shapes.types.get(v)?.dims ?? null : null);
    for (const node of g.nodes) {
      if (node.opType === 'Constant' && node.domain === '') continue;
      const groups = new Set<number>();
      const ins = node.inputs.map((name, i) => {
        const r = readerOf.get(`${node.name}\u0000${i}`);
        if (r && r.cuts.length) {
          for (const c of r.cuts) groups.add(groupOfSpace[c.space]);
          return { reader: r };
        }
        const axes = r ? [] : valueAxes.get(name) ?? [];
        for (const [, s] of axes) groups.add(groupOfSpace[s]);
        return { dims: r ? [...r.dims] : dimsOf(name), axes };
      });
      const outs = node.outputs.map((name) => {
        const axes = valueAxes.get(name) ?? [];
        for (const [, s] of axes) groups.add(groupOfSpace[s]);
        return { dims: dimsOf(name), axes };
      });
      if (!groups.size) continue;
      for (const grp of groups) touched(this.nodesOf, grp, this.nodes.length);
      this.nodes.push({ node, ins, outs });
    }
  }

  /** A fresh state in which no group has lost anything. */
  state(): EstimatorState {
    return new EstimatorState(this);
  }

  /** Per-space removed counts for removing these units of a group. */
  countsOfUnits(group: Group, units: readonly number[]): [number, number][] {
    const c = new Map<number, number>();
    for (const u of units) for (const e of group.units[u]) {
      const s = this.dep.locate(e)[0];
      c.set(s, (c.get(s) ?? 0) + 1);
    }
    return [...c];
  }

  /** Names of the nodes whose MACs depend on a group's channels. */
  nodeNamesOf(group: number): string[] {
    return (this.nodesOf.get(group) ?? []).map((i) => this.nodes[i].node.name);
  }

  /** @internal */
  termsOf(group: number): { nodes: readonly number[]; weights: readonly number[]; spaces: readonly number[] } {
    return { nodes: this.nodesOf.get(group) ?? [], weights: this.weightsOf.get(group) ?? [], spaces: this.spacesOfGroup.get(group) ?? [] };
  }

  /** @internal */
  nodeCost(i: number, removed: Float64Array): { macs: number; compute: boolean } {
    const t = this.nodes[i];
    const shrink = (d: { dims: number[] | null; axes: [number, number][] }) => {
      if (!d.dims) return null;
      if (!d.axes.length) return d.dims;
      const out = [...d.dims];
      for (const [a, s] of d.axes) out[a] -= removed[s];
      return out;
    };
    const ins = t.ins.map((x) => ('reader' in x ? readerDims(x.reader, removed) : shrink(x)));
    const { macs, kind } = nodeMacs(t.node, ins, t.outs.map(shrink));
    return { macs, compute: kind === 'compute' };
  }

  /** @internal Params (if counted) and bytes the weight holds after removal. */
  weightCost(i: number, removed: Float64Array): { params: number; bytes: number } {
    const w = this.weights[i];
    let elements = 0;
    let params = 0;
    let untouched = false;
    for (const r of w.readers) {
      const d = r.cuts.some((c) => removed[c.space] > 0) ? readerDims(r, removed) : undefined;
      if (!d) {
        untouched = true;
        continue;
      }
      const n = d.reduce((a, b) => a * b, 1);
      elements += n;
      // a copy cut down to one element is a scalar, which does not count as params
      if (n > 1) params += n;
    }
    if (untouched) {
      elements += w.tensor.size;
      params += w.tensor.size;
    }
    return { params: w.counted ? params : 0, bytes: elements * w.bpe };
  }

  /** @internal */
  get terms(): { nodes: number; weights: number } {
    return { nodes: this.nodes.length, weights: this.weights.length };
  }
}

/** A reader's copy of its weight after removal: each member axis loses (removed × block) ÷ groups indices. */
function readerDims(r: Reader, removed: Float64Array): number[] {
  const dims = [...r.dims];
  for (const c of r.cuts) dims[c.axis] -= (removed[c.space] * c.block) / c.groups;
  return dims;
}

/**
 * Removal state: removed indices per space and the totals, updated incrementally as groups change. Plans set a
 * group, read the totals, and set it back.
 */
export class EstimatorState {
  private readonly removed: Float64Array;
  private readonly nodeMacs: Float64Array;
  private readonly nodeCompute: Uint8Array;
  private readonly weightParams: Float64Array;
  private readonly weightBytes: Float64Array;
  params: number;
  macs: number;
  computeMacs: number;
  bytes: number;

  constructor(private readonly est: CostEstimator) {
    this.removed = new Float64Array(est.spaceCount);
    const { nodes, weights } = est.terms;
    this.nodeMacs = new Float64Array(nodes);
    this.nodeCompute = new Uint8Array(nodes);
    for (let i = 0; i < nodes; i++) {
      const c = est.nodeCost(i, this.removed);
      this.nodeMacs[i] = c.macs;
      this.nodeCompute[i] = c.compute ? 1 : 0;
    }
    this.weightParams = new Float64Array(weights);
    this.weightBytes = new Float64Array(weights);
    for (let i = 0; i < weights; i++) {
      const c = est.weightCost(i, this.removed);
      this.weightParams[i] = c.params;
      this.weightBytes[i] = c.bytes;
    }
    this.params = est.base.params;
    this.macs = est.base.macs;
    this.computeMacs = est.base.computeMacs;
    this.bytes = est.base.weightBytes;
  }

  /** Sets what a group has lost: removed indices per space of the group (spaces not listed lose nothing). */
  setGroup(group: number, counts: readonly (readonly [number, number])[]): void {
    const terms = this.est.termsOf(group);
    for (const s of terms.spaces) this.removed[s] = 0;
    for (const [s, k] of counts) this.removed[s] = k;
    for (const i of terms.nodes) {
      const c = this.est.nodeCost(i, this.removed);
      this.macs += c.macs - this.nodeMacs[i];
      if (this.nodeCompute[i]) this.computeMacs += c.macs - this.nodeMacs[i];
      this.nodeMacs[i] = c.macs;
    }
    for (const i of terms.weights) {
      const c = this.est.weightCost(i, this.removed);
      this.params += c.params - this.weightParams[i];
      this.bytes += c.bytes - this.weightBytes[i];
      this.weightParams[i] = c.params;
      this.weightBytes[i] = c.bytes;
    }
  }

  totals(): CostTotals {
    return { params: Math.round(this.params), macs: Math.round(this.macs), computeMacs: Math.round(this.computeMacs), weightBytes: Math.round(this.bytes) };
  }
}
