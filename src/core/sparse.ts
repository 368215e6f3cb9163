/** Unstructured / N:M sparsification: zero weights, save, and say plainly what it does not buy. */
import * as path from 'node:path';
import type { SparsityReport } from '../shared/types.js';
import { invalid } from './errors.js';
import { cloneModel } from './formats/index.js';
import { saveOnnx } from './formats/onnx/save.js';
import type { Model } from './ir/graph.js';
import { sparsify, type Sparsity } from './surgery/sparsify.js';

export type { SparsityReport } from '../shared/types.js';

export function checkSparsity(s: Sparsity): void {
  if (s.kind === 'unstructured' && !(s.ratio >= 0 && s.ratio < 1)) throw invalid('sparsity', `must be in [0, 1), got ${s.ratio}`);
  if (s.kind === 'nm' && !(Number.isInteger(s.n) && Number.isInteger(s.m) && s.n > 0 && s.n < s.m)) throw invalid('nm', 'needs whole numbers 0 < N < M, e.g. 2:4');
}

/** Zeroes weights of a copy of `model` and saves it to `out`. */
export function sparsifyModel(model: Model, out: string, s: Sparsity, opts: { overwrite?: boolean } = {}): SparsityReport {
  checkSparsity(s);
  const copy = cloneModel(model);
  const { zeroed, total } = sparsify(copy, s);
  const saved = saveOnnx(copy, out, { overwrite: opts.overwrite });
  return {
    input: model.path,
    output: path.resolve(out),
    sparsity: s,
    zeroedWeights: zeroed,
    weights: total,
    bytes: saved.bytes + (saved.dataBytes ?? 0),
    note: 'Zeroed weights keep every tensor dense: the file is no smaller and ONNX Runtime\'s dense CPU kernels run no faster. ' +
      'Remove channels (a ratio or a plan) for real speed.',
  };
}
