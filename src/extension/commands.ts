/**
 * The PruneLens commands. Prune Model…, Analyze Sensitivity and Inspect Model act on the file they were invoked on
 * (Explorer context menu, editor title), else on the active model (its panel or overview), else they ask for one.
 */
import * as vscode from 'vscode';
import { EDITOR_VIEW_TYPE } from './model-editor.js';
import { openReport } from './host-actions.js';

export interface CommandDeps {
  /** The model the user is looking at, if any. */
  activeModel: () => vscode.Uri | undefined;
  openPanel: (uri: vscode.Uri, action: 'prune' | 'scan') => void;
  revealGroup: (uri: vscode.Uri, group: number) => void;
  showLog: () => void;
  restartEngine: () => void;
  refreshVariants: () => void;
}

export const MODEL_EXTENSIONS = ['onnx'];

/** The model a command acts on: its argument, the active model, or one the user picks. */
export async function resolveModel(arg: unknown, active: () => vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.parse(arg);
  const current = active();
  if (current) return current;
  const editor = vscode.window.activeTextEditor?.document.uri;
  if (editor && MODEL_EXTENSIONS.some((e) => editor.path.endsWith(`.${e}`))) return editor;
  const picked = await vscode.window.showOpenDialog({
    title: 'Choose a model', canSelectMany: false, filters: { 'ONNX model': MODEL_EXTENSIONS }, openLabel: 'Open model',
  });
  return picked?.[0];
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const onModel = (run: (uri: vscode.Uri) => unknown) => async (arg: unknown) => {
    const uri = await resolveModel(arg, deps.activeModel);
    if (uri) await run(uri);
  };
  return [
    vscode.commands.registerCommand('prunelens.pruneModel', onModel((uri) => deps.openPanel(uri, 'prune'))),
    vscode.commands.registerCommand('prunelens.analyzeSensitivity', onModel((uri) => deps.openPanel(uri, 'scan'))),
    vscode.commands.registerCommand('prunelens.inspectModel', onModel((uri) => vscode.commands.executeCommand('vscode.openWith', uri, EDITOR_VIEW_TYPE))),
    vscode.commands.registerCommand('prunelens.revealGroup', (uri: string, group: number) => {
      if (uri !== undefined && Number.isInteger(group)) deps.revealGroup(vscode.Uri.parse(uri), group);
    }),
    vscode.commands.registerCommand('prunelens.openReport', (uri: vscode.Uri) => openReport(uri)),
    vscode.commands.registerCommand('prunelens.showLog', () => deps.showLog()),
    vscode.commands.registerCommand('prunelens.restartEngine', () => deps.restartEngine()),
    vscode.commands.registerCommand('prunelens.refreshVariants', () => deps.refreshVariants()),
  ];
}
