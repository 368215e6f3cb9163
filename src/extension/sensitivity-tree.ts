/**
 * The Layer Sensitivity view: the current model's dependency groups as its panel lists them (sorted by
 * sensitivity once scanned), each with channels, planned ratio and a coloured risk icon; member layers are the
 * children. Clicking a group selects it in the panel. The rows come from the panel: this view only renders them.
 */
import * as vscode from 'vscode';
import type { ModelRef, SidebarGroup } from '../shared/webview.js';

export const SENSITIVITY_VIEW = 'prunelens.sensitivity';

type Node = { kind: 'group'; row: SidebarGroup } | { kind: 'layer'; name: string; parent: SidebarGroup };

const RISK: Record<SidebarGroup['risk'], { icon: string; color?: string; words: string }> = {
  none: { icon: 'circle-outline', words: 'not planned' },
  low: { icon: 'pass-filled', color: 'charts.green', words: 'low risk' },
  medium: { icon: 'warning', color: 'charts.yellow', words: 'medium risk' },
  high: { icon: 'error', color: 'charts.orange', words: 'high risk' },
  collapse: { icon: 'error', color: 'charts.red', words: 'layer collapse' },
  unprunable: { icon: 'lock', color: 'disabledForeground', words: 'cannot be pruned' },
};

export class SensitivityTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private model?: ModelRef;
  private rows: SidebarGroup[] = [];
  private nodes = new Map<number, Node>();
  private scanned = false;
  view?: vscode.TreeView<Node>;

  /** Shows a model's groups (called when its panel reports them, or it becomes the current model). */
  show(model: ModelRef, rows: SidebarGroup[], scanned: boolean): void {
    this.model = model;
    this.rows = rows;
    this.scanned = scanned;
    this.nodes = new Map(rows.map((row) => [row.id, { kind: 'group', row } as Node]));
    if (this.view) {
      this.view.description = `${model.name}${scanned ? '' : ' · not scanned'}`;
      this.view.message = rows.length ? undefined : `No dependency groups reported for ${model.name} yet.`;
    }
    this.changed.fire(undefined);
  }

  get current(): ModelRef | undefined {
    return this.model;
  }

  /** Reveals a group the panel selected. */
  async reveal(group: number | null): Promise<void> {
    const node = group === null ? undefined : this.nodes.get(group);
    if (node && this.view?.visible) await this.view.reveal(node, { select: true, focus: false });
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'layer') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon('symbol-method');
      item.command = this.selectCommand(node.parent.id);
      return item;
    }
    const r = node.row;
    const risk = RISK[r.risk];
    const item = new vscode.TreeItem(`#${r.id} ${r.label}`, r.layers.length > 1 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `group-${r.id}`;
    const parts = r.prunable ? [`${r.channels} ch`] : ['fixed'];
    if (r.planned !== undefined) parts.push(`planned ${Math.round(100 * r.planned)} %`);
    if (r.sensitivity !== undefined) parts.push(`loss ${r.sensitivity.toFixed(3)}`);
    item.description = parts.join(' · ');
    item.iconPath = new vscode.ThemeIcon(risk.icon, risk.color ? new vscode.ThemeColor(risk.color) : undefined);
    const tip = new vscode.MarkdownString(`**Group ${r.id}**: ${r.layers.length} layer${r.layers.length === 1 ? '' : 's'}, ${r.channels} channels — ${risk.words}`);
    if (r.reason) tip.appendMarkdown(`\n\n${r.reason}`);
    if (r.note) tip.appendMarkdown(`\n\n${r.note}`);
    item.tooltip = tip;
    item.contextValue = r.prunable ? 'group' : 'group-fixed';
    item.command = this.selectCommand(r.id);
    return item;
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.rows.map((r) => this.nodes.get(r.id)!);
    if (node.kind === 'group' && node.row.layers.length > 1) return node.row.layers.map((name) => ({ kind: 'layer', name, parent: node.row }));
    return [];
  }

  getParent(node: Node): Node | undefined {
    return node.kind === 'layer' ? this.nodes.get(node.parent.id) : undefined;
  }

  private selectCommand(group: number): vscode.Command {
    return { command: 'prunelens.revealGroup', title: 'Show in panel', arguments: [this.model?.uri, group] };
  }
}
