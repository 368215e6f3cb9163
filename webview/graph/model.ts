/**
 * What the dependency graph shows, before any drawing: nodes grouped into collapsible clusters, and the graph that
 * is visible for a set of expanded clusters. Large graphs stay usable because only a budget of items is visible at
 * first: clusters come from the node names' scopes (`/features/denseblock1/…` in PyTorch exports) or, for flat
 * names, from linear chains and then runs of consecutive nodes. Weight-only nodes (Identity or Cast of a
 * constant) are hidden: they are part of their consumer's weights. Pure: tested in Node.
 */
import type { ModelGraph } from '../../src/shared/types.js';

export type GNode = ModelGraph['nodes'][number];

export interface Cluster {
  id: string;
  label: string;
  parent: string | null;
  /** Child clusters and direct leaf nodes, in graph order. */
  clusters: string[];
  nodes: number[];
  /** Leaf nodes inside, at any depth. */
  size: number;
  /** Graph order of its first leaf (children are ordered by it). */
  first: number;
}

export interface Hierarchy {
  clusters: Map<string, Cluster>;
  /** The cluster directly holding each visible node. */
  parentOf: Map<number, string>;
  /** Nodes not drawn: computed from constants only. */
  hidden: Set<number>;
  how: 'scopes' | 'chains';
}

export const ROOT = 'root';

/** Nodes that no graph input reaches: constant folding left-overs and weight pass-throughs. */
export function constantOnly(g: ModelGraph): Set<number> {
  const live = new Set<number>();
  for (const i of g.inputs) for (const c of i.consumers) live.add(c);
  // nodes are in graph order, so producers come first
  for (const n of g.nodes) if (!live.has(n.id) && n.inputs.some((p) => live.has(p))) live.add(n.id);
  // a graph without inputs (or one whose inputs feed nothing) shows everything
  if (live.size === 0) return new Set();
  return new Set(g.nodes.filter((n) => !live.has(n.id)).map((n) => n.id));
}

function scopeOf(name: string): string[] | undefined {
  if (!name.startsWith('/')) return undefined;
  const parts = name.split('/').filter(Boolean);
  return parts.length >= 2 ? parts.slice(0, -1) : undefined;
}

export function buildHierarchy(g: ModelGraph, opts: { chainMin?: number; blockBudget?: number } = {}): Hierarchy {
  const hidden = constantOnly(g);
  const visible = g.nodes.filter((n) => !hidden.has(n.id));
  const scoped = visible.filter((n) => scopeOf(n.name)).length;
  const h: Hierarchy = { clusters: new Map(), parentOf: new Map(), hidden, how: scoped >= 0.6 * visible.length && visible.length > 0 ? 'scopes' : 'chains' };
  const root: Cluster = { id: ROOT, label: 'model', parent: null, clusters: [], nodes: [], size: 0, first: 0 };
  h.clusters.set(ROOT, root);
  if (h.how === 'scopes') byScopes(h, visible);
  else byChains(h, g, visible, opts.chainMin ?? 3, opts.blockBudget ?? 40);
  finish(h);
  return h;
}

function addCluster(h: Hierarchy, id: string, label: string, parent: string): Cluster {
  const c: Cluster = { id, label, parent, clusters: [], nodes: [], size: 0, first: Infinity };
  h.clusters.set(id, c);
  h.clusters.get(parent)!.clusters.push(id);
  return c;
}

function byScopes(h: Hierarchy, nodes: GNode[]): void {
  for (const n of nodes) {
    let parent = ROOT;
    for (const [i, part] of (scopeOf(n.name) ?? []).entries()) {
      const id = `s:${(scopeOf(n.name) ?? []).slice(0, i + 1).join('/')}`;
      if (!h.clusters.has(id)) addCluster(h, id, part, parent);
      parent = id;
    }
    h.clusters.get(parent)!.nodes.push(n.id);
    h.parentOf.set(n.id, parent);
  }
}

