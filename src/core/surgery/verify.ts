import type { Model } from '../ir/graph.js';
import { createSession, ort } from '../runtime/ort.js';
import { syntheticFeeds } from '../runtime/feeds.js';

export interface Verification {
  /** Largest relative error over outputs: max |pruned − twin| / max |twin|. */
  maxRelError: number;
  /** Largest absolute difference over outputs. */
  maxAbsError: number;
  outputs: { name: string; relError: number; absError: number; scale: number }[];
  samples: number;
  /** What the models were run on: seeded random inputs, and real samples when given. */
  inputs: { random: { seeds: number[] }; real?: RealInputs['source'] };
  tolerance: number;
  passed: boolean;
}

/** Feeds made from labelled samples, with where they came from. */
export interface RealInputs {
  feeds: Record<string, ort.Tensor>[];
  source: { images: string; labels: string; samples: number };
}

export const TOLERANCE = 1e-4;
/**
 * Absolute floor: float32 rounding of the two orders of summation differs by ~1e-7, which is a large *relative*
 * error for outputs that are themselves near zero (e.g. a detector's probability map on noise).
 */
export const ABS_TOLERANCE = 1e-6;

/**
 * Compares the physically pruned model with the masked twin of the original (removed channels zeroed in every
 * member) on the same inputs: if surgery is right they compute the same function.
 */
export async function verifyAgainstTwin(
  pruned: Model,
  twin: Model,
  inputShapes: Record<string, number[]>,
  opts: { seeds?: number[]; real?: RealInputs } = {},
): Promise<Verification> {
  // Both keep the original's path, so external data resolves against its folder.
  const a = await createSession(pruned, { optimization: 'basic' });
  const b = await createSession(twin, { optimization: 'basic' });
  const seeds = opts.seeds ?? [11, 12];
  const feedsList = [...seeds.map((s) => syntheticFeeds(twin, inputShapes, s)), ...(opts.real?.feeds ?? [])];
  const worst = new Map<string, { relError: number; absError: number; scale: number }>();
  try {
    for (const feeds of feedsList) {
      const ra = await a.run(feeds);
      const rb = await b.run(feeds);
      for (const name of Object.keys(rb)) {
        const x = ra[name].data as ArrayLike<number>;
        const y = rb[name].data as ArrayLike<number>;
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < y.length; i++) {
          diff = Math.max(diff, Math.abs(Number(x[i]) - Number(y[i])));
          scale = Math.max(scale, Math.abs(Number(y[i])));
        }
        if (x.length !== y.length || Number.isNaN(diff)) diff = Infinity;
        const rel = diff / Math.max(scale, 1e-12);
        const w = worst.get(name) ?? { relError: 0, absError: 0, scale: 0 };
        worst.set(name, { relError: Math.max(w.relError, rel), absError: Math.max(w.absError, diff), scale: Math.max(w.scale, scale) });
      }
    }
  } finally {
    await a.release();
    await b.release();
  }
  const outputs = [...worst].map(([name, w]) => ({ name, ...w }));
  const maxRelError = Math.max(0, ...outputs.map((o) => o.relError));
  const maxAbsError = Math.max(0, ...outputs.map((o) => o.absError));
  const passed = outputs.every((o) => o.absError <= TOLERANCE * o.scale + ABS_TOLERANCE);
  const inputs = { random: { seeds }, ...(opts.real ? { real: opts.real.source } : {}) };
  return { maxRelError, maxAbsError, outputs, samples: feedsList.length, inputs, tolerance: TOLERANCE, passed };
}
