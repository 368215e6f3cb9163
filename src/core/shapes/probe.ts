import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as path from 'node:path';
import type { DType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { syncOnnx } from '../formats/onnx/save.js';
import { createSession } from '../runtime/ort.js';
import { syntheticFeeds } from '../runtime/feeds.js';
import type { TensorType } from './types.js';

/** Ops whose outputs are not tensors: ONNX Runtime cannot return them as graph outputs of tensor type. */
const NON_TENSOR = /^(Sequence|SplitToSequence|ConcatFromSequence|Optional)/;

/**
 * Finds every value's shape with one ONNX Runtime run of the model with all intermediate values exposed as
 * outputs (graph optimisations off so none is fused away). Robust for any op ONNX Runtime supports.
 */
export async function probeShapes(model: Model, inputs: Record<string, number[]>, values: Record<string, number> = {}): Promise<Map<string, TensorType>> {
  const proto = syncOnnx(model);
  const graph = proto.graph!;
  const saved = graph.output;
  const existing = new Set(saved.map((o) => o.name));
  const extra = model.graph.nodes
    .filter((n) => !NON_TENSOR.test(n.opType))
    .flatMap((n) => n.outputs)
    .filter((o) => o && !existing.has(o));
  let bytes: Uint8Array;
  try {
    graph.output = [...saved, ...extra.map((name) => create(ValueInfoProtoSchema, { name }))];
    bytes = toBinary(ModelProtoSchema, proto);
  } finally {
    graph.output = saved;
  }
  // a failure is one line naming the node and the inputs (from the session)
  const session = await createSession(bytes, { optimization: 'disabled', externalDataDir: model.path ? path.dirname(model.path) : undefined, label: model.path ? path.basename(model.path) : undefined });
  let results: Record<string, { dims: readonly number[]; type: string }>;
  try {
    results = await session.run(syntheticFeeds(model, inputs, 1, values));
  } finally {
    await session.release();
  }
  const types = new Map<string, TensorType>();
  for (const [name, t] of Object.entries(results)) types.set(name, { dtype: t.type as DType, dims: [...t.dims] });
  return types;
}
