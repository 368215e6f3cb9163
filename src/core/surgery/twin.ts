import type { DepGraph } from '../deps/analyze.js';
import type { Space } from '../deps/types.js';
import type { DType } from '../ir/dtype.js';
import { Node, type Attr, type Graph, type Model } from '../ir/graph.js';
import { encodeElements, memorySource, Tensor } from '../ir/tensor.js';
import { removedBySpace, uniqueName, zeroMembers, type Selection } from './apply.js';

/**
 * The masked twin: the original with the removed channels zeroed in every member, nothing resized; what the pruned
 * model must compute. Zeroed channels would still count in statistics taken across channels, so each such
 * normalisation (GroupNormalization, LayerNormalization over the channels) becomes a masked decomposition whose
 * mean and variance cover the kept channels only, as in the pruned model.
 */
export function applyMask(model: Model, dep: DepGraph, selections: Selection[]): void {
  const removed = removedBySpace(dep, selections);
  zeroMembers(model, removed, dep);
  for (const grp of dep.groups) {
    for (const f of grp.fixes) {
      const r = f.kind === 'norm' ? removed.get(f.space) : undefined;
      if (f.kind === 'norm' && r?.size) maskedNorm(model, f.node, dep.spaces[f.space], r);
    }
  }
}

function maskedNorm(model: Model, name: string, space: Space, removed: Set<number>): void {
  const g = model.graph;
  const index = g.nodes.findIndex((n) => n.name === name);
  const node = g.nodes[index];
  const [x, scale, bias] = node.inputs;
  const dtype = g.constant(scale)?.dtype ?? 'float32';
  const e = new Emitter(g, name, model.opsetVersion('') ?? 18, dtype);
  const { rank: r, size: C, axis } = space;
  const keep = Array.from({ length: C }, (_, i) => (removed.has(i) ? 0 : 1));
  const maskDims = Array.from({ length: r }, (_, i) => (i === axis ? C : 1));
  const eps = node.float('epsilon', 1e-5);
  let y: string;
  if (node.opType === 'GroupNormalization') {
    // [N, C, …] → [N, G, C/G, rest]: one row of statistics per norm-group; the affine is per channel afterwards.
    const G = node.int('num_groups', 1);
    const per = C / G;
    const xr = e.op('Reshape', [x, e.constant('int64', [4], [0, G, per, -1])]);
    const z = e.normalised(xr, e.constant(dtype, [1, G, per, 1], keep), [2, 3], per / (per - removed.size / G), eps);
    const perChannel = (v: string) => {
      const t = g.constant(v)!.toNumbers();
      return e.constant(dtype, [C, ...maskDims.slice(2)], keep.map((_, c) => (t.length === C ? t[c] : t[Math.floor(c / per)])));
    };
    y = e.op('Add', [e.op('Mul', [e.op('Reshape', [z, e.op('Shape', [x])]), perChannel(scale)]), perChannel(bias)]);
  } else {
    const from = node.int('axis', -1) < 0 ? node.int('axis', -1) + r : node.int('axis', -1);
    const axes = Array.from({ length: r - from }, (_, i) => from + i);
    const z = e.normalised(x, e.constant(dtype, maskDims, keep), axes, C / (C - removed.size), eps);
    y = e.op('Mul', [z, scale]);
    if (bias) y = e.op('Add', [y, bias]);
  }
  // Removed channels leave as zeros, as everywhere else in the twin.
  e.op('Mul', [y, e.constant(dtype, maskDims, keep)], node.outputs[0]);
  g.nodes.splice(index, 1, ...e.nodes);
  g.invalidate();
}

/** Builds the replacement nodes and their constants. */
class Emitter {
  readonly nodes: Node[] = [];
  private n = 0;

  constructor(private readonly g: Graph, private readonly base: string, private readonly opset: number, private readonly dtype: DType) {}

  private fresh(): string {
    return uniqueName(this.g, `${this.base}__twin${this.n++}`);
  }

  constant(dtype: DType, dims: number[], values: number[]): string {
    const name = this.fresh();
    const t = new Tensor(name, dtype, dims, memorySource(encodeElements(dtype, values)));
    t.modified = true;
    this.g.initializers.set(name, t);
    return name;
  }

  op(op: string, inputs: string[], output = this.fresh(), attrs: Record<string, Attr> = {}): string {
    this.nodes.push(new Node(this.fresh(), op, '', inputs, [output], new Map(Object.entries(attrs))));
    return output;
  }

  private mean(x: string, axes: number[]): string {
    // ReduceMean takes its axes as an input from opset 18
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.constant('int64', [axes.length], axes)]);
    return this.op('ReduceMean', [x], undefined, { axes: { type: 'ints', value: axes } });
  }

  /** (x − μ)/σ over `axes` with μ, σ² over the elements where `mask` is 1 (`f` = all / kept along the axes). */
  normalised(x: string, mask: string, axes: number[], f: number, eps: number): string {
    const k = this.constant(this.dtype, [], [f]);
    const mu = this.op('Mul', [this.mean(this.op('Mul', [x, mask]), axes), k]);
    const d = this.op('Mul', [this.op('Sub', [x, mu]), mask]);
    const v = this.op('Mul', [this.mean(this.op('Mul', [d, d]), axes), k]);
    return this.op('Div', [d, this.op('Sqrt', [this.op('Add', [v, this.constant(this.dtype, [], [eps])])])]);
  }
}
