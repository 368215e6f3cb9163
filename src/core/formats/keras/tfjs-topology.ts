/**
 * A Keras model (Keras 2 or Keras 3 config, with its weights) as TF.js layers-model artifacts, so that .keras and
 * .h5 files can run in TF.js: the same layers and calls, stated as TF.js reads Keras 2 configs (`inbound_nodes`
 * lists, `batch_input_shape`, dtype strings). Initializers, regularizers and constraints play no part in running a
 * model with loaded weights and are left out (TF.js does not know all of Keras 3's).
 */
import type { TfjsArtifacts } from '../foreign.js';
import { joinBytes } from '../foreign.js';
import type { KLayer, KModel, TensorRef } from './model.js';
import { plain } from './model.js';
import type { Owner, SourceWeight } from './to-ir.js';

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** TF.js counts a model's own creation as node 0 of a model used as a layer. */
const tfjsOffset = (l: KLayer | undefined) => (l?.inner ? 1 : 0);

function modelJson(km: KModel): Json {
  const byName = new Map(km.layers.map((l) => [l.name, l]));
  const ref = (r: TensorRef) => {
    const l = byName.get(r.layer);
    return [r.layer, r.node - (l?.callOffset ?? 0) + tfjsOffset(l), r.tensor];
  };
  return {
    class_name: 'Model',
    config: {
      name: km.name,
      layers: km.layers.map((l) => ({
        name: l.name,
        class_name: l.inner ? 'Model' : l.className,
        config: l.inner ? (modelJson(l.inner).config as Json) : cleanConfig(l),
        inbound_nodes: l.calls.map((call) => call.map((r) => [...ref(r), {}])),
      })),
      input_layers: km.inputs.map(ref),
      output_layers: km.outputs.map(ref),
    },
  };
}

function cleanConfig(l: KLayer): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(l.config)) {
    if (/_(initializer|regularizer|constraint)$/.test(k)) continue;
    if (k === 'dtype') out.dtype = plain(v) ?? 'float32';
    else if (k === 'batch_shape') out.batch_input_shape = v;
    else if (isObject(v) && 'class_name' in v && 'config' in v) out[k] = { class_name: v.class_name, config: v.config };
    else out[k] = v;
  }
  if (typeof out.dtype !== 'string') out.dtype = 'float32';
  return out;
}

/** The TF.js name of a Keras weight: `layer/weight`, as TF.js names a layer's variables (nested models add nothing). */
function tfjsName(o: Owner): string {
  return `${o.path[o.path.length - 1]}/${o.role}`;
}

export function kerasArtifacts(km: KModel, owners: Map<string, Owner>, weights: Map<string, SourceWeight>): TfjsArtifacts {
  const specs: unknown[] = [];
  const parts: Uint8Array[] = [];
  for (const [key, o] of owners) {
    const w = weights.get(key);
    if (!w) continue;
    specs.push({ name: tfjsName(o), shape: w.dims, dtype: 'float32' });
    parts.push(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength));
  }
  return { kind: 'layers', modelTopology: modelJson(km), weightSpecs: specs, weightData: joinBytes(parts), format: 'layers-model' };
}
