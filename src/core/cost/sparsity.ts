import { isFloat } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';

/** Fraction of weight elements (float constants with more than one element) that are exactly zero. */
export function sparsity(model: Model): number {
  let zeros = 0;
  let total = 0;
  for (const t of model.graph.constantTable().values()) {
    if (!isFloat(t.dtype) || t.size <= 1) continue;
    const d = t.toFloat32();
    for (let i = 0; i < d.length; i++) if (d[i] === 0) zeros++;
    total += d.length;
  }
  return total ? zeros / total : 0;
}
