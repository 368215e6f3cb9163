/**
 * Legacy Keras HDF5 models (`model.save('m.h5')`, Keras 2 and Keras 3's legacy writer): the root attribute
 * `model_config` (JSON), and `model_weights/<layer>/` groups whose `weight_names` attribute lists dataset paths
 * inside the group (`conv2d/kernel:0`; a nested model's group holds all its layers' weights). Written back as read,
 * with the pruned datasets resized, the config's sizes updated, and the optimizer state left out (its slots have the
 * old shapes; a pruned model is fine-tuned afresh).
 */
import * as path from 'node:path';
import { PruneLensError } from '../../errors.js';
import { Model } from '../../ir/graph.js';
import type { File } from 'h5wasm';
import type { ForeignSource, NativeFiles, WriteOptions } from '../foreign.js';
import { retie } from '../layout.js';
import { datasetValues, prunedKeras } from './config-update.js';
import { copyTree, h5ready, isDataset, isGroup, newH5, readFloats, stringAttr, withH5 } from './hdf5.js';
import { parseModel, type KLayer } from './model.js';
import { kerasArtifacts } from './tfjs-topology.js';
import { kerasToIr, type SourceWeight, type WeightStore } from './to-ir.js';
import { pyJson } from './util.js';

type Json = Record<string, unknown>;

/** Weights of `model_weights/<top layer>/`, matched by `weight_names` (`layer/weight:0`, or with scopes in front). */
class LegacyStore implements WeightStore {
  readonly read = new Map<string, SourceWeight>();
  private readonly names = new Map<string, string[]>();

  constructor(private readonly f: File, private readonly where: string) {}

  private weightNames(top: string): string[] {
    let n = this.names.get(top);
    if (!n) {
      const g = this.f.get(`model_weights/${top}`);
      const v = isGroup(g) ? stringAttr(g, 'weight_names') : undefined;
      n = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
      this.names.set(top, n);
    }
    return n;
  }

  get(scope: KLayer[], layer: KLayer, names: string[]): SourceWeight | undefined {
    const top = (scope[0] ?? layer).name;
    const list = this.weightNames(top);
    for (const n of names) {
      const hit = list.find((w) => w.replace(/:\d+$/, '') === `${layer.name}/${n}`)
        ?? list.find((w) => w.replace(/:\d+$/, '').endsWith(`/${layer.name}/${n}`));
      if (!hit) continue;
      const key = `model_weights/${top}/${hit}`;
      const d = this.f.get(key);
      if (!isDataset(d)) throw new PruneLensError(`${this.where}: weight '${hit}' of layer '${top}' is listed but has no dataset`, { code: 'bad-model' });
      const w = { key, ...readFloats(d, this.where) };
      this.read.set(key, w);
      return w;
    }
    return undefined;
  }

  unused(): string[] {
    const out: string[] = [];
    const g = this.f.get('model_weights');
    if (!isGroup(g)) return out;
    for (const top of g.keys()) for (const w of this.weightNames(top)) if (!this.read.has(`model_weights/${top}/${w}`)) out.push(`${top}/${w}`);
    return out;
  }
}

interface H5Doc {
  bytes: Uint8Array;
  config: Json;
}

export async function loadKerasH5(bytes: Uint8Array, file: string): Promise<Model> {
  await h5ready();
  const where = path.basename(file);
  const { model, doc } = readH5(bytes, where, file);
  const conv = model.conv;
  const source: ForeignSource = {
    files: [file],
    tied: conv.tied,
    write: async (m, main, opts) => writeH5(doc, conv, m, main, opts),
    rename: (files, main) => ({ ...files, main, files: new Map([[main, files.files.get(files.main)!]]) }),
    retie: (m) => retie(m, conv.bindings),
    tfjs: async (files) => {
      const back = readH5(files.files.get(files.main)!, files.main, '');
      return kerasArtifacts(back.km, back.model.conv.owners, back.weights);
    },
  };
  const m = conv.model;
  return new Model('keras-h5', m.path, m.graph, { ...m.meta, metadata: model.metadata }, undefined, source);
}

function readH5(bytes: Uint8Array, where: string, file: string) {
  return withH5(bytes, where, (f) => {
    const config = stringAttr(f, 'model_config');
    if (typeof config !== 'string') {
      // save_weights files list layer_names at the root (Keras 2), or hold Keras 3's layers/…/vars groups
      const weightsOnly = stringAttr(f, 'layer_names') !== undefined || isGroup(f.get('layers')) || isGroup(f.get('model_weights'));
      throw new PruneLensError(
        weightsOnly ? `${where}: an HDF5 file of weights only (save_weights) has no model_config: save the whole model`
          : `${where}: an HDF5 file without model_config is not a Keras model`,
        { code: 'bad-model' },
      );
    }
    let json: Json;
    try {
      json = JSON.parse(config) as Json;
    } catch (e) {
      throw new PruneLensError(`${where}: model_config is not valid JSON (${(e as Error).message})`, { code: 'bad-model' });
    }
    if (!isGroup(f.get('model_weights'))) throw new PruneLensError(`${where}: a Keras HDF5 model without model_weights`, { code: 'bad-model' });
    const version = String(stringAttr(f, 'keras_version') ?? '');
    const km = parseModel(json, where);
    const store = new LegacyStore(f, where);
    const conv = kerasToIr(km, store, {
      where, format: 'keras-h5', path: file, files: [file], producer: `Keras ${version}`.trim(), keras3: /^3\./.test(version),
    });
    const metadata: Record<string, string> = { ...(version ? { keras_version: version } : {}) };
    return { km, weights: store.read, model: { conv, metadata }, doc: { bytes, config: json } as H5Doc };
  });
}

function writeH5(doc: H5Doc, conv: ReturnType<typeof kerasToIr>, model: Model, main: string, opts: WriteOptions = {}): NativeFiles {
  const { values, config } = prunedKeras(doc.config, conv, model, opts);
  const notes: string[] = [];
  const bytes = withH5(doc.bytes, main, (src) => newH5((dst) => {
    copyTree(
      src, dst,
      datasetValues(values),
      (p) => {
        if (p !== '/optimizer_weights') return false;
        notes.push('the optimizer state (optimizer_weights) was left out: its slots have the unpruned shapes');
        return true;
      },
      (p, name) => (p === '/' && name === 'model_config' ? pyJson(config) : undefined),
    );
  }));
  return { main, files: new Map([[main, bytes]]), notes };
}
