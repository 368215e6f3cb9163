/**
 * Verification: the physically pruned model must compute what the masked original (the twin) computes. The two
 * differ by float32 rounding only, since they sum the same terms in different orders; how large that rounding gets
 * depends on the network (depth, widths, normalisations), so the tolerance comes from the model itself: the twin
 * against a copy of itself with every weight moved by one rounding step. A structural mistake (a wrong channel, a
 * misaligned Concat) moves outputs by orders of magnitude more.
 */
import type { Verification } from '../../shared/types.js';
import { isConfigInput } from '../cost/cost.js';
import { cloneModel } from '../formats/index.js';
import { encodeOnnx } from '../formats/onnx/save.js';
import type { Model } from '../ir/graph.js';
import { boundedOutputs, excitingInputs, OutputStats, SYNTHETIC_DESCRIPTION } from '../data/synthetic.js';
import { createSession, type Feeds } from '../runtime/ort.js';
import { rng } from '../util/random.js';
import * as path from 'node:path';

export type { Verification } from '../../shared/types.js';

/** Real samples to verify on besides the random inputs, and what they are. */
export interface RealInputs {
  feeds: Feeds[];
  description: string;
  samples: number;
}

/**
 * Tolerance = max(FACTOR × the twin's own rounding noise, REL_FLOOR × the output's scale + ABS_FLOOR). On 15 real
 * and torchvision models at 30 % and 70 % the pruned model's error was at most 1.8× that noise, so 16 leaves a wide
 * margin, while a misplaced channel is still 20–1000× off.
 */
export const NOISE_FACTOR = 16;
export const REL_FLOOR = 1e-6;
/** Only keeps an all-zero output from needing an exact zero difference. */
export const ABS_FLOOR = 1e-12;

/**
 * A copy of the model with every float32 weight moved by one rounding step (relative 2⁻²³), in a seeded direction.
 * Constants that configure an op (Resize scales, Clip bounds, pads) stay: moving them changes shapes, not rounding.
 */
export function perturbed(model: Model, seed = 7): Model {
  const copy = cloneModel(model);
  const next = rng(seed);
  for (const g of copy.graph.allGraphs()) {
    const consts = g.constantTable();
    const config = new Set(g.nodes.flatMap((n) => n.inputs.filter((v, i) => v && isConfigInput(n, i)).map((v) => consts.get(v))));
    for (const t of new Set(consts.values())) {
      if (t.dtype !== 'float32' || t.size < 2 || config.has(t)) continue;
      const v = Float32Array.from(t.toFloat32());
      for (let i = 0; i < v.length; i++) v[i] *= 1 + (next() < 0.5 ? -1 : 1) * 2 ** -23;
      t.replaceBytes(t.dims, new Uint8Array(v.buffer));
    }
  }
  return copy;
}

/**
 * Compares the pruned model with the masked twin. `original` (the unpruned model) picks synthetic inputs that make it
 * say something and tells whether the pruned model went silent where the original did not; without it the twin picks.
 */
