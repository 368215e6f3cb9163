/**
 * The webview's entry: registers the vscode-elements controls it uses, restores the state VS Code kept, and shows
 * the model overview or the pruning panel when the host says which.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { InitMessage } from '../src/shared/webview.js';
import { Controller } from './controller.js';
import { Host } from './host.js';
import { overview } from './overview.js';
import { panel } from './panel.js';
import { initialState, Store, type Persisted } from './store.js';

const host = new Host();
const app = document.getElementById('app')!;
let timer: ReturnType<typeof setTimeout> | undefined;
let pending: Persisted | undefined;
// VS Code keeps this across reloads; writing it on every drag step would be wasteful, so it is batched
const persist = (p: Persisted) => {
  pending = p;
  timer ??= setTimeout(() => {
    timer = undefined;
    host.setState(pending);
  }, 100);
};
// a webview being hidden or reloaded is discarded: what is still waiting is saved at once
const flush = () => {
  if (timer === undefined) return;
  clearTimeout(timer);
  timer = undefined;
  host.setState(pending);
};
window.addEventListener('pagehide', flush);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') flush();
});
const store = new Store(initialState(host.getState<Persisted>()), persist);
const controller = new Controller(host, store);
let mode: InitMessage['mode'] | undefined;

host.on((m) => {
  switch (m.type) {
    case 'init':
      if (m.mode === 'overview') {
        mode = 'overview';
        host.setState({ model: m.model });
        overview(host, m.model, app);
        return;
      }
      if (mode !== 'panel') panel(store, controller, app);
      mode = 'panel';
      void controller.start(m);
      return;
    case 'select':
      controller.select(m.group, 'host');
      return;
    case 'settings':
      store.set({ settings: m.settings });
      return;
    case 'action':
      void controller.action(m.action);
      return;
    case 'engine-restarted':
      if (mode === 'overview') {
        host.send({ type: 'ready' });
        return;
      }
      void controller.restarted();
      return;
  }
});
// the CSP is strict: any violation is a bug, so it is counted (the end-to-end test reads it) and logged
let violations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  document.body.dataset.cspViolations = String(++violations);
  host.send({ type: 'log', message: `CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}` });
});
window.addEventListener('error', (e) => host.send({ type: 'log', message: `error: ${e.message}` }));
window.addEventListener('unhandledrejection', (e) => host.send({ type: 'log', message: `unhandled: ${String(e.reason)}` }));
host.send({ type: 'ready' });
