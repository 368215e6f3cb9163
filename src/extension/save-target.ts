/**
 * Where a model the panel makes is written: a save dialog in the model's folder that proposes the model's own format
 * (the engine refuses `.onnx` for TF.js and Keras models), never over the model itself, and over another file only
 * with the user's yes. Saving a pruned variant and sparsifying both write through here, so both keep that promise.
 */
import * as vscode from 'vscode';
import { modelExtension } from '../shared/model-files.js';

export interface TargetDialog {
  title: string;
  saveLabel: string;
  defaultName: string;
  /** Said when the user picks the model itself. */
  notTheModel: string;
  /** The question before replacing an existing file, given its name. */
  replace: (name: string) => string;
}

export async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export const basename = (uri: vscode.Uri) => uri.path.split('/').pop() ?? uri.path;

/** The file to write and whether the user agreed to replace it; null when they backed out. */
export async function chooseTarget(model: vscode.Uri, d: TargetDialog): Promise<{ target: vscode.Uri; overwrite: boolean } | null> {
  const target = await vscode.window.showSaveDialog({
    title: d.title,
    saveLabel: d.saveLabel,
    defaultUri: vscode.Uri.joinPath(model, '..', d.defaultName),
    filters: modelFilter(model.path),
  });
  if (!target) return null;
  if (target.toString() === model.toString()) {
    void vscode.window.showErrorMessage(d.notTheModel);
    return null;
  }
  if (!(await exists(target))) return { target, overwrite: false };
  const replace = await vscode.window.showWarningMessage(d.replace(basename(target)), { modal: true }, 'Replace');
  return replace === 'Replace' ? { target, overwrite: true } : null;
}

/** The save dialog's filter: the model's own format. */
function modelFilter(modelPath: string): Record<string, string[]> {
  return { onnx: { 'ONNX model': ['onnx'] }, json: { 'TF.js model': ['json'] }, keras: { 'Keras model': ['keras'] }, h5: { 'Keras model': ['h5'] } }[modelExtension(modelPath)];
}