export async function verifyAgainstTwin(
  pruned: Model | Uint8Array,
  twin: Model,
  inputShapes: Record<string, number[]>,
  opts: { seeds?: number[]; real?: RealInputs; values?: Record<string, number>; original?: Model; feedsOut?: Feeds[] } = {},
): Promise<Verification> {
  // all three read external data from the original's folder
  const externalDataDir = twin.path ? path.dirname(twin.path) : undefined;
  const sessions = [
    await createSession(pruned, { optimization: 'basic', externalDataDir }),
    await createSession(encodeOnnx(twin), { optimization: 'basic', externalDataDir }),
    await createSession(encodeOnnx(perturbed(twin)), { optimization: 'basic', externalDataDir }),
  ];
  const seeds = opts.seeds ?? [11, 12];
  const worst = new Map<string, { relError: number; absError: number; scale: number; noise: number }>();
  const stats = new Map<string, OutputStats>();
  let random: Verification['inputs']['random'] = { seeds, kind: 'gaussian', description: SYNTHETIC_DESCRIPTION.gaussian };
  let feedsList: Feeds[] = [];
  const reference = opts.original ? await createSession(opts.original, { optimization: 'basic', externalDataDir }) : sessions[1];
  const originalStats = new Map<string, OutputStats>();
  try {
    // inputs that make the original say something: two silent models always agree
    const chosen = await excitingInputs(twin, (f) => reference.run(f), inputShapes, { seeds, values: opts.values });
    random = { seeds, kind: chosen.kind, description: chosen.description };
    feedsList = [...chosen.feeds, ...(opts.real?.feeds ?? [])];
    // a TF.js or Keras model's own files are verified on the same inputs
    opts.feedsOut?.push(...feedsList);
    for (const feeds of opts.original ? feedsList : []) {
      const r = await reference.run(feeds);
      for (const [name, t] of Object.entries(r)) originalStats.set(name, (originalStats.get(name) ?? new OutputStats()).add(t.data as ArrayLike<number>));
    }
    for (const feeds of feedsList) {
      const [ra, rb, rc] = [await sessions[0].run(feeds), await sessions[1].run(feeds), await sessions[2].run(feeds)];
      for (const name of Object.keys(rb)) {
        stats.set(name, (stats.get(name) ?? new OutputStats()).add(rb[name].data as ArrayLike<number>));
        const x = ra[name].data as ArrayLike<number>;
        const y = rb[name].data as ArrayLike<number>;
        const z = rc[name].data as ArrayLike<number>;
        let diff = 0;
        let scale = 0;
        let noise = 0;
        for (let i = 0; i < y.length; i++) {
          const b = Number(y[i]);
          diff = Math.max(diff, Math.abs(Number(x[i]) - b));
          scale = Math.max(scale, Math.abs(b));
          noise = Math.max(noise, Math.abs(Number(z[i]) - b));
        }
        if (x.length !== y.length || Number.isNaN(diff)) diff = Infinity;
        if (Number.isNaN(noise)) noise = 0;
        const w = worst.get(name) ?? { relError: 0, absError: 0, scale: 0, noise: 0 };
        worst.set(name, {
          // relative to the output's scale over all inputs, as the tolerance is
          relError: 0, absError: Math.max(w.absError, diff),
          scale: Math.max(w.scale, scale), noise: Math.max(w.noise, noise),
        });
      }
    }
  } finally {
    for (const s of sessions) await s.release();
    if (reference !== sessions[1]) await reference.release();
  }
  const bounded = boundedOutputs(twin);
  const outputs = [...worst].map(([name, w]) => {
    // degenerate: the original says nothing here; silenced: it does, and the pruned model does not
    const original = originalStats.get(name);
    const degenerate = (original ?? stats.get(name))?.degeneracy(name, bounded.has(name));
    const pruned = stats.get(name);
    const silenced = !degenerate && original && pruned
      ? pruned.degeneracy(name, bounded.has(name)) ?? (pruned.std < 0.01 * original.std ? `output '${name}' varies ${(original.std / Math.max(pruned.std, 1e-30)).toExponential(1)}× less than the original's` : undefined)
      : undefined;
    return {
      name, ...w, relError: w.absError / Math.max(w.scale, 1e-12), tolerance: Math.max(NOISE_FACTOR * w.noise, REL_FLOOR * w.scale + ABS_FLOOR),
      ...(degenerate ? { degenerate } : {}), ...(silenced ? { silenced: `${silenced}, where the original's max is ${original!.max.toPrecision(3)}` } : {}),
    };
  });
  const degenerate = outputs.flatMap((o) => (o.degenerate ? [o.degenerate] : []));
  return {
    maxRelError: Math.max(0, ...outputs.map((o) => o.relError)),
    maxAbsError: Math.max(0, ...outputs.map((o) => o.absError)),
    outputs,
    samples: feedsList.reduce((n, f) => n + (Object.values(f)[0]?.dims[0] ?? 1), 0),
    inputs: { random, ...(opts.real ? { real: { description: opts.real.description, samples: opts.real.samples } } : {}) },
    tolerance: { method: `${NOISE_FACTOR}× the masked original's own float32 noise (every weight moved by one rounding step)`, relativeFloor: REL_FLOOR, factor: NOISE_FACTOR },
    passed: outputs.every((o) => o.absError <= o.tolerance),
    // equality of two silent models proves nothing: say so instead of "verified"
    // an output counts only when both the original and the pruned model say something on it
    exercised: outputs.some((o) => !o.degenerate && !o.silenced),
    degenerate,
    silenced: outputs.flatMap((o) => (o.silenced ? [o.silenced] : [])),
  };
}
