/**
 * TF.js layers models: model.json (`modelTopology`: a Keras config, with or without the `model_config` wrapper and
 * the `format` field) plus weight shards. Loaded into the IR through the Keras converter; written back as model.json
 * and shards with the same topology, the layers' new sizes, and every weight in its original quantisation.
 */
import * as path from 'node:path';
import { PruneLensError } from '../../errors.js';
import { Model } from '../../ir/graph.js';
import { joinBytes, type ForeignSource, type NativeFiles, type TfjsArtifacts, type WriteOptions } from '../foreign.js';
import { readBack, retie, type Binding, type SourceValues } from '../layout.js';
import { updateLayerConfigs } from '../keras/config-update.js';
import { modelConfigOf, parseModel, type KLayer } from '../keras/model.js';
import { kerasToIr, type Owner, type SourceWeight, type WeightStore } from '../keras/to-ir.js';
import { readWeights, writeWeights, type WeightEntry } from './weights.js';

type Json = Record<string, unknown>;

/** Finds a layer's weights among manifest names: `layer/weight`, or with the enclosing models' names in front. */
export class ManifestStore implements WeightStore {
  private readonly taken = new Set<string>();

  constructor(private readonly values: Map<string, Float32Array | Int32Array>, private readonly entries: WeightEntry[]) {}

  get(scope: KLayer[], layer: KLayer, names: string[]): SourceWeight | undefined {
    for (const n of names) {
      const exact = [`${[...scope.map((l) => l.name), layer.name].join('/')}/${n}`, `${layer.name}/${n}`];
      let key = exact.find((k) => this.values.has(k)) ?? exact.map((k) => `${k}:0`).find((k) => this.values.has(k));
      if (!key) {
        // converters sometimes prefix the enclosing model's name; take a unique `…/layer/weight`
        const hits = [...this.values.keys()].filter((k) => k.replace(/:0$/, '').endsWith(`/${layer.name}/${n}`) && !this.taken.has(k));
        if (hits.length === 1) key = hits[0];
      }
      if (key) {
        this.taken.add(key);
        const e = this.entries.find((x) => x.name === key)!;
        const v = this.values.get(key)!;
        if (!(v instanceof Float32Array)) throw new PruneLensError(`weight '${key}' is ${e.dtype}; layer weights must be floats`, { code: 'bad-model' });
        return { key, dims: [...e.shape], values: v };
      }
    }
    return undefined;
  }

  unused(): string[] {
    return this.entries.map((e) => e.name).filter((n) => !this.taken.has(n));
  }
}

interface LayersDoc {
  json: Json;
  bindings: Binding[];
  owners: Map<string, Owner>;
  entries: WeightEntry[];
  values: Map<string, Float32Array | Int32Array>;
}

/** Loads a TF.js layers model.json already parsed from `file`. */
export function loadTfjsLayers(json: Json, file: string): Model {
  const where = path.basename(file);
  const topology = modelConfigOf(json.modelTopology);
  if (!topology) throw new PruneLensError(`${where}: modelTopology is not a Keras model config`, { code: 'bad-model' });
  const km = parseModel(topology, where);
  const w = readWeights(json.weightsManifest, path.dirname(file), where);
  const conv = kerasToIr(km, new ManifestStore(w.values, w.entries), {
    where, format: 'tfjs-layers', path: file, files: [file, ...w.files],
    producer: String(json.convertedBy ?? json.generatedBy ?? 'TensorFlow.js'), keras3: false,
  });
  const doc: LayersDoc = { json, bindings: conv.bindings, owners: conv.owners, entries: w.entries, values: w.values };
  const source: ForeignSource = {
    files: [file, ...new Set(w.files)],
    bytesPerWeight: w.bytesPerWeight,
    tied: conv.tied,
    write: async (model, main, opts) => writeTfjsLayers(doc, model, main, opts),
    rename: renameTfjs,
    retie: (model) => retie(model, doc.bindings),
    tfjs: async (files) => layersArtifacts(files),
  };
  const m = conv.model;
  return new Model('tfjs-layers', m.path, m.graph, m.meta, undefined, source);
}

