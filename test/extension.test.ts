/**
 * The extension's glue under Node's test runner, with a stub of the `vscode` module (test/helpers/vscode-stub.ts):
 * the engine process client (logging, progress, restart after a crash), the bridge between a webview and the
 * engine, the host's dialogs and files, the sidebar views, the commands and the webview's HTML.
 */
import './helpers/use-vscode-stub.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { CLI, EXAMPLE, ROOT, tmpdir } from './helpers/env.js';

const { stub, FakeWebview, Uri } = await import('./helpers/vscode-stub.js');
const { EngineClient, EngineError } = await import('../src/extension/engine-client.js');
const { ModelStore } = await import('../src/extension/models.js');
const { WebviewBridge } = await import('../src/extension/bridge.js');
const { HostActions, parseRecipe } = await import('../src/extension/host-actions.js');
const { findVariants } = await import('../src/extension/variants-tree.js');
const { SensitivityTree } = await import('../src/extension/sensitivity-tree.js');
const { resolveModel } = await import('../src/extension/commands.js');
const { csp, webviewHtml } = await import('../src/extension/html.js');
const { resolveSettings } = await import('../src/extension/settings.js');
type Msg = Record<string, unknown> & { type: string };

beforeEach(() => stub.reset());

describe('engine process client', () => {
  const lines: string[] = [];
  const died: string[] = [];
  const engine = new EngineClient({ cli: CLI, log: (l) => lines.push(l), onDied: (r) => died.push(r) });
  const models = new ModelStore(engine);
  after(() => engine.dispose());

  it('starts the engine on the first request, logs each request with its duration and forwards progress', async () => {
    assert.equal(engine.pid, undefined, 'not started before it is needed');
    const summary = await models.summary(EXAMPLE);
    assert.equal(summary.prunableGroups, 6);
    const progress: unknown[] = [];
    const scan = await models.call(EXAMPLE, 'scan', { samples: 8, ratios: [0.5] }, { onProgress: (v) => progress.push(v) });
    assert.equal(scan.targets.length, 6);
    assert.ok(progress.some((p) => (p as { kind: string }).kind === 'report'), 'progress reached the caller');
    assert.ok(lines.some((l) => /^← open \d+(\.\d)? ms$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^→ scan .*samples=8/.test(l)));
  });

  it('turns engine errors into one sentence with the option involved', async () => {
    await assert.rejects(models.call(EXAMPLE, 'prune', { ratio: 2 }), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.error.option, 'ratio');
      assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace');
      return true;
    });
  });

  it('restarts after the process dies, tells the user, and reopens models transparently', async () => {
    const before = engine.currentGeneration;
    const pending = models.call(EXAMPLE, 'scan', { samples: 400, ratios: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(engine.pid!, 'SIGKILL');
    await assert.rejects(pending, (e: unknown) => e instanceof EngineError && e.error.code === 'engine-stopped' && /SIGKILL/.test(e.message));
    assert.equal(died.length, 1);
    assert.match(died[0], /ended by SIGKILL/);
    // the next call starts a new process and opens the model there again
    const est = await models.call(EXAMPLE, 'estimate', { keep: {} });
    assert.equal(engine.currentGeneration, before + 1);
    assert.equal(est.params, est.before.params);
  });

  it('cancels a request through its AbortSignal', async () => {
    const controller = new AbortController();
    const pending = models.call(EXAMPLE, 'scan', { samples: 400, seed: 7 }, { signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(pending, (e: unknown) => e instanceof EngineError && e.error.cancelled === true);
  });
});

/** A model store that answers from a table, recording what it was asked. */
function fakeModels(answers: Record<string, unknown | ((p: unknown) => unknown)>) {
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const store = {
    calls,
    summary: async () => answers.open,
    call: async (_file: string, method: string, params: Record<string, unknown>, opts?: { signal?: AbortSignal }) => {
      calls.push({ method, params });
      const a = answers[method];
      if (typeof a === 'function') return (a as (p: unknown, o?: unknown) => unknown)(params, opts);
      return a;
    },
  };
  return store;
}

describe('webview bridge', () => {
  const dir = tmpdir();
  const model = Uri.file(path.join(dir, 'm.onnx'));

  function bridge(answers: Record<string, unknown>, mode: 'panel' | 'overview' = 'panel') {
    const fake = new FakeWebview();
    const models = fakeModels(answers);
    const b = new WebviewBridge(fake as never, model as never, mode, { models: models as never, actions: new HostActions({ models: models as never }), cacheDir: '/cache', log: () => undefined });
    return { fake, models, b };
  }

  it('sends init when the webview is ready, with the settings resolved (data paths from the workspace folder)', async () => {
    stub.workspaceFolder = dir;
    stub.config['prunelens.calibration.data'] = 'data/images';
    stub.config['prunelens.calibration.samples'] = 32;
    const { fake, b } = bridge({});
    b.start('prune', 'ratios');
    assert.equal(fake.posted.length, 0, 'nothing before ready');
    fake.receive({ type: 'ready' });
    const init = fake.posted[0] as { type: string; action: string; settings: { data: string; samples: number; criterion: string } };
    assert.equal(init.type, 'init');
    assert.equal(init.action, 'prune');
    assert.equal(init.settings.data, path.join(dir, 'data/images'));
    assert.equal(init.settings.samples, 32);
    assert.equal(init.settings.criterion, 'l1');
    // shown again after being hidden: the command does not run a second time
    fake.receive({ type: 'ready' });
    assert.equal((fake.posted[1] as { action?: string }).action, undefined);
    b.dispose();
  });

  it('fills in the settings for engine calls and answers with result or error', async () => {
    stub.config['prunelens.criterion'] = 'fpgm';
    const { fake, models, b } = bridge({ scan: { targets: [] }, estimate: () => { throw new EngineError({ message: 'bad samples', option: 'samples', code: 'invalid-option' }); } });
    fake.receive({ type: 'ready' });
    fake.receive({ type: 'call', id: 1, method: 'scan', params: { ratios: [0.5] } });
    const r = await fake.next<Msg>((m) => m.type === 'result' && m.id === 1);
    assert.deepEqual(r.result, { targets: [] });
    assert.equal(models.calls[0].params.criterion, 'fpgm', 'from the settings');
    assert.deepEqual(models.calls[0].params.ratios, [0.5], 'the webview overrides a default');
    assert.equal(models.calls[0].params.cacheDir, '/cache');
    fake.receive({ type: 'call', id: 2, method: 'estimate', params: { keep: {} } });
    const e = await fake.next<Msg>((m) => m.type === 'error' && m.id === 2);
    assert.deepEqual(e.error, { message: 'bad samples', option: 'samples', code: 'invalid-option', setting: 'prunelens.calibration.samples' });
    b.dispose();
  });

  it('lets the panel\'s criterion and recovery override the settings, and fills in the data for comparisons', async () => {
    stub.workspaceFolder = dir;
    stub.config['prunelens.criterion'] = 'l1';
    stub.config['prunelens.calibration.data'] = 'calib.npz';
    stub.config['prunelens.calibration.samples'] = 32;
    stub.config['prunelens.prune.recover'] = ['bn'];
    const { fake, models, b } = bridge({ plan: {}, prune: {}, compareCriteria: {} });
    fake.receive({ type: 'ready' });
    const call = async (id: number, method: string, params: unknown) => {
      fake.receive({ type: 'call', id, method, params });
      await fake.next<Msg>((m) => m.type === 'result' && m.id === id);
      return models.calls.at(-1)!.params;
    };
    // a plan under the panel's criterion scans under it too (when it has to scan)
    const plan = await call(1, 'plan', { target: { kind: 'macs', keep: 0.5 }, strategy: 'sensitivity', criterion: 'taylor' });
    assert.equal(plan.criterion, 'taylor');
    assert.equal((plan.scanSettings as { criterion: string; data: string }).criterion, 'taylor');
    assert.equal((plan.scanSettings as { data: string }).data, path.join(dir, 'calib.npz'));
    // without a criterion of its own, the setting's
    const plain = await call(2, 'plan', { target: { kind: 'macs', keep: 0.5 } });
    assert.equal((plain.scanSettings as { criterion: string }).criterion, 'l1');
    // recovery: the panel's choice (none included) wins over the setting's
    assert.deepEqual((await call(3, 'prune', { keep: { 0: 8 }, recover: ['lsq', 'bn'], steps: 2 })).recover, ['lsq', 'bn']);
    assert.deepEqual((await call(4, 'prune', { keep: { 0: 8 }, recover: [] })).recover, []);
    assert.deepEqual((await call(5, 'prune', { keep: { 0: 8 } })).recover, ['bn'], 'the setting when the panel says nothing');
    // a recipe that records its recovery replays it (the engine takes its data from the recipe)
    assert.equal((await call(6, 'prune', { recipe: { settings: { recovery: { methods: ['lsq'], seed: 1 } } } })).recover, undefined);
    // comparisons get the calibration data and samples of the settings
    const cmp = await call(7, 'compareCriteria', { criteria: ['l1', 'taylor'], ratio: 0.5 });
    assert.deepEqual(cmp, { data: path.join(dir, 'calib.npz'), samples: 32, criteria: ['l1', 'taylor'], ratio: 0.5 });
    b.dispose();
  });

  it('aborts a call the webview cancels', async () => {
    let aborted = false;
    const { fake, b } = bridge({
      scan: (_p: unknown, o: { signal: AbortSignal }) => new Promise((_, reject) => o.signal.addEventListener('abort', () => {
        aborted = true;
        reject(new EngineError({ message: 'cancelled', code: 'cancelled', cancelled: true }));
      })),
    });
    fake.receive({ type: 'ready' });
    fake.receive({ type: 'call', id: 7, method: 'scan', params: {} });
    fake.receive({ type: 'cancel', id: 7 });
    const e = await fake.next<Msg>((m) => m.type === 'error' && m.id === 7);
    assert.ok(aborted);
    assert.equal((e.error as { cancelled: boolean }).cancelled, true);
    b.dispose();
  });
  it('streams the progress of host.sparsify and cancels it like an engine call', async () => {
    let aborted = false;
    const { fake, models, b } = bridge({
      sparsify: (_p: unknown, o: { signal: AbortSignal; onProgress: (v: unknown) => void }) => new Promise((_, reject) => {
        o.onProgress({ kind: 'report', phase: 'sparsify', done: 1, total: 4, message: 'obs' });
        o.signal.addEventListener('abort', () => {
          aborted = true;
          reject(new EngineError({ message: 'cancelled', code: 'cancelled', cancelled: true }));
        });
      }),
    });
    stub.saveDialog.push(Uri.file(path.join(dir, 'm.sparse50-obs.onnx')));
    fake.receive({ type: 'ready' });
    fake.receive({ type: 'call', id: 9, method: 'host.sparsify', params: { sparsity: { kind: 'unstructured', ratio: 0.5 }, method: 'obs', defaultName: 'm.sparse50-obs.onnx' }, progress: true });
    const p = await fake.next<Msg>((m) => m.type === 'progress' && m.id === 9);
    assert.equal((p.value as { message: string }).message, 'obs');
    assert.equal(models.calls[0].method, 'sparsify');
    fake.receive({ type: 'cancel', id: 9 });
    const e = await fake.next<Msg>((m) => m.type === 'error' && m.id === 9);
    assert.ok(aborted);
    assert.equal((e.error as { cancelled: boolean }).cancelled, true);
    b.dispose();
  });
});

describe('host actions', () => {
  const dir = tmpdir();
  const modelPath = path.join(dir, 'model.onnx');
  fs.writeFileSync(modelPath, 'x');
  const callerOf = (file: string) => ({
    uri: Uri.file(file) as never, model: { uri: `file://${file}`, path: file, name: path.basename(file) }, settings: () => resolveSettings(Uri.file(file) as never),
  });
  const caller = callerOf(modelPath);

  it('saves a variant where the user chooses, asking before replacing a file, and opens its report', async () => {
    const saves: Record<string, unknown>[] = [];
    const models = { call: async (_f: string, _m: string, p: Record<string, unknown>) => (saves.push(p), { path: p.path, bytes: 10, reports: { json: 'r.json', markdown: path.join(dir, 'r.md') } }) };
    const saved: unknown[] = [];
    const actions = new HostActions({ models: models as never, onSaved: (_m, s) => saved.push(s) });
    const target = path.join(dir, 'model.pruned-macs50.onnx');
    stub.saveDialog.push(Uri.file(target));
    const r = await actions.run('host.saveVariant', { variantId: 'v1', defaultName: 'model.pruned-macs50.onnx' }, caller);
    assert.equal(r?.name, 'model.pruned-macs50.onnx');
    assert.deepEqual(saves[0], { variantId: 'v1', path: target, overwrite: false });
    assert.equal(saved.length, 1);
    assert.ok(stub.executed.some((e) => e.command === 'markdown.showPreview'), 'the report opens');
    // the file exists now: replacing it needs the user's yes
    fs.writeFileSync(target, 'old');
    stub.saveDialog.push(Uri.file(target));
    stub.answers.push(undefined);
    assert.equal(await actions.run('host.saveVariant', { variantId: 'v1', defaultName: 'x.onnx' }, caller), null);
    assert.equal(saves.length, 1, 'not saved when the user says no');
    assert.match(stub.messages.at(-1)!.message, /already exists/);
    stub.saveDialog.push(Uri.file(target));
    stub.answers.push('Replace');
    await actions.run('host.saveVariant', { variantId: 'v1', defaultName: 'x.onnx' }, caller);
    assert.equal(saves[1].overwrite, true);
    // never over the model itself
    stub.saveDialog.push(Uri.file(modelPath));
    assert.equal(await actions.run('host.saveVariant', { variantId: 'v1', defaultName: 'x.onnx' }, caller), null);
    assert.equal(saves.length, 2);
  });

  it('offers to save a variant in its model\'s format: TF.js model.json, .keras, .h5', async () => {
    const models = { call: async (_f: string, _m: string, p: Record<string, unknown>) => ({ path: p.path, bytes: 10 }) };
    const actions = new HostActions({ models: models as never });
    for (const [name, filter] of [['model.json', { 'TF.js model': ['json'] }], ['net.keras', { 'Keras model': ['keras'] }], ['net.h5', { 'Keras model': ['h5'] }], ['m.onnx', { 'ONNX model': ['onnx'] }]] as const) {
      const from = callerOf(path.join(dir, name));
      stub.saveDialog.push(undefined);
      await actions.run('host.saveVariant', { variantId: 'v1', defaultName: `x.pruned-macs50${path.extname(name)}` }, from);
      assert.deepEqual(stub.saveDialogOptions.at(-1)!.filters, filter, name);
    }
  });

  it('sparsifies into a file the user chooses, in the model\'s format, with the calibration settings, asking before replacing one', async () => {
    stub.workspaceFolder = dir;
    stub.config['prunelens.calibration.data'] = 'calib/images';
    stub.config['prunelens.calibration.labels'] = 'calib/labels.txt';
    stub.config['prunelens.calibration.samples'] = 32;
    const calls: { method: string; params: Record<string, unknown>; opts: unknown }[] = [];
    const models = { call: async (_f: string, method: string, p: Record<string, unknown>, opts: unknown) => (calls.push({ method, params: p, opts }), { output: p.path, method: p.method, note: 'no faster' }) };
    const actions = new HostActions({ models: models as never });
    const params = { sparsity: { kind: 'nm' as const, n: 2, m: 4 }, method: 'obs' as const, defaultName: 'model.sparse2of4-obs.onnx' };
    const target = path.join(dir, 'model.sparse2of4-obs.onnx');
    stub.saveDialog.push(Uri.file(target));
    const signal = new AbortController().signal;
    const onProgress = () => undefined;
    const r = await actions.run('host.sparsify', params, caller, { signal, onProgress });
    // the dialog opens in the model's folder with the proposed name and the model's format
    assert.equal(stub.saveDialogOptions[0].defaultUri?.fsPath, target);
    assert.deepEqual(stub.saveDialogOptions[0].filters, { 'ONNX model': ['onnx'] });
    assert.equal(calls[0].method, 'sparsify');
    assert.deepEqual(calls[0].params, {
      path: target, sparsity: { kind: 'nm', n: 2, m: 4 }, method: 'obs',
      data: path.join(dir, 'calib/images'), labels: path.join(dir, 'calib/labels.txt'), samples: 32, overwrite: false,
    });
    assert.deepEqual(calls[0].opts, { signal, onProgress }, 'the webview\'s cancel and progress reach the engine');
    assert.equal(r?.name, 'model.sparse2of4-obs.onnx');
    assert.equal(r?.note, 'no faster');
    assert.deepEqual(stub.executed, [], 'nothing is opened');
    // an existing file: replaced only with the user's yes
    fs.writeFileSync(target, 'old');
    stub.saveDialog.push(Uri.file(target));
    stub.answers.push(undefined);
    assert.equal(await actions.run('host.sparsify', params, caller), null);
    assert.equal(calls.length, 1, 'not sparsified when the user says no');
    assert.match(stub.messages.at(-1)!.message, /model\.sparse2of4-obs\.onnx already exists\. Replace it\?/);
    stub.saveDialog.push(Uri.file(target));
    stub.answers.push('Replace');
    await actions.run('host.sparsify', params, caller);
    assert.equal(calls[1].params.overwrite, true);
    // never over the model itself; a dismissed dialog does nothing
    stub.saveDialog.push(Uri.file(modelPath), undefined);
    assert.equal(await actions.run('host.sparsify', params, caller), null);
    assert.equal(await actions.run('host.sparsify', params, caller), null);
    assert.equal(calls.length, 2);
    // without calibration data none is passed (the engine says Wanda and OBS need it); a Keras model is offered .keras
    stub.config = {};
    const keras = callerOf(path.join(dir, 'net.keras'));
    stub.saveDialog.push(Uri.file(path.join(dir, 'net.sparse50.keras')));
    await actions.run('host.sparsify', { sparsity: { kind: 'unstructured', ratio: 0.5 }, method: 'magnitude', defaultName: 'net.sparse50.keras' }, keras);
    assert.deepEqual(stub.saveDialogOptions.at(-1)!.filters, { 'Keras model': ['keras'] });
    assert.deepEqual(calls[2].params, { path: path.join(dir, 'net.sparse50.keras'), sparsity: { kind: 'unstructured', ratio: 0.5 }, method: 'magnitude', samples: 64, overwrite: false });
  });

  it('writes and reads recipes with workspace.fs, refusing files that are not recipes', async () => {
    const actions = new HostActions({ models: {} as never });
    const recipe = { kind: 'prunelens-recipe', version: 1, groups: [{ id: 0, keep: 3 }] };
    const file = path.join(dir, 'r.recipe.json');
    stub.saveDialog.push(Uri.file(file));
    await actions.run('host.saveRecipe', { recipe: recipe as never, defaultName: 'r.recipe.json' }, caller);
    stub.openDialog.push([Uri.file(file)]);
    assert.deepEqual(await actions.run('host.loadRecipe', {}, caller), recipe);
    assert.throws(() => parseRecipe(new TextEncoder().encode('{"a":1}'), 'plan.json'), /plan\.json is not a PruneLens recipe/);
    assert.throws(() => parseRecipe(new TextEncoder().encode('nope'), 'x.json'), /x\.json is not JSON/);
  });

  it('lists the variants saved beside a model from their reports', async () => {
    const other = path.join(dir, 'other.onnx');
    for (const [name, input] of [['model.pruned-a', modelPath], ['other.pruned', other]] as const) {
      fs.writeFileSync(path.join(dir, `${name}.onnx`), 'x');
      fs.writeFileSync(path.join(dir, `${name}.report.json`), JSON.stringify({ input, before: { params: 10, macs: 10 }, after: { params: 5, macs: 4 }, verification: { passed: true } }));
    }
    fs.writeFileSync(path.join(dir, 'broken.report.json'), '{');
    const vs = await findVariants(Uri.file(modelPath) as never);
    assert.deepEqual(vs.map((v) => v.name), ['model.pruned-a.onnx']);
  });
});

describe('sidebar and commands', () => {
  it('renders the panel\'s groups with their risk, planned ratio and member layers', () => {
    const tree = new SensitivityTree();
    const model = { uri: 'file:///m.onnx', path: '/m.onnx', name: 'm.onnx' };
    tree.show(model, [
      { id: 1, label: '/a/Conv', channels: 32, prunable: true, sensitivity: 0.4, planned: 0.5, risk: 'collapse', note: 'left with 1 channel', layers: ['/a/Conv', '/b/Conv'] },
      { id: 6, label: '/fc2/Gemm', channels: 0, prunable: false, reason: 'graph output', risk: 'unprunable', layers: ['/fc2/Gemm'] },
    ], true);
    const [g, fixed] = tree.getChildren();
    const item = tree.getTreeItem(g);
    assert.equal(item.label, '#1 /a/Conv');
    assert.equal(item.description, '32 ch · planned 50 % · loss 0.400');
    assert.equal((item.iconPath as unknown as { color: { id: string } }).color.id, 'charts.red');
    assert.deepEqual(item.command?.arguments, ['file:///m.onnx', 1]);
    assert.equal(tree.getTreeItem(fixed).description, 'fixed');
    const layers = tree.getChildren(g);
    assert.deepEqual(layers.map((l) => tree.getTreeItem(l).label), ['/a/Conv', '/b/Conv']);
    assert.equal(tree.getParent(layers[0]), g);
  });

  it('acts on the file given, else the active model, else one the user picks', async () => {
    const a = Uri.file('/w/a.onnx');
    assert.equal(await resolveModel(a, () => undefined), a);
    const b = Uri.file('/w/b.onnx');
    assert.equal(await resolveModel(undefined, () => b as never), b);
    const c = Uri.file('/w/c.onnx');
    stub.openDialog.push([c]);
    assert.equal(await resolveModel(undefined, () => undefined), c);
    assert.equal(await resolveModel(undefined, () => undefined), undefined, 'dismissed');
  });

  it('serves the webview under a strict CSP', () => {
    const policy = csp('https://webview.test', 'abc');
    assert.doesNotMatch(policy, /unsafe/);
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'nonce-abc'/);
    assert.match(policy, /worker-src blob:/);
    const html = webviewHtml(new FakeWebview() as never, Uri.file('/ext') as never, 'm.onnx');
    const nonce = /script nonce="([^"]+)"/.exec(html)![1];
    assert.ok(html.includes(`'nonce-${nonce}'`));
    assert.doesNotMatch(html, /style=|<style/, 'no inline styles');
  });

  it('declares what VS Code needs: lazy activation, a workspace extension, menus on .onnx files', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.extensionKind, ['workspace']);
    assert.ok(!pkg.activationEvents.includes('*'));
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    for (const menu of Object.values(pkg.contributes.menus) as { command: string }[][]) for (const m of menu) assert.ok(commands.has(m.command), m.command);
    const explorer = pkg.contributes.menus['explorer/context'].map((m: { command: string; when: string }) => `${m.command} ${m.when}`);
    assert.ok(explorer.includes('prunelens.pruneModel resourceExtname == .onnx'));
    assert.equal(pkg.contributes.customEditors[0].selector[0].filenamePattern, '*.onnx');
    assert.equal(pkg.main, './dist/extension.cjs');
  });
});
