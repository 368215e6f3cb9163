/**
 * Writes a pruned model's new sizes into a Keras model config (Keras 2, Keras 3 or TF.js): `filters`, `units` and
 * Reshape targets from the weights' new dims, and in Keras 3 configs the shapes it records (each layer's
 * `build_config.input_shape`, the shapes of serialised call arguments), which Keras 3 builds layers from before
 * loading their weights. Everything else stays as read.
 */
import type { Model } from '../../ir/graph.js';
import type { WriteOptions } from '../foreign.js';
import { readBack, type SourceValues } from '../layout.js';
import type { CallValues, Converted, Owner } from './to-ir.js';
import { irShapes } from './util.js';

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function layerList(model: Json): Json[] {
  const c = model.config;
  if (Array.isArray(c)) return c as Json[];
  if (isObject(c) && Array.isArray(c.layers)) return c.layers as Json[];
  return [];
}

const nameOf = (e: Json) => (typeof e.name === 'string' ? e.name : isObject(e.config) && typeof e.config.name === 'string' ? e.config.name : undefined);

/** A layer's entry in a model config, by the names of its enclosing models and its own. */
export function findLayer(model: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = model;
  for (const name of path) {
    cur = layerList(cur!).find((e) => nameOf(e) === name);
    if (!cur) return undefined;
  }
  return cur;
}

/** Sets `filters`, `units` and Reshape targets from new weight values. */
export function updateLayerConfigs(model: Json, owners: Map<string, Owner>, values: Map<string, SourceValues>): void {
  for (const [key, owner] of owners) {
    const v = values.get(key);
    const entry = v && findLayer(model, owner.path);
    if (!v || !entry || !isObject(entry.config)) continue;
    const c = entry.config;
    const cls = owner.className;
    if (owner.role === 'kernel' && /^(Conv2D|Convolution2D)$/.test(cls)) c.filters = v.dims[3];
    else if (owner.role === 'pointwise_kernel') c.filters = v.dims[3];
    else if (owner.role === 'kernel' && /Conv(olution)?2DTranspose/.test(cls)) c.filters = v.dims[2];
    else if (owner.role === 'kernel' && cls === 'Dense') c.units = v.dims[1];
    else if (owner.role === 'target_shape') c.target_shape = Array.from(v.values).slice(1);
  }
}

/**
 * Keras 3 configs record shapes: each layer's `build_config.input_shape` and the shape of every tensor argument of
 * its calls. `shapeOf` gives an IR value's dims in the pruned model; NCHW values are stated back in NHWC.
 */
export function updateRecordedShapes(model: Json, calls: CallValues[], shapeOf: (value: string) => number[] | undefined): void {
  const keras = (v: { name: string; nchw: boolean }) => {
    const d = shapeOf(v.name);
    return d && v.nchw ? [d[0], d[2], d[3], d[1]] : d;
  };
  // stored dims that are numbers take the new ones (None stays None: the batch, dynamic sides)
  const restate = (stored: unknown, now: number[] | undefined): unknown => {
    if (!Array.isArray(stored) || !now || stored.length !== now.length) return stored;
    return stored.map((d, i) => (typeof d === 'number' ? now[i] : d));
  };
  for (const call of calls) {
    const entry = findLayer(model, call.path);
    if (!entry) continue;
    const ins = call.inputs.map(keras);
    if (call.call === 0 && isObject(entry.build_config) && 'input_shape' in entry.build_config) {
      const s = entry.build_config.input_shape;
      const nested = Array.isArray(s) && s.length > 0 && Array.isArray(s[0]);
      entry.build_config.input_shape = nested ? (s as unknown[]).map((x, i) => restate(x, ins[i])) : restate(s, ins[0]);
    }
    const nodes = entry.inbound_nodes;
    const node = Array.isArray(nodes) ? nodes[call.call] : undefined;
    if (!isObject(node)) continue;
    let k = 0;
    const walk = (v: unknown) => {
      if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config)) {
        v.config.shape = restate(v.config.shape, ins[k++]);
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (isObject(v)) Object.values(v).forEach(walk);
    };
    walk(node.args);
  }
}

/**
 * What a Keras file (.keras or .h5) is written from: each bound weight's current values in Keras's layout, and a
 * copy of the model config with the layers' sizes and recorded shapes updated to the pruned IR.
 */
export function prunedKeras(config: Json, conv: Converted, model: Model, opts: WriteOptions): { values: Map<string, SourceValues>; config: Json } {
  const values = readBack(model, conv.bindings, opts);
  const copy = structuredClone(config);
  updateLayerConfigs(copy, conv.owners, values);
  updateRecordedShapes(copy, conv.calls, irShapes(model));
  return { values, config: copy };
}

/** The new values of the HDF5 dataset at `p` (a weight's path, with or without the leading '/'), if it changed. */
export function datasetValues(values: Map<string, SourceValues>): (p: string) => { dims: number[]; values: Float32Array } | undefined {
  return (p) => {
    const v = values.get(p.replace(/^\//, ''));
    return v ? { dims: v.dims, values: v.values as Float32Array } : undefined;
  };
}
