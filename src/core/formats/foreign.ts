/**
 * What a format other than ONNX gives the engine besides the IR: how to write a (pruned) IR back in the file's own
 * format, and the TF.js artifacts of files it wrote, so they can be run as the user will run them.
 */
import { PruneLensError } from '../errors.js';
import type { Model, SourceDocument } from '../ir/graph.js';
import type { Quantize } from './tfjs/weights.js';

export type { Quantize } from './tfjs/weights.js';

/** Files of one saved model: names relative to the output's folder, the model file first. */
export interface NativeFiles {
  main: string;
  files: Map<string, Uint8Array>;
  /** What writing did that the user should know (weights re-quantised with a new range, optimizer state dropped). */
  notes: string[];
}

/** What tf.io.fromMemory takes (kept as plain data so this module needs no TF.js import). */
export interface TfjsArtifacts {
  kind: 'layers' | 'graph';
  modelTopology: unknown;
  weightSpecs: unknown[];
  weightData: ArrayBuffer;
  format?: string;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
}

export interface WriteOptions {
  /** 'original' (default): every weight keeps the quantisation it was read with; 'none': all float32. */
  quantize?: Quantize;
  /** Take a shared layer's weights from its first call even when the calls differ (the perturbed copy of the noise estimate). */
  firstReader?: boolean;
}

export interface ForeignSource extends SourceDocument {
  /** Writes `model` (this source's IR, pruned or masked) as files of this format; `main` names the model file. */
  write(model: Model, main: string, opts?: WriteOptions): Promise<NativeFiles>;
  /** The same files for another model file name (TF.js names its shards after it). */
  rename(files: NativeFiles, main: string): NativeFiles;
  /** After surgery: a shared layer's per-call copies made one tensor again, as the format holds them. */
  retie(model: Model): void;
  /** TF.js artifacts for files this format wrote, read back from the bytes (never from the IR). */
  tfjs(files: NativeFiles): Promise<TfjsArtifacts>;
}

export function foreignSource(model: Model): ForeignSource | undefined {
  return model.format === 'onnx' ? undefined : (model.source as ForeignSource | undefined);
}

/** Joins byte arrays (shards) into one buffer. */
export function joinBytes(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.buffer;
}

const EXTENSIONS: Record<string, string[]> = { 'tfjs-layers': ['.json'], 'tfjs-graph': ['.json'], keras: ['.keras'], 'keras-h5': ['.h5', '.hdf5'] };

/** A TF.js or Keras model is saved in its own format: an output named for another (x.onnx) is refused before writing. */
export function checkNativeName(model: Model, out: string): void {
  const want = EXTENSIONS[model.format];
  const ext = out.slice(out.lastIndexOf('.')).toLowerCase();
  if (want && !want.includes(ext)) {
    throw new PruneLensError(`${out}: a ${model.format} model is saved in its own format, as a ${want.join(' or ')} file`, { code: 'invalid-option', option: 'output' });
  }
}
