/**
 * Lays out the visible graph with ELK (layered, top to bottom, expanded clusters as compound nodes) in a web
 * worker: ELK's own worker script, started from a blob URL because a webview cannot load workers by URL. The
 * result is in absolute coordinates, ready to draw.
 */
import ELK, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk-api.js';
import workerSource from 'elk-worker-source';
import type { VisibleGraph } from './model.js';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Layout {
  boxes: Map<string, Box>;
  edges: { source: string; target: string; points: { x: number; y: number }[] }[];
  width: number;
  height: number;
  ms: number;
}

let elk: InstanceType<typeof ELK> | undefined;

function engine(): InstanceType<typeof ELK> {
  if (!elk) {
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
    elk = new ELK({ workerFactory: () => new Worker(url) });
  }
  return elk;
}

export const HEADER = 24;

export async function layout(v: VisibleGraph, size: (id: string) => { w: number; h: number }): Promise<Layout> {
  const t = performance.now();
  const make = (id: string): ElkNode => {
    const it = v.items.get(id)!;
    if (it.kind !== 'expanded') {
      const s = size(id);
      return { id, width: s.w, height: s.h };
    }
    return {
      id,
      layoutOptions: { 'elk.padding': `[top=${HEADER + 8},left=10,bottom=10,right=10]` },
      children: it.children.map(make),
    };
  };
  const top = [...v.items.values()].filter((i) => i.parent === null).map((i) => make(i.id));
  const graph: ElkNode = {
    id: 'graph',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '28',
      'elk.spacing.nodeNode': '18',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: top,
    edges: v.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  const out = await engine().layout(graph);
  const boxes = new Map<string, Box>();
  const place = (n: ElkNode, ox: number, oy: number) => {
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    if (n.id !== 'graph') boxes.set(n.id, { x, y, w: n.width ?? 0, h: n.height ?? 0 });
    for (const c of n.children ?? []) place(c, x, y);
  };
  place(out, -(out.x ?? 0), -(out.y ?? 0));
  const edges: Layout['edges'] = [];
  const collect = (n: ElkNode) => {
    for (const e of (n.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
      // section coordinates are relative to the edge's container (the root unless ELK says otherwise)
      const c = e.container && e.container !== 'graph' ? boxes.get(e.container) : undefined;
      const ox = c?.x ?? 0;
      const oy = c?.y ?? 0;
      const s = e.sections?.[0];
      const points = s ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => ({ x: p.x + ox, y: p.y + oy })) : [];
      edges.push({ source: e.sources[0], target: e.targets[0], points });
    }
    for (const k of n.children ?? []) collect(k);
  };
  collect(out);
  return { boxes, edges, width: out.width ?? 0, height: out.height ?? 0, ms: performance.now() - t };
}
