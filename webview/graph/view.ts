/**
 * The Graph tab: the model's channel dependency graph, coloured by the group each layer writes. Clusters start
 * collapsed beyond a budget and are laid out when expanded; selecting a layer marks every layer that must lose the
 * same channels and explains why (the group's couplings, asked for when selected). Search, pan, zoom, and ghosts
 * for the channels the current ratios remove.
 */
import type { GroupInfo, ModelGraph } from '../../src/shared/types.js';
import type { Controller } from '../controller.js';
import { clear, h } from '../dom.js';
import { count, shape } from '../format.js';
import { editorRows } from '../ratios/rows.js';
import type { State, Store } from '../store.js';
import { taskStatus } from '../task-status.js';
import { colors, groupColor, onThemeChange } from '../theme.js';
import { GraphCanvas, type ItemLook } from './canvas.js';
import { layout, type Layout, type LayoutCache } from './layout.js';
import { ancestors, buildHierarchy, initialExpanded, representative, ROOT, search, visibleGraph, type GNode, type Hierarchy } from './model.js';

export function graphView(store: Store, controller: Controller): HTMLElement {
  const root = h('section', { class: 'view graph' });
  const searchField = h('vscode-textfield', { placeholder: 'Search layers by name or op', class: 'graph-search', 'aria-label': 'Search layers' }) as HTMLElement & { value: string };
  const results = h('ul', { class: 'search-results', role: 'listbox' });
  const ghosts = h('vscode-checkbox', { class: 'ghosts', checked: store.get().graphView.ghosts }, 'Ghosts for pruned channels') as HTMLElement & { checked: boolean };
  const info = h('div', { class: 'graph-info muted' });
  const status = h('div', { class: 'status-slot' });
  const stage = h('div', { class: 'graph-stage' });
  const tooltip = h('div', { class: 'graph-tooltip', role: 'tooltip' });
  tooltip.hidden = true;
  const side = h('aside', { class: 'graph-side' });
  root.append(
    h('div', { class: 'toolbar' },
      h('div', { class: 'search-box' }, searchField, results),
      h('vscode-button', { secondary: true, onclick: () => canvas.fit() }, 'Fit'),
      h('vscode-button', { secondary: true, onclick: () => setExpanded(new Set([ROOT])) }, 'Collapse all'),
      h('vscode-button', { secondary: true, onclick: () => hier && graph && setExpanded(initialExpanded(hier, graph)) }, 'Reset'),
      ghosts),
    status, info,
    h('div', { class: 'graph-body' }, stage, side),
    tooltip,
  );
  const canvas = new GraphCanvas(stage);

  let graph: ModelGraph | undefined;
  let hier: Hierarchy | undefined;
  let byName = new Map<string, number>();
  let expanded = new Set<string>();
  let lay: Layout | undefined;
  let cache: LayoutCache = new Map();
  let seq = 0;
  let selectedNode: number | null = null;
  let requestedAt: number | undefined;
  let firstPaint: number | undefined;

  const nodeOf = (id: string): GNode | undefined => (id.startsWith('n:') && graph ? graph.nodes[Number(id.slice(2))] : undefined);

  const sizeOf = (() => {
    const ctx = document.createElement('canvas').getContext('2d')!;
    return (id: string) => {
      ctx.font = `600 ${colors().font}`;
      const look = baseLook(id);
      const w = Math.max(ctx.measureText(look.title).width, ctx.measureText(look.detail ?? '').width * 0.95) + 28;
      return { w: Math.min(260, Math.max(96, w)), h: look.kind === 'collapsed' ? 42 : 44 };
    };
  })();

  const groupChannels = () => new Map(editorRows(store.get()).map((r) => [r.id, r]));

  function baseLook(id: string): ItemLook {
    const n = nodeOf(id);
    if (n) {
      const short = n.name.split('/').filter(Boolean).slice(-2, -1)[0] ?? n.name;
      return { kind: 'node', title: n.op.split(':').pop()!, detail: `${n.outChannels !== undefined ? `${n.outChannels} ch · ` : ''}${short}` };
    }
    const c = hier!.clusters.get(id)!;
    return { kind: expanded.has(id) ? 'expanded' : 'collapsed', title: c.label, detail: `${c.size} layer${c.size === 1 ? '' : 's'}` };
  }

  /** Nodes that lose the same channels as the selected group (its members), by id. */
  const coupled = (s: State): Set<number> => {
    const out = new Set<number>();
    if (s.selected === null || !graph) return out;
    for (const n of graph.nodes) if (n.writes === s.selected) out.add(n.id);
    const g: GroupInfo | undefined = s.groupInfo[s.selected];
    for (const m of g?.members ?? []) {
      const id = byName.get(m.node);
      if (id !== undefined) out.add(id);
    }
    return out;
  };

  const scene = () => {
    if (!lay || !hier || !graph) return;
    const s = store.get();
    const c = colors();
    const rows = s.graphView.ghosts ? groupChannels() : new Map();
    const marks = coupled(s);
    const inside = new Map<string, number>();
    for (const id of marks) {
      const r = representative(hier, expanded, id);
      if (!r.startsWith('n:')) inside.set(r, (inside.get(r) ?? 0) + 1);
    }
    const looks = new Map<string, ItemLook>();
    for (const id of lay.boxes.keys()) {
      const look = baseLook(id);
      const n = nodeOf(id);
      if (n) {
        if (n.writes !== undefined) look.color = groupColor(n.writes, c.kind, c.kind.startsWith('hc') ? 0.35 : 0.28);
        const row = n.writes !== undefined ? rows.get(n.writes) : undefined;
        if (row && n.outChannels !== undefined && row.kept < row.channels) {
          const kept = Math.round((n.outChannels * row.kept) / row.channels);
          look.ghost = { kept, total: n.outChannels };
          look.detail = `${n.outChannels} → ${kept} ch · ${look.detail!.split(' · ').slice(1).join(' · ')}`;
        }
        look.mark = n.id === selectedNode ? 2 : marks.has(n.id) ? 1 : 0;
      } else if (inside.get(id)) {
        look.mark = 1;
        look.count = inside.get(id);
      }
      looks.set(id, look);
    }
    canvas.setScene({ layout: lay, looks, colors: c });
  };

  canvas.onPaint = () => {
    if (firstPaint === undefined && lay && requestedAt !== undefined) {
      firstPaint = performance.now() - requestedAt;
      root.dataset.firstPaintMs = firstPaint.toFixed(0);
      renderInfo();
    }
    root.dataset.drawn = String(canvas.drawn);
  };

  const renderInfo = () => {
    if (!graph || !hier || !lay) {
      clear(info);
      return;
    }
    const shown = [...lay.boxes.keys()].filter((k) => k.startsWith('n:')).length;
    const total = graph.nodes.length - hier.hidden.size;
    clear(info,
      `${shown} of ${total} layers shown${shown < total ? ' (click a collapsed cluster ▸ to expand it, a header ▾ to collapse)' : ''} · laid out in ${lay.ms.toFixed(0)} ms`,
      firstPaint !== undefined ? ` · first paint ${firstPaint.toFixed(0)} ms after asking for the graph` : '',
      hier.hidden.size ? ` · ${hier.hidden.size} weight-only nodes hidden` : '');
  };

  async function relayout(then?: () => void): Promise<void> {
    if (!graph || !hier) return;
    const mine = ++seq;
    const vis = visibleGraph(graph, hier, expanded);
    clear(status, taskStatus('graph', { running: true, message: `Laying out ${vis.items.size} items…` }, controller));
    // while set, what is drawn is the previous layout (or nothing): screenshots and tests wait for it to go
    root.dataset.layingOut = String(vis.items.size);
    try {
      const l = await layout(vis, sizeOf, cache);
      if (mine !== seq) return;
      delete root.dataset.layingOut;
      lay = l;
      root.dataset.layoutMs = l.ms.toFixed(0);
      root.dataset.laidOut = String(l.computed);
      root.dataset.items = String(vis.items.size);
      clear(status);
      const s = store.get();
      scene();
      if (s.graphView.view && !then && firstPaint === undefined) canvas.setView(s.graphView.view);
      else if (!then) canvas.fit();
      renderInfo();
      then?.();
    } catch (e) {
      if (mine !== seq) return;
      delete root.dataset.layingOut;
      const message = `The layout failed: ${e instanceof Error ? e.message : String(e)}`;
      clear(status, taskStatus('graph', { running: false, error: { message } }, controller));
      controller.log(message);
    }
  }

  function setExpanded(next: Set<string>, then?: () => void): void {
    expanded = next;
    store.set((s) => ({ graphView: { ...s.graphView, expanded: [...next] } }));
    void relayout(then);
  }

  /** Expands the clusters around a node, then centres and selects it. */
  function reveal(id: number): void {
    if (!hier) return;
    const next = new Set(expanded);
    for (const a of ancestors(hier, id)) next.add(a);
    const go = () => {
      const b = lay?.boxes.get(`n:${id}`);
      if (b) canvas.centre(b);
      selectNode(id);
    };
    if (next.size === expanded.size) go();
    else setExpanded(next, go);
  }

  function selectNode(id: number | null): void {
    selectedNode = id;
    const n = id === null ? undefined : graph?.nodes[id];
    const group = n ? n.writes ?? n.reads[0] ?? null : null;
    if (group !== store.get().selected) controller.select(group);
    scene();
    renderSide(store.get());
  }

  canvas.onClick = (id) => {
    if (!id || !hier) return selectNode(null);
    const n = nodeOf(id);
    if (n) return selectNode(n.id);
    const next = new Set(expanded);
    if (expanded.has(id)) {
      next.delete(id);
      for (const k of [...next]) if (k !== ROOT && !isVisibleCluster(k, next)) next.delete(k);
    } else next.add(id);
    setExpanded(next);
  };
  const isVisibleCluster = (id: string, set: Set<string>): boolean => {
    for (let c = hier!.clusters.get(id)?.parent; c; c = hier!.clusters.get(c)?.parent ?? null) if (c !== ROOT && !set.has(c)) return false;
    return true;
  };
  canvas.onView = (v) => store.set((s) => ({ graphView: { ...s.graphView, view: v } }));
  canvas.onHover = (id, e) => {
    const n = id ? nodeOf(id) : undefined;
    if (!id || !hier) {
      tooltip.hidden = true;
      return;
    }
    if (n) {
      clear(tooltip, h('strong', null, n.name), h('div', null, `${n.op} · output ${shape(n.shape)}`),
        h('div', null, `${count(n.params)} params · ${count(n.macs)} MACs`),
        h('div', null, n.writes !== undefined ? `writes the channels of group ${n.writes}` : 'no channel space of its own'),
        n.reads.length ? h('div', null, `reads groups ${n.reads.join(', ')}`) : null);
    } else {
      const c = hier.clusters.get(id)!;
      clear(tooltip, h('strong', null, c.label), h('div', null, `${c.size} layers · click to ${expanded.has(id) ? 'collapse' : 'expand'}`));
    }
    tooltip.hidden = false;
    const r = root.getBoundingClientRect();
    tooltip.style.left = `${e.clientX - r.left + 14}px`;
    tooltip.style.top = `${e.clientY - r.top + 14}px`;
  };

  searchField.addEventListener('input', () => {
    if (!graph || !hier) return;
    const found = search(graph, hier, searchField.value);
    clear(results, ...found.map((n) => h('li', { role: 'option', onclick: () => { clear(results); reveal(n.id); } }, h('strong', null, n.op), ` ${n.name}`)));
  });
  searchField.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key !== 'Enter' || !graph || !hier) return;
    const [first] = search(graph, hier, searchField.value, 1);
    clear(results);
    if (first) reveal(first.id);
  });
  ghosts.addEventListener('change', () => {
    store.set((s) => ({ graphView: { ...s.graphView, ghosts: ghosts.checked } }));
  });

  function renderSide(s: State): void {
    const n = selectedNode !== null ? graph?.nodes[selectedNode] : undefined;
    const g = s.selected !== null ? s.groupInfo[s.selected] : undefined;
    const link = (name: string) => {
      const id = byName.get(name);
      return id === undefined ? h('span', null, name) : h('a', { href: '#', onclick: (e) => { e.preventDefault(); reveal(id); } }, name);
    };
    const parts: (HTMLElement | null)[] = [];
    if (n) parts.push(h('div', { class: 'node-card' }, h('h3', null, n.name), h('div', { class: 'muted' }, `${n.op} · output ${shape(n.shape)} · ${count(n.params)} params · ${count(n.macs)} MACs`)));
    if (s.selected !== null) {
      if (!g) {
        if (!s.tasks.group?.running && !s.tasks.group?.error) void controller.ensureGroup(s.selected);
        parts.push(taskStatus('group', s.tasks.group ?? { running: true, message: `Asking for group ${s.selected}…` }, controller));
      }
      else {
        const nodes = [...new Map(g.members.map((m) => [m.node, m])).values()];
        parts.push(
          h('h3', null, `Group ${g.id}: ${g.channels} channels`),
          h('div', { class: g.prunable ? 'muted' : 'error' }, g.prunable ? `Prunable · ${count(g.params)} params · ${count(g.macs)} MACs depend on it` : `Cannot be pruned: ${g.reason}`),
          h('h4', null, `These ${nodes.length} layers lose the same channels`),
          h('ul', { class: 'members' }, ...nodes.map((m) => h('li', null, link(m.node), h('span', { class: 'muted' }, ` (${g.members.filter((x) => x.node === m.node).map((x) => x.role).join(', ')})`)))),
          h('h4', null, 'Why they are coupled'),
          g.couplings.length
            ? h('ul', { class: 'couplings' }, ...g.couplings.map((c) => h('li', null, h('strong', null, c.op), ' ', link(c.node), `: ${c.why}`)))
            : h('p', { class: 'muted' }, 'Only by the layer that writes them and the layers that read them.'),
        );
      }
    } else if (!n) parts.push(h('p', { class: 'muted' }, 'Select a layer to see which layers must lose the same channels, and why.'));
    clear(side, ...parts);
  }

  const start = (s: State) => {
    graph = s.graph!;
    byName = new Map(graph.nodes.map((n) => [n.name, n.id]));
    hier = buildHierarchy(graph);
    const saved = s.graphView.expanded.filter((k) => k === ROOT || hier!.clusters.has(k));
    expanded = saved.length ? new Set([ROOT, ...saved]) : initialExpanded(hier, graph);
    cache = new Map();
    const sel = s.selected;
    if (sel !== null) {
      const w = graph.nodes.find((n) => n.writes === sel);
      selectedNode = w?.id ?? null;
    }
    void relayout();
    renderSide(s);
  };

  store.subscribe((s, prev) => {
    if (s.tab === 'graph' && !s.graph && requestedAt === undefined) requestedAt = performance.now();
    if (s.tasks.graph !== prev.tasks.graph) clear(status, taskStatus('graph', s.tasks.graph, controller));
    if (s.graph && s.graph !== prev.graph) start(s);
    if (!graph) return;
    if (s.selected !== prev.selected || s.groupInfo !== prev.groupInfo) {
      if (s.selected !== prev.selected && selectedNode !== null && (graph.nodes[selectedNode].writes ?? graph.nodes[selectedNode].reads[0]) !== s.selected) {
        selectedNode = graph.nodes.find((n) => n.writes === s.selected)?.id ?? null;
      }
      scene();
      renderSide(s);
    }
    if (s.keep !== prev.keep || s.graphView.ghosts !== prev.graphView.ghosts) scene();
  });
  onThemeChange(() => scene());
  return root;
}
