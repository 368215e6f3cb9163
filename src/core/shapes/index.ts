import type { Model } from '../ir/graph.js';
import type { TaskOptions } from '../progress.js';
import * as path from 'node:path';
import { assertRunFits, largestValue, typeBytes } from '../runtime/budget.js';
import { refuseEmptyLayers } from './empty.js';
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
  let used: ShapeResult['method'] = 'inference';
  // inference also runs before a forced probe: what it knows decides whether the probe fits in memory
  const inferred = inferShapes(model, inputs);
  let types = method === 'probe' ? new Map<string, TensorType>() : inferred.types;
  let unknown = method === 'probe' ? [] : inferred.unknown;
  const values = method === 'probe' ? undefined : inferred.values;
  let warning: string | undefined;
  refuseEmptyLayers(model, inferred.types);
  if (method === 'probe' || (method === 'auto' && unknown.length > 0)) {
    let probed: Map<string, TensorType>;
    try {
      // the probe returns every value at once: what inference already knows must fit one run
      const known = inferred.types;
      const exposed = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o && known.has(o));
      assertRunFits(
        { bytes: [...Object.keys(inputs), ...exposed].reduce((s, v) => s + typeBytes(known.get(v) ?? { dtype: 'float32', dims: inputs[v] ?? [0] }), 0), largest: largestValue(known, exposed) },
        { what: `finding shapes with ONNX Runtime (every value of ${model.path ? path.basename(model.path) : 'the model'} kept)`, inputs },
      );
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
    refuseEmptyLayers(model, types);
  }
  opts.onProgress?.({ phase: 'shapes', done: 1, total: 1 });
  return { inputs, types, values, method: used, unknown, warning };
}
