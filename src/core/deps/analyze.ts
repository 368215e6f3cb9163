import type { Model, Node } from '../ir/graph.js';
import { implicitInputs } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';
import { DepBuilder } from './context.js';
import { blockInputs, RULES } from './rules.js';
import type { Fix, GroupInfo, ParamSlice, Space } from './types.js';

/** One dependency group with everything surgery and criteria need. */
export interface Group {
  id: number;
  spaces: Space[];
  params: ParamSlice[];
  fixes: Fix[];
  /** units[u] = element ids (space.base + index) removed together. */
  units: number[][];
  /** Units that contain a pinned element. */
  pinned: Set<number>;
  reasons: string[];
  sources: string[];
  /**
   * Grouped convolutions and GroupNormalization: unit → class, where every class must lose equally many units
   * (then every block of every balanced space does); −1 for units in no balanced space, which are free.
   */
  classes?: { of: Int32Array; count: number; free: number };
}

export interface DepGraph {
  groups: Group[];
  spaces: Space[];
  /** element id → [space id, index in space]. */
  locate(element: number): [number, number];
}

/**
 * Builds the channel dependency groups of the main graph for one set of shapes. Sub-graphs (If/Loop/Scan) are
 * opaque: channels that enter them cannot be pruned.
 */
export function analyzeDependencies(model: Model, shapes: ShapeResult): DepGraph {
  const g = model.graph;
  const b = new DepBuilder(g, shapes.types, shapes.values ?? new Map());
  for (const node of g.nodes) {
    const c = b.ctx(node);
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? RULES[node.opType] : undefined;
    if (rule) rule(c);
    else blockInputs(c, `${node.key} '${node.name}' is not understood by the dependency analysis`);
    for (const i of implicitInputs(node)) {
      const s = c.space(i);
      if (s) c.block(s, `${node.opType} '${node.name}' uses the channels inside a sub-graph`);
    }
  }
  for (const o of g.outputs) {
    const id = b.spaceOf.get(o.name);
    if (id !== undefined) b.block(b.spaces[id], `'${o.name}' is a graph output, whose shape is kept`);
  }
  return buildGroups(b);
}

function buildGroups(b: DepBuilder): DepGraph {
  const bySpaceRoot = new Map<number, Group>();
  const groups: Group[] = [];
  for (const s of b.spaces) {
    const root = b.groups.find(s.id);
    let grp = bySpaceRoot.get(root);
    if (!grp) {
      grp = { id: groups.length, spaces: [], params: [], fixes: [], units: [], pinned: new Set(), reasons: [], sources: [] };
      bySpaceRoot.set(root, grp);
      groups.push(grp);
    }
    grp.spaces.push(s);
    if (s.source) grp.sources.push(s.source);
    for (const r of b.blocked.get(s.id) ?? []) if (!grp.reasons.includes(r)) grp.reasons.push(r);
  }
  const groupOfSpace = (id: number) => bySpaceRoot.get(b.groups.find(id))!;
  for (const p of b.params) groupOfSpace(p.space).params.push(p);
  for (const f of b.fixes) {
    const id = f.kind === 'split' ? f.spaces[0] : f.space;
    groupOfSpace(id).fixes.push(f);
  }
  for (const grp of groups) {
    const unitOfRoot = new Map<number, number>();
    for (const s of grp.spaces) {
      for (let i = 0; i < s.size; i++) {
        const e = s.base + i;
        const r = b.elems.find(e);
        let u = unitOfRoot.get(r);
        if (u === undefined) {
          u = grp.units.length;
          unitOfRoot.set(r, u);
          grp.units.push([]);
        }
        grp.units[u].push(e);
        if (b.pinned.has(e)) grp.pinned.add(u);
      }
    }
    if (grp.sources.length === 0 && grp.reasons.length === 0) grp.reasons.push('no layer produces these channels');
    balanceClasses(grp);
  }
  // Renumber: groups that have sources first, in graph order, so ids read naturally.
  const spaces = b.spaces;
  const index = new Int32Array(b.elementCount);
  for (const s of spaces) for (let i = 0; i < s.size; i++) index[s.base + i] = s.id;
  return {
    groups,
    spaces,
    locate: (e) => [index[e], e - spaces[index[e]].base],
  };
}

/**
 * A unit's class is what it takes from each block of each balanced space. When all classes have one size, the
 * blocks (of equal size) are covered equally often by the classes, so removing equally many units from every class
 * balances every block. Units in no balanced space (another Concat part) are free.
 */
