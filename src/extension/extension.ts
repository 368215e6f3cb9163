/**
 * Activation: wires the engine process client, the model store, the panel, the model overview editor, the two
 * sidebar views and the commands. Activation is lazy (commands, the editor, the views, a restored panel); the
 * engine process starts on the first request.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelRef, SidebarGroup } from '../shared/webview.js';
import { modelRef, type BridgeDeps } from './bridge.js';
import { registerCommands } from './commands.js';
import { EngineClient } from './engine-client.js';
import { HostActions } from './host-actions.js';
import { EDITOR_VIEW_TYPE, JSON_EDITOR_VIEW_TYPE, ModelEditorProvider } from './model-editor.js';
import { ModelStore } from './models.js';
import { PANEL_VIEW_TYPE, Panels } from './panels.js';
import { SENSITIVITY_VIEW, SensitivityTree } from './sensitivity-tree.js';
import { VARIANTS_VIEW, VariantsTree } from './variants-tree.js';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('PruneLens', { log: true });
  const log = (line: string) => output.info(line);
  let panels: Panels | undefined;
  const engine = new EngineClient({
    cli: path.join(context.extensionUri.fsPath, 'dist', 'cli.js'),
    log,
    onDied: (reason) => {
      panels?.broadcast({ type: 'engine-restarted', reason });
      void vscode.window.showErrorMessage(`The PruneLens engine stopped: ${reason}. It restarts on the next request.`, 'Show Log').then((a) => {
        if (a) output.show();
      });
    },
  });
  const models = new ModelStore(engine);
  const sensitivity = new SensitivityTree();
  const variants = new VariantsTree();
  const rows = new Map<string, { groups: SidebarGroup[]; scanned: boolean }>();
  let current: ModelRef | undefined;
  const setCurrent = (uri: vscode.Uri) => {
    const ref = modelRef(uri);
    if (current?.uri === ref.uri) return;
    current = ref;
    const r = rows.get(ref.uri);
    sensitivity.show(ref, r?.groups ?? [], r?.scanned ?? false);
    void variants.show(ref);
  };
  const actions = new HostActions({
    models,
    onSaved: (model) => {
      if (current?.uri === model.uri) void variants.refresh();
    },
  });
  const deps: BridgeDeps = {
    models, actions, log,
    cacheDir: path.join(context.globalStorageUri.fsPath, 'scans'),
    onSidebar: (model, groups, scanned) => {
      rows.set(model.uri, { groups, scanned });
      if (current?.uri === model.uri || !current) {
        current = model;
        sensitivity.show(model, groups, scanned);
      }
    },
    onSelected: (model, group) => {
      if (current?.uri === model.uri) void sensitivity.reveal(group);
    },
  };
  // the engine holds a model (hundreds of MB for a large one) while a panel or an overview shows it
  let editor: ModelEditorProvider | undefined;
  panels = new Panels(context.extensionUri, deps, setCurrent, (uri) => {
    if (!editor?.has(uri)) void models.close(uri.fsPath);
  });
  editor = new ModelEditorProvider(context.extensionUri, deps, setCurrent, (uri) => {
    if (!panels!.has(uri)) void models.close(uri.fsPath);
  });
  sensitivity.view = vscode.window.createTreeView(SENSITIVITY_VIEW, { treeDataProvider: sensitivity, showCollapseAll: true });
  variants.view = vscode.window.createTreeView(VARIANTS_VIEW, { treeDataProvider: variants });
  context.subscriptions.push(
    output, sensitivity.view, variants.view, panels,
    { dispose: () => engine.dispose() },
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, panels),
    vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, editor!, { supportsMultipleEditorsPerDocument: true }),
    vscode.window.registerCustomEditorProvider(JSON_EDITOR_VIEW_TYPE, editor!, { supportsMultipleEditorsPerDocument: true }),
    ...registerCommands({
      activeModel: () => panels!.activeModel() ?? editor!.activeModel() ?? (current ? vscode.Uri.parse(current.uri) : undefined),
      openPanel: (uri, action) => panels!.show(uri, action, action === 'scan' ? 'sensitivity' : 'ratios'),
      revealGroup: (uri, group) => panels!.select(uri, group),
      showLog: () => output.show(),
      restartEngine: () => {
        engine.stop();
        panels!.broadcast({ type: 'engine-restarted', reason: 'restarted on request' });
      },
      refreshVariants: () => void variants.refresh(),
    }),
  );
}

export function deactivate(): void {
  // subscriptions end the engine process
}
