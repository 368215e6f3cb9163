import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Model } from '../ir/graph.js';
import { encodeOnnx } from '../formats/onnx/save.js';

export { ort };

export interface SessionOptions {
  /** Intra-op threads; 0 lets ONNX Runtime decide. */
  threads?: number;
  /** Graph optimisations: 'all' for timing real latency, 'basic' for probing intermediate values. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

/**
 * Creates an ONNX Runtime session from an IR model (serialised in memory) or a file path. External data
 * resolves against the model's own folder.
 */
export async function createSession(
  source: Model | Uint8Array | string,
  opts: SessionOptions & { externalDataDir?: string } = {},
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.optimization ?? 'all',
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  };
  let dir = opts.externalDataDir;
  let input: Uint8Array | string;
  if (typeof source === 'string') input = source;
  else if (source instanceof Uint8Array) input = source;
  else {
    input = encodeOnnx(source);
    if (!dir && source.path) dir = path.dirname(source.path);
  }
  if (dir && typeof input !== 'string') {
    options.extra = { session: { model_external_initializers_file_folder_path: dir } };
  }
  return typeof input === 'string' ? ort.InferenceSession.create(input, options) : ort.InferenceSession.create(input, options);
}
