/**
 * Building an IR graph from another format: unique names, nodes, constants, and source weights with their
 * bindings (which IR inputs read each source weight, through which layout). The Keras and GraphDef converters share
 * it; graph outputs that are NCHW maps inside get one Transpose back to the source's NHWC.
 */
import { PruneLensError } from '../errors.js';
import type { DType } from '../ir/dtype.js';
import { Graph, Node, type Attr, type Model } from '../ir/graph.js';
import { inferShapes } from '../shapes/infer.js';
import { resolveInputShapes } from '../shapes/inputs.js';
import { encodeElements, memorySource, Tensor } from '../ir/tensor.js';
import { toIr, type Binding, type Layout } from './layout.js';

/** One weight as the file stores it (dequantised to float32, or int32 for shape constants). */
export interface SourceWeight {
  key: string;
  dims: number[];
  values: Float32Array;
}

export const int = (value: number): Attr => ({ type: 'int', value });
export const float = (value: number): Attr => ({ type: 'float', value });
export const ints = (value: number[]): Attr => ({ type: 'ints', value });
export const str = (value: string): Attr => ({ type: 'string', value });

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

export class IrBuilder {
  readonly graph = new Graph('main');
  protected readonly bindings = new Map<string, Binding>();
  protected readonly irName = new Map<string, string>();
  protected readonly used = new Set<string>();

  protected fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name given by the source (a graph input). */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** A node; returns its first output's name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr>, name: string, output?: string, domain = ''): string {
    const n = this.fresh(name);
    const out = output ?? n;
    if (output) this.used.add(output);
    this.graph.nodes.push(new Node(n, op, domain, inputs, [out], new Map(Object.entries(attrs))));
    return out;
  }

  constant(base: string, dtype: DType, dims: number[], values: ArrayLike<number>): string {
    const name = this.fresh(base);
    const t = new Tensor(name, dtype, dims, memorySource(encodeElements(dtype, values)));
    t.modified = true;
    this.graph.initializers.set(name, t);
    return name;
  }

  /** The IR initializer of a source weight (made once: every reader of the weight reads the same one). */
  weight(w: { key: string; dims: number[]; values: Float32Array | Int32Array }, layout: Layout, irDims?: number[]): string {
    const known = this.irName.get(w.key);
    if (known) {
      const b = this.bindings.get(w.key)!;
      if (JSON.stringify(b.layout) !== JSON.stringify(layout)) throw new Error(`weight '${w.key}' is read in two layouts`);
      return known;
    }
    const ir = layout.kind === 'reshape' ? { dims: irDims!, values: w.values } : toIr(layout, w.dims, w.values);
    const name = this.fresh(w.key);
    const t = layout.kind === 'int64'
      ? new Tensor(name, 'int64', ir.dims, memorySource(encodeElements('int64', ir.values)))
      : new Tensor(name, 'float32', ir.dims, memorySource(new Uint8Array(ir.values.buffer, ir.values.byteOffset, ir.values.byteLength)));
    t.modified = true;
    this.graph.initializers.set(name, t);
    this.irName.set(w.key, name);
    this.bindings.set(w.key, { key: w.key, readers: [], layout, dims: [...w.dims] });
    return name;
  }

  /** Records that input `input` of the node made last reads source weight `key`. */
  protected read(key: string, input: number): void {
    const node = this.graph.nodes[this.graph.nodes.length - 1];
    this.bindings.get(key)!.readers.push({ node: node.name, input });
  }

  /** Graph outputs named as the source names them; an NCHW map goes back to NHWC on its way out. */
  outputs(outs: { name: string; value: string; nchw: boolean }[]): void {
    for (const { name, nchw } of outs) {
      let value = outs.find((o) => o.name === name)!.value;
      if (nchw) {
        // the output keeps the source's name and NHWC layout; the NCHW value inside gets another name
        if (value === name) {
          this.rename(value, `${value}/nchw`);
          value = `${value}/nchw`;
        }
        this.node('Transpose', [value], { perm: ints(TO_NHWC) }, `${name}/to_nhwc`, name);
        value = name;
      } else if (value !== name && !this.used.has(name)) {
        this.node('Identity', [value], {}, `${name}/output`, name);
        value = name;
      }
      this.graph.outputs.push({ name: value, dtype: 'float32', kind: 'tensor' });
    }
  }

  protected rename(from: string, to: string): void {
    for (const n of this.graph.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
    this.used.add(to);
  }

  /** Source weights read by more than one node: a format keeps them as one tensor. */
  tiedTensors(why: (key: string, readers: number) => string): Map<string, string> {
    const tied = new Map<string, string>();
    for (const b of this.bindings.values()) {
      const nodes = new Set(b.readers.map((r) => r.node));
      if (nodes.size > 1 && this.irName.has(b.key)) tied.set(this.irName.get(b.key)!, why(b.key, nodes.size));
    }
    return tied;
  }
}

/** Input channels of every Conv and Gemm must match their weights: refuses files whose weights lie about shapes. */
export function checkChannels(model: Model, where: string, bindings: Binding[]): void {
  const { shapes } = resolveInputShapes(model);
  const { types } = inferShapes(model, shapes);
  const keyOf = new Map<string, string>();
  for (const b of bindings) for (const r of b.readers) keyOf.set(`${r.node}\u0000${r.input}`, b.key);
  for (const n of model.graph.nodes) {
    const x = types.get(n.inputs[0])?.dims;
    const w = model.graph.constant(n.inputs[1] ?? '');
    if (!x || !w) continue;
    let have: number | undefined;
    let want: number | undefined;
    if (n.opType === 'Conv') [have, want] = [x[1], w.dims[1] * n.int('group', 1)];
    else if (n.opType === 'Gemm' || n.opType === 'MatMul') [have, want] = [x[x.length - 1], w.dims[0]];
    else if (n.opType === 'ConvTranspose') [have, want] = [x[1], w.dims[0]];
    else if (n.opType === 'BatchNormalization') [have, want] = [x[1], w.dims[0]];
    if (have !== undefined && want !== undefined && have !== want) {
      const key = keyOf.get(`${n.name}\u00001`) ?? w.name;
      throw new PruneLensError(`${where}: weight '${key}' expects ${want} input channels, but layer '${n.name}' receives ${have}`, { code: 'bad-model' });
    }
  }
}



/** States the graph outputs' shapes (a converted model has none), the batch dim kept dynamic when the input's is. */
export function stateOutputShapes(model: Model): void {
  const { shapes } = resolveInputShapes(model);
  let types: ReturnType<typeof inferShapes>['types'];
  try {
    ({ types } = inferShapes(model, shapes));
  } catch {
    return;
  }
  const dynamicBatch = model.graph.inputs.some((i) => typeof i.shape?.[0] !== 'number');
  for (const o of model.graph.outputs) {
    const dims = types.get(o.name)?.dims;
    if (dims) o.shape = dims.map((d, i) => (i === 0 && dynamicBatch ? 'batch' : d));
  }
}
