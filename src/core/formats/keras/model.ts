/**
 * A Keras model's topology, read from any of the configs that describe one: Keras 2 / tf.keras (`model_config` of a
 * legacy .h5, TF.js `modelTopology`, with or without the `model_config` wrapper) and Keras 3 (`config.json` of a
 * .keras archive, whose call arguments are serialised `__keras_tensor__` objects). Sequential models become the
 * chain they are; nested models stay nested (converted inline, see to-ir.ts); the raw config entries are kept so
 * saving edits them in place and leaves everything else as it was read.
 */
import { PruneLensError } from '../../errors.js';

export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export interface KLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** The input tensors of each call of the layer, in the order of its nodes. */
  calls: TensorRef[][];
  /** Node index of calls[0]: models used as layers count their own creation as node 0 (Keras 2, TF.js, Keras 3 Functional). */
  callOffset: number;
  /** A model used as a layer. */
  inner?: KModel;
}

export interface KModel {
  name: string;
  className: string;
  layers: KLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
  /** Keras 3 config (module/registered_name entries, `__keras_tensor__` call arguments). */
  keras3: boolean;
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The `{class_name, config}` object of a model: unwraps TF.js's `{model_config, keras_version, …}`. */
export function modelConfigOf(topology: unknown): Json | undefined {
  if (!isObject(topology)) return undefined;
  if (isObject(topology.model_config)) return topology.model_config;
  if (typeof topology.class_name === 'string') return topology;
  return undefined;
}

/** Parses a model config; `where` names the file in errors. */
export function parseModel(obj: unknown, where: string): KModel {
  const bad = (m: string) => new PruneLensError(`${where}: ${m}`, { code: 'bad-model' });
  if (!isObject(obj) || typeof obj.class_name !== 'string') throw bad('the model config has no class_name');
  const className = obj.class_name;
  const keras3 = 'module' in obj || 'registered_name' in obj;
  if (className === 'Sequential') return parseSequential(obj, where, keras3);
  if (className === 'Functional' || className === 'Model') return parseFunctional(obj, where, keras3);
  throw new PruneLensError(`${where}: a ${className} model is not a Sequential or functional model (subclassed models have no config to convert)`, { code: 'unsupported' });
}

function layerEntry(raw: unknown, where: string): { className: string; config: Json; name: string } {
  if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
    throw new PruneLensError(`${where}: a layer entry without class_name and config`, { code: 'bad-model' });
  }
  const name = typeof raw.name === 'string' ? raw.name : typeof raw.config.name === 'string' ? raw.config.name : undefined;
  if (!name) throw new PruneLensError(`${where}: a ${raw.class_name} layer without a name`, { code: 'bad-model' });
  return { className: raw.class_name, config: raw.config, name };
}

function makeLayer(raw: Json, where: string, keras3: boolean): KLayer {
  const { className, config, name } = layerEntry(raw, where);
  const layer: KLayer = { name, className, config, calls: [], callOffset: 0 };
  if (MODEL_CLASSES.has(className)) {
    layer.inner = parseModel(raw, `${where}: model '${name}'`);
    layer.callOffset = keras3 && className === 'Sequential' ? 0 : 1;
  }
  return layer;
}

function parseSequential(obj: Json, where: string, keras3: boolean): KModel {
  const cfg = obj.config;
  const list = Array.isArray(cfg) ? cfg : isObject(cfg) && Array.isArray(cfg.layers) ? cfg.layers : undefined;
  if (!list) throw new PruneLensError(`${where}: a Sequential config without layers`, { code: 'bad-model' });
  const name = isObject(cfg) && typeof cfg.name === 'string' ? cfg.name : 'sequential';
  const layers = list.map((l) => makeLayer(l as Json, where, keras3));
  if (layers.length === 0) throw new PruneLensError(`${where}: a Sequential model without layers`, { code: 'bad-model' });
  let first = 0;
  if (layers[0].className !== 'InputLayer') {
    // Keras 2 and TF.js put the input shape on the first layer; the model's input layer is `<first>_input`.
    const c = layers[0].config;
    const shape = (c.batch_input_shape ?? c.batch_shape ?? (Array.isArray(c.input_shape) ? [null, ...c.input_shape] : undefined)) as unknown;
    if (!Array.isArray(shape)) throw new PruneLensError(`${where}: the first layer of a Sequential model gives no input shape`, { code: 'bad-model' });
    const input: KLayer = {
      name: `${layers[0].name}_input`, className: 'InputLayer', calls: [], callOffset: 0,
      config: { batch_input_shape: shape, dtype: c.dtype ?? 'float32', name: `${layers[0].name}_input` },
    };
    layers.unshift(input);
  }
  for (let i = first + 1; i < layers.length; i++) layers[i].calls = [[{ layer: layers[i - 1].name, node: layers[i - 1].callOffset, tensor: 0 }]];
  first = 0;
  const last = layers[layers.length - 1];
  return {
    name, className: 'Sequential', layers, keras3,
    inputs: [{ layer: layers[0].name, node: 0, tensor: 0 }],
    outputs: [{ layer: last.name, node: last.callOffset, tensor: 0 }],
  };
}

