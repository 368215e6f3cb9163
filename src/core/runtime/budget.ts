/**
 * Memory budgets of ONNX Runtime work, checked from the static shapes before anything runs: a declared input of
 * 1×3×12000×12000, a recipe with a batch of 3,000,000 or an Expand to 1×3×40000×40000 is refused in one line that
 * names the shape and the option that changes it, instead of exhausting the machine.
 */
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { bytesPerElement } from '../ir/dtype.js';
import { formatBytes, maxRunBytes } from '../limits.js';
import type { TensorType } from '../shapes/types.js';

export interface RunEstimate {
  /** Bytes the run needs by the static shapes (inputs and activations). */
  bytes: number;
  /** The largest single value, to name in a refusal. */
  largest?: { name: string; dims: number[]; bytes: number };
}

export function typeBytes(t: TensorType): number {
  return t.dims.reduce((a, b) => a * b, 1) * Math.max(bytesPerElement(t.dtype), 1);
}

/** The largest of some values (by their known types). */
export function largestValue(types: Map<string, TensorType>, names: Iterable<string>): RunEstimate['largest'] {
  let best: RunEstimate['largest'];
  for (const name of names) {
    const t = types.get(name);
    if (!t) continue;
    const bytes = typeBytes(t);
    if (!best || bytes > best.bytes) best = { name, dims: t.dims, bytes };
  }
  return best;
}

export interface FitOptions {
  /** What runs, e.g. "the shape probe of m.onnx", "verifying the pruned model". */
  what: string;
  /** The input shapes it runs at (named in the message). */
  inputs: Record<string, number[]>;
  /** The option that sets those shapes (default inputShapes; a recipe's shapes point at the recipe). */
  option?: OptionName;
  /** Samples per run when they differ from the inputs' batch (scans, evaluation). */
  samples?: number;
}

/** Refuses a run whose estimate is over the limit (maxRunBytes), naming the shape and the option. */
export function assertRunFits(e: RunEstimate, opts: FitOptions): void {
  const limit = maxRunBytes();
  if (e.bytes <= limit) return;
  const at = Object.entries(opts.inputs).map(([k, d]) => `${k}=${d.join('x')}`).join(', ');
  const largest = e.largest && e.largest.bytes > e.bytes / 8 ? ` ('${e.largest.name}' alone is ${e.largest.dims.join('x')}, ${formatBytes(e.largest.bytes)})` : '';
  const samples = opts.samples !== undefined ? ` with ${opts.samples} samples per run` : '';
  throw new PruneLensError(
    `${opts.what} at ${at}${samples} needs about ${formatBytes(e.bytes)}${largest}, more than the ${formatBytes(limit)} ` +
      `one ONNX Runtime run may take (PRUNELENS_MAX_RUN_MB): give smaller ${opts.samples !== undefined ? 'batches or input shapes' : 'input shapes'}`,
    { code: 'too-large', option: opts.option ?? 'inputShapes' },
  );
}
