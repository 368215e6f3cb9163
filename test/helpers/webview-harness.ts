/**
 * The webview bundle in headless Chromium (Debian's, through playwright-core), under the same CSP as in VS Code,
 * with a stub `acquireVsCodeApi` whose messages go to a Node-side host: a fake one for component tests, or the real
 * WebviewBridge and engine process. Violations of the CSP and console errors are collected.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type FrameLocator, type Page } from 'playwright-core';
import { ROOT, tmpdir } from './env.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = () => fs.existsSync(CHROMIUM);
export const ORIGIN = 'https://webview.test';

export type Theme = 'light' | 'dark' | 'hc';

let built: Promise<string> | undefined;
/** Builds dist/webview.{js,css} once per test process, into a temporary folder. */
export function buildWebviewOnce(): Promise<string> {
  built ??= (async () => {
    const dir = tmpdir('prunelens-webview-');
    const { buildWebview } = (await import(path.join(ROOT, 'scripts/build.mjs'))) as { buildWebview: (out: string, o?: { minify?: boolean }) => Promise<void> };
    await buildWebview(path.join(dir, 'dist'), { minify: false });
    return dir;
  })();
  return built;
}

let browser: Promise<Browser> | undefined;
export function launch(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  return browser;
}
export async function closeBrowser(): Promise<void> {
  if (browser) await (await browser).close();
  browser = undefined;
}

