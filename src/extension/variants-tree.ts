/**
 * The Variants view: the pruned variants saved from the current model, found as `<name>.report.json` files beside
 * it whose `input` is the model (read with workspace.fs). Each shows what its report says; its children open the
 * report, the recipe and the model itself.
 */
import * as vscode from 'vscode';
import type { PruneReport } from '../shared/types.js';
import type { ModelRef } from '../shared/webview.js';

export const VARIANTS_VIEW = 'prunelens.variants';

export interface Variant {
  name: string;
  model: vscode.Uri;
  report: PruneReport;
  json: vscode.Uri;
  markdown: vscode.Uri;
  recipe?: vscode.Uri;
}

type Node = { kind: 'variant'; v: Variant } | { kind: 'file'; label: string; uri: vscode.Uri; icon: string; open: 'report' | 'text' | 'model' };

/** The variants of `model` saved in its folder, newest first. */
export async function findVariants(model: vscode.Uri): Promise<Variant[]> {
  const folder = vscode.Uri.joinPath(model, '..');
  let entries: [string, vscode.FileType][];
  try {
    entries = await vscode.workspace.fs.readDirectory(folder);
  } catch {
    return [];
  }
  const names = new Set(entries.map(([n]) => n));
  const found: { v: Variant; mtime: number }[] = [];
  for (const [name, type] of entries) {
    if (type !== vscode.FileType.File || !name.endsWith('.report.json')) continue;
    const json = vscode.Uri.joinPath(folder, name);
    let report: PruneReport;
    try {
      report = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(json))) as PruneReport;
    } catch {
      continue; // not ours, or being written
    }
    if (!report || typeof report.input !== 'string' || !samePath(report.input, model.fsPath)) continue;
    const base = name.slice(0, -'.report.json'.length);
    const onnx = `${base}.onnx`;
    if (!names.has(onnx)) continue;
    const stat = await vscode.workspace.fs.stat(json);
    found.push({
      mtime: stat.mtime,
      v: {
        name: onnx, model: vscode.Uri.joinPath(folder, onnx), report, json, markdown: vscode.Uri.joinPath(folder, `${base}.report.md`),
        ...(names.has(`${base}.recipe.json`) ? { recipe: vscode.Uri.joinPath(folder, `${base}.recipe.json`) } : {}),
      },
    });
  }
  return found.sort((a, b) => b.mtime - a.mtime).map((f) => f.v);
}

const samePath = (a: string, b: string) => a.replace(/\\/g, '/') === b.replace(/\\/g, '/');

export class VariantsTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private model?: ModelRef;
  private variants: Variant[] = [];
  view?: vscode.TreeView<Node>;

  async show(model: ModelRef | undefined): Promise<void> {
    this.model = model;
    this.variants = model ? await findVariants(vscode.Uri.parse(model.uri)) : [];
    if (this.view) {
      this.view.description = model?.name;
      this.view.message = !model ? undefined : this.variants.length ? undefined : `No saved variants of ${model.name} yet: Prune Model… then Save pruned variant…`;
    }
    this.changed.fire(undefined);
  }

  refresh(): Promise<void> {
    return this.show(this.model);
  }

  get list(): readonly Variant[] {
    return this.variants;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'file') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.resourceUri = node.uri;
      item.command = node.open === 'report'
        ? { command: 'prunelens.openReport', title: 'Open report', arguments: [node.uri] }
        : node.open === 'model'
          ? { command: 'vscode.open', title: 'Open', arguments: [node.uri] }
          : { command: 'vscode.open', title: 'Open', arguments: [node.uri] };
      return item;
    }
    const r = node.v.report;
    const item = new vscode.TreeItem(node.v.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `variant-${node.v.model.toString()}`;
    const verified = r.verification?.passed && r.verification.exercised !== false && !r.verification.silenced?.length;
    item.iconPath = new vscode.ThemeIcon(verified ? 'verified' : 'warning');
    const pct = (a: number, b: number) => `${Math.round((100 * a) / b)} %`;
    const parts = [`MACs ${pct(r.after.macs, r.before.macs)}`, `params ${pct(r.after.params, r.before.params)}`];
    if (r.latency) parts.push(`${r.latency.speedup.toFixed(2)}× faster`);
    if (r.accuracy) parts.push(`top-1 ${(100 * r.accuracy.after).toFixed(1)} %`);
    item.description = parts.join(' · ');
    item.tooltip = `${node.v.name}: ${item.description}; verified: ${verified ? 'yes' : 'no (see its report)'}`;
    item.contextValue = 'variant';
    item.resourceUri = node.v.model;
    item.command = { command: 'prunelens.openReport', title: 'Open report', arguments: [node.v.markdown] };
    return item;
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.variants.map((v) => ({ kind: 'variant', v }));
    if (node.kind !== 'variant') return [];
    const v = node.v;
    return [
      { kind: 'file', label: 'Report', uri: v.markdown, icon: 'book', open: 'report' },
      ...(v.recipe ? [{ kind: 'file' as const, label: 'Recipe', uri: v.recipe, icon: 'json', open: 'text' as const }] : []),
      { kind: 'file', label: 'Model', uri: v.model, icon: 'file-binary', open: 'model' },
    ];
  }
}
