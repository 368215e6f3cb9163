import type { DType } from './dtype.js';
import type { Tensor } from './tensor.js';

/** A dimension: a number when static, a name (e.g. "batch") or null when dynamic. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** undefined when the rank is unknown. */
  shape?: Dim[];
  /** Non-tensor values (sequences, maps, optionals) are described but never analysed. */
  kind?: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse' | 'unknown';
  /** Set when dtype or shape were edited: savers rewrite the type instead of keeping the original. */
  changed?: boolean;
  origin?: unknown;
}

export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'other' };

export class Node {
  /** Names of attributes changed since loading: savers rewrite only these. */
  readonly changedAttrs = new Set<string>();
  /** The file gave no name; `name` was made up for reports and is not written back. */
  nameGenerated = false;

  constructor(
    public name: string,
    public opType: string,
    public domain: string,
    public inputs: string[],
    public outputs: string[],
    readonly attrs: Map<string, Attr>,
    public origin?: unknown,
  ) {}

  /** The op's canonical key, e.g. "Conv" or "com.microsoft:FusedConv". */
  get key(): string {
    return this.domain === '' || this.domain === 'ai.onnx' ? this.opType : `${this.domain}:${this.opType}`;
  }

  int(name: string, fallback: number): number;
  int(name: string): number | undefined;
  int(name: string, fallback?: number): number | undefined {
    const a = this.attrs.get(name);
    return a?.type === 'int' ? a.value : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a?.type === 'float' ? a.value : fallback;
  }

  ints(name: string): number[] | undefined {
    const a = this.attrs.get(name);
    return a?.type === 'ints' ? a.value : undefined;
  }

  str(name: string, fallback: string): string {
    const a = this.attrs.get(name);
    return a?.type === 'string' ? a.value : fallback;
  }

  setAttr(name: string, attr: Attr): void {
    this.attrs.set(name, attr);
    this.changedAttrs.add(name);
  }

  /** Sub-graphs held by attributes (If branches, Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attrs.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }
}

export class Graph {
  nodes: Node[] = [];
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, Tensor>();
  readonly valueInfo = new Map<string, ValueInfo>();

  constructor(public name: string, readonly parent?: Graph, public origin?: unknown) {}

  /**
   * A constant tensor for a value name: an initializer, or the output of a `Constant` node with a tensor value
   * (real models, e.g. PaddleOCR exports, keep all their weights in Constant nodes). Outer scopes are searched too.
   */
  constant(name: string): Tensor | undefined {
    return this.constantTable().get(name) ?? this.parent?.constant(name);
  }

  private constants?: Map<string, Tensor>;

  /** Rebuild lookup tables after nodes or initializers change. */
  invalidate(): void {
    this.constants = undefined;
    this.producers = undefined;
    this.consumers = undefined;
  }

  constantTable(): Map<string, Tensor> {
    if (!this.constants) {
      const m = new Map(this.initializers);
      for (const n of this.nodes) {
        if (n.opType !== 'Constant' || n.domain !== '') continue;
        const v = n.attrs.get('value');
        if (v?.type === 'tensor' && n.outputs[0]) m.set(n.outputs[0], v.value);
      }
      // Weights routed through Identity nodes (PyTorch exports without constant folding) are constants too.
      for (const n of this.nodes) {
        if (n.opType === 'Identity' && n.domain === '' && m.has(n.inputs[0]) && n.outputs[0]) m.set(n.outputs[0], m.get(n.inputs[0])!);
      }
      // A graph input that shares an initializer's name can be overridden at run time: not a constant.
      for (const i of this.inputs) m.delete(i.name);
      this.constants = m;
    }
    return this.constants;
  }

  private producers?: Map<string, Node>;
  private consumers?: Map<string, Node[]>;

  producer(value: string): Node | undefined {
    if (!this.producers) {
      this.producers = new Map();
      for (const n of this.nodes) for (const o of n.outputs) if (o) this.producers.set(o, n);
    }
    return this.producers.get(value);
  }

  consumersOf(value: string): Node[] {
    if (!this.consumers) {
      this.consumers = new Map();
      for (const n of this.nodes) {
        for (const i of n.inputs) {
          if (!i) continue;
          let l = this.consumers.get(i);
          if (!l) this.consumers.set(i, (l = []));
          if (!l.includes(n)) l.push(n);
        }
        for (const i of implicitInputs(n)) {
          let l = this.consumers.get(i);
          if (!l) this.consumers.set(i, (l = []));
          if (!l.includes(n)) l.push(n);
        }
      }
    }
    return this.consumers.get(value) ?? [];
  }

  /** This graph and every sub-graph, depth first. */
  *allGraphs(): Generator<Graph> {
    yield this;
    for (const n of this.nodes) for (const g of n.subgraphs()) yield* g.allGraphs();
  }
}

/** Values a node's sub-graphs read from enclosing scopes (they are inputs of the node in all but name). */
export function implicitInputs(node: Node): string[] {
  const subs = node.subgraphs();
  if (subs.length === 0) return [];
  const out = new Set<string>();
  for (const g of subs) {
    for (const name of outerReferences(g)) out.add(name);
  }
  return [...out];
}

function outerReferences(g: Graph): Set<string> {
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  const refs = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !defined.has(i)) refs.add(i);
    for (const s of n.subgraphs()) for (const r of outerReferences(s)) if (!defined.has(r)) refs.add(r);
    for (const o of n.outputs) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) refs.add(o.name);
  return refs;
}

export interface Opset {
  domain: string;
  version: number;
}

/**
 * What the file is. Every format is converted on load into this one IR with ONNX semantics (NCHW); `source` holds
 * what a non-ONNX format needs to write the model back in its own form.
 */
export type ModelFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph' | 'keras' | 'keras-h5';

/** The link from a converted model back to its own format (opaque to everything but src/core/formats). */
export interface SourceDocument {
  /** The files the model was read from, the model file first (hashes and sizes cover them all). */
  readonly files: string[];
  /** Weights a format keeps as one tensor for all their readers (a shared layer's): tensor name → why. */
  readonly tied?: ReadonlyMap<string, string>;
  /** Bytes the file spends per weight value (uint8-quantised TF.js weights: 1), for size estimates. */
  readonly bytesPerWeight?: number;
  /** What the conversion could not do, for every report on the model (ops kept opaque). */
  readonly warnings?: readonly string[];
}

export class Model {
  constructor(
    readonly format: ModelFormat,
    /** Absolute path of the file it was loaded from ('' for in-memory models). */
    readonly path: string,
    readonly graph: Graph,
    readonly meta: {
      irVersion: number;
      opsets: Opset[];
      producer: string;
      producerVersion: string;
      domain: string;
      modelVersion: number;
      docString: string;
      metadata: Record<string, string>;
    },
    /** Format-specific document (e.g. the ONNX ModelProto) used for lossless saving. */
    readonly origin?: unknown,
    /** For formats other than ONNX: how to write the IR back in the file's own format. */
    readonly source?: SourceDocument,
  ) {}

  opsetVersion(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    return this.meta.opsets.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
  }
}