/** Flat names: linear chains become clusters, then runs of consecutive items while the top level is too long. */
function byChains(h: Hierarchy, g: ModelGraph, nodes: GNode[], chainMin: number, budget: number): void {
  const shown = new Set(nodes.map((n) => n.id));
  const consumers = new Map<number, number[]>();
  for (const n of nodes) for (const p of n.inputs) if (shown.has(p)) consumers.set(p, [...(consumers.get(p) ?? []), n.id]);
  const producers = (n: GNode) => n.inputs.filter((p) => shown.has(p));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const inChain = new Set<number>();
  const items: ({ kind: 'node'; id: number } | { kind: 'chain'; ids: number[] })[] = [];
  for (const n of nodes) {
    if (inChain.has(n.id)) continue;
    // extend a chain forward while each step has one consumer that has one producer
    const ids = [n.id];
    let cur = n;
    for (;;) {
      const next = consumers.get(cur.id) ?? [];
      if (next.length !== 1) break;
      const m = byId.get(next[0])!;
      if (producers(m).length !== 1 || inChain.has(m.id)) break;
      ids.push(m.id);
      cur = m;
    }
    if (ids.length >= chainMin) {
      for (const id of ids) inChain.add(id);
      items.push({ kind: 'chain', ids });
    } else {
      inChain.add(n.id);
      items.push({ kind: 'node', id: n.id });
    }
  }
  // runs of consecutive items when the top level would be too long to take in
  const blockSize = items.length > budget ? Math.ceil(items.length / Math.ceil(items.length / Math.max(8, Math.ceil(Math.sqrt(items.length * 2))))) : Infinity;
  let block: Cluster | undefined;
  let b = 0;
  items.forEach((it, i) => {
    let parent = ROOT;
    if (blockSize !== Infinity) {
      if (i % blockSize === 0) {
        const run = items.slice(i, i + blockSize).flatMap((x) => (x.kind === 'node' ? [x.id] : x.ids));
        block = addCluster(h, `b:${b++}`, `block ${b}: ${topOps(run.map((id) => byId.get(id)!))}`, ROOT);
      }
      parent = block!.id;
    }
    if (it.kind === 'node') {
      h.clusters.get(parent)!.nodes.push(it.id);
      h.parentOf.set(it.id, parent);
    } else {
      const c = addCluster(h, `c:${it.ids[0]}`, chainLabel(it.ids.map((id) => byId.get(id)!)), parent);
      for (const id of it.ids) {
        c.nodes.push(id);
        h.parentOf.set(id, c.id);
      }
    }
  });
  void g;
}

/** The commonest compute ops of a run of nodes, e.g. `Conv ×9, MatMul ×2`. */
function topOps(nodes: GNode[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) if (n.kind === 'compute') counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 2);
  return top.length ? top.map(([op, c]) => `${op.split(':').pop()} ×${c}`).join(', ') : nodes[0]?.op ?? '';
}

function chainLabel(nodes: GNode[]): string {
  const ops = nodes.map((n) => n.op.split(':').pop()!);
  return ops.length <= 3 ? ops.join(' → ') : `${ops[0]} → … → ${ops[ops.length - 1]}`;
}

/** Sizes and order; a cluster holding a single item is replaced by that item; single-child chains of scopes merge. */
function finish(h: Hierarchy): void {
  const size = (id: string): { size: number; first: number } => {
    const c = h.clusters.get(id)!;
    let s = c.nodes.length;
    let first = Math.min(Infinity, ...c.nodes);
    for (const k of c.clusters) {
      const r = size(k);
      s += r.size;
      first = Math.min(first, r.first);
    }
    c.size = s;
    c.first = first;
    return { size: s, first };
  };
  size(ROOT);
  const dissolve = (id: string) => {
    const c = h.clusters.get(id)!;
    for (const k of [...c.clusters]) dissolve(k);
    if (id === ROOT) return;
    const parent = h.clusters.get(c.parent!)!;
    const only = c.clusters.length + c.nodes.length === 1;
    // a scope with one child scope and nothing else: one cluster named by both
    const merge = c.nodes.length === 0 && c.clusters.length === 1;
    if (!only && !merge) return;
    parent.clusters = parent.clusters.filter((k) => k !== id);
    if (only && c.nodes.length === 1) {
      parent.nodes.push(c.nodes[0]);
      h.parentOf.set(c.nodes[0], parent.id);
    } else {
      const child = h.clusters.get(c.clusters[0])!;
      child.parent = parent.id;
      if (merge) child.label = `${c.label}/${child.label}`;
      parent.clusters.push(child.id);
    }
    h.clusters.delete(id);
  };
  dissolve(ROOT);
  for (const c of h.clusters.values()) {
    c.nodes.sort((a, b) => a - b);
    c.clusters.sort((a, b) => h.clusters.get(a)!.first - h.clusters.get(b)!.first);
  }
}

/**
 * Clusters to expand at first: the root, then the largest while about `items` items and `edges` edges are visible
 * (edges count too: in DenseNet every layer of a block feeds every later one, and layout time follows the edges).
 */
