/**
 * Keras 3 `.keras` archives: a zip of `metadata.json`, `config.json` (the serialised model) and `model.weights.h5`,
 * whose variables Keras stores by position under the path of the object that owns them: `layers/<class in
 * snake_case, numbered from _1 when repeated>/vars/<i>`, a nested model's layers under its own path's `layers/`
 * (keras/src/saving/saving_lib.py, _save_state and _save_container_state). Written back entry by entry as read,
 * with config.json's sizes and recorded shapes updated, the pruned variables resized, and the optimizer's
 * variables left out (their slots have the unpruned shapes).
 */
import * as path from 'node:path';
import JSZip from 'jszip';
import type { File } from 'h5wasm';
import { PruneLensError } from '../../errors.js';
import { Model } from '../../ir/graph.js';
import type { ForeignSource, NativeFiles, WriteOptions } from '../foreign.js';
import { retie } from '../layout.js';
import { datasetValues, prunedKeras } from './config-update.js';
import { copyTree, h5ready, isDataset, isGroup, newH5, readFloats, withH5 } from './hdf5.js';
import { parseModel, type KLayer, type KModel } from './model.js';
import { kerasArtifacts } from './tfjs-topology.js';
import { kerasToIr, type SourceWeight, type WeightStore } from './to-ir.js';
import { pyJson } from './util.js';

type Json = Record<string, unknown>;
const CONFIG = 'config.json';
const WEIGHTS = 'model.weights.h5';

/** keras.src.utils.naming.to_snake_case. */
export function snakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Each layer's path in model.weights.h5, as Keras 3 names them when it saves. */
export function variablePaths(km: KModel, prefix = 'layers', out = new Map<KLayer, string>()): Map<KLayer, string> {
  const used = new Map<string, number>();
  for (const l of km.layers) {
    const base = snakeCase(l.className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const p = `${prefix}/${n === undefined ? base : `${base}_${n + 1}`}`;
    out.set(l, p);
    if (l.inner) variablePaths(l.inner, `${p}/layers`, out);
  }
  return out;
}

class VarsStore implements WeightStore {
  readonly read = new Map<string, SourceWeight>();

  constructor(private readonly f: File, private readonly paths: Map<KLayer, string>, private readonly where: string) {}

  get(_scope: KLayer[], layer: KLayer, _names: string[], index: number): SourceWeight | undefined {
    const key = `${this.paths.get(layer)}/vars/${index}`;
    const d = this.f.get(key);
    if (!isDataset(d)) return undefined;
    const w = { key, ...readFloats(d, this.where) };
    this.read.set(key, w);
    return w;
  }

  unused(): string[] {
    const out: string[] = [];
    for (const p of this.paths.values()) {
      const g = this.f.get(`${p}/vars`);
      if (isGroup(g)) for (const k of g.keys()) if (!this.read.has(`${p}/vars/${k}`)) out.push(`${p}/vars/${k}`);
    }
    return out;
  }
}

interface ArchiveDoc {
  entries: { name: string; bytes: Uint8Array }[];
  config: Json;
}

export async function loadKeras(bytes: Uint8Array, file: string): Promise<Model> {
  await h5ready();
  const where = path.basename(file);
  const read = await readArchive(bytes, where, file);
  const conv = read.conv;
  const source: ForeignSource = {
    files: [file],
    tied: conv.tied,
    write: (m, main, opts) => writeArchive(read.doc, conv, m, main, opts),
    rename: (files, main) => ({ ...files, main, files: new Map([[main, files.files.get(files.main)!]]) }),
    retie: (m) => retie(m, conv.bindings),
    tfjs: async (files) => {
      const back = await readArchive(files.files.get(files.main)!, files.main, '');
      return kerasArtifacts(back.km, back.conv.owners, back.weights);
    },
  };
  const m = conv.model;
  return new Model('keras', m.path, m.graph, { ...m.meta, metadata: read.metadata }, undefined, source);
}

async function readArchive(bytes: Uint8Array, where: string, file: string) {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes);
  } catch (e) {
    throw new PruneLensError(`${where}: not a readable zip archive (${(e as Error).message})`, { code: 'bad-model' });
  }
  const names = Object.keys(zip.files).filter((n) => !zip.files[n].dir);
  if (!names.includes(CONFIG) || !(names.includes(WEIGHTS) || names.includes('model.weights.npz'))) {
    throw new PruneLensError(`${where}: a zip archive that is not a Keras model (.keras files hold ${CONFIG} and ${WEIGHTS}; this one has ${names.slice(0, 5).join(', ') || 'nothing'})`, { code: 'bad-model' });
  }
  if (!names.includes(WEIGHTS)) throw new PruneLensError(`${where}: weights stored as model.weights.npz are not supported (only ${WEIGHTS})`, { code: 'unsupported' });
  const entries = await Promise.all(names.map(async (name) => ({ name, bytes: await zip.file(name)!.async('uint8array') })));
  const text = (n: string) => new TextDecoder().decode(entries.find((e) => e.name === n)!.bytes);
  let config: Json;
  try {
    config = JSON.parse(text(CONFIG)) as Json;
  } catch (e) {
    throw new PruneLensError(`${where}: ${CONFIG} is not valid JSON (${(e as Error).message})`, { code: 'bad-model' });
  }
  let version = '';
  try {
    version = String((JSON.parse(text('metadata.json')) as Json).keras_version ?? '');
  } catch {
    // metadata.json is optional
  }
  const km = parseModel(config, where);
  const weightsBytes = entries.find((e) => e.name === WEIGHTS)!.bytes;
  return withH5(weightsBytes, `${where}: ${WEIGHTS}`, (f) => {
    const store = new VarsStore(f, variablePaths(km), `${where}: ${WEIGHTS}`);
    const conv = kerasToIr(km, store, { where, format: 'keras', path: file, files: [file], producer: `Keras ${version}`.trim(), keras3: true });
    const metadata: Record<string, string> = version ? { keras_version: version } : {};
    return { km, conv, weights: store.read, metadata, doc: { entries, config } as ArchiveDoc };
  });
}

async function writeArchive(doc: ArchiveDoc, conv: ReturnType<typeof kerasToIr>, model: Model, main: string, opts: WriteOptions = {}): Promise<NativeFiles> {
  const { values, config } = prunedKeras(doc.config, conv, model, opts);
  const notes: string[] = [];
  const weights = withH5(doc.entries.find((e) => e.name === WEIGHTS)!.bytes, WEIGHTS, (src) => newH5((dst) => {
    copyTree(
      src, dst,
      datasetValues(values),
      (p) => {
        if (p !== '/optimizer') return false;
        notes.push('the optimizer\'s variables were left out: their slots have the unpruned shapes');
        return true;
      },
    );
  }));
  const zip = new JSZip();
  // entries in their order, stored uncompressed as Keras stores them
  for (const e of doc.entries) {
    const data = e.name === CONFIG ? new TextEncoder().encode(pyJson(config)) : e.name === WEIGHTS ? weights : e.bytes;
    zip.file(e.name, data, { compression: 'STORE', date: new Date(0) });
  }
  const bytes = await zip.generateAsync({ type: 'uint8array', compression: 'STORE' });
  return { main, files: new Map([[main, bytes]]), notes };
}
