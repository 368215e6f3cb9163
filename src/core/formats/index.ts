import * as fs from 'node:fs';
import * as path from 'node:path';
import { PruneLensError, throwIfCancelled } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { TaskOptions } from '../progress.js';
import JSZip from 'jszip';
import type { TensorProto } from 'onnx-buf';
import { decodeOnnx } from './onnx/load.js';
import { externalRef } from './onnx/tensor.js';
import { encodeOnnx } from './onnx/save.js';

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
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PruneLensError(
      code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file}: is a folder, not a model file` : `${file}: cannot open (${code})`,
      { code: code === 'ENOENT' ? 'file-not-found' : 'bad-model' },
    );
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new PruneLensError(`${file}: is a folder, not a model file`, { code: 'bad-model' });
    if (!stat.isFile()) throw new PruneLensError(`${file}: not a regular file`, { code: 'bad-model' });
    const size = stat.size;
    const buf = new Uint8Array(size);
    const chunk = 32 << 20;
    let done = 0;
    while (done < size) {
      throwIfCancelled(opts.signal);
      const { bytesRead } = await handle.read(buf, done, Math.min(chunk, size - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
      opts.onProgress?.({ phase: 'read', done, total: size });
    }
    return buf.subarray(0, done);
  } finally {
    await handle.close();
  }
}

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
      throw new PruneLensError(`${shown}: keras models are not supported yet (ONNX only in this version)`, { code: 'unsupported' });
    case 'tfjs':
    case 'hdf5':
      throw new PruneLensError(`${shown}: ${format} models are not supported yet (ONNX only in this version)`, { code: 'unsupported' });
    default:
      throw new PruneLensError(`${shown}: not a model file PruneLens recognises (expected ONNX)`, { code: 'bad-model' });
  }
}

/**
 * An independent copy of a loaded model (surgery and masking edit copies; the session's model stays as loaded).
 * External data still resolves against the original's folder.
 */
export function cloneModel(model: Model): Model {
  return decodeOnnx(encodeOnnx(model), model.path);
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

/** The files a loaded model reads: the model file, then its external data files (each once). */
export function modelFiles(model: Model): string[] {
  const files = new Set<string>([model.path]);
  if (!model.path) return [];
  const dir = path.dirname(model.path);
  for (const g of model.graph.allGraphs()) {
    const tensors = [...g.initializers.values(), ...g.nodes.flatMap((n) => [...n.attrs.values()].flatMap((a) => (a.type === 'tensor' ? [a.value] : [])))];
    for (const t of tensors) {
      const ref = t.origin ? externalRef(t.origin as TensorProto, dir, path.basename(model.path)) : undefined;
      if (ref) files.add(ref.file);
    }
  }
  return [...files];
}
