/**
 * Gradient and second-order channel importance, from the backward graph (autodiff/) run by ONNX Runtime:
 * - taylor: first-order Taylor (Molchanov et al. 2017): per channel |mean over positions of a·∂L/∂a|, averaged over
 *   samples and normalised per watched value, summed over the group's members;
 * - snip: |w·∂L/∂w| (Lee et al. 2019) per weight, summed per channel;
 * - grasp: w·(Hg) (Wang et al. 2020), the Hessian-gradient product by a finite difference of gradients
 *   (Hg ≈ (∇L(w + εg) − ∇L(w))/ε); a channel whose removal would shrink the gradient flow most scores highest;
 * - synflow: |w·∂R/∂w| with R = Σ outputs of the network with |w| on an input of ones (Tanaka et al. 2020), data-free;
 * - obd: ½·F·w² with F the diagonal Fisher, the mean of per-sample squared gradients (LeCun et al. 1990).
 * The loss is cross-entropy with labels, else against the model's own top-1 (a classifier), else ½‖y‖².
 */
import type { AnalysedModel } from './analysed.js';
import { gradientRun, type Teacher } from '../autodiff/gradients.js';
import type { LossKind } from '../autodiff/backward.js';
import type { CalibrationSet } from '../data/calibration.js';
import { cloneModel } from '../formats/index.js';
import type { Model } from '../ir/graph.js';
import { ort } from '../runtime/ort.js';
import { scoreFromSaliency } from './index.js';
import { watchesOf } from './activations.js';

export type GradientCriterion = 'taylor' | 'snip' | 'grasp' | 'synflow' | 'obd';
export const GRADIENT_CRITERIA: GradientCriterion[] = ['taylor', 'snip', 'grasp', 'synflow', 'obd'];

/** Samples the per-sample (Fisher) and Hessian passes use at most. */
const FISHER_SAMPLES = 32;

export interface GradientEvidence {
  scores: Map<number, Float64Array>;
  loss: LossKind;
  /** Where the gradient could not flow (those groups' scores are partial). */
  stopped: string[];
}

/**
 * Cross-entropy with labels; else, given the dense model's probabilities (a later step of a schedule), KL to them;
 * else cross-entropy with the model's own top-1 (at the dense model, KL to itself has zero gradient).
 */
function lossFor(a: AnalysedModel, data: CalibrationSet, output: string, teacher?: Teacher): LossKind {
  const d = a.shapes.types.get(output)?.dims ?? [];
  const classifier = (d.length === 2 || d.length === 3) && d[d.length - 1] >= 2;
  if (!classifier) return 'energy';
  if (data.labels && d.length === 2) return 'labels';
  return teacher && d.length === 2 ? 'teacher' : 'pseudo';
}

/** Constant weight names every prunable group's weight members read. */
function memberWeights(a: AnalysedModel): string[] {
  const out = new Set<string>();
  for (const g of a.dep.groups) if (a.infos[g.id].prunable) for (const p of g.params) if (p.role === 'out' || p.role === 'in') out.add(p.tensor);
  return [...out].filter((w) => a.model.graph.constant(w)?.dtype === 'float32');
}

