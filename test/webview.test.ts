/**
 * The webview's views in headless Chromium (Debian's), under the extension's CSP, against a stub acquireVsCodeApi
 * whose host answers from an engine session in this process: the panel's charts and ratio editor, selection,
 * progress and cancel, errors, undo/redo, state restored after a reload, the graph, and the model overview.
 */
import './helpers/use-vscode-stub.js';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { openModel, type ModelSession } from '../src/core/api.js';
import { CRITERIA as ENGINE_CRITERIA } from '../src/core/criteria/index.js';
import type { ResolvedSettings, ToHost } from '../src/shared/webview.js';
import type { PruneResult } from '../src/shared/types.js';
import { EXAMPLE, ROOT, tmpdir } from './helpers/env.js';
import { choose, closeBrowser, hasChromium, openWebview, violations, type Theme, type WebviewPage } from './helpers/webview-harness.js';

const IDX = {
  data: path.join(ROOT, 'examples/fashion-mnist-500-images-idx3-ubyte.gz'),
  labels: path.join(ROOT, 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'),
};
const SETTINGS: ResolvedSettings = {
  ...IDX, samples: 64, criterion: 'l1', ratios: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], threads: 0,
  target: { kind: 'macs', keep: 0.5 }, strategy: 'sensitivity', maxRatio: 0.8, roundTo: 1, latency: false, latencyRuns: 0, recover: [],
};
const MODEL = { uri: `file://${EXAMPLE}`, path: EXAMPLE, name: 'fashion-cnn.onnx' };

/** A host that answers the webview from an engine session, as the extension's bridge and engine process would. */
class FakeHost {
  calls: { method: string; params: Record<string, unknown> }[] = [];
  messages: ToHost[] = [];
  fail: Record<string, { message: string; option?: string; setting?: string }> = {};
  /** Changes a method's answer before the webview sees it (for what the example does not produce on its own). */
  edit: Record<string, (result: never) => unknown> = {};
  private running = new Map<number, AbortController>();
  /** Where host.sparsify writes (the save dialog's answer, as a user would give it). */
  private readonly dir = tmpdir('prunelens-webview-');
  constructor(private readonly session: ModelSession, private readonly settings: ResolvedSettings = SETTINGS) {}

  handler(init: Record<string, unknown>) {
    return (raw: unknown, post: (m: unknown) => Promise<void>) => {
      const m = raw as ToHost;
      this.messages.push(m);
      if (m.type === 'ready') void post({ type: 'init', model: MODEL, settings: this.settings, ...init });
      else if (m.type === 'cancel') this.running.get(m.id)?.abort();
      else if (m.type === 'call') void this.call(m.id, m.method, (m.params ?? {}) as Record<string, unknown>, m.progress === true, post);
    };
  }