function parseFunctional(obj: Json, where: string, keras3: boolean): KModel {
  const cfg = obj.config;
  if (!isObject(cfg) || !Array.isArray(cfg.layers)) throw new PruneLensError(`${where}: a functional model config without layers`, { code: 'bad-model' });
  const layers = cfg.layers.map((raw) => {
    const layer = makeLayer(raw as Json, where, keras3);
    const nodes = (raw as Json).inbound_nodes;
    if (nodes !== undefined && !Array.isArray(nodes)) throw new PruneLensError(`${where}: layer '${layer.name}' has malformed inbound_nodes`, { code: 'bad-model' });
    layer.calls = (nodes ?? []).map((n) => callInputs(n, where, layer.name));
    return layer;
  });
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name)) throw new PruneLensError(`${where}: two layers are named '${l.name}'`, { code: 'bad-model' });
    names.add(l.name);
  }
  const refs = (x: unknown, what: string): TensorRef[] => {
    const out: TensorRef[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v) && v.length >= 3 && typeof v[0] === 'string' && typeof v[1] === 'number') out.push({ layer: v[0], node: v[1], tensor: Number(v[2]) });
      else if (Array.isArray(v)) v.forEach(walk);
      else if (isObject(v)) Object.values(v).forEach(walk);
    };
    walk(x);
    if (!out.length) throw new PruneLensError(`${where}: the model names no ${what}`, { code: 'bad-model' });
    for (const r of out) if (!names.has(r.layer)) throw new PruneLensError(`${where}: ${what} name a layer '${r.layer}' that does not exist`, { code: 'bad-model' });
    return out;
  };
  return {
    name: typeof cfg.name === 'string' ? cfg.name : 'model',
    className: String(obj.class_name), layers, keras3,
    inputs: refs(cfg.input_layers, 'input layers'),
    outputs: refs(cfg.output_layers, 'output layers'),
  };
}

/** The tensors a call reads: Keras 2 `[[name, node, tensor, kwargs], …]` or Keras 3 `{args, kwargs}` with tensor objects. */
function callInputs(node: unknown, where: string, layer: string): TensorRef[] {
  const out: TensorRef[] = [];
  if (Array.isArray(node)) {
    for (const e of node) {
      if (Array.isArray(e) && typeof e[0] === 'string') out.push({ layer: e[0], node: Number(e[1] ?? 0), tensor: Number(e[2] ?? 0) });
      else throw new PruneLensError(`${where}: layer '${layer}' has a malformed inbound node`, { code: 'bad-model' });
    }
    return out;
  }
  if (isObject(node)) {
    const walk = (v: unknown) => {
      if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config)) {
        const h = v.config.keras_history;
        if (!Array.isArray(h) || typeof h[0] !== 'string') throw new PruneLensError(`${where}: layer '${layer}' reads a tensor without keras_history`, { code: 'bad-model' });
        out.push({ layer: h[0], node: Number(h[1] ?? 0), tensor: Number(h[2] ?? 0) });
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (isObject(v)) Object.values(v).forEach(walk);
    };
    walk(node.args);
    return out;
  }
  throw new PruneLensError(`${where}: layer '${layer}' has a malformed inbound node`, { code: 'bad-model' });
}

/** A Keras 3 config value may be a serialised object (`{module, class_name, config}`); its plain value where it has one. */
export function plain(v: unknown): unknown {
  if (isObject(v) && v.class_name === 'DTypePolicy' && isObject(v.config)) return v.config.name;
  return v;
}
