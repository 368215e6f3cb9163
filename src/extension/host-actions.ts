/**
 * What a webview asks of VS Code itself: save and open dialogs, confirmations, opening reports, and reading and
 * writing recipe files through workspace.fs (so remote workspaces work). Saving a variant or a sparsified copy never
 * replaces a file without the user's say-so (save-target.ts).
 */
import * as vscode from 'vscode';
import type { Recipe } from '../shared/types.js';
import type { HostMethods, ModelRef, SavedVariant } from '../shared/webview.js';
import type { RequestOptions } from './engine-client.js';
import type { ModelStore } from './models.js';
import { basename, chooseTarget } from './save-target.js';
import { sparsifyTo, type SparsifyCaller } from './sparsify-action.js';

export interface HostActionDeps {
  models: ModelStore;
  /** A variant was written (the Variants view refreshes). */
  onSaved?: (model: ModelRef, saved: SavedVariant) => void;
}

type Caller = SparsifyCaller;

/** Opens a Markdown file as a preview (a text editor when the Markdown extension is absent). */
export async function openReport(uri: vscode.Uri): Promise<void> {
  if (uri.path.endsWith('.md')) {
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
      return;
    } catch {
      // no Markdown preview here: show the text
    }
  }
  await vscode.window.showTextDocument(uri, { preview: true });
}

export class HostActions {
  constructor(private readonly deps: HostActionDeps) {}

  /** `opts` carries the webview's cancel and progress to the methods that run the engine for long (host.sparsify). */
  run<M extends keyof HostMethods>(method: M, params: HostMethods[M]['params'], caller: Caller, opts: RequestOptions = {}): Promise<HostMethods[M]['result']> {
    const p = params as never;
    switch (method) {
      case 'host.saveVariant': return this.saveVariant(p, caller) as Promise<HostMethods[M]['result']>;
      case 'host.sparsify': return sparsifyTo(this.deps.models, p, caller, opts) as Promise<HostMethods[M]['result']>;
      case 'host.saveRecipe': return this.saveRecipe(p, caller) as Promise<HostMethods[M]['result']>;
      case 'host.loadRecipe': return this.loadRecipe(caller) as Promise<HostMethods[M]['result']>;
      case 'host.confirm': return this.confirm(p) as Promise<HostMethods[M]['result']>;
      case 'host.open': return openReport(vscode.Uri.file((params as HostMethods['host.open']['params']).path)).then(() => null) as Promise<HostMethods[M]['result']>;
      case 'host.command': {
        const command = `prunelens.${{ prune: 'pruneModel', scan: 'analyzeSensitivity', inspect: 'inspectModel' }[(params as HostMethods['host.command']['params']).command]}`;
        return Promise.resolve(vscode.commands.executeCommand(command, caller.uri)).then(() => null) as Promise<HostMethods[M]['result']>;
      }
      default:
        return Promise.reject(new Error(`unknown host method '${method}'`));
    }
  }

  private async saveVariant(p: HostMethods['host.saveVariant']['params'], caller: Caller): Promise<SavedVariant | null> {
    const chosen = await chooseTarget(caller.uri, {
      title: 'Save pruned variant',
      saveLabel: 'Save variant',
      defaultName: p.defaultName,
      notTheModel: 'A pruned variant cannot replace the model it was made from: choose another name.',
      replace: (name) => `${name} already exists. Replace it, with its report and recipe?`,
    });
    if (!chosen) return null;
    const { target, overwrite } = chosen;
    const saved = await this.deps.models.call(caller.model.path, 'save', { variantId: p.variantId, path: target.fsPath, overwrite });
    const result: SavedVariant = { ...saved, name: basename(target) };
    this.deps.onSaved?.(caller.model, result);
    if (saved.reports?.markdown) void openReport(vscode.Uri.file(saved.reports.markdown));
    return result;
  }

  private async saveRecipe(p: HostMethods['host.saveRecipe']['params'], caller: Caller): Promise<string | null> {
    const target = await vscode.window.showSaveDialog({
      title: 'Save pruning recipe',
      defaultUri: vscode.Uri.joinPath(caller.uri, '..', p.defaultName),
      filters: { 'PruneLens recipe': ['json'] },
    });
    if (!target) return null;
    // the save dialog already asked before replacing a file
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(`${JSON.stringify(p.recipe, null, 2)}\n`));
    return target.fsPath;
  }

  private async loadRecipe(caller: Caller): Promise<Recipe | null> {
    const [file] = (await vscode.window.showOpenDialog({
      title: 'Open pruning recipe',
      defaultUri: vscode.Uri.joinPath(caller.uri, '..'),
      canSelectMany: false,
      filters: { 'PruneLens recipe': ['json'] },
    })) ?? [];
    if (!file) return null;
    return parseRecipe(await vscode.workspace.fs.readFile(file), basename(file));
  }

  private async confirm(p: HostMethods['host.confirm']['params']): Promise<boolean> {
    const answer = await vscode.window.showWarningMessage(p.message, { modal: true, ...(p.detail ? { detail: p.detail } : {}) }, p.action);
    return answer === p.action;
  }
}

/** A recipe file's contents, or one sentence saying why it is not one. */
export function parseRecipe(bytes: Uint8Array, name: string): Recipe {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${name} is not JSON, so not a PruneLens recipe`);
  }
  const r = value as Partial<Recipe> | null;
  if (!r || typeof r !== 'object' || r.kind !== 'prunelens-recipe' || !Array.isArray(r.groups)) {
    throw new Error(`${name} is not a PruneLens recipe (recipes are written by "Save recipe…" or \`prunelens plan -o\`)`);
  }
  return r as Recipe;
}
