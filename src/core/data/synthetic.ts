/**
 * Synthetic inputs that exercise a model. Gaussian noise leaves many trained models silent (a text detector marks
 * nothing, a sigmoid map stays near 0), and two silent models always agree, which proves nothing. So candidates of
 * several kinds are tried on the model and the liveliest kept, and outputs that stay degenerate are named.
 */
import type { Model } from '../ir/graph.js';
import type { Feeds } from '../runtime/ort.js';
import { syntheticFeeds } from '../runtime/feeds.js';
import { runtimeInputs } from '../shapes/inputs.js';
import { gaussian, rng } from '../util/random.js';
import { completePreprocess, normalise } from './preprocess.js';

export type SyntheticKind = 'gaussian' | 'scaled' | 'image' | 'image-imagenet';

export const SYNTHETIC_DESCRIPTION: Record<SyntheticKind, string> = {
  gaussian: 'Gaussian noise',
  scaled: 'Gaussian noise ×4',
  image: 'synthetic images (strokes and blocks on a plain background) with the model\'s preprocessing',
  'image-imagenet': 'synthetic images (strokes and blocks on a plain background) with ImageNet normalisation',
};

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** An image-like input: rank 4 with 1 or 3 channels (NCHW or NHWC). */
function imageLayout(dims: number[]): { c: number; h: number; w: number; nhwc: boolean } | undefined {
  if (dims.length !== 4) return undefined;
  if ((dims[1] === 1 || dims[1] === 3) && dims[2] > 4 && dims[3] > 4) return { c: dims[1], h: dims[2], w: dims[3], nhwc: false };
  if ((dims[3] === 1 || dims[3] === 3) && dims[1] > 4 && dims[2] > 4) return { c: dims[3], h: dims[1], w: dims[2], nhwc: true };
  return undefined;
}

/**
 * Samples of one kind for every runtime input, `count` per input on axis 0 (the rest of each input's dims as given).
 * Non-image inputs get Gaussian values (×4 for 'scaled'), integer inputs their chosen values.
 */
export function syntheticSamples(model: Model, inputShapes: Record<string, number[]>, kind: SyntheticKind, count: number, seed: number, values?: Record<string, number>): Feeds {
  const shapes = Object.fromEntries(Object.entries(inputShapes).map(([k, d]) => [k, [count, ...d.slice(1)]]));
  const feeds = syntheticFeeds(model, shapes, seed, values);
  if (kind === 'gaussian') return feeds;
  const pre = completePreprocess(model, {});
  for (const input of runtimeInputs(model)) {
    const t = feeds[input.name];
    if (t.type !== 'float32') continue;
    const data = t.data as Float32Array;
    const img = imageLayout(shapes[input.name]);
    if (kind === 'scaled' || !img) {
      for (let i = 0; i < data.length; i++) data[i] *= 4;
      continue;
    }
    const norm = kind === 'image-imagenet' && img.c === 3 ? { scale: 1 / 255, ...IMAGENET } : pre;
    const per = img.c * img.h * img.w;
    for (let s = 0; s < count; s++) {
      const pixels = drawImage(img.h, img.w, img.c, seed * 7919 + s);
      for (let y = 0; y < img.h; y++) {
        for (let x = 0; x < img.w; x++) {
          for (let ch = 0; ch < img.c; ch++) {
            const v = normalise(pixels[(y * img.w + x) * img.c + ch], ch, norm);
            data[s * per + (img.nhwc ? (y * img.w + x) * img.c + ch : ch * img.h * img.w + y * img.w + x)] = v;
          }
        }
      }
    }
  }
  return feeds;
}

/**
 * A plain background with a few blocks of colour and lines of pseudo-glyphs (2–4 strokes in a character box: bars,
 * posts, diagonals), dark on light mostly, plus a little noise (0…255, HWC). Text detectors and classifiers react to
 * glyph-like strokes where they stay silent on noise.
 */
