import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { torchvisionModel } from '../bench/models.js';
import { loadAndShape } from '../src/core/analysis.js';
import { computeCost, type CostSummary } from '../src/core/cost/cost.js';
import { analyzeDependencies } from '../src/core/deps/analyze.js';
import { decodeOnnx } from '../src/core/formats/onnx/load.js';
import { encodeOnnx } from '../src/core/formats/onnx/save.js';
import { planModel, scanModel } from '../src/core/api.js';
import type { Recipe, ScanResult } from '../src/shared/types.js';
import { STRATEGIES, type StrategyName } from '../src/core/plan/strategies.js';
import { pruneModel } from '../src/core/api.js';
import { ort } from '../src/core/runtime/ort.js';
import { computeShapes } from '../src/core/shapes/index.js';
import { applyPruning } from '../src/core/surgery/apply.js';
import { CLI, EXAMPLE, OCR_MODELS, ROOT, runOnce, tmpdir } from './helpers/env.js';
import { OnnxBuilder } from './helpers/onnx-builder.js';

const hasTorch = fs.existsSync('/usr/lib/python3/dist-packages/torchvision');
const IDX = {
  data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
};
const CLS = OCR_MODELS[2];

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

/**
 * Exact costs of channel choices on one model: real surgery on a copy, as `prune` does, with no ONNX Runtime run.
 * `step` is one rounding step of a plan: what its MACs or params grow by when the given groups each get one of
 * their removed channels back, everything else as planned.
 */
async function exactCosts(file: string, inputShapes?: string[]) {
  const { model, shapes } = await loadAndShape(file, { inputShapes });
  const dep = analyzeDependencies(model, shapes);
  const bytes = encodeOnnx(model);
  const cost = async (remove: Map<number, number[]>): Promise<CostSummary> => {
    const copy = decodeOnnx(bytes, file);
    applyPruning(copy, dep, [...remove].filter(([, r]) => r.length).map(([group, r]) => ({ group, remove: r })));
    return computeCost(copy, await computeShapes(copy, shapes.inputs));
  };
  const step = async (r: Recipe, kind: 'macs' | 'params', groups: number[]): Promise<number> => {
    const planned = new Map(r.groups.map((g) => [g.id, g.remove]));
    const back = new Map(planned);
    for (const id of groups) back.set(id, planned.get(id)!.slice(0, -1));
    return (await cost(back))[kind] - (await cost(planned))[kind];
  };
  return { cost, step };
}

/**
 * The rounding step a strategy works in. `uniform` moves one ratio for every group: where its knob crosses a
 * whole channel, every group at that same ratio gains one together (groups of 64, 128, 256 and 512 channels
 * cross together). The others move one group's channel at a time: the coarsest pruned group bounds the step.
 */
async function roundingStep(costs: Awaited<ReturnType<typeof exactCosts>>, r: Recipe, kind: 'macs' | 'params'): Promise<{ step: number; groups: number[] }> {
  const pruned = r.groups.filter((g) => g.remove.length > 0);
  assert.ok(pruned.length > 0, 'the plan prunes something');
  if (r.settings.strategy === 'uniform') {
    const top = Math.max(...pruned.map((g) => g.ratio));
    const together = pruned.filter((g) => g.ratio >= top - 1e-9).map((g) => g.id);
    return { step: await costs.step(r, kind, together), groups: together };
  }
  let best = { step: 0, groups: [] as number[] };
  for (const g of pruned) {
    const s = await costs.step(r, kind, [g.id]);
    if (s > best.step) best = { step: s, groups: [g.id] };
  }
  return best;
}

/**
 * One strategy at macs=0.5 or params=0.5: the recipe's predicted MACs/params (real surgery) lie within one rounding
 * step of the target, and `prune` with the recipe (when asked) gives exactly those numbers and channels.
 */
