/**
 * End to end in a real VS Code (code-server, see test/helpers/code-server.ts): the packaged .vsix installed into a
 * fresh profile, a workspace with the example model; right-click → Prune Model…, the panel draws its charts and the
 * graph, a scan runs with progress and another is cancelled, a ratio change moves the estimate, a variant is saved
 * and the saved file loads, is smaller and verifies; a TF.js model.json beside it is scanned and planned from the same
 * right-click; the browser console shows no CSP violation.
 *
 * Skipped unless code-server and Chromium are installed (.ci/run installs both). PRUNELENS_E2E_SHOTS=DIR also saves
 * screenshots of every view in the light, dark and high-contrast themes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import JSZip from 'jszip';
import { type Frame, type Page } from 'playwright-core';
import { ROOT, tmpdir } from './helpers/env.js';
import { choose } from './helpers/webview-harness.js';
import { buildFixture, saveFixture } from './helpers/tfjs-fixtures.js';
import { driver, E2E_SKIP as skip, openWorkbench, packageVsix, SHOTS, THEMES, type ThemeName, type Workbench } from './helpers/workbench.js';

describe('the extension in VS Code (code-server)', { skip, timeout: 600_000 }, () => {
  const dir = tmpdir('prunelens-e2e-');
  const workspace = path.join(dir, 'workspace');
  const model = path.join(workspace, 'fashion-cnn.onnx');
  const vsix = path.join(dir, 'prunelens.vsix');
  let workbench: Workbench;
  let page: Page;
  let consoleLines: string[] = [];
  let theme: ThemeName = 'dark';
  const workspaceSettings = (samples: number) => {
    fs.writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify({
      // the colour theme here rather than in the user settings: VS Code watches this file as it runs
      'workbench.colorTheme': THEMES[theme],
      'prunelens.calibration.data': 'fashion-mnist-500-images-idx3-ubyte.gz',
      'prunelens.calibration.labels': 'fashion-mnist-500-labels-idx1-ubyte.gz',
      'prunelens.calibration.samples': samples,
      'prunelens.prune.latencyRuns': 5,
    }, null, 2));
  };

  before(async () => {
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    for (const f of ['fashion-cnn.onnx', 'fashion-mnist-500-images-idx3-ubyte.gz', 'fashion-mnist-500-labels-idx1-ubyte.gz']) {
      fs.copyFileSync(path.join(ROOT, 'examples', f), path.join(workspace, f));
    }
    workspaceSettings(64);
    // a TF.js layers model beside it (model.json + weights.bin)
    await saveFixture(await buildFixture('functional'), workspace);
    await packageVsix(vsix);
    workbench = await openWorkbench(dir, workspace, vsix);
    ({ page, consoleLines } = workbench);
  });

  after(async () => {
    await workbench?.close();
  });

  const { until, text, frameWith, showContainer, shoot, rightClick, graphDrawn } = driver(() => page, dir);

  let panel: Frame;
  let timings: Record<string, number> = {};

  it('packages only what runs, with one platform\'s native binaries', async () => {
    const names = Object.keys((await JSZip.loadAsync(fs.readFileSync(vsix))).files);
    assert.ok(names.includes(`extension/node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`));
    const other = new RegExp(`napi-v6/(?!${process.platform}/${process.arch}/)`);
    assert.deepEqual(names.filter((n) => other.test(n)), [], 'no other platform\'s binaries');
    assert.deepEqual(names.filter((n) => /\/(src|test|webview|scripts)\/|\.map$|\.ts$/.test(n)), [], 'no sources, tests or source maps');
    assert.ok(names.includes('extension/dist/webview.js') && names.includes('extension/dist/extension.cjs') && names.includes('extension/dist/cli.js'));
    const mb = fs.statSync(vsix).size / 1e6;
    assert.ok(mb < 40, `${mb.toFixed(1)} MB`);
    console.log(`vsix: ${mb.toFixed(1)} MB, ${names.length} entries`);
  });

  it('right-click → Prune Model… opens the panel, which plans and draws its charts', async () => {
    const t0 = await rightClick('fashion-cnn.onnx', 'Prune Model…', 'Prune fashion-cnn.onnx');
    panel = await frameWith('.panel');
    await panel.locator('.rows .row').first().waitFor({ timeout: 60_000 });
    timings.rightClickToRatioBars = Date.now() - t0;
    await panel.locator('[data-chart="curves"] canvas').first().waitFor({ state: 'attached', timeout: 30_000 });
    timings.rightClickToCurves = Date.now() - t0;
    assert.equal(await panel.locator('.rows .row').count(), 6, 'one row per prunable group of the example');
    assert.match(await panel.locator('[data-metric="MACs"] .metric-ratio').innerText(), /kept/);
    await shoot('ratios-dark');
  });

  it('draws the sensitivity charts and the dependency graph', async () => {
    await panel.locator('vscode-tab-header[data-tab="sensitivity"]').click();
    await panel.locator('svg[data-chart="heatmap"] rect').first().waitFor();
    assert.ok(await panel.locator('[data-chart="curves"] canvas').count() >= 1);
    assert.match(await panel.locator('.used').innerText(), /labelled samples/, 'the panel says which data the scan used');
    await shoot('sensitivity-dark');
    const t0 = Date.now();
    await panel.locator('vscode-tab-header[data-tab="graph"]').click();
    await until('the graph\'s first paint', async () => !!(await panel.locator('.view.graph').getAttribute('data-first-paint-ms')), 60_000);
    timings.graphFirstPaint = Date.now() - t0;
    const drawn = Number(await panel.locator('.view.graph').getAttribute('data-drawn'));
    assert.ok(drawn > 10, `${drawn} graph items drawn`);
    // selecting a layer explains its group's coupling
    await panel.locator('.graph-search').locator('input').fill('res/conv2');
    await panel.locator('.search-results li').first().click();
    await panel.locator('.graph-side h3', { hasText: /^Group \d+/ }).waitFor();
    assert.match(await panel.locator('.graph-side').innerText(), /Why they are coupled[\s\S]*Add/);
    await shoot('graph-dark');
  });

  it('runs a scan with progress, and cancels another', async () => {
    await panel.locator('vscode-tab-header[data-tab="sensitivity"]').click();
    // more samples: a new scan (the first one is cached by the engine)
    workspaceSettings(300);
    await until('the new settings', async () => (await text(panel, '.used .next')).includes('300 samples'));
    await panel.locator('.run-scan').click();
    await panel.locator('.view.sensitivity [data-task="scan"][data-state="running"]').waitFor({ timeout: 10_000 });
    await panel.locator('.view.sensitivity [data-task="scan"][data-state="idle"]').waitFor({ state: 'attached', timeout: 120_000 });
    assert.match(await panel.locator('.used').innerText(), /300 labelled samples/);
    workspaceSettings(500);
    await until('the new settings', async () => (await text(panel, '.used .next')).includes('500 samples'));
    await panel.locator('.run-scan').click();
    await panel.locator('.view.sensitivity [data-task="scan"][data-state="running"] .cancel').waitFor({ timeout: 10_000 });
    await until('scan progress', async () => /\(\d+ %\)/.test(await text(panel, '[data-task="scan"] .task-message')));
    const t = Date.now();
    await panel.locator('.view.sensitivity [data-task="scan"] .cancel').click();
    await panel.locator('.view.sensitivity [data-task="scan"]', { hasText: 'Cancelled.' }).waitFor({ timeout: 10_000 });
    timings.cancel = Date.now() - t;
    assert.match(await panel.locator('.used').innerText(), /300 labelled samples/, 'the completed scan stays shown');
    workspaceSettings(64);
  });

  it('changing a ratio moves the estimate', async () => {
    await panel.locator('vscode-tab-header[data-tab="ratios"]').click();
    const macs = panel.locator('[data-metric="MACs"] .metric-value');
    const before = await macs.textContent();
    // drag the first group's bar across, pointer move by pointer move, as a user does
    const track = panel.locator('.rows .row').nth(3).locator('.track');
    const box = (await track.boundingBox())!;
    const frameBox = { x: box.x, y: box.y };
    await page.mouse.move(frameBox.x + 2, frameBox.y + box.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(frameBox.x + (box.width * 0.6 * i) / 20, frameBox.y + box.height / 2);
    await page.mouse.up();
    await until('a new estimate', async () => (await macs.textContent()) !== before);
    const rt = await panel.locator('.rt').getAttribute('data-median-ms');
    timings.estimateRoundTrip = Number(rt);
    assert.ok(Number(rt) > 0, 'estimate round trips were measured');
    // undo brings the plan back
    await panel.locator('.undo').click();
    await until('the planned estimate back', async () => (await macs.textContent()) === before);
  });

  it('saves a variant that loads, is smaller and verifies', async () => {
    await panel.locator('.save-variant').first().click();
    // VS Code's own save dialog (a quick input in the browser), in the model's folder with the default name
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 60_000 });
    await until('the default name in the save dialog', async () => /\.onnx$/.test(await input.inputValue()));
    await shoot('save-dialog-dark');
    assert.match(await input.inputValue(), /\/fashion-cnn\.pruned-macs50\.onnx$/, 'the default name, in the model\'s folder');
    await input.press('Enter');
    const out = path.join(workspace, 'fashion-cnn.pruned-macs50.onnx');
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(out.replace(/\.onnx$/, '.report.md'))) {
      assert.ok(Date.now() < deadline, 'the variant was saved');
      await page.waitForTimeout(200);
    }
    assert.ok(fs.statSync(out).size < fs.statSync(model).size, 'smaller than the original');
    const report = JSON.parse(fs.readFileSync(out.replace(/\.onnx$/, '.report.json'), 'utf8'));
    assert.equal(report.verification.passed, true);
    assert.ok(fs.existsSync(out.replace(/\.onnx$/, '.recipe.json')));
    // it loads: the CLI inspects it and runs it against its own report's numbers
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'inspect', out, '--json', '--no-groups'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).params, report.after.params);
    const ev = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'eval', out, '--data', path.join(workspace, 'fashion-mnist-500-images-idx3-ubyte.gz'), '--labels', path.join(workspace, 'fashion-mnist-500-labels-idx1-ubyte.gz'), '--json'], { encoding: 'utf8' });
    assert.equal(ev.status, 0, ev.stderr);
    assert.ok(JSON.parse(ev.stdout).top1 > 0.5, 'the pruned model still classifies');
    // the Variants view lists it
    await showContainer('Pruning');
    await page.locator('.pane-body .monaco-list-row', { hasText: 'fashion-cnn.pruned-macs50.onnx' }).waitFor({ timeout: 20_000 });
    // the report opens as a Markdown preview
    await frameWith('h2, h1', 20_000).catch(() => undefined);
    await page.waitForTimeout(500);
    await shoot('report-and-variants-dark');
  });

  it('the Layer Sensitivity view selects a group in the panel', async () => {
    await showContainer('Pruning');
    const row = page.locator('.pane-body .monaco-list-row', { hasText: '#2 /res/conv1/conv1.0/Conv' });
    await row.click();
    panel = await frameWith('.panel .rows .row');
    await panel.locator('.rows .row.selected[data-group="2"]').waitFor({ timeout: 20_000 });
  });

  it('the panel comes back after a window reload, with its ratios', async () => {
    const kept = await panel.locator('.rows .row .kept input').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    await page.reload();
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    await page.locator('.tab', { hasText: 'Prune fashion-cnn.onnx' }).click({ timeout: 60_000 });
    panel = await frameWith('.panel .rows .row', 60_000);
    await until('the restored ratios', async () =>
      JSON.stringify(await panel.locator('.rows .row .kept input').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))) === JSON.stringify(kept));
  });

  it('picks a criterion, compares criteria, and shows their matrix and a group\'s curves side by side', async () => {
    await panel.locator('vscode-tab-header[data-tab="sensitivity"]').click();
    await panel.locator('.panel-head .muted').waitFor({ timeout: 60_000 }); // the model is open again after the reload
    await choose(panel, '.prune-options .criterion', 'taylor', () => shoot('criterion-picker-dark'));
    // the shown scan follows the panel's criterion (a new scan, then cached by the engine session)
    await until('the scan under taylor', async () => (await panel.locator('.view.sensitivity [data-task="scan"]').getAttribute('data-state')) === 'idle'
      && /^Data: [^\n]* criterion taylor ·/.test(await panel.locator('.view.sensitivity .used').innerText()), 120_000);
    assert.match(await panel.locator('.options-notes').innerText(), /taylor scores channels from the model run on fashion-mnist-500-images-idx3-ubyte\.gz/);
    await shoot('criterion-taylor-dark');
    await panel.locator('vscode-tab-header[data-tab="criteria"]').click();
    assert.match(await text(panel, '.view.criteria .chosen'), /^taylor · l1 · fpgm:/, 'the panel\'s criterion first, then l1 and fpgm');
    const t0 = Date.now();
    await panel.locator('.view.criteria .run-compare').click();
    await panel.locator('svg[data-chart="criteria-matrix"] g[aria-label="cell"] rect').first().waitFor({ timeout: 60_000 });
    timings.compareToMatrix = Date.now() - t0;
    await panel.locator('.view.criteria [data-chart="criteria-curves"][data-series="3"] canvas').waitFor({ timeout: 60_000 });
    timings.compareToCurves = Date.now() - t0;
    assert.equal(await panel.locator('svg[data-chart="criteria-matrix"] g[aria-label="cell"] rect').count(), 9);
    assert.equal(await panel.locator('.view.criteria table.agreement tbody tr').count(), 6, 'one row per prunable group');
    assert.match(await panel.locator('.view.criteria .used').innerText(), /data criteria on 64 labelled samples/);
    assert.deepEqual(await panel.locator('.view.criteria .legend li').evaluateAll((els) => els.map((e) => e.getAttribute('data-criterion'))), ['taylor', 'l1', 'fpgm']);
    await shoot('criteria-dark');
  });

  it('prunes with recovery (least squares + BN) and shows it before and after', async () => {
    await choose(panel, '.prune-options .recovery', 'least squares + BN', () => shoot('recovery-picker-dark'));
    await panel.locator('vscode-tab-header[data-tab="summary"]').click();
    await until('the recovery named', async () => /then recovers \(lsq\+bn\)/.test(await text(panel, '.view.summary .will')));
    const t0 = Date.now();
    await panel.locator('.view.summary .prune').click();
    await panel.locator('.view.summary table.recovery tr[data-metric="agreement"]').waitFor({ timeout: 120_000 });
    timings.pruneWithRecovery = Date.now() - t0;
    const report = await panel.locator('.view.summary .recovery-report').innerText();
    assert.match(report, /least squares \+ BN re-calibration: \d+ layers? refitted/);
    assert.match(report, /Fitted on \d+ of \d+ labelled samples/);
    assert.doesNotMatch(report, /synthetic/, 'recovery fitted on the calibration data');
    assert.equal(await panel.locator('.view.summary table.recovery tr[data-metric="accuracy"]').count(), 1, 'accuracy before and after, with labels');
    assert.match(await text(panel, '.view.summary table.before-after'), /recovery fitted on some of them; held-out below/, 'the accuracy on all samples says recovery saw some');
    await shoot('recovery-dark');
  });

  it('a TF.js model: right-click model.json → Prune Model… scans and plans it as it does an ONNX model', async () => {
    // the example's Fashion-MNIST images do not fit this model's 16×16×3 input: synthetic calibration samples
    fs.writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify({ 'workbench.colorTheme': THEMES[theme], 'prunelens.calibration.samples': 16 }, null, 2));
    await page.waitForTimeout(1500);
    await showContainer('Explorer');
    await rightClick(/^model\.json$/, 'Prune Model…', 'Prune model.json');
    // the other panel is hidden, so its webview is gone: the one panel left is the TF.js model's
    panel = await frameWith('.panel .rows .row', 120_000);
    await until('the TF.js model\'s plan', async () => (await panel.locator('.rows .row').count()) === 3, 60_000);
    assert.match(await panel.locator('[data-metric="MACs"] .metric-ratio').innerText(), /kept/);
  });

  it('every view in the light, dark and high-contrast themes', { skip: !SHOTS && 'PRUNELENS_E2E_SHOTS not set' }, async () => {
    for (const t of ['dark', 'light', 'hc'] as const) {
      theme = t;
      workspaceSettings(64);
      await page.waitForTimeout(2500);
      await page.locator('.tab', { hasText: 'Prune fashion-cnn.onnx' }).click();
      // a hidden webview is discarded (no retainContextWhenHidden) and comes back from its saved state
      panel = await frameWith('.panel .rows .row');
      for (const tab of ['sensitivity', 'criteria', 'ratios', 'graph', 'summary'] as const) {
        await panel.locator(`vscode-tab-header[data-tab="${tab}"]`).click();
        await page.waitForTimeout(700);
        if (tab === 'graph') await graphDrawn(panel);
        await shoot(`${tab}-${t}`);
      }
      await showContainer('Explorer');
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^fashion-cnn\.onnx$/ }).first().dblclick();
      await frameWith('.overview .cards', 30_000);
      await page.waitForTimeout(700);
      await shoot(`overview-${t}`);
      await showContainer('Pruning');
      await page.waitForTimeout(700);
      await shoot(`sidebar-${t}`);
    }
  });

  it('shows no CSP violation in the browser console', async () => {
    const csp = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
    assert.deepEqual(csp, []);
    // and none counted by the webviews themselves (webview/main.ts listens for securitypolicyviolation)
    for (const f of page.frames()) {
      const n = await f.locator('body[data-csp-violations]').count().catch(() => 0);
      assert.equal(n, 0, `a webview saw CSP violations: ${await f.locator('body').getAttribute('data-csp-violations').catch(() => '?')}`);
    }
    console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
  });
});