export function initialExpanded(h: Hierarchy, g: ModelGraph, budget: { items?: number; edges?: number } = {}): Set<string> {
  const maxItems = budget.items ?? 40;
  const maxEdges = budget.edges ?? 80;
  // a small model is shown whole
  if (h.clusters.get(ROOT)!.size <= 1.5 * maxItems) return new Set(h.clusters.keys());
  const expanded = new Set<string>([ROOT]);
  let count = itemsOf(h, ROOT);
  const tried = new Set<string>();
  for (;;) {
    let best: Cluster | undefined;
    for (const id of expanded) {
      for (const k of h.clusters.get(id)!.clusters) {
        if (expanded.has(k) || tried.has(k)) continue;
        const c = h.clusters.get(k)!;
        // small clusters (a conv-norm-activation) stay closed: the first view shows the architecture's blocks
        if (c.size < 8) continue;
        if (!best || c.size > best.size) best = c;
      }
    }
    if (!best) break;
    tried.add(best.id);
    const more = itemsOf(h, best.id) - 1;
    if (count + more > maxItems) continue;
    const next = new Set(expanded).add(best.id);
    if (visibleGraph(g, h, next).edges.length > maxEdges) continue;
    expanded.add(best.id);
    count += more;
  }
  return expanded;
}

const itemsOf = (h: Hierarchy, id: string) => {
  const c = h.clusters.get(id)!;
  return c.clusters.length + c.nodes.length;
};

/** The clusters that contain a node, outermost first (without the root). */
export function ancestors(h: Hierarchy, node: number): string[] {
  const out: string[] = [];
  for (let c = h.parentOf.get(node); c && c !== ROOT; c = h.clusters.get(c)?.parent ?? undefined) out.unshift(c);
  return out;
}

/** What stands for a node when some clusters are collapsed: itself, or its outermost collapsed cluster. */
export function representative(h: Hierarchy, expanded: ReadonlySet<string>, node: number): string {
  for (const c of ancestors(h, node)) if (!expanded.has(c)) return c;
  return `n:${node}`;
}

export interface VisibleItem {
  /** `n:<node id>` or a cluster id. */
  id: string;
  kind: 'node' | 'collapsed' | 'expanded';
  parent: string | null;
  children: string[];
}

export interface VisibleGraph {
  items: Map<string, VisibleItem>;
  edges: { id: string; source: string; target: string }[];
}

/** The items and edges drawn for a set of expanded clusters (edges between hidden nodes go to their clusters). */
export function visibleGraph(g: ModelGraph, h: Hierarchy, expanded: ReadonlySet<string>): VisibleGraph {
  const items = new Map<string, VisibleItem>();
  const walk = (id: string, parent: string | null) => {
    const c = h.clusters.get(id)!;
    const open = id === ROOT || expanded.has(id);
    if (!open) {
      items.set(id, { id, kind: 'collapsed', parent, children: [] });
      return;
    }
    const children = [...c.clusters, ...c.nodes.map((n) => `n:${n}`)];
    if (id !== ROOT) items.set(id, { id, kind: 'expanded', parent, children });
    const p = id === ROOT ? null : id;
    for (const k of c.clusters) walk(k, p);
    for (const n of c.nodes) items.set(`n:${n}`, { id: `n:${n}`, kind: 'node', parent: p, children: [] });
  };
  walk(ROOT, null);
  const seen = new Set<string>();
  const edges: VisibleGraph['edges'] = [];
  for (const n of g.nodes) {
    if (h.hidden.has(n.id)) continue;
    const t = representative(h, expanded, n.id);
    for (const p of n.inputs) {
      if (h.hidden.has(p)) continue;
      const s = representative(h, expanded, p);
      const key = `${s}>${t}`;
      if (s === t || seen.has(key)) continue;
      seen.add(key);
      edges.push({ id: `e${edges.length}`, source: s, target: t });
    }
  }
  return { items, edges };
}

/** Nodes whose names contain the query (case-insensitive), in graph order. */
export function search(g: ModelGraph, h: Hierarchy, query: string, limit = 20): GNode[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const out: GNode[] = [];
  for (const n of g.nodes) {
    if (h.hidden.has(n.id)) continue;
    if (n.name.toLowerCase().includes(q) || n.op.toLowerCase() === q) out.push(n);
    if (out.length >= limit) break;
  }
  return out;
}

/** The nodes in a cluster, at any depth. */
export function leaves(h: Hierarchy, id: string): number[] {
  const c = h.clusters.get(id);
  if (!c) return [];
  return [...c.nodes, ...c.clusters.flatMap((k) => leaves(h, k))];
}
