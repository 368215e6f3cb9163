/**
 * Keras .h5 and .keras fixtures from the TF.js fixture models: their configs stated as Keras 2 (TF.js's own JSON is
 * Keras 2's) or Keras 3 writes them (module/registered_name, dtype policies, build_config, `__keras_tensor__` call
 * arguments), their weights written by test/helpers/keras_files.py with Debian's h5py as Keras's savers lay them out.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { ROOT } from './env.js';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test/helpers/keras_files.py');

export function hasH5py(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import h5py'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;

export interface KerasSpecOptions {
  optimizer?: boolean;
}

/** Writes `model` as OUT (.h5 in Keras 2's layout, .keras in Keras 3's). */
export function writeKeras(model: TF.LayersModel, out: string, opts: KerasSpecOptions = {}): string {
  const kind = out.endsWith('.keras') ? 'keras' : 'h5';
  const json = model.toJSON(null, false) as unknown as Json;
  const config: Json = kind === 'h5'
    ? { class_name: json.class_name === 'Model' ? 'Functional' : json.class_name, config: json.config }
    : keras3Model(json, model);
  const layers: Json[] = [];
  const collect = (m: TF.LayersModel, scope: string[]) => {
    for (const l of m.layers) {
      if ('layers' in l) {
        collect(l as unknown as TF.LayersModel, [...scope, l.name]);
        continue;
      }
      const ws = l.weights;
      if (!ws.length) continue;
      layers.push({
        name: l.name, class_name: l.getClassName(), path: [...scope, l.name],
        weights: ws.map((w) => ({ name: w.originalName.split('/').pop(), shape: w.shape, data: Buffer.from(w.read().dataSync().buffer).toString('base64') })),
      });
    }
  };
  collect(model, []);
  const topConfig = json.config as Json;
  const topLayers = ((topConfig.layers ?? []) as Json[]).map((l) => String(l.name ?? (l.config as Json).name));
  const spec = {
    kind, config, keras_version: kind === 'h5' ? '2.15.0' : '3.10.0', model_name: model.name, layers, top_layers: topLayers,
    optimizer: opts.optimizer ?? false,
  };
  const specFile = `${out}.spec.json`;
  fs.writeFileSync(specFile, JSON.stringify(spec));
  execFileSync(PYTHON, [SCRIPT, 'write', specFile, out]);
  fs.unlinkSync(specFile);
  return out;
}

const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

function keras3Model(json: Json, model: TF.LayersModel): Json {
  const cfg = json.config as Json;
  const layers = cfg.layers as Json[];
  if (json.class_name === 'Sequential') {
    const first = layers[0].config as Json;
    const input = { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: first.batch_input_shape, dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null };
    return {
      module: 'keras', class_name: 'Sequential',
      config: { name: cfg.name, trainable: true, dtype: policy, layers: [input, ...layers.map((l) => keras3Layer(l, model.getLayer((l.config as Json).name as string)))] },
      registered_name: 'Sequential', build_config: { input_shape: first.batch_input_shape }, compile_config: null,
    };
  }
  const objects = new Map(model.layers.map((l) => [l.name, l]));
  const tensor = (r: unknown[]) => {
    const layer = objects.get(r[0] as string)!;
    const nested = 'layers' in layer;
    // TF.js counts a nested model's own creation as node 0; Keras 3 does not for a Sequential
    return {
      class_name: '__keras_tensor__',
      config: { shape: layer.outputShape, dtype: 'float32', keras_history: [r[0], (r[1] as number) - (nested ? 1 : 0), r[2]] },
    };
  };
  return {
    module: 'keras', class_name: 'Functional',
    config: {
      name: cfg.name, trainable: true,
      layers: layers.map((l) => ({
        ...keras3Layer(l, objects.get(l.name as string)!),
        name: l.name,
        inbound_nodes: (l.inbound_nodes as unknown[][][]).map((node) => ({ args: node.length === 1 ? [tensor(node[0])] : [node.map(tensor)], kwargs: {} })),
      })),
      input_layers: (cfg.input_layers as unknown[][])[0].slice(0, 3),
      output_layers: (cfg.output_layers as unknown[][])[0].slice(0, 3),
    },
    registered_name: 'Functional', build_config: { input_shape: null }, compile_config: null,
  };
}

function keras3Layer(l: Json, obj: TF.layers.Layer): Json {
  const c = l.config as Json;
  if (l.class_name === 'InputLayer') {
    return { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: c.batch_input_shape, dtype: 'float32', sparse: false, name: c.name }, registered_name: null };
  }
  if (l.class_name === 'Sequential' || l.class_name === 'Model') {
    return keras3Model(l, obj as unknown as TF.LayersModel);
  }
  const config: Json = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'dtype') continue;
    config[k] = /_initializer$/.test(k) && v && typeof v === 'object'
      ? { module: 'keras.initializers', class_name: (v as Json).class_name, config: (v as Json).config, registered_name: null }
      : v;
  }
  config.dtype = policy;
  if (l.class_name === 'LeakyReLU') {
    config.negative_slope = config.alpha;
    delete config.alpha;
  }
  // a shared layer's first call is the one Keras builds it from
  const input = (obj as unknown as { getInputAt(i: number): { shape: unknown } | { shape: unknown }[] }).getInputAt(0);
  const inputShape = Array.isArray(input) ? input.map((t) => t.shape) : input.shape;
  return { module: 'keras.layers', class_name: l.class_name, config, registered_name: null, build_config: { input_shape: inputShape } };
}

export interface Dump {
  zip?: { name: string; compress_type: number }[];
  config?: Json;
  metadata?: Json;
  h5: Record<string, { type: 'group' | 'dataset'; shape?: number[]; dtype?: string; attrs: Record<string, { kind: string; value: unknown }> }>;
}

/** The structure of an .h5 or .keras file as h5py and zipfile see it. */
export function dumpKeras(file: string): Dump {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, 'dump', file], { maxBuffer: 1 << 28 }).toString()) as Dump;
}

/** Every float dataset's values, by path, as h5py reads them. */
export function kerasWeights(file: string): Record<string, number[]> {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, 'weights', file], { maxBuffer: 1 << 28 }).toString()) as Record<string, number[]>;
}
