/** Builds new nodes and constants into a graph under fresh names (the backward graph's bricks). */
import type { DType } from '../ir/dtype.js';
import { Node, type Attr, type Graph } from '../ir/graph.js';
import { encodeElements, memorySource, Tensor } from '../ir/tensor.js';
import { uniqueName } from '../surgery/apply.js';

export type AttrValue = number | number[] | string | { float: number } | { tensor: Tensor };

export class Emitter {
  readonly nodes: Node[] = [];
  private n = 0;

  constructor(private readonly g: Graph, private readonly base: string) {}

  fresh(hint = ''): string {
    return uniqueName(this.g, `${this.base}${hint ? `_${hint}` : ''}_${this.n++}`);
  }

  constant(dtype: DType, dims: number[], values: ArrayLike<number>): string {
    const name = this.fresh('c');
    const t = new Tensor(name, dtype, dims, memorySource(encodeElements(dtype, values)));
    t.modified = true;
    this.g.initializers.set(name, t);
    return name;
  }

  scalar(v: number): string {
    return this.constant('float32', [], [v]);
  }

  ints(values: number[]): string {
    return this.constant('int64', [values.length], values);
  }

  /** One node; returns its first output (or all, with `outputs` > 1). */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.ops(op, inputs, attrs, 1, out)[0];
  }

  ops(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, count = 1, out?: string): string[] {
    const outputs = Array.from({ length: count }, (_, i) => (i === 0 && out ? out : this.fresh(op.toLowerCase())));
    const map = new Map<string, Attr>();
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v === 'number') map.set(k, Number.isInteger(v) && !k.startsWith('f:') ? { type: 'int', value: v } : { type: 'float', value: v });
      else if (typeof v === 'string') map.set(k, { type: 'string', value: v });
      else if (Array.isArray(v)) map.set(k, { type: 'ints', value: v });
      else if ('float' in v) map.set(k, { type: 'float', value: v.float });
      else map.set(k, { type: 'tensor', value: v.tensor });
    }
    const node = new Node(this.fresh(`n_${op}`), op, '', inputs, outputs, map);
    for (const k of map.keys()) node.changedAttrs.add(k);
    this.nodes.push(node);
    return outputs;
  }
}
