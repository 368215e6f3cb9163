/**
 * What the end-to-end tests share: the packaged .vsix installed into a fresh code-server profile
 * (./code-server.ts), a workspace opened in Debian's Chromium through Playwright, and the few moves a user makes
 * there (right-click a file for a command, find a webview, show a view container, take a screenshot).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { alive } from '../../src/core/util/tempfiles.js';
import { freshProfile, hasCodeServer, installVsix, startServer, type Profile, type Server } from './code-server.js';
import { ROOT } from './env.js';
import { CHROMIUM, hasChromium } from './webview-harness.js';

export const E2E_SKIP = !hasCodeServer() ? 'code-server is not installed (.ci/run installs it)' : !hasChromium() ? 'Chromium is not installed' : false;
export const SHOTS = process.env.PRUNELENS_E2E_SHOTS;
export const THEMES = { dark: 'Default Dark Modern', light: 'Default Light Modern', hc: 'Default High Contrast' } as const;
export type ThemeName = keyof typeof THEMES;

/** A quiet workbench: no welcome page, tips, trust prompt or title-bar extras in the screenshots. */
export const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  'window.commandCenter': false,
  'chat.commandCenter.enabled': false,
  'workbench.layoutControl.enabled': false,
};

/**
 * Builds and packages the extension as a user gets it (`npm run package`), into `out`. One test process at a time:
 * node --test runs files in parallel on larger machines, and every build rewrites dist/, which packaging reads.
 */
export async function packageVsix(out: string): Promise<void> {
  const release = await lock(path.join(ROOT, 'out/.e2e-package.lock'));
  try {
    for (const [script, args] of [['scripts/build.mjs', []], ['scripts/package.mjs', ['-o', out]]] as const) {
      const r = spawnSync(process.execPath, [path.join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${script}: ${r.stderr}${r.stdout}`);
    }
  } finally {
    release();
  }
}

/** A lock between processes: a folder holding its owner's pid (taken over when that process is gone). */
async function lock(dir: string, timeout = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = 0;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      // just made (no pid yet) or just released: look again
    }
    if (owner && !alive(owner)) fs.rmSync(dir, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`${dir} is held by process ${owner}`);
    else await new Promise((r) => setTimeout(r, 500));
  }
}

export interface Workbench {
  profile: Profile;
  server: Server;
  browser: Browser;
  page: Page;
  /** Every browser console line, for the CSP checks. */
  consoleLines: string[];
  close(): Promise<void>;
}

/** Installs `vsix` into a fresh profile under `dir`, serves `workspace` and opens it, ready for a right-click. */
export async function openWorkbench(dir: string, workspace: string, vsix: string): Promise<Workbench> {
  const profile = freshProfile(path.join(dir, 'profile'), USER_SETTINGS);
  installVsix(profile, vsix);
  const server = await startServer(profile, workspace);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  await page.goto(server.url);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(4000); // let the workbench settle, or the first context menu closes at once
  return {
    profile, server, browser, page, consoleLines,
    async close() {
      await browser.close();
      await server.stop();
    },
  };
}

/**
 * The moves of a test on the page `page()` (a getter: tests assign the page in `before`). Screenshots of failures
 * go to `dir`, those asked for by PRUNELENS_E2E_SHOTS to that folder.
 */
export function driver(page: () => Page, dir: string) {
  /** Polls until `check` holds (from Node: a string predicate would be eval'd in the page, which our CSP refuses). */
  async function until(what: string, check: () => Promise<boolean>, timeout = 30_000): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) {
        await page().screenshot({ path: path.join(dir, 'timeout.png') });
        throw new Error(`timed out waiting for ${what} (screenshot: ${path.join(dir, 'timeout.png')})`);
      }
      await page().waitForTimeout(50);
    }
  }
  const text = async (f: Frame, selector: string) => (await f.locator(selector).first().textContent({ timeout: 1000 })) ?? '';

  /** The webview frame whose document has `selector` (webviews live two iframes deep). */
  async function frameWith(selector: string, timeout = 60_000): Promise<Frame> {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (const f of page().frames()) {
        if (f === page().mainFrame()) continue;
        if (await f.$(selector).catch(() => null)) return f;
      }
      if (Date.now() > deadline) {
        await page().screenshot({ path: path.join(dir, 'no-webview.png') });
        throw new Error(`no webview shows ${selector} (screenshot: ${path.join(dir, 'no-webview.png')})`);
      }
      await page().waitForTimeout(100);
    }
  }

  /** Shows a view container of the activity bar (clicking the one already shown would hide the side bar). */
  async function showContainer(label: string): Promise<void> {
    const item = page().locator('.activitybar .action-item', { has: page().locator(`[aria-label^="${label}"]`) }).first();
    if (!(await item.getAttribute('class'))?.includes('checked')) await item.click();
  }

  async function shoot(name: string): Promise<void> {
    if (!SHOTS) return;
    fs.mkdirSync(SHOTS, { recursive: true });
    await page().screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  /**
   * Right-clicks `file` in the Explorer and chooses `command` from its context menu, until the editor tab `tab`
   * opens. Returns when the menu item was first clicked (Date.now()), where a user's wait starts.
   */
  async function rightClick(file: string | RegExp, command: string, tab: string): Promise<number> {
    const item = page().locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first();
    await item.waitFor({ timeout: 60_000 });
    await item.click({ button: 'right' });
    const menuItem = page().locator('.monaco-menu .action-label', { hasText: command });
    await menuItem.waitFor({ timeout: 10_000 });
    const t0 = Date.now();
    await menuItem.hover();
    await menuItem.click();
    // a menu item clicked while the workbench is still busy can be lost: click again while the menu stays open
    const opened = page().locator('.tab', { hasText: tab });
    for (let i = 0; i < 5 && !(await opened.count()); i++) {
      await page().waitForTimeout(500);
      if (await menuItem.isVisible()) await menuItem.click();
    }
    await opened.first().waitFor({ timeout: 30_000 });
    return t0;
  }

  /** Waits for the panel's graph to be painted with no layout under way (its status would say "Laying out…"). */
  async function graphDrawn(panel: Frame, timeout = 60_000): Promise<void> {
    const view = panel.locator('.view.graph');
    await until('the graph laid out and painted', async () =>
      !!(await view.getAttribute('data-first-paint-ms')) && (await view.getAttribute('data-laying-out')) === null, timeout);
  }

  return { until, text, frameWith, showContainer, shoot, rightClick, graphDrawn };
}
