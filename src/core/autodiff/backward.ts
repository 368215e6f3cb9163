/**
 * Reverse-mode automatic differentiation of an IR model, emitted as ONNX: the forward graph, a loss seed, and the
 * backward graph (rules.ts, one rule per operator) in one model that ONNX Runtime runs, so gradients cost about two
 * forward passes and need no training runtime. Outputs: the gradients asked for (of activation values, for Taylor;
 * of weights, for SNIP, GraSP, SynFlow and OBD) and the activation values themselves.
 */
import type { DType } from '../ir/dtype.js';
import type { Model, Node, ValueInfo } from '../ir/graph.js';
import { cloneModel } from '../formats/index.js';
import { encodeOnnx } from '../formats/onnx/save.js';
import { computeShapes } from '../shapes/index.js';
import { Emitter } from './emitter.js';
import { GRAD_RULES, type GradCtx } from './rules.js';

/**
 * The loss whose gradient is taken: `labels` cross-entropy against given labels; `pseudo` cross-entropy against the
 * model's own top-1 (for unlabelled data: unlike KL to the dense model, whose gradient at the dense model is zero);
 * `teacher` cross-entropy against given probabilities (KL to a teacher, up to a constant); `energy` ½‖y‖² (outputs
 * that are not class scores); `sum` Σ y (SynFlow's R). All averaged over the batch.
 */
export type LossKind = 'labels' | 'pseudo' | 'teacher' | 'energy' | 'sum';

export interface GradientRequest {
  /** The model output the loss reads. */
  output: string;
  /** Activation values whose gradients (and values) are wanted. */
  values: string[];
  /** Weights (constant names as nodes read them) whose gradients are wanted. */
  weights: string[];
  loss: LossKind;
}

export interface GradientGraph {
  bytes: Uint8Array;
  /** Graph input names for the loss's labels or teacher probabilities. */
  labels?: string;
  teacher?: string;
  /** Output name of the gradient of each requested value or weight. */
  grads: Map<string, string>;
  /** Output name exposing each requested activation value. */
  values: Map<string, string>;
  /** Where a gradient could not flow back, and why (its upstream gradients are then partial). */
  stopped: string[];
}

export const LABELS_INPUT = '__prunelens_labels';
export const TEACHER_INPUT = '__prunelens_teacher';

function tensorInfo(name: string, dtype: DType, shape?: (number | string | null)[]): ValueInfo {
  return { name, dtype, shape, kind: 'tensor', changed: true };
}