function drawImage(h: number, w: number, c: number, seed: number): Float32Array {
  const r = rng(seed);
  const noise = gaussian(r);
  const light = r() < 0.85;
  const bg = Array.from({ length: c }, () => (light ? 200 + 55 * r() : 20 + 40 * r()));
  const img = new Float32Array(h * w * c);
  for (let i = 0; i < h * w; i++) for (let ch = 0; ch < c; ch++) img[i * c + ch] = bg[ch];
  const dot = (y: number, x: number, color: number[]) => {
    if (y < 0 || y >= h || x < 0 || x >= w) return;
    for (let ch = 0; ch < c; ch++) img[(y * w + x) * c + ch] = color[ch];
  };
  const fill = (y0: number, x0: number, y1: number, x1: number, color: number[]) => {
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(h, Math.round(y1)); y++) for (let x = Math.max(0, Math.round(x0)); x < Math.min(w, Math.round(x1)); x++) dot(y, x, color);
  };
  const line = (y0: number, x0: number, y1: number, x1: number, t: number, color: number[]) => {
    const n = Math.ceil(Math.max(Math.abs(y1 - y0), Math.abs(x1 - x0))) + 1;
    for (let k = 0; k <= n; k++) fill(y0 + ((y1 - y0) * k) / n - t / 2, x0 + ((x1 - x0) * k) / n - t / 2, y0 + ((y1 - y0) * k) / n + t / 2, x0 + ((x1 - x0) * k) / n + t / 2, color);
  };
  for (let k = 0; k < 2; k++) {
    const bh = h * (0.1 + 0.25 * r());
    const bw = w * (0.1 + 0.25 * r());
    const y = r() * (h - bh);
    const x = r() * (w - bw);
    fill(y, x, y + bh, x + bw, Array.from({ length: c }, () => (light ? 150 + 100 * r() : 60 * r())));
  }
  const gh = Math.max(6, Math.round(Math.min(h, 48) * (0.35 + 0.4 * r())));
  const t = Math.max(1, Math.round(gh / (6 + 4 * r())));
  for (let y = Math.round(gh * 0.3 * r()); y + gh <= h; y += Math.round(gh * (1.4 + 0.8 * r()))) {
    if (r() < 0.25) continue;
    const ink = Array.from({ length: c }, () => (light ? 30 * r() : 220 + 35 * r()));
    let x = Math.round(w * 0.08 * r());
    const end = w - Math.round(w * 0.25 * r());
    while (x + gh < end) {
      const gw = gh * (0.55 + 0.35 * r());
      for (let s = 2 + Math.floor(r() * 3); s > 0; s--) {
        const kind = r();
        if (kind < 0.35) { const yy = y + gh * (0.1 + 0.8 * r()); line(yy, x, yy, x + gw, t, ink); }
        else if (kind < 0.7) { const xx = x + gw * (0.1 + 0.8 * r()); line(y, xx, y + gh, xx, t, ink); }
        else line(y + gh * r() * 0.3, x + gw * r(), y + gh * (0.7 + 0.3 * r()), x + gw * r(), t, ink);
      }
      x += Math.round(gw + gh * (0.08 + 0.12 * r()) + (r() < 0.2 ? gh * 0.6 : 0));
    }
  }
  for (let i = 0; i < img.length; i++) img[i] = Math.min(255, Math.max(0, img[i] + 3 * noise()));
  return img;
}

/** Running statistics of an output over several runs, enough to tell whether it says anything. */
export class OutputStats {
  max = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;

  add(y: ArrayLike<number | bigint>): this {
    for (let i = 0; i < y.length; i++) {
      const v = Number(y[i]);
      this.max = Math.max(this.max, Math.abs(v));
      // Welford: stable for large means
      this.n++;
      const d = v - this.mean;
      this.mean += d / this.n;
      this.m2 += d * (v - this.mean);
    }
    return this;
  }

  get std(): number {
    return Math.sqrt(this.m2 / Math.max(this.n, 1));
  }

  /** Why the output says nothing on these inputs, or undefined when it is lively. `bounded`: a Sigmoid/Softmax output. */
  degeneracy(name: string, bounded: boolean): string | undefined {
    return degeneracy(name, this.max, this.mean, this.std, bounded);
  }
}

function degeneracy(name: string, max: number, mean: number, std: number, bounded: boolean): string | undefined {
  if (max === 0) return `output '${name}' is all zeros`;
  if (max < 1e-6) return `output '${name}' is nearly zero (max |y| = ${max.toExponential(1)})`;
  if (std <= 1e-6 * max) return `output '${name}' is constant (${mean.toPrecision(3)})`;
  if (bounded && max < 0.05) return `output '${name}' stays far below its 0…1 range (max ${max.toExponential(1)})`;
  return undefined;
}

/** Outputs produced by a Sigmoid, HardSigmoid or Softmax: their values live in 0…1. */
export function boundedOutputs(model: Model): Set<string> {
  const g = model.graph;
  return new Set(g.outputs.map((o) => o.name).filter((o) => /^(Sigmoid|HardSigmoid|Softmax)$/.test(g.producer(o)?.opType ?? '')));
}

export interface ExcitingInputs {
  kind: SyntheticKind;
  description: string;
  /** One feed per seed. */
  feeds: Feeds[];
  /** Outputs still degenerate on the chosen kind, with the reason. */
  degenerate: string[];
}

/**
 * Synthetic inputs that excite the model: each kind tried (`run` runs the model, or an equivalent of it, on them),
 * the kind with the fewest degenerate outputs kept (ties: the earlier, Gaussian first). `count` samples per feed.
 */
export async function excitingInputs(
  model: Model,
  run: (feeds: Feeds) => Promise<Record<string, { data: unknown }>>,
  inputShapes: Record<string, number[]>,
  opts: { seeds: number[]; count?: number; values?: Record<string, number> },
): Promise<ExcitingInputs> {
  const bounded = boundedOutputs(model);
  const kinds: SyntheticKind[] = ['gaussian', 'image', 'image-imagenet', 'scaled'];
  const count = opts.count ?? inputShapes[runtimeInputs(model)[0]?.name]?.[0] ?? 1;
  let best: ExcitingInputs | undefined;
  for (const kind of kinds) {
    if (kind.startsWith('image') && !Object.values(inputShapes).some((d) => imageLayout(d))) continue;
    const feeds = opts.seeds.map((s) => syntheticSamples(model, inputShapes, kind, count, s, opts.values));
    const outs = await run(feeds[0]);
    const degenerate = Object.entries(outs)
      .map(([name, t]) => new OutputStats().add(t.data as ArrayLike<number>).degeneracy(name, bounded.has(name)))
      .filter((d): d is string => !!d);
    if (!best || degenerate.length < best.degenerate.length) best = { kind, description: SYNTHETIC_DESCRIPTION[kind], feeds, degenerate };
    if (degenerate.length === 0) break;
  }
  return best!;
}