export async function gradientEvidence(
  a: AnalysedModel, criterion: GradientCriterion, data: CalibrationSet, opts: { signal?: AbortSignal; teacher?: Teacher } = {},
): Promise<GradientEvidence> {
  const teacher = opts.teacher;
  const output = a.model.graph.outputs[0].name;
  const groups = a.dep.groups.filter((g) => a.infos[g.id].prunable);
  const scores = new Map<number, Float64Array>();
  if (criterion === 'taylor') {
    const watches = groups.flatMap((g) => watchesOf(a, g));
    const loss = lossFor(a, data, output, teacher);
    const run = await gradientRun(a.model, a.shapes.inputs, { output, values: [...new Set(watches.map((w) => w.value))], weights: [], loss });
    const acc = new Map<string, Float64Array>();
    try {
      await run.run(data, (c) => {
        for (const w of watches) {
          const av = c.values.get(w.value)!;
          const gv = c.grads.get(w.value)!;
          const ch = av.dims[w.axis];
          const inner = av.dims.slice(w.axis + 1).reduce((x, y) => x * y, 1);
          const outer = av.dims.slice(0, w.axis).reduce((x, y) => x * y, 1);
          const sum = acc.get(w.value) ?? new Float64Array(ch);
          for (let o = 0; o < outer; o++) {
            for (let k = 0; k < ch; k++) {
              let s = 0;
              const base = (o * ch + k) * inner;
              for (let i = 0; i < inner; i++) s += av.data[base + i] * gv.data[base + i];
              sum[k] += Math.abs(s / inner);
            }
          }
          acc.set(w.value, sum);
        }
      }, { signal: opts.signal, batch: 8, teacher });
    } finally {
      await run.release();
    }
    for (const g of groups) {
      const n = g.units.length;
      const s = new Float64Array(n);
      for (const w of watches.filter((x) => x.group === g.id)) {
        const v = acc.get(w.value)!;
        // per-value L2 normalisation, as in the paper, so members of different scale count alike
        const norm = Math.sqrt(v.reduce((p, q) => p + q * q, 0)) || 1;
        w.unitOf.forEach((u, ch) => u >= 0 && (s[u] += v[ch] / norm));
      }
      scores.set(g.id, s);
    }
    return { scores, loss, stopped: run.graph.stopped };
  }

  const weights = memberWeights(a);
  const saliency = new Map<string, Float32Array>();
  let loss: LossKind;
  let stopped: string[] = [];
  if (criterion === 'synflow') {
    loss = 'sum';
    const abs = absWeights(a.model);
    const ones: CalibrationSet = {
      kind: 'synthetic', count: 1, description: 'an input of ones',
      inputs: Object.fromEntries(Object.entries(a.shapes.inputs).map(([k, d]) => [k, new ort.Tensor('float32', new Float32Array(d.slice(1).reduce((x, y) => x * y, 1)).fill(1), [1, ...d.slice(1)])])),
    };
    const grads = await meanGradients(abs, a, { output, values: [], weights, loss }, ones, opts.signal);
    stopped = grads.stopped;
    for (const w of weights) saliency.set(w, product(abs.graph.constant(w)!.toFloat32(), grads.mean.get(w)!, true));
  } else if (criterion === 'snip' || criterion === 'grasp') {
    loss = lossFor(a, data, output, teacher);
    const g0 = await meanGradients(a.model, a, { output, values: [], weights, loss }, data, opts.signal, teacher);
    stopped = g0.stopped;
    if (criterion === 'snip') {
      for (const w of weights) saliency.set(w, product(a.model.graph.constant(w)!.toFloat32(), g0.mean.get(w)!, true));
    } else {
      // Hg by a finite difference along g: ε so that the step moves the weights by about 1e-3 of their norm
      const sub = subset(data, FISHER_SAMPLES);
      const base = await meanGradients(a.model, a, { output, values: [], weights, loss }, sub, opts.signal, teacher);
      let wn = 0;
      let gn = 0;
      for (const w of weights) {
        for (const x of a.model.graph.constant(w)!.toFloat32()) wn += x * x;
        for (const x of base.mean.get(w)!) gn += x * x;
      }
      const eps = (1e-3 * Math.sqrt(wn)) / Math.max(Math.sqrt(gn), 1e-30);
      const moved = cloneModel(a.model);
      for (const w of weights) {
        const t = moved.graph.constant(w)!;
        const v = Float32Array.from(t.toFloat32());
        const gv = base.mean.get(w)!;
        for (let i = 0; i < v.length; i++) v[i] += eps * gv[i];
        t.replace(t.dims, v);
      }
      const g1 = await meanGradients(moved, a, { output, values: [], weights, loss }, sub, opts.signal, teacher);
      // importance θ·Hg (GraSP removes the highest −θ·Hg first, i.e. keeps the highest θ·Hg); shifted by the
      // model-wide minimum so that the per-channel sums stay ordered as the signed ones are
      let min = Infinity;
      for (const w of weights) {
        const wv = a.model.graph.constant(w)!.toFloat32();
        const [x, y] = [base.mean.get(w)!, g1.mean.get(w)!];
        const s = Float32Array.from(wv, (v, i) => (v * (y[i] - x[i])) / eps);
        for (const v of s) min = Math.min(min, v);
        saliency.set(w, s);
      }
      for (const s of saliency.values()) for (let i = 0; i < s.length; i++) s[i] -= min;
    }
  } else {
    // obd: diagonal Fisher from per-sample gradients
    loss = lossFor(a, data, output, teacher);
    const sub = subset(data, FISHER_SAMPLES);
    const run = await gradientRun(a.model, a.shapes.inputs, { output, values: [], weights, loss });
    stopped = run.graph.stopped;
    const fisher = new Map(weights.map((w) => [w, new Float64Array(a.model.graph.constant(w)!.size)]));
    try {
      await run.run(sub, (c) => {
        for (const w of weights) {
          const f = fisher.get(w)!;
          const gv = c.grads.get(w)!.data;
          for (let i = 0; i < f.length; i++) f[i] += gv[i] * gv[i];
        }
      }, { batch: 1, signal: opts.signal, teacher });
    } finally {
      await run.release();
    }
    for (const w of weights) {
      const wv = a.model.graph.constant(w)!.toFloat32();
      const f = fisher.get(w)!;
      saliency.set(w, Float32Array.from(wv, (x, i) => (0.5 * f[i] * x * x) / sub.count));
    }
  }
  for (const g of groups) scores.set(g.id, scoreFromSaliency(a.model.graph, g, saliency));
  return { scores, loss, stopped };
}

