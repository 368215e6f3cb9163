import type { Graph, Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { Fix, ParamSlice, Space } from './types.js';
import { UnionFind } from './unionfind.js';

/** What an operator rule can see and do. Rules only describe; the analysis builds groups from what they say. */
export interface RuleCtx {
  readonly node: Node;
  dims(value: string): number[] | undefined;
  constant(value: string): Tensor | undefined;
  /** Folded values of small computed tensors (e.g. a Reshape target built from Shape). */
  folded(value: string): number[] | undefined;
  space(value: string): Space | undefined;
  /** Whether a value is read by any node or is a graph output. */
  used(value: string): boolean;
  consumers(value: string): Node[];
  producer(value: string): Node | undefined;
  /** Whether a computed value derives from a Shape/Size node (so it follows pruned shapes at run time). */
  dependsOnShape(value: string): boolean;
  /** Links index i of space a with index j of space b. */
  linkElements(a: Space, i: number, b: Space, j: number): void;
  /** A new space where channels originate (the filters of `node`). */
  source(value: string, axis: number): Space | undefined;
  /** A space for `value` whose indices equal `from`'s one to one. */
  follow(from: Space, value: string, axis: number): Space | undefined;
  /** A space for `value` of `from.size · k` indices, index i of `from` owning indices i·k … i·k+k−1. */
  expand(from: Space, value: string, axis: number, k: number): Space | undefined;
  /** A space for `value` without links yet (Concat output). */
  empty(value: string, axis: number): Space | undefined;
  linkOffset(part: Space, whole: Space, offset: number): void;
  linkIdentity(a: Space, b: Space): void;
  param(space: Space, tensor: string, axis: number, role: ParamSlice['role'], block?: number, groups?: number): void;
  block(space: Space, reason: string): void;
  /** Channels of `space` must go in equal numbers from each of `blocks` contiguous blocks. */
  balance(space: Space, blocks: number): void;
  /** Indices [start, end) of a space that can never be removed. */
  pin(space: Space, start: number, end: number): void;
  fix(f: Fix): void;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

export class DepBuilder {
  readonly spaces: Space[] = [];
  readonly spaceOf = new Map<string, number>();
  readonly params: ParamSlice[] = [];
  readonly fixes: Fix[] = [];
  readonly blocked = new Map<number, string[]>();
  readonly pinned = new Set<number>();
  readonly elems = new UnionFind(1024);
  readonly groups = new UnionFind(1024);
  private nextElem = 0;

  constructor(
    readonly graph: Graph,
    private readonly shapes: Map<string, { dims: number[] }>,
    private readonly foldedValues: Map<string, number[]>,
  ) {}

  newSpace(value: string, axis: number, size: number, rank: number, source?: string): Space {
    const s: Space = { id: this.spaces.length, value, axis, size, rank, base: this.nextElem, source };
    this.nextElem += size;
    this.elems.grow(this.nextElem);
    this.groups.grow(this.spaces.length + 1);
    this.spaces.push(s);
    this.spaceOf.set(value, s.id);
    return s;
  }

  get elementCount(): number {
    return this.nextElem;
  }

  ctx(node: Node): RuleCtx {
    const b = this;
    const dims = (v: string) => (v ? b.shapes.get(v)?.dims : undefined);
    const make = (value: string, axis: number, source?: string): Space | undefined => {
      const d = dims(value);
      if (!d || axis < 0 || axis >= d.length) return undefined;
      return b.newSpace(value, axis, d[axis], d.length, source);
    };
    return {
      node,
      dims,
      constant: (v) => (v ? b.graph.constant(v) : undefined),
      folded: (v) => b.foldedValues.get(v),
      used: (v) => b.graph.consumersOf(v).length > 0 || b.graph.outputs.some((o) => o.name === v),
      consumers: (v) => b.graph.consumersOf(v),
      producer: (v) => b.graph.producer(v),
      dependsOnShape(v) {
        const seen = new Set<string>();
        const walk = (x: string): boolean => {
          if (!x || seen.has(x)) return false;
          seen.add(x);
          const p = b.graph.producer(x);
          if (!p) return false;
          if (p.opType === 'Shape' || p.opType === 'Size') return true;
          return p.inputs.some(walk);
        };
        return walk(v);
      },
      linkElements(a, i, c2, j) {
        b.elems.union(a.base + i, c2.base + j);
        b.groups.union(a.id, c2.id);
      },
      space: (v) => {
        const id = v ? b.spaceOf.get(v) : undefined;
        return id === undefined ? undefined : b.spaces[id];
      },
      source: (value, axis) => make(value, axis, node.name),
      follow(from, value, axis) {
        const s = make(value, axis);
        if (!s) return undefined;
        if (s.size !== from.size) {
          b.block(from, `${node.opType} '${node.name}' changes the channel count unexpectedly`);
          return undefined;
        }
        b.linkIdentity(from, s);
        return s;
      },
      expand(from, value, axis, k) {
        const s = make(value, axis);
        if (!s) return undefined;
        if (s.size !== from.size * k) {
          b.block(from, `${node.opType} '${node.name}' maps channels to an unexpected size`);
          return undefined;
        }
        for (let i = 0; i < from.size; i++) for (let j = 0; j < k; j++) b.elems.union(from.base + i, s.base + i * k + j);
        b.groups.union(from.id, s.id);
        return s;
      },
      empty: (value, axis) => make(value, axis),
      linkOffset(part, whole, offset) {
        for (let i = 0; i < part.size; i++) b.elems.union(part.base + i, whole.base + offset + i);
        b.groups.union(part.id, whole.id);
      },
      linkIdentity: (a1, a2) => b.linkIdentity(a1, a2),
      param: (space, tensor, axis, role, block = 1, groups = 1) => b.param(space, tensor, axis, role, block, node, groups),
      block: (space, reason) => b.block(space, reason),
      balance(space, blocks) {
        // Two groupings hold together when every block of their lcm loses equally many.
        const n = lcm(space.blocks ?? 1, blocks);
        const what = `${node.opType} '${node.name}' (${blocks} groups)`;
        if (space.size / blocks < 2) b.block(space, `${what} has one channel per group`);
        else if (space.size % n !== 0 || space.size / n < 2) b.block(space, `${what} does not fit another grouping of the same channels (${space.blocks})`);
        else if (n > 1) space.blocks = n;
      },
      pin(space, start, end) {
        for (let i = start; i < end; i++) b.pinned.add(space.base + i);
      },
      fix: (f) => b.fixes.push(f),
    };
  }

  linkIdentity(a: Space, c: Space): void {
    if (a.size !== c.size) throw new Error(`identity link between spaces of ${a.size} and ${c.size}`);
    for (let i = 0; i < a.size; i++) this.elems.union(a.base + i, c.base + i);
    this.groups.union(a.id, c.id);
  }

  param(space: Space, tensor: string, axis: number, role: ParamSlice['role'], block: number, node: Node, groups = 1): void {
    const input = node.inputs.indexOf(tensor);
    if (this.params.some((p) => p.node === node.name && p.input === input && p.axis === axis)) return;
    const p: ParamSlice = { tensor, input, axis, space: space.id, block, node: node.name, role };
    if (groups > 1) p.groups = groups;
    this.params.push(p);
  }

  block(space: Space, reason: string): void {
    const l = this.blocked.get(space.id);
    if (l) {
      if (!l.includes(reason)) l.push(reason);
    } else this.blocked.set(space.id, [reason]);
  }
}
