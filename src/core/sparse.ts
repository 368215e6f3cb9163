/** Orchestrates unstructured / N:M sparsification: zero weights, save, and say plainly what it does not buy. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalyseOptions } from './api.js';
import { PruneLensError } from './errors.js';
import { loadModel } from './formats/index.js';
import { saveOnnx } from './formats/onnx/save.js';
import { sparsify, type Sparsity } from './surgery/sparsify.js';

export interface SparseReport {
  input: string;
  output: string;
  sparsity: Sparsity;
  zeroedWeights: number;
  weights: number;
  bytes: number;
  note: string;
}

export async function sparsifyModel(file: string, out: string, s: Sparsity, opts: AnalyseOptions & { overwrite?: boolean } = {}): Promise<SparseReport> {
  if (s.kind === 'unstructured' && !(s.ratio >= 0 && s.ratio < 1)) throw new PruneLensError(`--sparsity must be in [0, 1), got ${s.ratio}`);
  if (s.kind === 'nm' && !(Number.isInteger(s.n) && Number.isInteger(s.m) && s.n > 0 && s.n < s.m)) throw new PruneLensError(`--nm N:M needs whole numbers 0 < N < M, e.g. 2:4`);
  if (path.resolve(out) === path.resolve(file)) throw new PruneLensError('the output must not be the input file (the original is never modified)');
  if (!opts.overwrite && fs.existsSync(out)) throw new PruneLensError(`${out} already exists (pass --force to replace it)`);
  const model = await loadModel(file, opts);
  const { zeroed, total } = sparsify(model, s);
  const saved = saveOnnx(model, out, { overwrite: opts.overwrite });
  return {
    input: path.resolve(file),
    output: path.resolve(out),
    sparsity: s,
    zeroedWeights: zeroed,
    weights: total,
    bytes: saved.bytes + (saved.dataBytes ?? 0),
    note: 'Zeroed weights keep every tensor dense: the file is no smaller and ONNX Runtime\'s dense CPU kernels run no faster. ' +
      'Remove channels (--ratio or --plan) for real speed.',
  };
}
