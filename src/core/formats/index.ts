import * as fs from 'node:fs';
import * as path from 'node:path';
import { PruneLensError, throwIfCancelled } from '../errors.js';
import { Model } from '../ir/graph.js';
import type { TaskOptions } from '../progress.js';
import JSZip from 'jszip';
import { ExternalData } from './onnx/external.js';
import { decodeOnnx, forEachTensorProto } from './onnx/load.js';
import { encodeOnnx, syncOnnx } from './onnx/save.js';
import { openRegular } from '../util/files.js';
import { loadTfjsJson } from './tfjs/index.js';
import { loadKeras, loadKerasH5 } from './keras/index.js';

export type DetectedFormat = 'onnx' | 'tfjs' | 'keras' | 'hdf5' | 'unknown';

/** Format by content first (Netron's lesson: extensions lie), extension second. */
export function detectFormat(head: Uint8Array, file: string): DetectedFormat {
  const ext = path.extname(file).toLowerCase();
  if (head[0] === 0x50 && head[1] === 0x4b) return 'keras'; // zip: .keras archive
  if (head[0] === 0x89 && head[1] === 0x48 && head[2] === 0x44 && head[3] === 0x46) return 'hdf5';
  const first = String.fromCharCode(...head.slice(0, 64)).trimStart();
  if (first.startsWith('{') && (ext === '.json' || first.includes('"modelTopology"') || first.includes('"format"')))
    return 'tfjs';
  // ONNX is a protobuf whose first field is usually ir_version (tag 0x08); accept any protobuf-looking start.
  if (ext === '.onnx' || head[0] === 0x08 || head[0] === 0x0a || head[0] === 0x12 || head[0] === 0x1a) return 'onnx';
  return 'unknown';
}

/** Reads the whole file with progress; ONNX protobufs are decoded from one buffer without copying weights. */
async function readFileWithProgress(file: string, opts: TaskOptions): Promise<Uint8Array> {
  // a regular file only: a FIFO named .onnx would block the read for ever
  const { fd, size } = openRegular(file, { what: 'model file', code: 'bad-model' });
  try {
    const buf = new Uint8Array(size);
    const chunk = 32 << 20;
    let done = 0;
    while (done < size) {
      throwIfCancelled(opts.signal);
      const bytesRead = await readAt(fd, buf, done, Math.min(chunk, size - done));
      if (bytesRead === 0) break;
      done += bytesRead;
      opts.onProgress?.({ phase: 'read', done, total: size });
    }
    return buf.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

const readAt = (fd: number, buf: Uint8Array, offset: number, length: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buf, offset, length, offset, (e, n) => (e ? reject(e) : resolve(n))));

export interface LoadOptions extends TaskOptions {}

/** Loads any supported model file into the IR. Errors are PruneLensErrors naming the file and the problem. */
export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Model> {
  const bytes = await readFileWithProgress(file, opts);
  const shown = path.basename(file);
  if (bytes.length === 0) throw new PruneLensError(`${shown}: file is empty`, { code: 'bad-model' });
  const format = detectFormat(bytes.subarray(0, 64), file);
  switch (format) {
    case 'onnx': {
      opts.onProgress?.({ phase: 'decode', done: 0, total: 1 });
      const model = decodeOnnx(bytes, file);
      opts.onProgress?.({ phase: 'decode', done: 1, total: 1 });
      return model;
    }
    case 'keras':
      if (await isNumpyArchive(bytes)) {
        throw new PruneLensError(`${shown} is a NumPy .npz archive (data), not a model: pass it as data (--data) to scan, prune or eval`, { code: 'bad-model' });
      }
      return loadKeras(bytes, path.resolve(file));
    case 'tfjs':
      return loadTfjsJson(bytes, path.resolve(file));
    case 'hdf5':
      return loadKerasH5(bytes, path.resolve(file));
    default:
      throw new PruneLensError(`${shown}: not a model file PruneLens recognises (expected ONNX, a TF.js model.json, .keras or Keras .h5)`, { code: 'bad-model' });
  }
}

/**
 * An independent copy of a loaded model (surgery and masking edit copies; the session's model stays as loaded).
 * External data still resolves against the original's folder.
 */
export function cloneModel(model: Model): Model {
  const copy = decodeOnnx(encodeOnnx(model), model.path);
  // a converted model stays what its file is: its copies are written back through the same source
  return model.format === 'onnx' ? copy : new Model(model.format, copy.path, copy.graph, copy.meta, copy.origin, model.source);
}

/** A zip whose entries are .npy arrays: NumPy's .npz, which people pass where a model goes. */
async function isNumpyArchive(bytes: Uint8Array): Promise<boolean> {
  try {
    const zip = await JSZip.loadAsync(bytes);
    const names = Object.keys(zip.files);
    return names.length > 0 && names.every((n) => n.endsWith('.npy') || n.endsWith('/'));
  } catch {
    return false;
  }
}

/** The files a loaded model reads: the model file, then its external data files (each once, by real path). */
export function modelFiles(model: Model): string[] {
  if (model.source) return [...model.source.files];
  if (!model.path) return [];
  const files = new Set<string>([model.path]);
  const ext = new ExternalData(path.dirname(model.path), path.basename(model.path));
  forEachTensorProto(syncOnnx(model), (t) => {
    const ref = ext.ref(t);
    if (ref) files.add(ref.file);
  });
  return [...files];
}
