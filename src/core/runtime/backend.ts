/**
 * Execution backends behind one interface (as onnxruntime's js/ has common/ with node/ and web/ behind it): ONNX
 * Runtime runs the IR of any model; TF.js runs TF.js and Keras models as their own files, so what is verified and
 * timed for them is what their users run. Only src/core/runtime/tfjs.ts imports TF.js, and only when asked.
 */
import type { TfjsArtifacts } from '../formats/foreign.js';
import type { Model } from '../ir/graph.js';
import { createSession, ort, type SessionOptions } from './ort.js';

export type HostData = Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array;

/** A tensor in plain memory, as every backend takes and gives it. */
export interface HostTensor {
  dims: number[];
  data: HostData;
}

export type HostFeeds = Record<string, HostTensor>;

export interface Runner {
  /** e.g. 'onnxruntime (cpu)', 'tfjs (wasm, 2 threads)'. */
  readonly backend: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs once; outputs keyed by `outputNames`. */
  run(feeds: HostFeeds): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

/** ONNX Runtime on the CPU: an IR model, its bytes, or a file. */
export async function ortRunner(source: Model | Uint8Array | string, opts: SessionOptions = {}): Promise<Runner> {
  const s = await createSession(source, opts);
  return {
    backend: 'onnxruntime (cpu)',
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds) {
      const f = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(ortType(t.data), t.data as Float32Array, t.dims)]));
      const r = await s.run(f);
      return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, { dims: [...t.dims], data: t.data as HostData }]));
    },
    release: () => s.release(),
  };
}

function ortType(d: HostData): 'float32' | 'int32' | 'uint8' | 'int64' | 'float64' {
  if (d instanceof Float32Array) return 'float32';
  if (d instanceof Int32Array) return 'int32';
  if (d instanceof Uint8Array) return 'uint8';
  if (d instanceof BigInt64Array) return 'int64';
  return 'float64';
}

export interface TfjsOptions {
  /** wasm threads (0: TF.js's default). */
  threads?: number;
  /** The IR's input and output names, in the model's order (TF.js names layers models' tensors by layer). */
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/** TF.js on its fastest available backend (tfjs-node when installed, else wasm) for a TF.js or Keras model's files. */
export async function tfjsRunner(artifacts: TfjsArtifacts, opts: TfjsOptions): Promise<Runner> {
  const { loadTfjsRunner } = await import('./tfjs.js');
  return loadTfjsRunner(artifacts, opts);
}
