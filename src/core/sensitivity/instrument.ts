/**
 * The instrumented model of a scan target: every masked weight is read through `Mul(weight, mask)` with the mask
 * a graph input, so one ONNX Runtime session serves every ratio of the target. Built as the *suffix* of the
 * network: nodes that do not depend on the masks are cut away and their values (the frontier) fed from one dense
 * run, so the unchanged prefix is computed once, not once per step.
 */
import { clone, create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, NodeProtoSchema, type GraphProto, type NodeProto } from 'onnx-buf';
import { syncOnnx, syncValueInfo } from '../formats/onnx/save.js';
import type { DType } from '../ir/dtype.js';
import { implicitInputs, type Model, type Node } from '../ir/graph.js';
import { runtimeInputs } from '../shapes/inputs.js';
import type { ShapeResult } from '../shapes/types.js';

/** One weight read through a mask. */
export interface MaskSite {
  node: string;
  input: number;
  /** Broadcastable to the weight: 1 except along the masked axis (structured), or the full dims (unstructured). */
  dims: number[];
  dtype: DType;
  /** The mask multiplies a batch-first activation: one mask per sample is possible (several steps in one run). */
  perSample?: boolean;
}

export interface SuffixPlan {
  /** Nodes that depend on the masks. */
  affected: Set<Node>;
  /** Values the suffix reads from outside: graph inputs and (when cut) dense intermediate values. */
  frontier: string[];
  /** Model outputs the suffix computes; the others equal the dense model's. */
  outputs: string[];
  nodes: Node[];
  initializers: string[];
}

export interface Instrumented extends SuffixPlan {
  bytes: Uint8Array;
  /** Mask input names, one per site, in order. */
  masks: string[];
}

/**
 * Which nodes a target's masks reach and what the suffix must be fed. With `cut` false the suffix starts at the
 * graph inputs (no dense values needed: the fallback when the frontier would not fit in memory).
 */
export function planSuffix(model: Model, sites: MaskSite[], cut: boolean): SuffixPlan {
  const g = model.graph;
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const affected = new Set<Node>();
  const queue = sites.map((s) => byName.get(s.node)!);
  while (queue.length) {
    const n = queue.pop()!;
    if (affected.has(n)) continue;
    affected.add(n);
    for (const o of n.outputs) if (o) queue.push(...g.consumersOf(o));
  }
  const graphInputs = new Set(runtimeInputs(model).map((i) => i.name));
  const outputs = g.outputs.map((o) => o.name).filter((o) => affected.has(g.producer(o)!));
  const include = new Set<Node>();
  const inits = new Set<string>();
  const frontier = new Set<string>();
  const seen = new Set<string>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    if (graphInputs.has(v)) {
      frontier.add(v);
      continue;
    }
    if (g.initializers.has(v)) {
      inits.add(v);
      continue;
    }
    const p = g.producer(v);
    if (!p) continue;
    if (affected.has(p) || !cut || g.constant(v) !== undefined) {
      if (include.has(p)) continue;
      include.add(p);
      stack.push(...p.inputs, ...implicitInputs(p));
    } else {
      frontier.add(v);
    }
  }
  return {
    affected,
    frontier: [...frontier].sort(),
    outputs,
    nodes: g.nodes.filter((n) => include.has(n)),
    initializers: [...inits],
  };
}