  private async call(id: number, method: string, params: Record<string, unknown>, progress: boolean, post: (m: unknown) => Promise<void>) {
    this.calls.push({ method, params });
    const controller = new AbortController();
    this.running.set(id, controller);
    const s = this.settings;
    const scanSettings = { data: s.data, labels: s.labels, samples: s.samples, ratios: s.ratios, criterion: s.criterion };
    const onProgress = progress ? (e: { phase: string; done: number; total: number }) => void post({ type: 'progress', id, value: { kind: 'report', ...e, message: e.phase, percentage: e.total ? Math.floor((100 * e.done) / e.total) : undefined } }) : undefined;
    try {
      if (this.fail[method]) throw Object.assign(new Error(this.fail[method].message), { data: this.fail[method] });
      const ss = this.session;
      const result = await ({
        open: async () => ({ modelId: 'm1', protocol: 1, ...ss.summary() }),
        scan: () => ss.scan({ ...scanSettings, ...params, signal: controller.signal, onProgress }),
        plan: () => ss.plan({ target: s.target, strategy: s.strategy, maxRatio: s.maxRatio, ...params, signal: controller.signal } as never),
        estimate: async () => ss.estimate(params.keep as Record<string, number>),
        groups: async () => ss.groups(params.ids as number[]),
        graph: async () => ss.graph(),
        inspect: async () => ss.inspect(params),
        prune: () => ss.prune({ ...params, latencyRuns: 0, signal: controller.signal, onProgress } as never),
        sparsify: () => ss.sparsify(params.path as string, params.sparsity as never, { ...params, signal: controller.signal, onProgress }),
        // the bridge's host.sparsify: the file the save dialog gave, the calibration settings, then the engine's sparsify
        'host.sparsify': async () => {
          const out = path.join(this.dir, String(params.defaultName));
          const r = await ss.sparsify(out, params.sparsity as never, {
            method: params.method as never, data: s.data, labels: s.labels, samples: s.samples, overwrite: true, signal: controller.signal, onProgress,
          });
          return { ...r, name: path.basename(out) };
        },
        compareCriteria: () => ss.compareCriteria(params.criteria as never, { data: s.data, labels: s.labels, samples: s.samples, ...params, signal: controller.signal, onProgress }),
        'host.confirm': async () => true,
        'host.command': async () => null,
        'host.saveVariant': async () => ({ name: 'x.onnx', path: '/tmp/x.onnx', bytes: 1 }),
        'host.saveRecipe': async () => '/tmp/x.recipe.json',
      } as Record<string, () => Promise<unknown>>)[method]();
      await post({ type: 'result', id, result: this.edit[method] ? this.edit[method](result as never) : result });
    } catch (e) {
      const data = (e as { data?: object }).data;
      const cancelled = controller.signal.aborted;
      await post({ type: 'error', id, error: { message: (e as Error).message, ...data, ...(cancelled ? { cancelled, code: 'cancelled' } : {}) } });
    } finally {
      this.running.delete(id);
    }
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
const text = async (p: Page, sel: string) => (await p.locator(sel).first().textContent()) ?? '';

describe('webview in Chromium', { skip: !hasChromium() && 'Debian chromium is not installed (.ci/run installs it)', timeout: 180_000 }, () => {
  let session: ModelSession;
  const pages: WebviewPage[] = [];
  const open = async (host: FakeHost, init: Record<string, unknown>, opts: { state?: unknown; theme?: Theme } = {}) => {
    const w = await openWebview({ ...opts, onMessage: host.handler(init) });
    pages.push(w);
    return w;
  };
  before(async () => {
    session = await openModel(EXAMPLE);
  });
  after(async () => {
    for (const w of pages) await w.close();
    await closeBrowser();
  });

  let saved: unknown;

  it('Prune Model… scans, plans and draws the ratio bars, curves and heatmap, under the CSP', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', action: 'prune', tab: 'ratios' });
    const p = w.page;
    await p.locator('.rows .row').first().waitFor();
    assert.equal(await p.locator('.rows .row').count(), 6);
    assert.ok(host.count('scan') === 1 && host.count('plan') === 1 && host.count('estimate') >= 1);
    assert.match(await text(p, '[data-metric="MACs"] .metric-ratio'), /% kept/);
    await p.locator('vscode-tab-header[data-tab="sensitivity"]').click();
    await p.locator('svg[data-chart="heatmap"] rect').first().waitFor();
    assert.ok(await p.locator('[data-chart="curves"] canvas').count());
    assert.match(await text(p, '.used'), /64 labelled samples/);
    // the sidebar gets the groups, most sensitive first
    const side = host.messages.filter((m) => m.type === 'sidebar').at(-1) as Extract<ToHost, { type: 'sidebar' }>;
    assert.equal(side.groups.length, 7);
    const sens = side.groups.filter((g) => g.sensitivity !== undefined).map((g) => g.sensitivity!);
    assert.deepEqual(sens, [...sens].sort((a, b) => b - a));
    assert.equal(side.groups.at(-1)!.risk, 'unprunable');
    // clicking a heatmap cell selects its group everywhere, and asks the engine for that group only
    const cell = p.locator('svg[data-chart="heatmap"] g[aria-label="cell"] rect').nth(4);
    await cell.hover();
    await cell.click();
    await until('a selection', async () => host.messages.some((m) => m.type === 'selected'));
    const sel = host.messages.find((m) => m.type === 'selected') as { group: number };
    await until('the group asked for', async () => host.calls.some((c) => c.method === 'groups'));
    assert.deepEqual(host.calls.find((c) => c.method === 'groups')!.params, { ids: [sel.group] });
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);
  });

  it('a dragged bar moves the estimate; undo and redo', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', action: 'prune', tab: 'ratios' });
    const p = w.page;
    await p.locator('.rows .row').first().waitFor();
    await until('the first estimate', async () => (await text(p, '[data-metric="MACs"] .metric-value')).includes('→'));
    const planned = await text(p, '[data-metric="MACs"] .metric-value');
    const before = host.count('estimate');
    const box = (await p.locator('.rows .row').nth(3).locator('.track').boundingBox())!;
    await p.mouse.move(box.x + 2, box.y + box.height / 2);
    await p.mouse.down();
    for (let i = 1; i <= 10; i++) await p.mouse.move(box.x + (box.width * 0.7 * i) / 10, box.y + box.height / 2);
    await p.mouse.up();
    await until('a new estimate', async () => (await text(p, '[data-metric="MACs"] .metric-value')) !== planned);
    const moved = await text(p, '[data-metric="MACs"] .metric-value');
    assert.ok(host.count('estimate') > before);
    // every estimate the drag asked for, one at a time: never more in flight than one
    assert.ok(host.count('estimate') - before <= 11);
    assert.match(await p.locator('.rt').textContent() ?? '', /estimate \d/);
    await p.locator('.undo').click();
    await until('the plan back', async () => (await text(p, '[data-metric="MACs"] .metric-value')) === planned);
    await p.locator('.redo').click();
    await until('the edit again', async () => (await text(p, '[data-metric="MACs"] .metric-value')) === moved);
    // typing a kept count
    await p.locator('.rows .row').nth(0).locator('.kept input').fill('2');
    await p.locator('.rows .row').nth(0).locator('.kept input').press('Enter');
    await until('the typed value used', async () => (await text(p, '[data-metric="MACs"] .metric-value')) !== moved);
    // one channel left: a collapse warning, and saving asks first
    await p.locator('.rows .row').nth(1).locator('.kept input').fill('1');
    await p.locator('.rows .row').nth(1).locator('.kept input').press('Enter');
    await p.locator('.warning-collapse').first().waitFor();
    await p.locator('.view.ratios .save-variant').click();
    await until('the confirmation', async () => host.count('host.confirm') === 1);
    assert.match(String(host.calls.find((c) => c.method === 'host.confirm')!.params.message), /layer collapses/);
    await until('the save after it', async () => host.count('host.saveVariant') === 1);
    assert.equal(host.calls.find((c) => c.method === 'prune')!.params.keep !== undefined, true, 'edited ratios are pruned by kept counts');
    saved = await p.evaluate(() => (globalThis as unknown as { __state: unknown }).__state);
    assert.deepEqual(await violations(w), []);
  });