export async function buildGradientGraph(model: Model, inputShapes: Record<string, number[]>, req: GradientRequest): Promise<GradientGraph> {
  const m = cloneModel(model);
  const g = m.graph;
  // shapes at batch 2, so that an axis broadcast along the batch shows as 1 against 2
  const shapes = await computeShapes(m, Object.fromEntries(Object.entries(inputShapes).map(([k, d]) => [k, [2, ...d.slice(1)]])));
  const dims = (v: string) => shapes.types.get(v)?.dims ?? g.constant(v)?.dims;
  const opset = m.opsetVersion('') ?? 13;
  const e = new Emitter(g, '__grad');

  // which values lead back to something asked for
  const targets = new Set([...req.values, ...req.weights]);
  const leads = new Set<string>(targets);
  for (const n of g.nodes) if (n.inputs.some((v) => leads.has(v))) for (const o of n.outputs) if (o) leads.add(o);

  const contributions = new Map<string, string[]>();
  const give = (v: string, grad: string) => contributions.set(v, [...(contributions.get(v) ?? []), grad]);
  const total = (v: string): string | undefined => {
    const parts = contributions.get(v);
    if (!parts?.length) return undefined;
    if (parts.length > 1) contributions.set(v, [e.op('Sum', parts)]);
    return contributions.get(v)![0];
  };

  const y = req.output;
  const yd = dims(y);
  let labels: string | undefined;
  let teacher: string | undefined;
  give(y, seed());

  const stopped: string[] = [];
  const nodes = [...g.nodes];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    if (!node.outputs.some((o) => contributions.has(o)) || !node.inputs.some((v) => leads.has(v))) continue;
    const rule = node.domain === '' ? GRAD_RULES[node.opType] : undefined;
    if (!rule) {
      stopped.push(`${node.opType} '${node.name}' has no gradient rule`);
      continue;
    }
    const ctx: GradCtx = {
      node, e, opset,
      gout: (i) => (node.outputs[i] ? total(node.outputs[i]) : undefined),
      wants: (i) => !!node.inputs[i] && leads.has(node.inputs[i]) && isFloat(shapes.types.get(node.inputs[i])?.dtype ?? g.constant(node.inputs[i])?.dtype),
      give: (i, grad) => give(node.inputs[i], grad),
      dims,
      constant: (v) => g.constant(v),
      extraOutput: (i) => extraOutput(node, i),
    };
    try {
      rule(ctx);
    } catch (err) {
      stopped.push(`${node.opType} '${node.name}': ${(err as Error).message}`);
    }
  }

  const grads = new Map<string, string>();
  for (const t of targets) {
    const v = total(t) ?? e.op('Mul', [t, e.scalar(0)]);
    grads.set(t, e.op('Identity', [v], {}, e.fresh('grad')));
  }
  const values = new Map(req.values.map((v) => [v, v]));
  g.nodes.push(...e.nodes);
  g.outputs = [
    ...[...grads.values()].map((o) => tensorInfo(o, 'float32')),
    ...[...new Set(req.values)].filter((v) => !g.outputs.some((o) => o.name === v)).map((v) => tensorInfo(v, 'float32')),
    ...g.outputs.filter((o) => req.values.includes(o.name)),
  ];
  if (labels) g.inputs.push(tensorInfo(labels, 'int64', yd ? ['N', ...yd.slice(1, -1)] : undefined));
  if (teacher) g.inputs.push(tensorInfo(teacher, 'float32', yd ? ['N', ...yd.slice(1)] : undefined));
  g.invalidate();
  return { bytes: encodeOnnx(m), labels, teacher, grads, values, stopped };

  /** dL/dy for the loss, averaged over the batch. */
  function seed(): string {
    const batch = e.op('Cast', [e.op('Gather', [e.op('Shape', [y]), e.constant('int64', [], [0])], { axis: 0 })], { to: 1 });
    const perSample = (v: string) => e.op('Div', [v, batch]);
    const producer = g.producer(y);
    const probs = producer?.opType === 'Softmax';
    const rank = yd?.length ?? 2;
    const classes = yd?.[rank - 1] ?? 0;
    const softmax = (v: string) => e.op('Softmax', [v], { axis: rank - 1 });
    switch (req.loss) {
      case 'sum': return e.op('Add', [e.op('Mul', [y, e.scalar(0)]), e.scalar(1)]);
      case 'energy': return perSample(y);
      case 'teacher': {
        teacher = TEACHER_INPUT;
        // cross-entropy to teacher probabilities: softmax(y) − t on logits, −t/y on probabilities
        return perSample(probs ? e.op('Neg', [e.op('Div', [teacher, e.op('Max', [y, e.scalar(1e-12)])])]) : e.op('Sub', [softmax(y), teacher]));
      }
      case 'labels':
      case 'pseudo': {
        if (req.loss === 'labels') labels = LABELS_INPUT;
        const target = labels ?? e.op('ArgMax', [y], { axis: rank - 1, keepdims: 0 });
        const onehot = e.op('OneHot', [target, e.constant('int64', [], [classes]), e.constant('float32', [2], [0, 1])], { axis: -1 });
        return perSample(probs ? e.op('Neg', [e.op('Div', [onehot, e.op('Max', [y, e.scalar(1e-12)])])]) : e.op('Sub', [softmax(y), onehot]));
      }
    }
  }

  /** Adds output i to a forward node (MaxPool's indices) and returns its name. */
  function extraOutput(node: Node, i: number): string {
    while (node.outputs.length <= i) node.outputs.push(e.fresh(`${node.opType.toLowerCase()}_out`));
    if (!node.outputs[i]) node.outputs[i] = e.fresh(`${node.opType.toLowerCase()}_out`);
    return node.outputs[i];
  }
}

function isFloat(d: DType | undefined): boolean {
  return d === undefined || d === 'float32' || d === 'float16' || d === 'float64';
}
