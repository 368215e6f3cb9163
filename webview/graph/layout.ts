/**
 * Lays out the visible graph with ELK (layered, top to bottom) in a web worker: ELK's own worker script, started
 * from a blob URL because a webview cannot load workers by URL. Each expanded cluster is laid out on its own, as a
 * small flat graph of its children (an expanded child counts as one box of its laid-out size), bottom-up, and the
 * result is cached: expanding a cluster lays out that cluster and its ancestors only, never the whole model.
 * Edges between siblings follow ELK's routes; edges that cross cluster borders are drawn as curves.
 */
import ELK, { type ElkNode } from 'elkjs/lib/elk-api.js';
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
  /** Routed edges as polylines; `curve` edges are drawn as a curve from the first point to the last. */
  edges: { source: string; target: string; points: { x: number; y: number }[]; curve?: boolean }[];
  width: number;
  height: number;
  ms: number;
  /** Clusters laid out this time (the others came from the cache). */
  computed: number;
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
const PAD = 10;

const OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'POLYLINE',
  'elk.layered.spacing.nodeNodeBetweenLayers': '28',
  'elk.spacing.nodeNode': '18',
  'elk.layered.thoroughness': '1',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  // measured on DenseNet-121's densest block (24 layers, 300+ edges): 0.9 s, against 2.4 s with Brandes-Köpf
  // placement and 11 s when model order is considered
  'elk.layered.nodePlacement.strategy': 'SIMPLE',
};

interface Local {
  w: number;
  h: number;
  /** Children's boxes relative to the cluster's content origin. */
  boxes: Map<string, Box>;
  edges: { source: string; target: string; points: { x: number; y: number }[] }[];
}

/** Per-cluster layouts, keyed by what they depend on (their children's sizes and edges). */
export type LayoutCache = Map<string, { key: string; local: Local }>;

export async function layout(v: VisibleGraph, size: (id: string) => { w: number; h: number }, cache: LayoutCache = new Map()): Promise<Layout> {
  const t = performance.now();
  const children = new Map<string | null, string[]>();
  for (const it of v.items.values()) children.set(it.parent, [...(children.get(it.parent) ?? []), it.id]);
  // the child of `cluster` that holds item `id` (itself when it is a direct child)
  const childOf = (cluster: string | null, id: string): string | undefined => {
    for (let cur: string | null = id; cur !== null;) {
      const it = v.items.get(cur);
      if (!it) return undefined;
      if (it.parent === cluster) return cur;
      cur = it.parent;
    }
    return undefined;
  };
  let computed = 0;
  const locals = new Map<string | null, Local>();
  const lay = async (cluster: string | null): Promise<Local> => {
    const kids = children.get(cluster) ?? [];
    const sizes = new Map<string, { w: number; h: number }>();
    for (const k of kids) {
      if (v.items.get(k)!.kind === 'expanded') {
        const sub = await lay(k);
        sizes.set(k, { w: sub.w + 2 * PAD, h: sub.h + HEADER + 2 * PAD });
      } else sizes.set(k, size(k));
    }
    const seen = new Set<string>();
    const edges: { source: string; target: string }[] = [];
    for (const e of v.edges) {
      const a = childOf(cluster, e.source);
      const b = childOf(cluster, e.target);
      if (!a || !b || a === b || seen.has(`${a}>${b}`)) continue;
      seen.add(`${a}>${b}`);
      edges.push({ source: a, target: b });
    }
    const key = JSON.stringify([kids.map((k) => [k, sizes.get(k)!.w, sizes.get(k)!.h]), edges.map((e) => `${e.source}>${e.target}`)]);
    const name = cluster ?? '';
    const hit = cache.get(name);
    if (hit?.key === key) {
      locals.set(cluster, hit.local);
      return hit.local;
    }
    computed++;
    const graph: ElkNode = {
      id: 'g',
      layoutOptions: OPTIONS,
      children: kids.map((k) => ({ id: k, width: sizes.get(k)!.w, height: sizes.get(k)!.h })),
      edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
    };
    const out = await engine().layout(graph);
    const local: Local = { w: out.width ?? 0, h: out.height ?? 0, boxes: new Map(), edges: [] };
    for (const c of (out.children ?? []) as ElkNode[]) local.boxes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
    for (const e of out.edges ?? []) {
      const s = e.sections?.[0];
      if (s) local.edges.push({ source: e.sources[0], target: e.targets[0], points: [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] });
    }
    cache.set(name, { key, local });
    locals.set(cluster, local);
    return local;
  };
  const root = await lay(null);
  // absolute positions: each expanded cluster's content starts below its header
  const boxes = new Map<string, Box>();
  const routed: Layout['edges'] = [];
  const place = (cluster: string | null, ox: number, oy: number) => {
    const local = locals.get(cluster)!;
    for (const [id, b] of local.boxes) {
      const abs = { x: ox + b.x, y: oy + b.y, w: b.w, h: b.h };
      boxes.set(id, abs);
      if (v.items.get(id)!.kind === 'expanded') place(id, abs.x + PAD, abs.y + HEADER + PAD);
    }
    for (const e of local.edges) {
      // an edge into or out of an expanded cluster really ends at a node inside it: drawn below, as a curve
      if (v.items.get(e.source)!.kind === 'expanded' || v.items.get(e.target)!.kind === 'expanded') continue;
      routed.push({ source: e.source, target: e.target, points: e.points.map((p) => ({ x: p.x + ox, y: p.y + oy })) });
    }
  };
  place(null, 0, 0);
  const done = new Set(routed.map((e) => `${e.source}>${e.target}`));
  for (const e of v.edges) {
    if (done.has(`${e.source}>${e.target}`)) continue;
    const a = boxes.get(e.source);
    const b = boxes.get(e.target);
    if (!a || !b) continue;
    routed.push({ source: e.source, target: e.target, curve: true, points: [{ x: a.x + a.w / 2, y: a.y + a.h }, { x: b.x + b.w / 2, y: b.y }] });
  }
  return { boxes, edges: routed, width: root.w, height: root.h, ms: performance.now() - t, computed };
}