  it('comes back from its saved state after a reload, without planning again', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel' }, { state: saved });
    const p = w.page;
    await p.locator('.rows .row').first().waitFor();
    const state = saved as { keep: Record<string, number> };
    assert.equal(await p.locator('.rows .row').nth(0).locator('.kept input').inputValue(), String(state.keep['0']));
    assert.equal(host.count('plan'), 0);
    assert.ok(host.count('scan') === 1, 'the scan is asked for again (the engine caches it)');
    await until('the undo history back too', async () => (await p.locator('.view.ratios .undo:not([disabled])').count()) === 1);
  });

  it('shows a scan\'s progress, cancels it, and shows errors in one sentence with the setting', async () => {
    const host = new FakeHost(session, { ...SETTINGS, samples: 500, ratios: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9] });
    const w = await open(host, { mode: 'panel', action: 'scan', tab: 'sensitivity' });
    const p = w.page;
    await p.locator('.view.sensitivity [data-task="scan"][data-state="running"] .cancel').waitFor();
    await until('a percentage', async () => /\(\d+ %\)/.test(await text(p, '.view.sensitivity .task-message')));
    await p.locator('.view.sensitivity .cancel').click();
    await p.locator('.view.sensitivity [data-task="scan"]', { hasText: 'Cancelled.' }).waitFor();
    assert.ok(host.messages.some((m) => m.type === 'cancel'));
    host.fail.scan = { message: 'fashion.npz has no array named like the input', option: 'data', setting: 'prunelens.calibration.data' };
    await p.locator('.run-scan').click();
    await p.locator('.view.sensitivity [data-task="scan"][data-state="error"]').waitFor();
    assert.equal(await text(p, '.view.sensitivity [data-task="scan"] .error'), '⚠ fashion.npz has no array named like the input (setting: prunelens.calibration.data)');
  });

  it('the criterion picker lists every criterion, grouped, and drives scan, estimate, plan and prune; recovery and steps reach prune and its report', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', action: 'prune', tab: 'ratios' });
    const p = w.page;
    await p.locator('.rows .row').first().waitFor();
    // every criterion the engine offers, under three family headings, each with its one line
    const options = await p.locator('.prune-options .criterion vscode-option').evaluateAll((els) => els.map((e) => ({
      value: e.getAttribute('value'), disabled: e.hasAttribute('disabled'), description: e.getAttribute('description') ?? '', text: e.textContent,
    })));
    assert.deepEqual(options.filter((o) => o.disabled).map((o) => o.text), ['From the weights', 'From activations', 'From gradients']);
    const names = options.filter((o) => !o.disabled).map((o) => o.value);
    assert.deepEqual(names, ['l1', 'l2', 'fpgm', 'bn', 'lamp', 'random', 'activation', 'apoz', 'variance', 'hrank', 'thinet', 'taylor', 'snip', 'grasp', 'synflow', 'obd']);
    assert.deepEqual([...names].sort(), [...ENGINE_CRITERIA].sort(), 'the picker offers exactly what the engine does');
    assert.ok(options.filter((o) => !o.disabled).every((o) => o.description.length > 20), 'each criterion says what it measures');
    assert.equal(await p.locator('.prune-options .criterion').evaluate((e) => (e as unknown as { value: string }).value), 'l1', 'the setting by default');
    // picking one from the dropdown, as a user does
    const scans = host.count('scan');
    const estimates = host.count('estimate');
    await choose(p, '.prune-options .criterion', 'taylor');
    await until('a scan under taylor', async () => host.calls.slice(scans).some((c) => c.method === 'scan' && c.params.criterion === 'taylor'));
    await until('an estimate under taylor', async () => host.calls.slice(estimates).some((c) => c.method === 'estimate' && c.params.criterion === 'taylor'));
    assert.match(await text(p, '.options-notes'), /taylor scores channels from the model run on fashion-mnist-500-images-idx3-ubyte\.gz \(64 samples\)/);
    assert.match(await text(p, '.options-notes'), /the setting prunelens\.criterion is l1/);
    // the plan was made under l1: the panel says so, and plans again under taylor on request
    await p.locator('.view.ratios .stale-criterion a').click();
    await until('a plan under taylor', async () => host.calls.some((c) => c.method === 'plan' && c.params.criterion === 'taylor'));
    const plan = host.calls.filter((c) => c.method === 'plan').at(-1)!;
    assert.equal((plan.params.scan as { settings: { criterion: string } }).settings.criterion, 'taylor', 'the plan uses the scan under taylor');
    await until('the note gone', async () => (await p.locator('.view.ratios .stale-criterion').count()) === 0);
    // recovery least squares + BN in 2 steps
    await choose(p, '.prune-options .recovery', 'least squares + BN');
    await choose(p, '.prune-options .steps', '2 (gradual)');
    // (this FakeHost prunes without the data, as no bridge would: the report says recovery fitted on synthetic inputs)
    await p.locator('vscode-tab-header[data-tab="summary"]').click();
    assert.match(await text(p, '.view.summary .will'), /in 2 steps, then recovers \(lsq\+bn\)/);
    await p.locator('.view.summary .prune').click();
    await p.locator('.view.summary .recovery-report table.recovery tbody tr').first().waitFor({ timeout: 60_000 });
    const prune = host.calls.find((c) => c.method === 'prune')!;
    assert.deepEqual(prune.params.recover, ['lsq', 'bn']);
    assert.equal(prune.params.steps, 2);
    assert.ok(prune.params.recipe, 'the unedited plan is pruned by its channels');
    const report = await text(p, '.view.summary .recovery-report');
    assert.match(report, /least squares \+ BN re-calibration: \d+ layers? refitted by least squares; \d+ BatchNorm layers? re-estimated/);
    // a method the engine undid (it did not help on held-out samples) is said, with its numbers
    for (const note of await p.locator('.view.summary .recovery-report .note.undone').allInnerTexts()) assert.match(note, /was undone: it did not help on the held-out samples/);
    assert.match(report, /Recovery fitted on synthetic inputs/);
    assert.equal(await p.locator('.view.summary table.recovery tr[data-metric="agreement"]').count(), 1);
    assert.equal(await p.locator('.view.summary table.steps tbody tr').count(), 2);
    assert.match(await text(p, '.view.summary'), /in 2 steps, recovered by lsq\+bn\./);
    // saved under a name that says how it was pruned
    await p.locator('.view.summary .save-variant').click();
    await until('the variant saved', async () => (await text(p, '.view.summary .saved')).startsWith('Saved as /tmp/x.onnx'));
    assert.equal(host.calls.find((c) => c.method === 'host.saveVariant')!.params.defaultName, 'fashion-cnn.pruned-macs50-lsq-bn-2steps.onnx');
    // a recipe saved now is the variant's, which records the recovery and steps (the plan's records neither)
    await p.locator('vscode-tab-header[data-tab="ratios"]').click();
    await p.locator('.view.ratios vscode-button', { hasText: 'Save recipe…' }).click();
    await until('the recipe saved', async () => host.count('host.saveRecipe') === 1);
    const recipe = host.calls.find((c) => c.method === 'host.saveRecipe')!.params as { recipe: { settings: { recovery?: { methods: string[] }; steps?: number } }; defaultName: string };
    assert.deepEqual(recipe.recipe.settings.recovery?.methods, ['lsq', 'bn']);
    assert.equal(recipe.recipe.settings.steps, 2);
    assert.equal(recipe.defaultName, 'fashion-cnn.pruned-macs50-lsq-bn-2steps.recipe.json');
    assert.equal(host.count('prune'), 1, 'the variant pruned already gave its recipe');
    await p.locator('vscode-tab-header[data-tab="summary"]').click();
    // another recovery makes the variant stale; pruned again, it is not the one saved
    await choose(p, '.prune-options .recovery', 'none');
    await p.locator('.view.summary .note', { hasText: 'criterion or recovery changed' }).waitFor();
    await p.locator('.view.summary .prune').click();
    await until('the new variant', async () => /^Not saved yet; the last variant saved \(an earlier one\) is \/tmp\/x\.onnx/.test(await text(p, '.view.summary .saved')));
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);
  });

  it('compares criteria: the mean matrices, the groups by least agreement, and a group\'s curves under each side by side', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', tab: 'criteria' });
    const p = w.page;
    const view = p.locator('.view.criteria');
    await view.locator('.run-compare:not([disabled])').waitFor();
    // ticked by default: the panel's criterion, then fpgm and taylor; at most five
    const ticked = async () => view.locator('vscode-checkbox.pick').evaluateAll((els) => els.filter((e) => (e as unknown as { checked: boolean }).checked).map((e) => e.getAttribute('data-criterion')));
    assert.deepEqual(await ticked(), ['l1', 'fpgm', 'taylor']);
    assert.match(await text(p, '.view.criteria .chosen'), /^l1 · fpgm · taylor: the list below compares the first two\.$/);
    for (const c of ['hrank', 'snip']) await view.locator(`vscode-checkbox[data-criterion="${c}"]`).click();
    assert.equal((await ticked()).length, 5);
    assert.equal(await view.locator('vscode-checkbox[data-criterion="obd"]').evaluate((e) => (e as unknown as { disabled: boolean }).disabled), true);
    for (const c of ['hrank', 'snip']) await view.locator(`vscode-checkbox[data-criterion="${c}"]`).click();
    assert.equal(await view.locator('.compare-notes .note').count(), 0, 'calibration data is set');
    const t0 = Date.now();
    await view.locator('.run-compare').click();
    await view.locator('svg[data-chart="criteria-matrix"] g[aria-label="cell"] rect').first().waitFor();
    const toMatrix = Date.now() - t0;
    const call = host.calls.find((c) => c.method === 'compareCriteria')!;
    assert.deepEqual(call.params, { criteria: ['l1', 'fpgm', 'taylor'], ratio: 0.5 });
    assert.equal(await view.locator('svg[data-chart="criteria-matrix"] g[aria-label="cell"] rect').count(), 9);
    assert.equal(await view.locator('svg[data-chart="criteria-overlap"] g[aria-label="cell"] rect').count(), 9);
    assert.match(await text(p, '.view.criteria .used'), /6 prunable groups · overlap at 50 % removed · data criteria on 64 labelled samples/);
    // the groups, least agreement first
    const rows = view.locator('table.agreement tbody tr');
    assert.equal(await rows.count(), 6);
    const least = await rows.locator('td:nth-child(4)').allTextContents();
    const values = least.map((t) => Number(t.split(' ')[0]));
    assert.deepEqual(values, [...values].sort((a, b) => a - b));
    assert.match(await rows.first().locator('td').first().innerText(), /^#\d+ \//, 'groups are named by their layers');
    // the group they agree on least, its curves under each criterion on one chart
    const first = Number(await rows.first().getAttribute('data-group'));
    await view.locator('[data-chart="criteria-curves"][data-series="3"] canvas').waitFor();
    const toCurves = Date.now() - t0;
    const scansOf = (g: number) => host.calls.filter((c) => c.method === 'scan' && JSON.stringify(c.params.only) === JSON.stringify([String(g)]));
    assert.deepEqual(scansOf(first).map((c) => c.params.criterion), ['l1', 'fpgm', 'taylor']);
    assert.deepEqual(await view.locator('.legend li').evaluateAll((els) => els.map((e) => e.getAttribute('data-criterion'))), ['l1', 'fpgm', 'taylor']);
    // another group: selected everywhere, its curves asked for
    const second = Number(await rows.nth(1).getAttribute('data-group'));
    await rows.nth(1).locator('a').click();
    await until('the second group\'s curves', async () => scansOf(second).length === 3 && (await view.locator('h3', { hasText: `Group #${second} ` }).count()) === 1);
    await view.locator('table.agreement tr.selected[data-group="' + second + '"]').waitFor();
    assert.ok(host.messages.some((m) => m.type === 'selected' && m.group === second));
    console.log(`compare view on the example: matrix ${toMatrix} ms, side-by-side curves ${toCurves} ms`);
    // errors are shown in the view
    host.fail.compareCriteria = { message: "one of l1, l2, …, got 'x'", option: 'criteria' };
    await view.locator('.run-compare').click();
    await view.locator('[data-task="compare"][data-state="error"]').waitFor();
    assert.match(await text(p, '.view.criteria [data-task="compare"] .error'), /got 'x'/);
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);

    // after a reload: the comparison comes back from the saved state, the curves from the engine's cached scans
    const state = await p.evaluate(() => (globalThis as unknown as { __state: unknown }).__state);
    const host2 = new FakeHost(session);
    const w2 = await open(host2, { mode: 'panel' }, { state });
    await w2.page.locator('.view.criteria svg[data-chart="criteria-matrix"]').waitFor();
    await w2.page.locator('.view.criteria [data-chart="criteria-curves"][data-series="3"] canvas').waitFor();
    assert.equal(host2.count('compareCriteria'), 0);
    assert.equal(host2.count('scan'), 3);
    assert.deepEqual(await violations(w2), []);
  });

  it('says when data criteria and recovery run on synthetic inputs', async () => {
    const host = new FakeHost(session, { ...SETTINGS, data: undefined, labels: undefined });
    const w = await open(host, { mode: 'panel', tab: 'criteria' }, { theme: 'light' });
    const p = w.page;
    const view = p.locator('.view.criteria');
    await view.locator('.run-compare:not([disabled])').waitFor();
    assert.match(await text(p, '.view.criteria .compare-notes'), /taylor scores channels .* none is set \(prunelens\.calibration\.data\), so it runs on synthetic inputs/);
    await view.locator('.run-compare').click();
    await view.locator('.note.synthetic', { hasText: 'computed on synthetic inputs' }).waitFor();
    await choose(p, '.prune-options .criterion', 'hrank');
    await p.locator('.options-notes .note.synthetic', { hasText: 'hrank scores channels' }).waitFor();
    assert.match(await text(p, '.options-notes'), /it will run on synthetic inputs/);
    await choose(p, '.prune-options .recovery', 'BN re-calibration');
    await p.locator('.options-notes .note.synthetic', { hasText: 'Recovery (bn) will fit on synthetic inputs' }).waitFor();
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);
  });

  it('says which recovery method the engine undid, and why', async () => {
    const host = new FakeHost(session);
    // the engine keeps a method only if it helped on held-out samples; the example's keeps both, so one is undone here
    host.edit.prune = (r: PruneResult) => ({
      ...r, report: { ...r.report, recovery: { ...r.report.recovery!, reverted: [{ method: 'bn', before: r.report.recovery!.after, after: { ...r.report.recovery!.after, 'rel-l2': 0.5 } }] } },
    });
    const w = await open(host, { mode: 'panel', action: 'prune', tab: 'ratios' });
    const p = w.page;
    await p.locator('.rows .row').first().waitFor();
    await choose(p, '.prune-options .recovery', 'least squares + BN');
    await p.locator('vscode-tab-header[data-tab="summary"]').click();
    await p.locator('.view.summary .prune').click();
    const note = p.locator('.view.summary .recovery-report .note.undone[data-method="bn"]');
    await note.waitFor({ timeout: 60_000 });
    assert.match(await note.innerText(), /BN re-calibration was undone: it did not help on the held-out samples \(.* rel-l2 [\d.]+ → 0\.500\)/);
    assert.deepEqual(w.errors, []);
  });

  it('sparsifies 2:4 by OBS from the Before/After tab: the call with its progress, and the result with its honest note', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', tab: 'summary' });
    const p = w.page;
    const view = p.locator('.view.summary .sparsify');
    await view.locator('.run-sparsify:not([disabled])').waitFor();
    await choose(p, '.sparsify .sparsity', '2:4');
    await choose(p, '.sparsify .sparsity-method', 'obs');
    assert.match(await text(p, '.sparsify-notes'), /obs chooses the weights from the model run on fashion-mnist-500-images-idx3-ubyte\.gz \(at most 64 samples/);
    await view.locator('.run-sparsify').click();
    await view.locator('.sparsify-result .sparsified').waitFor({ timeout: 60_000 });
    const call = host.calls.find((c) => c.method === 'host.sparsify')!;
    assert.deepEqual(call.params, { sparsity: { kind: 'nm', n: 2, m: 4 }, method: 'obs', defaultName: 'fashion-cnn.sparse2of4-obs.onnx' });
    assert.ok(host.messages.some((m) => m.type === 'call' && m.method === 'host.sparsify' && m.progress), 'asked with progress, like other long calls');
    const result = await text(p, '.sparsify-result');
    assert.match(result, /^2:4 sparsity by obs: [\d.]+ k? ?of [\d.]+ k? ?weights zeroed \(\d+\.\d %\) in \d+\.\d s\./);
    assert.match(result, /\d+ layers? by obs, \d+ by magnitude/);
    // dense → sparse on the held-out samples: accuracy (labels given), agreement and relative L2
    assert.deepEqual(await view.locator('table.sparsity-quality tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric'))), ['agreement', 'rel-l2', 'accuracy']);
    assert.match(await text(p, '.sparsify table.sparsity-quality thead'), /On the other \d+/);
    assert.match(result, /Saved as .*fashion-cnn\.sparse2of4-obs\.onnx \(/);
    assert.match(await text(p, '.sparsify .sparsity-note'), /the file is no smaller and ONNX Runtime's dense CPU kernels run no faster/);
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);

    // without calibration data the engine refuses Wanda and OBS: the panel says so and does not offer the button
    const bare = new FakeHost(session, { ...SETTINGS, data: undefined, labels: undefined });
    const w2 = await open(bare, { mode: 'panel', tab: 'summary' });
    const p2 = w2.page;
    await p2.locator('.sparsify .run-sparsify:not([disabled])').waitFor();
    assert.match(await text(p2, '.sparsify-notes'), /not judged on samples/);
    await choose(p2, '.sparsify .sparsity-method', 'wanda');
    await p2.locator('.sparsify-notes .note.synthetic', { hasText: 'wanda chooses the weights from the model run on calibration data, and none is set (prunelens.calibration.data)' }).waitFor();
    assert.equal(await p2.locator('.sparsify .run-sparsify').evaluate((e) => (e as unknown as { disabled: boolean }).disabled), true);
    assert.deepEqual(await violations(w2), []);
    assert.deepEqual(w2.errors, []);
  });

  it('draws the graph, and selecting a layer explains its coupling', async () => {
    const host = new FakeHost(session);
    const w = await open(host, { mode: 'panel', tab: 'graph' });
    const p = w.page;
    await until('the first paint', async () => !!(await p.locator('.view.graph').getAttribute('data-first-paint-ms')));
    assert.ok(Number(await p.locator('.view.graph').getAttribute('data-drawn')) > 5);
    assert.equal(await p.locator('.view.graph').getAttribute('data-laying-out'), null, 'painted means laid out');
    await p.locator('.graph-search input').fill('res/conv2/conv2.0');
    await p.locator('.search-results li').first().click();
    await p.locator('.graph-side h3', { hasText: /^Group 1:/ }).waitFor();
    const side = await text(p, '.graph-side');
    assert.match(side, /These 8 layers lose the same channels/);
    assert.match(side, /Why they are coupled\s*Add \/res\/Add: .*residual/);
    assert.match(side, /Conv \/dw\/dw\.0\/Conv: depthwise/);
    assert.deepEqual(await violations(w), []);
    assert.deepEqual(w.errors, []);
  });

  it('shows the model overview in every theme kind', async () => {
    for (const theme of ['light', 'hc'] as const) {
      const host = new FakeHost(session);
      const w = await open(host, { mode: 'overview' }, { theme });
      const p = w.page;
      await p.locator('.overview .cards').waitFor();
      assert.match(await text(p, '.cards'), /78\.4 k/);
      assert.equal(await p.locator('table.groups tbody tr').count(), 7);
      assert.ok(await p.locator('svg[data-chart="ops"]').count());
      await p.locator('.overview .prune').click();
      await until('the command', async () => host.calls.some((c) => c.method === 'host.command'));
      assert.deepEqual(await violations(w), []);
      assert.deepEqual(w.errors, []);
    }
  });
});
