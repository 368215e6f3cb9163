import type { Model } from '../ir/graph.js';
import type { TaskOptions } from '../progress.js';
import { inferShapes } from './infer.js';
import { probeShapes } from './probe.js';
import type { ShapeResult, TensorType } from './types.js';

export type { ShapeResult, TensorType } from './types.js';
export { resolveInputShapes, parseInputShape, runtimeInputs } from './inputs.js';

export interface ShapeOptions extends TaskOptions {
  /** 'auto' (default): our inference, probing with ONNX Runtime only when it leaves values unknown. */
  method?: 'auto' | 'inference' | 'probe';
  /** Values for integer inputs, for the ONNX Runtime probe. */
  inputValues?: Record<string, number>;
}

/** Shapes of every value of the main graph for the given concrete input shapes. */
export async function computeShapes(
  model: Model,
  inputs: Record<string, number[]>,
  opts: ShapeOptions = {},
): Promise<ShapeResult> {
  const method = opts.method ?? 'auto';
  opts.onProgress?.({ phase: 'shapes', done: 0, total: 1 });
  let types: Map<string, TensorType>;
  let used: ShapeResult['method'] = 'inference';
  let unknown: string[] = [];
  let values: Map<string, number[]> | undefined;
  if (method !== 'probe') {
    const r = inferShapes(model, inputs);
    types = r.types;
    values = r.values;
    unknown = r.unknown;
  } else types = new Map();
  let warning: string | undefined;
  if (method === 'probe' || (method === 'auto' && unknown.length > 0)) {
    let probed: Map<string, TensorType>;
    try {
      probed = await probeShapes(model, inputs, opts.inputValues);
    } catch (e) {
      if (method === 'probe') throw e;
      // Keep what inference found; the values left unknown are listed, and costs that need them count zero.
      warning = `${(e as Error).message}; ${unknown.length} values have unknown shapes`;
      opts.onProgress?.({ phase: 'shapes', done: 1, total: 1 });
      return { inputs, types, values, method: used, unknown, warning };
    }
    for (const [k, v] of model.graph.initializers) probed.set(k, { dtype: v.dtype, dims: [...v.dims] });
    for (const [k, v] of Object.entries(inputs)) {
      const i = model.graph.inputs.find((x) => x.name === k);
      if (i) probed.set(k, { dtype: i.dtype, dims: v });
    }
    types = probed;
    unknown = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o && !types.has(o));
    used = 'probe';
  }
  opts.onProgress?.({ phase: 'shapes', done: 1, total: 1 });
  return { inputs, types, values, method: used, unknown, warning };
}
