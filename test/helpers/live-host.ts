/**
 * The real host side for a webview in the harness: the extension's WebviewBridge (over the vscode stub), the
 * engine process client and the model store, talking to `prunelens serve`. Used by the webview tests that need the
 * engine and to take screenshots while developing.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { InitMessage, PanelAction, PanelTab } from '../../src/shared/webview.js';
import { CLI } from './env.js';
import { openWebview, type OpenOptions, type WebviewPage } from './webview-harness.js';

export interface LiveHost {
  w: WebviewPage;
  log: string[];
  close(): Promise<void>;
}

export async function openLive(model: string, mode: InitMessage['mode'], opts: OpenOptions & { action?: PanelAction; tab?: PanelTab; cli?: string } = {}): Promise<LiveHost> {
  const { FakeWebview, Uri } = await import('./vscode-stub.js');
  const { EngineClient } = await import('../../src/extension/engine-client.js');
  const { ModelStore } = await import('../../src/extension/models.js');
  const { HostActions } = await import('../../src/extension/host-actions.js');
  const { WebviewBridge } = await import('../../src/extension/bridge.js');
  const log: string[] = [];
  const engine = new EngineClient({ cli: opts.cli ?? CLI, log: (l) => log.push(l) });
  const models = new ModelStore(engine);
  const fake = new FakeWebview();
  // the page may say 'ready' before openWebview returns: answer through the post function it hands over
  let toPage: ((m: unknown) => Promise<void>) | undefined;
  const bridge = new WebviewBridge(fake as never, Uri.file(model) as never, mode, {
    models, actions: new HostActions({ models }), cacheDir: path.join(os.tmpdir(), 'prunelens-harness-scans'), log: (l) => log.push(l),
  });
  const origPost = fake.postMessage.bind(fake);
  fake.postMessage = async (m: unknown) => {
    await origPost(m);
    await toPage?.(m);
    return true;
  };
  bridge.start(opts.action, opts.tab);
  const w = await openWebview({
    ...opts,
    onMessage: (m, post) => {
      toPage = post;
      fake.receive(m);
    },
  });
  return {
    w, log,
    async close() {
      bridge.dispose();
      engine.dispose();
      await w.close();
    },
  };
}
