/**
 * The pruning panel: one webview panel per model (sensitivity, ratio editor, graph, before/after). Panels come back
 * after a window reload through the WebviewPanelSerializer: the webview kept its own state with setState, and the
 * model's URI is part of it.
 */
import * as vscode from 'vscode';
import type { PanelAction, PanelTab, ToWebview } from '../shared/webview.js';
import { WebviewBridge, type BridgeDeps } from './bridge.js';
import { webviewHtml, webviewOptions } from './html.js';

export const PANEL_VIEW_TYPE = 'prunelens.panel';

interface OpenPanel {
  panel: vscode.WebviewPanel;
  bridge: WebviewBridge;
}

export class Panels implements vscode.WebviewPanelSerializer<{ model?: { uri?: string } }>, vscode.Disposable {
  private readonly open = new Map<string, OpenPanel>();
  private active?: vscode.Uri;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly deps: BridgeDeps,
    /** A panel became the active editor: its model is the current model. */
    private readonly onActive: (uri: vscode.Uri) => void,
    /** A model's panel closed: the engine may free the model. */
    private readonly onClosed: (uri: vscode.Uri) => void = () => undefined,
  ) {}

  /** Opens (or reveals) the panel of a model. */
  show(uri: vscode.Uri, action?: PanelAction, tab?: PanelTab): void {
    const found = this.open.get(uri.toString());
    if (found) {
      found.panel.reveal(undefined, false);
      if (action) found.bridge.post({ type: 'action', action });
      return;
    }
    // the engine starts and loads the model while the webview boots (its first call then finds it open)
    this.deps.models.summary(uri.fsPath).catch(() => undefined);
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, title(uri), vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    this.attach(panel, uri, action, tab);
  }

  /** Selects a group in the model's panel, opening it if needed. */
  select(uri: vscode.Uri, group: number): void {
    if (!this.open.has(uri.toString())) this.show(uri, undefined, 'ratios');
    const p = this.open.get(uri.toString())!;
    p.panel.reveal(undefined, true);
    p.bridge.post({ type: 'select', group });
  }

  has(uri: vscode.Uri): boolean {
    return this.open.has(uri.toString());
  }

  /** The model of the active panel, if a panel is active. */
  activeModel(): vscode.Uri | undefined {
    for (const p of this.open.values()) if (p.panel.active) return p.bridge.uri;
    return undefined;
  }

  broadcast(msg: ToWebview): void {
    for (const p of this.open.values()) p.bridge.post(msg);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { model?: { uri?: string } } | undefined): Promise<void> {
    const uri = state?.model?.uri;
    if (!uri) {
      panel.dispose();
      return;
    }
    panel.webview.options = webviewOptions(this.extensionUri);
    this.attach(panel, vscode.Uri.parse(uri));
  }

  dispose(): void {
    for (const p of this.open.values()) p.panel.dispose();
  }

  private attach(panel: vscode.WebviewPanel, uri: vscode.Uri, action?: PanelAction, tab?: PanelTab): void {
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'prunelens.svg');
    const bridge = new WebviewBridge(panel.webview, uri, 'panel', this.deps);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, title(uri));
    bridge.start(action, tab);
    const key = uri.toString();
    this.open.set(key, { panel, bridge });
    panel.onDidDispose(() => {
      bridge.dispose();
      if (this.open.get(key)?.panel === panel) this.open.delete(key);
      this.onClosed(uri);
    });
    panel.onDidChangeViewState((e) => {
      if (!e.webviewPanel.visible) bridge.hidden();
      if (e.webviewPanel.active) this.onActive(uri);
    });
    this.onActive(uri);
  }
}

function title(uri: vscode.Uri): string {
  return `Prune ${uri.path.split('/').pop()}`;
}