async function checkTarget(
  file: string,
  costs: Awaited<ReturnType<typeof exactCosts>>,
  scan: ScanResult,
  strategy: StrategyName,
  kind: 'macs' | 'params',
  opts: { inputShapes?: string[]; prune?: boolean },
  dir: string,
) {
  const r = await planModel(file, { strategy, target: { kind, keep: 0.5 }, scan, inputShapes: opts.inputShapes });
  const name = `${path.basename(file)} ${strategy} ${kind}=0.5`;
  assert.equal(r.settings.strategy, strategy);
  assert.equal(r.predicted.macsRatio, r.predicted.macs / r.model.macs, name);
  assert.equal(r.predicted.paramsRatio, r.predicted.params / r.model.params, name);
  const planned = await costs.cost(new Map(r.groups.map((g) => [g.id, g.remove])));
  assert.equal(r.predicted.macs, planned.macs, `${name}: predicted MACs are the pruned model's`);
  assert.equal(r.predicted.params, planned.params, `${name}: predicted params are the pruned model's`);
  for (const g of r.groups) {
    assert.equal(g.remove.length, g.channels - g.keep, `${name}: group ${g.id} removes channels − keep`);
    assert.equal(new Set(g.remove).size, g.remove.length);
  }
  if (opts.prune) {
    const out = path.join(dir, `${path.basename(file, '.onnx')}-${strategy}-${kind}.onnx`);
    const rep = await pruneModel(file, out, { recipe: r, overwrite: true });
    assert.equal(rep.after.macs, r.predicted.macs, `${name}: pruned MACs = predicted`);
    assert.equal(rep.after.params, r.predicted.params, `${name}: pruned params = predicted`);
    assert.deepEqual(
      rep.groups.map((g) => [g.id, g.removed]),
      r.groups.filter((g) => g.remove.length).map((g) => [g.id, g.remove]),
      `${name}: prune removes the recipe's channels`,
    );
    assert.ok(rep.verification.passed);
  }
  const target = 0.5 * r.model[kind];
  const { step, groups } = await roundingStep(costs, r, kind);
  assert.ok(step > 0);
  const got = r.predicted[kind];
  assert.ok(
    Math.abs(got - target) <= step,
    `${name}: ${got} (${(got / r.model[kind]).toFixed(4)}) is ${got - target} from the target ${target}; one step (groups ${groups.join(',')}) is ${step}`,
  );
}


/**
 * Five convs; conv B (stride 2) has 30 of its 32 filters and biases scaled by 1e-3 and conv C reads those
 * channels ×1e3: by ReLU's homogeneity the same function, but those channels' weights look negligible.
 * `scaled = 0` is the same network unscaled.
 */
function wipeModel(seed: number, scaled = 30, width = 32): Uint8Array {
  const b = new OnnxBuilder(13, seed);
  const c = width;
  let x = b.op('Relu', [b.conv(b.input('x', ['N', 3, 16, 16]), 3, c)]);
  x = b.op('Relu', [b.conv(x, c, c)]);
  x = b.op('Relu', [b.conv(x, c, c)]);
  const k = 9 * c;
  const wB = b.random([c, c, 3, 3], Math.sqrt(2 / k));
  const bB = b.random([c], 0.1);
  const wC = b.random([c, c, 3, 3], Math.sqrt(2 / k));
  const bC = b.random([c], 0.1);
  for (let o = 0; o < scaled; o++) {
    for (let j = 0; j < k; j++) wB[o * k + j] *= 1e-3;
    bB[o] *= 1e-3;
  }
  for (let o = 0; o < c; o++) for (let i = 0; i < scaled; i++) for (let j = 0; j < 9; j++) wC[(o * c + i) * 9 + j] *= 1e3;
  const conv = (x: string, w: Float32Array, bias: Float32Array, name: string, s: number) =>
    b.op('Conv', [x, b.init(`${name}.w`, [c, c, 3, 3], w), b.init(`${name}.b`, [c], bias)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [s, s] });
  x = b.op('Relu', [conv(x, wB, bB, 'B', 2)]);
  x = b.op('Relu', [conv(x, wC, bC, 'C', 1)]);
  const f = b.op('Flatten', [b.op('GlobalAveragePool', [x])]);
  b.output(b.gemm(f, c, 10), ['N', 10]);
  return b.build();
}