/** Shard names beside `main`: TF.js's own `group1-shardNofM.bin` for model.json, else prefixed by the file's stem. */
export function shardNamer(main: string): (i: number, n: number) => string {
  const stem = main.replace(/\.json$/i, '');
  return (i, n) => `${stem === 'model' ? '' : `${stem}-`}group1-shard${i}of${n}.bin`;
}

function writeTfjsLayers(doc: LayersDoc, model: Model, main: string, opts: WriteOptions = {}): NativeFiles {
  const values = readBack(model, doc.bindings, opts);
  const json = structuredClone(doc.json);
  const topology = modelConfigOf(json.modelTopology)!;
  updateLayerConfigs(topology, doc.owners, values);
  return tfjsFiles(json, doc, values, main, opts);
}

/**
 * model.json and its shards (layers and graph models alike): each weight as read back from the IR, or as read from
 * the original when the IR no longer holds it; the manifest rewritten to match.
 */
export function tfjsFiles(
  json: Record<string, unknown>, doc: { entries: WeightEntry[]; values: Map<string, Float32Array | Int32Array> },
  values: Map<string, SourceValues>, main: string, opts: WriteOptions,
): NativeFiles {
  const w = writeWeights(
    doc.entries.map((entry) => {
      const v = values.get(entry.name);
      return { entry, shape: v?.dims ?? entry.shape, values: v?.values ?? doc.values.get(entry.name)! };
    }),
    opts.quantize ?? 'original',
    shardNamer(main),
  );
  json.weightsManifest = w.manifest;
  const files = new Map<string, Uint8Array>([[main, new TextEncoder().encode(JSON.stringify(json))], ...w.shards]);
  const notes = w.unquantised.length ? [`${w.unquantised.length} quantised weight(s) left their grid (recovery moved them) and are stored as float32: ${w.unquantised.slice(0, 3).join(', ')}${w.unquantised.length > 3 ? ', …' : ''}`] : [];
  return { main, files, notes };
}

/** The files of a TF.js model under another model.json name: shards renamed after it, the manifest's paths too. */
export function renameTfjs(files: NativeFiles, main: string): NativeFiles {
  if (main === files.main) return files;
  const json = JSON.parse(new TextDecoder().decode(files.files.get(files.main)!)) as Json;
  const name = shardNamer(main);
  const out = new Map<string, Uint8Array>();
  for (const g of json.weightsManifest as { paths: string[] }[]) {
    g.paths = g.paths.map((p, i) => {
      const to = name(i + 1, g.paths.length);
      out.set(to, files.files.get(p)!);
      return to;
    });
  }
  return { main, files: new Map([[main, new TextEncoder().encode(JSON.stringify(json))], ...out]), notes: files.notes };
}

/** TF.js artifacts of a model.json and its shards (as tf.io's loaders build them). */
export function layersArtifacts(files: NativeFiles): TfjsArtifacts {
  const json = JSON.parse(new TextDecoder().decode(files.files.get(files.main)!)) as Json;
  return artifactsOf(json, files, 'layers');
}

export function artifactsOf(json: Json, files: NativeFiles, kind: 'layers' | 'graph'): TfjsArtifacts {
  const groups = json.weightsManifest as { paths: string[]; weights: unknown[] }[];
  // our own reader checks what was written before TF.js sees it
  readWeights(groups, '', files.main, files.files);
  const parts = groups.flatMap((g) => g.paths.map((p) => files.files.get(p)!));
  return {
    kind, modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData: joinBytes(parts),
    format: json.format as string | undefined, signature: json.signature, userDefinedMetadata: json.userDefinedMetadata as Record<string, unknown> | undefined,
    modelInitializer: json.modelInitializer,
  };
}