/** Serialises the suffix with its mask inputs. The original model is left as it was. */
export function buildInstrumented(model: Model, shapes: ShapeResult, sites: MaskSite[], cut: boolean): Instrumented {
  const plan = planSuffix(model, sites, cut);
  const g = model.graph;
  const proto = syncOnnx(model);
  const gp = proto.graph!;
  const nodeProto = new Map(g.nodes.map((n, i) => [n, gp.node[i]]));
  const initProto = new Map([...g.initializers.keys()].map((k, i) => [k, gp.initializer[i]]));
  const inputProto = new Map(gp.input.map((i) => [i.name, i]));
  const outputProto = new Map(gp.output.map((o) => [o.name, o]));

  const masks: string[] = [];
  const muls = new Map<Node, NodeProto[]>();
  const edited = new Map<Node, NodeProto>();
  sites.forEach((s, i) => {
    const node = plan.nodes.find((n) => n.name === s.node)!;
    let p = edited.get(node);
    if (!p) edited.set(node, (p = clone(NodeProtoSchema, nodeProto.get(node)!)));
    const mask = `__prunelens_mask_${i}`;
    const out = `__prunelens_masked_${i}`;
    if (!muls.has(node)) muls.set(node, []);
    muls.get(node)!.push(create(NodeProtoSchema, { name: `__prunelens_mul_${i}`, opType: 'Mul', input: [p.input[s.input], mask], output: [out] }));
    p.input[s.input] = out;
    masks.push(mask);
  });
  const typeOf = (v: string) => {
    const t = shapes.types.get(v);
    // rank only: the batch (and for cut values possibly other dims) differ between runs
    return syncValueInfo({ name: v, dtype: t?.dtype ?? 'float32', shape: t ? t.dims.map(() => null) : undefined });
  };
  const sub: GraphProto = {
    ...gp,
    // each Mul right before its reader: the weight may come from a Constant or Identity node earlier in order
    node: plan.nodes.flatMap((n) => [...(muls.get(n) ?? []), edited.get(n) ?? nodeProto.get(n)!]),
    initializer: plan.initializers.map((k) => initProto.get(k)!),
    input: [
      ...plan.frontier.map((v) => inputProto.get(v) ?? typeOf(v)),
      // per-sample masks leave the batch open: several steps can then share a run
      ...sites.map((s, i) => syncValueInfo({ name: masks[i], dtype: s.dtype, shape: s.perSample ? ['mask_batch', ...s.dims.slice(1)] : s.dims })),
    ],
    output: plan.outputs.map((o) => outputProto.get(o)!),
    valueInfo: [],
    sparseInitializer: [],
  };
  const saved = proto.graph;
  let bytes: Uint8Array;
  try {
    proto.graph = sub;
    bytes = toBinary(ModelProtoSchema, proto);
  } finally {
    proto.graph = saved;
  }
  return { ...plan, bytes, masks };
}

/** The dense model with extra values exposed as outputs (the frontier of several targets). */
export function withOutputs(model: Model, shapes: ShapeResult, extra: string[]): Uint8Array {
  const proto = syncOnnx(model);
  const gp = proto.graph!;
  const have = new Set(gp.output.map((o) => o.name));
  const saved = gp.output;
  try {
    gp.output = [...saved, ...extra.filter((v) => !have.has(v)).map((v) => {
      const t = shapes.types.get(v);
      return syncValueInfo({ name: v, dtype: t?.dtype ?? 'float32', shape: t ? t.dims.map(() => null) : undefined });
    })];
    return toBinary(ModelProtoSchema, proto);
  } finally {
    gp.output = saved;
  }
}

/**
 * The model cut down to what computes `values`, with them as its only outputs: capturing a layer's input then costs
 * the layers before it, not the whole model, and a smaller graph to serialise and load. Falls back to `withOutputs`
 * when the IR and the saved graph do not line up node for node.
 */
export function prefixWithOutputs(model: Model, shapes: ShapeResult, values: string[]): Uint8Array {
  const proto = syncOnnx(model);
  const gp = proto.graph!;
  const nodes = model.graph.nodes;
  if (gp.node.length !== nodes.length) return withOutputs(model, shapes, values);
  const needed = new Set(values);
  const keep: boolean[] = new Array(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!nodes[i].outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const v of [...nodes[i].inputs, ...implicitInputs(nodes[i])]) if (v) needed.add(v);
  }
  const saved = { node: gp.node, initializer: gp.initializer, output: gp.output };
  try {
    gp.node = saved.node.filter((_, i) => keep[i]);
    gp.initializer = saved.initializer.filter((t) => needed.has(t.name));
    gp.output = values.map((v) => {
      const t = shapes.types.get(v);
      return syncValueInfo({ name: v, dtype: t?.dtype ?? 'float32', shape: t ? t.dims.map(() => null) : undefined });
    });
    return toBinary(ModelProtoSchema, proto);
  } finally {
    Object.assign(gp, saved);
  }
}