function balanceClasses(grp: Group): void {
  const balanced = grp.spaces.filter((s) => s.blocks);
  if (!balanced.length) return;
  const ids = new Map<string, number>();
  const of = new Int32Array(grp.units.length);
  const sizes: number[] = [];
  for (let u = 0; u < grp.units.length; u++) {
    // per balanced space, the blocks of the unit's elements (several after a channel shuffle, none for a unit of
    // another Concat part)
    const key = balanced.map((s) =>
      grp.units[u].filter((e) => e >= s.base && e < s.base + s.size).map((e) => Math.floor(((e - s.base) * s.blocks!) / s.size)).sort((a, b) => a - b).join(' '),
    );
    if (key.every((k) => k === '')) {
      of[u] = -1;
      continue;
    }
    const k = key.join(',');
    let id = ids.get(k);
    if (id === undefined) ids.set(k, (id = sizes.push(0) - 1));
    of[u] = id;
    sizes[id]++;
  }
  if (sizes.some((n) => n !== sizes[0])) {
    grp.reasons.push('its groupings (grouped convolutions or GroupNormalization) cannot all lose channels equally');
    return;
  }
  grp.classes = { of, count: sizes.length, free: of.filter((c) => c < 0).length };
}

/** Serialisable summary of a group (for reports, plans and the UI); `macsOf` gives a node's MACs. */
export function describeGroup(grp: Group, model: Model, macsOf: (node: string) => number = () => 0): GroupInfo {
  const g = model.graph;
  const prunableUnits = grp.units.length - grp.pinned.size;
  let reason = grp.reasons[0];
  if (!reason && prunableUnits < 2) reason = grp.units.length < 2 ? 'a single channel' : 'all channels are pinned';
  const seen = new Set<string>();
  let params = 0;
  for (const p of grp.params) {
    if (seen.has(p.tensor)) continue;
    seen.add(p.tensor);
    const t = g.constant(p.tensor);
    if (t) {
      const space = grp.spaces.find((s) => s.id === p.space)!;
      params += (t.size / t.dims[p.axis]) * space.size * p.block / (p.groups ?? 1);
    }
  }
  // the layers whose cost depends on these channels: producers and readers of the group's values and weights
  const nodes = new Set<string>(grp.params.map((p) => p.node));
  for (const s of grp.spaces) {
    const p = g.producer(s.value);
    if (p) nodes.add(p.name);
    for (const c of g.consumersOf(s.value)) nodes.add(c.name);
  }
  return {
    id: grp.id,
    channels: grp.units.length,
    prunable: !reason,
    reason,
    pinned: grp.pinned.size,
    sources: grp.sources,
    members: grp.params.map((p) => ({ node: p.node, tensor: p.tensor, axis: p.axis, role: p.role })),
    values: grp.spaces.map((s) => ({ value: s.value, axis: s.axis, size: s.size })),
    params,
    macs: [...nodes].reduce((sum, n) => sum + macsOf(n), 0),
    couplings: couplings(grp, model),
  };
}

const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Sum', 'Max', 'Min', 'Mean', 'PRelu', 'Where']);

/** The nodes that tie several layers' channels together in this group, and why. */
function couplings(grp: Group, model: Model): GroupInfo['couplings'] {
  const g = model.graph;
  const values = new Set(grp.spaces.map((s) => s.value));
  const out: GroupInfo['couplings'] = [];
  const seen = new Set<string>();
  const add = (node: Node, why: string) => {
    if (seen.has(node.name)) return;
    seen.add(node.name);
    out.push({ node: node.name, op: node.opType, why });
  };
  for (const v of values) {
    for (const n of g.consumersOf(v)) {
      const ins = n.inputs.filter((i) => values.has(i));
      const outs = n.outputs.filter((o) => values.has(o));
      if (ELEMENTWISE.has(n.opType) && new Set(ins).size >= 2) {
        add(n, `${n.opType} combines its inputs channel by channel (e.g. a residual connection): they must keep the same channels`);
      } else if (n.opType === 'Concat') {
        add(n, 'Concat joins its inputs\' channels: a channel removed from an input is removed from the joined tensor too');
      } else if ((n.opType === 'Split' || n.opType === 'Slice') && outs.length) {
        add(n, `${n.opType} hands parts of these channels to different layers`);
      } else if ((n.opType === 'Conv' || n.opType === 'ConvTranspose') && (n.int('group') ?? 1) > 1 && outs.length) {
        add(n, 'depthwise or grouped convolution: each output channel reads its own input channels, so input and output lose the same ones');
      } else if (n.opType === 'MatMul' && ins.length === 2) {
        add(n, 'MatMul contracts these channels of both its operands');
      } else if ((n.opType === 'Flatten' || n.opType === 'Reshape') && outs.length) {
        add(n, `${n.opType}: each channel becomes a block of features of the next layer`);
      }
    }
  }
  return out;
}