export interface WebviewPage {
  page: Page;
  /** What the page sent with postMessage (in order). */
  sent: unknown[];
  errors: string[];
  /** Sends a message to the page, as the host's webview.postMessage does. */
  post(m: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  theme?: Theme;
  /** What getState() returns at start (a reload restores it). */
  state?: unknown;
  /** Called with each message the page posts; `post` answers it. */
  onMessage?: (m: unknown, post: (m: unknown) => Promise<void>) => void;
  width?: number;
  height?: number;
  /** The page's HTML; by default the extension's own (src/extension/html.ts). */
  html?: (dist: string) => string;
}

/** A few of VS Code's theme colours per theme kind, so the page looks as it would in the editor. */
const THEMES: Record<Theme, { cls: string; vars: Record<string, string> }> = {
  light: { cls: 'vscode-light', vars: {
    foreground: '#3b3b3b', 'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b', descriptionForeground: '#717171', errorForeground: '#e51400',
    'textLink-foreground': '#005fb8', focusBorder: '#005fb8', 'panel-border': '#e5e5e5', 'editorWidget-background': '#f8f8f8', 'editorWidget-border': '#c8c8c8',
    'input-background': '#ffffff', 'input-border': '#cecece', 'input-foreground': '#3b3b3b', 'button-background': '#005fb8', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'charts-blue': '#1a85ff', 'charts-red': '#e51400',
    'charts-orange': '#d18616', 'charts-yellow': '#bf8803', 'charts-green': '#388a34', 'list-inactiveSelectionBackground': '#e4e6f1', 'list-hoverBackground': '#f2f2f2',
    'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b', 'editorHoverWidget-background': '#f8f8f8', 'editorHoverWidget-foreground': '#3b3b3b', 'editorHoverWidget-border': '#c8c8c8',
    'progressBar-background': '#005fb8', 'dropdown-background': '#ffffff', 'dropdown-border': '#cecece', 'dropdown-foreground': '#3b3b3b', 'settings-textInputBackground': '#ffffff',
    'settings-textInputBorder': '#cecece', 'settings-dropdownBackground': '#ffffff', 'settings-dropdownBorder': '#cecece', 'checkbox-background': '#f8f8f8', 'checkbox-border': '#cecece',
    'textBlockQuote-background': '#f8f8f8', 'textBlockQuote-border': '#e5e5e5', 'panelTitle-activeForeground': '#3b3b3b', 'panelTitle-activeBorder': '#005fb8', 'panelTitle-inactiveForeground': '#3b3b3b',
  } },
  dark: { cls: 'vscode-dark', vars: {
    foreground: '#cccccc', 'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc', descriptionForeground: '#9d9d9d', errorForeground: '#f85149',
    'textLink-foreground': '#4daafc', focusBorder: '#0078d4', 'panel-border': '#2b2b2b', 'editorWidget-background': '#202020', 'editorWidget-border': '#454545',
    'input-background': '#313131', 'input-border': '#3c3c3c', 'input-foreground': '#cccccc', 'button-background': '#0078d4', 'button-foreground': '#ffffff',
    'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'charts-blue': '#3794ff', 'charts-red': '#f14c4c',
    'charts-orange': '#d18616', 'charts-yellow': '#cca700', 'charts-green': '#89d185', 'list-inactiveSelectionBackground': '#37373d', 'list-hoverBackground': '#2a2d2e',
    'badge-background': '#616161', 'badge-foreground': '#f8f8f8', 'editorHoverWidget-background': '#202020', 'editorHoverWidget-foreground': '#cccccc', 'editorHoverWidget-border': '#454545',
    'progressBar-background': '#0078d4', 'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c', 'dropdown-foreground': '#cccccc', 'settings-textInputBackground': '#313131',
    'settings-textInputBorder': '#3c3c3c', 'settings-dropdownBackground': '#313131', 'settings-dropdownBorder': '#3c3c3c', 'checkbox-background': '#313131', 'checkbox-border': '#3c3c3c',
    'textBlockQuote-background': '#2b2b2b', 'textBlockQuote-border': '#616161', 'panelTitle-activeForeground': '#cccccc', 'panelTitle-activeBorder': '#0078d4', 'panelTitle-inactiveForeground': '#9d9d9d',
  } },
  hc: { cls: 'vscode-high-contrast', vars: {
    foreground: '#ffffff', 'editor-background': '#000000', 'editor-foreground': '#ffffff', descriptionForeground: '#ffffff', errorForeground: '#f48771',
    'textLink-foreground': '#21a6ff', focusBorder: '#f38518', contrastBorder: '#6fc3df', 'panel-border': '#6fc3df', 'editorWidget-background': '#0c141f', 'editorWidget-border': '#6fc3df',
    'input-background': '#000000', 'input-border': '#6fc3df', 'input-foreground': '#ffffff', 'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df',
    'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff', 'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-orange': '#d18616', 'charts-yellow': '#cca700',
    'charts-green': '#89d185', 'list-inactiveSelectionBackground': '#000000', 'list-hoverBackground': '#000000', 'badge-background': '#000000', 'badge-foreground': '#ffffff',
    'editorHoverWidget-background': '#0c141f', 'editorHoverWidget-foreground': '#ffffff', 'editorHoverWidget-border': '#6fc3df', 'progressBar-background': '#6fc3df',
    'dropdown-background': '#000000', 'dropdown-border': '#6fc3df', 'dropdown-foreground': '#ffffff', 'settings-textInputBackground': '#000000', 'settings-textInputBorder': '#6fc3df',
    'settings-dropdownBackground': '#000000', 'settings-dropdownBorder': '#6fc3df', 'checkbox-background': '#000000', 'checkbox-border': '#6fc3df', 'textBlockQuote-background': '#000000',
    'textBlockQuote-border': '#ffffff', 'panelTitle-activeForeground': '#ffffff', 'panelTitle-activeBorder': '#6fc3df', 'panelTitle-inactiveForeground': '#ffffff',
  } },
};

export async function openWebview(opts: OpenOptions = {}): Promise<WebviewPage> {
  const root = await buildWebviewOnce();
  const b = await launch();
  const context = await b.newContext({ viewport: { width: opts.width ?? 1200, height: opts.height ?? 900 } });
  const page = await context.newPage();
  const sent: unknown[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  const post = async (m: unknown) => {
    await page.evaluate((msg) => (globalThis as unknown as { postMessage: (m: unknown, o: string) => void }).postMessage(msg, '*'), m);
  };
  await page.exposeFunction('__toHost', (m: unknown) => {
    sent.push(m);
    opts.onMessage?.(m, post);
  });
  const theme = THEMES[opts.theme ?? 'dark'];
  // browser-side code as text: this file is type-checked for Node, without the DOM library
  await page.addInitScript(`(() => {
    const state = ${JSON.stringify(opts.state ?? null)}, cls = ${JSON.stringify(theme.cls)}, vars = ${JSON.stringify(theme.vars)};
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ': ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));
    let saved = state ?? undefined;
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__toHost(m),
      getState: () => saved,
      setState: (s) => { saved = s; window.__state = s; },
    });
    // VS Code sets the theme's variables on <html> and its kind as a class on <body>
    const apply = () => {
      const html = document.documentElement;
      if (!html || html.dataset.themed) return;
      html.dataset.themed = '1';
      for (const [k, v] of Object.entries(vars)) html.style.setProperty('--vscode-' + k, v);
      html.style.setProperty('--vscode-font-family', 'system-ui, "Ubuntu", "Droid Sans", sans-serif');
      html.style.setProperty('--vscode-font-size', '13px');
    };
    new MutationObserver(() => {
      apply();
      if (document.body && !document.body.classList.contains(cls)) document.body.classList.add(cls);
    }).observe(document, { childList: true, subtree: true });
  })();`);
  const html = opts.html ? opts.html(path.join(root, 'dist')) : await defaultHtml(root);
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const file = url.pathname;
    if (!fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream';
    return route.fulfill({ contentType: type, body: fs.readFileSync(file) });
  });
  await page.goto(`${ORIGIN}/index.html`);
  return { page, sent, errors, post, close: () => context.close() };
}

/** Picks an option of a vscode-single-select as a user does: open the dropdown (then `whileOpen`), click the option. */
export async function choose(within: Page | Frame | FrameLocator, select: string, option: string, whileOpen?: () => Promise<void>): Promise<void> {
  await within.locator(select).click();
  await whileOpen?.();
  await within.locator(select).getByRole('option', { name: option, exact: true }).click();
}

/** The CSP violations the page saw so far. */
export async function violations(w: WebviewPage): Promise<string[]> {
  return w.page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations);
}

async function defaultHtml(root: string): Promise<string> {
  const { webviewHtml } = await import('../../src/extension/html.js');
  const { FakeWebview, Uri } = await import('./vscode-stub.js');
  return webviewHtml(new FakeWebview() as never, Uri.file(root) as never, 'test');
}