/** The batch-mean gradient of each weight over all samples. */
async function meanGradients(
  model: Model, a: AnalysedModel, req: Parameters<typeof gradientRun>[2], data: CalibrationSet, signal?: AbortSignal, teacher?: Teacher,
): Promise<{ mean: Map<string, Float32Array>; stopped: string[] }> {
  const run = await gradientRun(model, a.shapes.inputs, req);
  const sum = new Map(req.weights.map((w) => [w, new Float64Array(a.model.graph.constant(w)!.size)]));
  try {
    await run.run(data, (c) => {
      for (const w of req.weights) {
        const s = sum.get(w)!;
        const gv = c.grads.get(w)!.data;
        // each chunk's gradient is its own batch mean: weight it by its size
        for (let i = 0; i < s.length; i++) s[i] += gv[i] * c.n;
      }
    }, { batch: 16, signal, teacher });
  } finally {
    await run.release();
  }
  return { mean: new Map([...sum].map(([w, s]) => [w, Float32Array.from(s, (x) => x / data.count)])), stopped: run.graph.stopped };
}

function product(w: Float32Array, g: Float32Array, abs: boolean): Float32Array {
  return Float32Array.from(w, (x, i) => (abs ? Math.abs(x * g[i]) : x * g[i]));
}

/** SynFlow's network: every float weight (and BatchNorm statistic) replaced by its absolute value. */
function absWeights(model: Model): Model {
  const m = cloneModel(model);
  for (const g of m.graph.allGraphs()) {
    for (const t of new Set(g.constantTable().values())) {
      if (t.dtype !== 'float32' || t.size < 2) continue;
      t.replace(t.dims, Float32Array.from(t.toFloat32(), Math.abs));
    }
  }
  return m;
}

/** The first `n` samples. */
function subset(data: CalibrationSet, n: number): CalibrationSet {
  if (data.count <= n) return data;
  const inputs = Object.fromEntries(Object.entries(data.inputs).map(([k, t]) => {
    const per = t.dims.slice(1).reduce((x, y) => x * y, 1);
    return [k, new ort.Tensor('float32', (t.data as Float32Array).subarray(0, n * per), [n, ...t.dims.slice(1)])];
  }));
  return { ...data, count: n, inputs, labels: data.labels?.subarray(0, n), description: `the first ${n} of ${data.description}` };
}