describe('plans', () => {
  const dir = tmpdir('prunelens-plan-');
  const cache = { XDG_CACHE_HOME: path.join(dir, 'xdg') };
  let exampleScan: ScanResult | undefined;
  const scanOfExample = async () => (exampleScan ??= await scanModel(EXAMPLE, { ...IDX, samples: 64 }));

  describe('every strategy hits its target within one rounding step; prune gives the predicted cost exactly', () => {
    const models: { name: string; file: () => string; scan: (file: string) => Promise<ScanResult>; inputShapes?: string[]; prune: (s: StrategyName, kind: string) => boolean; torch?: boolean }[] = [
      { name: 'example', file: () => EXAMPLE, scan: () => scanOfExample(), prune: () => true },
      {
        name: 'PP-OCR cls',
        file: () => CLS,
        inputShapes: ['x=1x3x48x192'],
        scan: (f) => scanModel(f, { inputShapes: ['x=1x3x48x192'], samples: 4, ratios: [0.25, 0.5, 0.75] }),
        prune: () => true,
      },
      {
        name: 'ResNet-18',
        file: () => torchvisionModel(ROOT, 'resnet18'),
        scan: (f) => scanModel(f, { samples: 2, ratios: [0.3, 0.6], metric: 'rel-l2' }),
        prune: (s, kind) => s === 'sensitivity' && kind === 'macs',
        torch: true,
      },
    ];
    for (const m of models) {
      let ctx: Promise<{ file: string; scan: ScanResult; costs: Awaited<ReturnType<typeof exactCosts>> }> | undefined;
      const load = () => (ctx ??= (async () => {
        const file = m.file();
        return { file, scan: await m.scan(file), costs: await exactCosts(file, m.inputShapes) };
      })());
      for (const kind of ['macs', 'params'] as const) {
        for (const strategy of STRATEGIES) {
          it(`${m.name}: ${strategy} at ${kind}=0.5`, async (t) => {
            if (m.torch && !hasTorch) {
              assert.ok(!process.env.CI, 'torchvision is missing on CI');
              return t.skip('Debian python3-torchvision not installed');
            }
            const { file, scan, costs } = await load();
            await checkTarget(file, costs, scan, strategy, kind, { inputShapes: m.inputShapes, prune: m.prune(strategy, kind) }, dir);
          });
        }
      }
    }
  });

  describe('layer collapse', () => {
    const file = path.join(dir, 'wipe.onnx');
    fs.writeFileSync(file, wipeModel(3));
    let scan: ScanResult | undefined;
    const scanWipe = async () => (scan ??= await scanModel(file, { samples: 32, ratios: [0.25, 0.5, 0.75], metric: 'rel-l2' }));

    it('the constructed model computes the same function as its unscaled twin', async () => {
      const twin = path.join(dir, 'wipe-unscaled.onnx');
      fs.writeFileSync(twin, wipeModel(3, 0));
      const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37)), [2, 3, 16, 16]);
      const [a, b] = [await runOnce(file, { x }), await runOnce(twin, { x })];
      const [ya, yb] = [Object.values(a)[0].data as Float32Array, Object.values(b)[0].data as Float32Array];
      let d = 0;
      let n = 0;
      ya.forEach((v, i) => ((d += (v - yb[i]) ** 2), (n += yb[i] ** 2)));
      assert.ok(Math.sqrt(d / n) < 1e-4, `relative difference ${Math.sqrt(d / n)}`);
    });

    it('global wants to empty the scaled layer (global-wipe warning); sensitivity keeps it at the same target', async () => {
      const s = await scanWipe();
      const costs = await exactCosts(file);
      const plans = {} as Record<StrategyName, Recipe>;
      for (const strategy of ['global', 'sensitivity'] as const) {
        const r = (plans[strategy] = await planModel(file, { strategy, target: { kind: 'macs', keep: 0.5 }, scan: s }));
        const { step } = await roundingStep(costs, r, 'macs');
        assert.ok(Math.abs(r.predicted.macs - 0.5 * r.model.macs) <= step, `${strategy}: MACs ${r.predicted.macsRatio} at 50 % ± one step`);
      }
      // conv B is the group whose sources are its own output channels
      const g = plans.global.groups.find((x) => x.sources.includes('Conv_6'));
      assert.ok(g, `groups: ${plans.global.groups.map((x) => x.sources.join('+')).join(', ')}`);
      const wipe = plans.global.warnings.filter((w) => (w.kind === 'global-wipe' || w.kind === 'collapse') && w.group === g.id);
      assert.ok(wipe.length > 0, `global warnings: ${plans.global.warnings.map((w) => `${w.kind} ${w.group}`).join(', ')}`);
      assert.ok(wipe.some((w) => w.kind === 'global-wipe' && w.numbers.thresholdWouldRemove >= 30), wipe.map((w) => w.message).join('; '));
      assert.match(wipe[0].message, new RegExp(`group ${g.id} \\(Conv_6\\)`));
      assert.ok(g.keep <= Math.ceil(0.1 * g.channels), `global keeps ${g.keep} of ${g.channels}: capped at --max-ratio only`);
      // the same group under the sensitivity plan: most channels kept, no warning about it
      const h = plans.sensitivity.groups.find((x) => x.id === g.id)!;
      assert.ok(h.keep > h.channels / 2, `sensitivity keeps ${h.keep} of ${h.channels}`);
      assert.ok(!plans.sensitivity.warnings.some((w) => w.group === g.id && ['global-wipe', 'collapse', 'bottleneck'].includes(w.kind)));
      assert.ok(plans.sensitivity.predicted.loss! < plans.global.predicted.loss!, 'the sensitivity plan predicts less damage');
    });
  });

  describe('recipes', () => {
    it('plan → recipe → prune --plan twice: identical files, exactly the recipe\'s channels', async () => {
      const scanFile = path.join(dir, 'scan.json');
      let r = cli(['scan', EXAMPLE, '--data', IDX.data, '--labels', IDX.labels, '--samples', '64', '--no-cache', '-o', scanFile]);
      assert.equal(r.code, 0, r.err);
      const recipes = ['r1.json', 'r2.json'].map((f) => path.join(dir, f));
      for (const f of recipes) {
        r = cli(['plan', EXAMPLE, '--scan', scanFile, '--target', 'macs=0.5', '-o', f]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /recipe written to/);
      }
      assert.deepEqual(fs.readFileSync(recipes[0]), fs.readFileSync(recipes[1]), 'planning is deterministic');
      const recipe = readJson<Recipe>(recipes[0]);
      assert.equal(recipe.kind, 'prunelens-recipe');
      assert.equal(recipe.version, 1);
      const outs = ['a.onnx', 'b.onnx'].map((f) => path.join(dir, f));
      for (const out of outs) {
        r = cli(['prune', EXAMPLE, '--plan', recipes[0], '-o', out, '--latency-runs', '0']);
        assert.equal(r.code, 0, r.err);
      }
      assert.ok(fs.readFileSync(outs[0]).equals(fs.readFileSync(outs[1])), 'byte-identical pruned models');
      const rep = readJson<{ groups: { id: number; removed: number[] }[]; after: { macs: number; params: number }; recipe: { settings: unknown } }>(
        outs[0].replace(/\.onnx$/, '.report.json'),
      );
      assert.deepEqual(
        rep.groups.map((g) => [g.id, g.removed]),
        recipe.groups.filter((g) => g.remove.length).map((g) => [g.id, g.remove]),
      );
      assert.equal(rep.after.macs, recipe.predicted.macs);
      assert.equal(rep.after.params, recipe.predicted.params);
      assert.deepEqual(rep.recipe.settings, recipe.settings);
      // the pruned file really has the planned widths
      const { model, shapes } = await loadAndShape(outs[0]);
      assert.equal(computeCost(model, shapes).macs, recipe.predicted.macs);
    });

    const a = path.join(dir, 'model-a.onnx');
    const b = path.join(dir, 'model-b.onnx');
    const recipeA = path.join(dir, 'recipe-a.json');
    const setup = () => {
      if (fs.existsSync(recipeA)) return readJson<Recipe>(recipeA);
      fs.writeFileSync(a, wipeModel(11, 0));
      fs.writeFileSync(b, wipeModel(12, 0)); // same architecture, other weights
      const r = cli(['plan', a, '--strategy', 'uniform', '--target', 'macs=0.6', '-o', recipeA]);
      assert.equal(r.code, 0, r.err);
      return readJson<Recipe>(recipeA);
    };

    it('a recipe for another model is refused (exit 2, naming it), and applied with --allow-other-model when the structure matches', () => {
      const recipe = setup();
      const out = path.join(dir, 'b-pruned.onnx');
      let r = cli(['prune', b, '--plan', recipeA, '-o', out, '--latency-runs', '0']);
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, /model-a\.onnx/);
      assert.match(r.err, /pass --allow-other-model to apply it anyway/);
      assert.ok(!fs.existsSync(out), 'nothing written');
      // --force only replaces outputs: it does not accept another model's recipe
      r = cli(['prune', b, '--plan', recipeA, '-o', out, '--latency-runs', '0', '--force']);
      assert.equal(r.code, 2);
      r = cli(['prune', b, '--plan', recipeA, '-o', out, '--latency-runs', '0', '--allow-other-model', '--json']);
      assert.equal(r.code, 0, r.err);
      const rep = JSON.parse(r.out) as { groups: { id: number; removed: number[] }[] };
      assert.deepEqual(rep.groups.map((g) => [g.id, g.removed]), recipe.groups.filter((g) => g.remove.length).map((g) => [g.id, g.remove]));
    });

    // Applied to another model, the recipe's group ids and channel indices must still mean the same channels.
    it('--allow-other-model still refuses a recipe whose groups do not match the model', () => {
      setup();
      const wider = path.join(dir, 'model-wide.onnx');
      fs.writeFileSync(wider, wipeModel(11, 0, 48));
      const out = path.join(dir, 'wide-pruned.onnx');
      const r = cli(['prune', wider, '--plan', recipeA, '-o', out, '--latency-runs', '0', '--allow-other-model']);
      assert.equal(r.code, 2, `applied a 32-channel recipe to 48-channel groups: ${r.out}`);
      assert.match(r.err, /the recipe does not fit this model: its group \d+ is \S+ with 32 channels, but here group \d+ is \S+ with 48 channels/);
      assert.ok(!fs.existsSync(out));
    });
  });

  describe('loss targets', () => {
    it('--max-loss agreement=0.05 keeps the predicted loss under 0.05 with every strategy', async () => {
      const s = await scanOfExample();
      for (const strategy of STRATEGIES) {
        const r = await planModel(EXAMPLE, { strategy, target: { kind: 'loss', max: 0.05 }, scan: s });
        assert.ok(r.predicted.loss! <= 0.05, `${strategy}: ${r.predicted.loss}`);
        assert.ok(r.predicted.macsRatio < 0.99, `${strategy} pruned something: ${r.predicted.macsRatio}`);
        const sum = r.groups.reduce((t, g) => t + (g.predictedLoss ?? 0), 0);
        assert.ok(Math.abs(sum - r.predicted.loss!) < 1e-9, `${strategy}: the total is the sum of the groups`);
      }
    });

    it('without --scan, a loss target on labelled data runs the scan itself (same plan as with the scan file)', () => {
      const auto = path.join(dir, 'auto.json');
      let r = cli(['plan', EXAMPLE, '--max-loss', 'agreement=0.05', '--data', IDX.data, '--labels', IDX.labels, '-o', auto], cache);
      assert.equal(r.code, 0, r.err);
      const recipe = readJson<Recipe>(auto);
      assert.ok(recipe.predicted.loss! <= 0.05, `${recipe.predicted.loss}`);
      assert.ok(recipe.predicted.macsRatio < 0.9, `${recipe.predicted.macsRatio}`);
      assert.equal(recipe.settings.scan?.metric, 'agreement');
      assert.equal(recipe.settings.scan?.samples, 64);
      assert.match(recipe.settings.scan!.data, /fashion-mnist-500-images/);
      assert.ok(fs.readdirSync(path.join(cache.XDG_CACHE_HOME, 'prunelens')).length > 0, 'the scan was cached');
      // the same scan by hand gives the same recipe
      const scanFile = path.join(dir, 'scan-64.json');
      r = cli(['scan', EXAMPLE, '--data', IDX.data, '--labels', IDX.labels, '--metric', 'agreement', '--no-cache', '-o', scanFile]);
      assert.equal(r.code, 0, r.err);
      const manual = path.join(dir, 'manual.json');
      r = cli(['plan', EXAMPLE, '--max-loss', 'agreement=0.05', '--scan', scanFile, '-o', manual]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(readJson<Recipe>(manual).groups, recipe.groups);
      // a loss target in another metric than the scan's is refused
      r = cli(['plan', EXAMPLE, '--max-loss', 'kl=0.05', '--scan', scanFile]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /--metric kl/);
    });
  });

  describe('quality without fine-tuning (the issue\'s goal; scripts/quality/compare-strategies.mjs prints the table)', () => {
    it('example at macs=0.5: sensitivity keeps far more accuracy than uniform and global', async () => {
      const scan = await scanModel(EXAMPLE, { ...IDX, samples: 128 });
      const acc: Record<string, number> = {};
      for (const strategy of ['uniform', 'global', 'sensitivity'] as const) {
        const r = await planModel(EXAMPLE, { strategy, target: { kind: 'macs', keep: 0.5 }, scan });
        const rep = await pruneModel(EXAMPLE, path.join(dir, `quality-${strategy}.onnx`), { recipe: r, overwrite: true, data: IDX.data, labels: IDX.labels });
        assert.ok(rep.accuracy && rep.accuracy.samples === 500);
        assert.ok(rep.after.macs <= 0.5 * rep.before.macs);
        acc[strategy] = rep.accuracy.after;
        acc.dense = rep.accuracy.before;
      }
      assert.ok(acc.dense > 0.9, `dense ${acc.dense}`);
      assert.ok(acc.sensitivity > acc.uniform + 0.2 && acc.sensitivity > acc.global + 0.2, JSON.stringify(acc));
    });

    it('the PP-OCR cls orientation set is labelled right: the dense model scores ≥ 95 % on it', async () => {
      for (const [f, n] of [['test.npz', 400], ['calib.npz', 64]] as const) {
        const data = path.join(ROOT, 'examples/ppocr-cls-orientation', f);
        const s = await scanModel(CLS, { inputShapes: ['x=1x3x48x192'], data, samples: n, metric: 'accuracy', only: ['2'], ratios: [0.5] });
        assert.equal(s.data.samples, n);
        assert.ok(s.data.labelled);
        assert.ok(s.dense.metrics.accuracy! >= 0.95, `${f}: dense accuracy ${s.dense.metrics.accuracy}`);
      }
    });
  });

  it('prune --nm 2:4 zeroes half the weights; bench --compare says not to expect a dense speedup', () => {
    const out = path.join(dir, 'nm.onnx');
    let r = cli(['prune', EXAMPLE, '--nm', '2:4', '-o', out, '--json']);
    assert.equal(r.code, 0, r.err);
    const sp = JSON.parse(r.out) as { zeroedWeights: number; weights: number; note: string };
    assert.ok(sp.zeroedWeights / sp.weights > 0.45 && sp.zeroedWeights / sp.weights <= 0.5, `${sp.zeroedWeights} / ${sp.weights}`);
    assert.match(sp.note, /no faster/);
    r = cli(['bench', EXAMPLE, '--compare', out, '--runs', '3', '--warmup', '1', '--json']);
    assert.equal(r.code, 0, r.err);
    const bench = JSON.parse(r.out) as { model: { zeroWeights: number }; compare: { zeroWeights: number; macRatio: number; paramsRatio: number }; notes: string[] };
    assert.equal(bench.model.zeroWeights, 0);
    assert.ok(Math.abs(bench.compare.zeroWeights - 0.5) < 0.05, `zeros ${bench.compare.zeroWeights}`);
    assert.equal(bench.compare.macRatio, 1, 'zeros are not removed MACs');
    assert.equal(bench.compare.paramsRatio, 1);
    assert.equal(bench.notes.length, 1);
    assert.match(bench.notes[0], /nm\.onnx/);
    assert.match(bench.notes[0], /no speedup/);
    // structured pruning at the same time gets no such note
    const pruned = path.join(dir, 'ratio.onnx');
    r = cli(['prune', EXAMPLE, '--ratio', '0.5', '-o', pruned, '--latency-runs', '0', '--no-report']);
    assert.equal(r.code, 0, r.err);
    r = cli(['bench', EXAMPLE, '--compare', pruned, '--runs', '3', '--warmup', '1', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as { notes: string[] }).notes, []);
  });
});
