/**
 * The custom read-only editor for model files: a model overview (inputs and outputs, params, MACs, op histogram,
 * prunable share, groups) with buttons for the PruneLens commands. The document holds only the URI: the engine
 * process loads the model, once, for every view of it.
 */
import * as vscode from 'vscode';
import { WebviewBridge, type BridgeDeps } from './bridge.js';
import { webviewHtml, webviewOptions } from './html.js';

export const EDITOR_VIEW_TYPE = 'prunelens.model';
export const JSON_EDITOR_VIEW_TYPE = 'prunelens.modelJson';

class ModelDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri, private readonly onDispose: () => void) {}
  dispose(): void {
    this.onDispose();
  }
}

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  private readonly editors = new Set<{ panel: vscode.WebviewPanel; uri: vscode.Uri }>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly deps: BridgeDeps,
    private readonly onActive: (uri: vscode.Uri) => void,
    /** The last view of a model closed: the engine may free it. */
    private readonly onClosed: (uri: vscode.Uri) => void,
  ) {}

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    return new ModelDocument(uri, () => this.onClosed(uri));
  }

  resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.extensionUri);
    const bridge = new WebviewBridge(panel.webview, document.uri, 'overview', this.deps);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, document.uri.path.split('/').pop() ?? 'model');
    bridge.start();
    const entry = { panel, uri: document.uri };
    this.editors.add(entry);
    panel.onDidChangeViewState((e) => {
      if (!e.webviewPanel.visible) bridge.hidden();
      if (e.webviewPanel.active) this.onActive(document.uri);
    });
    panel.onDidDispose(() => {
      bridge.dispose();
      this.editors.delete(entry);
    });
    if (panel.active) this.onActive(document.uri);
  }

  has(uri: vscode.Uri): boolean {
    return [...this.editors].some((e) => e.uri.toString() === uri.toString());
  }

  /** The model of the active overview, if one is active. */
  activeModel(): vscode.Uri | undefined {
    for (const e of this.editors) if (e.panel.active) return e.uri;
    return undefined;
  }
}
