import { PruneLensError } from '../errors.js';
import { implicitInputs, type Graph, type Model, type Node } from '../ir/graph.js';
import { encodeElements, memorySource, Tensor } from '../ir/tensor.js';
import type { DepGraph, Group } from '../deps/analyze.js';
import type { Fix } from '../deps/types.js';
import { byBlocks, sliceTensor, zeroTensor, type BlockRemoval } from './slice.js';

/** Which units of which group to remove. */
export interface Selection {
  group: number;
  remove: number[];
}

/** Removed indices per space. */
export function removedBySpace(dep: DepGraph, selections: Selection[]): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const sel of selections) {
    const g = dep.groups[sel.group];
    for (const u of sel.remove) {
      if (g.pinned.has(u)) throw new PruneLensError(`group ${g.id}: channel ${u} cannot be removed (pinned)`);
      for (const e of g.units[u]) {
        const [space, index] = dep.locate(e);
        let s = out.get(space);
        if (!s) out.set(space, (s = new Set()));
        s.add(index);
      }
    }
  }
  return out;
}

/** Indices to remove per (node, input) and axis. */
interface Removal {
  node: string;
  input: number;
  axes: Map<number, Set<number>>;
  /** A grouped convolution's input channels (or ConvTranspose's outputs): removed per conv-group. */
  blocks?: BlockRemoval;
}

function tensorRemovals(dep: DepGraph, removed: Map<number, Set<number>>): Removal[] {
  const out = new Map<string, Removal>();
  for (const g of dep.groups) {
    for (const p of g.params) {
      const r = removed.get(p.space);
      if (!r || r.size === 0) continue;
      const key = `${p.node}\u0000${p.input}`;
      let rem = out.get(key);
      if (!rem) out.set(key, (rem = { node: p.node, input: p.input, axes: new Map() }));
      if (p.groups) {
        const per = dep.spaces[p.space].size / p.groups;
        rem.blocks = { axis: p.axis, perBlock: Array.from({ length: p.groups }, () => new Set<number>()) };
        for (const i of r) rem.blocks.perBlock[Math.floor(i / per)].add(i % per);
        continue;
      }
      let set = rem.axes.get(p.axis);
      if (!set) rem.axes.set(p.axis, (set = new Set()));
      for (const i of r) for (let b = 0; b < p.block; b++) set.add(i * p.block + b);
    }
  }
  return [...out.values()];
}

type Edit = (t: Tensor, axes: Map<number, Set<number>>) => { dims: number[]; bytes: Uint8Array };

/** Applies `edit` (slice or zero) to each removal on a tensor that only that node input reads. */
function editConstants(g: Graph, removals: Removal[], edit: Edit): void {
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  // Materialise private copies first: slicing one reader's copy must not change another's.
  const targets = removals.map((r) => ({ r, t: ownConstant(g, nodes.get(r.node)!, r.input) }));
  for (const { r, t } of targets) {
    const { dims, bytes } = r.blocks ? byBlocks(t, r.axes, r.blocks, edit) : edit(t, r.axes);
    t.replaceBytes(dims, bytes);
  }
}

function checkSelections(dep: DepGraph, selections: Selection[]): void {
  for (const sel of selections) {
    const g = dep.groups[sel.group];
    if (!g) throw new PruneLensError(`no dependency group ${sel.group}`);
    if (g.reasons.length && sel.remove.length) throw new PruneLensError(`group ${g.id} cannot be pruned: ${g.reasons[0]}`);
    if (new Set(sel.remove).size >= g.units.length) throw new PruneLensError(`group ${g.id} would lose all its ${g.units.length} channels`);
    if (g.classes) {
      const per = new Array<number>(g.classes.count).fill(0);
      for (const u of new Set(sel.remove)) if (g.classes.of[u] >= 0) per[g.classes.of[u]]++;
      if (per.some((n) => n !== per[0])) {
        throw new PruneLensError(`group ${g.id} must lose equally many channels from each of its ${per.length} blocks (grouped convolution or GroupNormalization)`);
      }
    }
  }
}

/**
 * Structured pruning for real: slices weights (initializers and Constant nodes), rewrites `group` attributes,
 * Split sizes, Slice bounds and Reshape targets, so the saved model is genuinely smaller.
 */
export function applyPruning(model: Model, dep: DepGraph, selections: Selection[]): void {
  checkSelections(dep, selections);
  const g = model.graph;
  const before = liveness(g);
  const removed = removedBySpace(dep, selections);
  const newSize = (space: number) => dep.spaces[space].size - (removed.get(space)?.size ?? 0);
  editConstants(g, tensorRemovals(dep, removed), sliceTensor);
  const nodes = new Map(g.nodes.map((n) => [n.name, n]));
  for (const grp of dep.groups) {
    for (const f of grp.fixes) {
      const node = nodes.get(f.node)!;
      switch (f.kind) {
        case 'group':
          node.setAttr('group', { type: 'int', value: newSize(f.space) });
          break;
        case 'split':
          setSplit(model, node, f.spaces.map(newSize));
          break;
        case 'slice': {
          const r = removed.get(f.inputSpace);
          const keptBefore = f.start - [...(r ?? [])].filter((i) => i < f.start).length;
          setSliceBounds(g, node, f, keptBefore, keptBefore + newSize(f.space), dep.spaces[f.inputSpace].rank);
          break;
        }
        case 'norm':
          break; // the statistics follow the smaller tensor by themselves
        case 'shape': {
          const t = ownConstant(g, node, f.input);
          const v = t.toNumbers();
          v[f.index] = newSize(f.space) / (f.divisor ?? 1);
          t.replace(t.dims, v);
          break;
        }
      }
    }
  }
  // Intermediate shapes recorded in the file are stale now; ONNX Runtime infers them again.
  for (const space of removed.keys()) g.valueInfo.delete(dep.spaces[space].value);
  g.invalidate();
  dropNewlyDead(g, before);
}

/** Nodes the graph outputs depend on, and the initializers they (or the outputs) read. */
function liveness(g: Graph): { nodes: Set<Node>; inits: Set<string> } {
  const nodes = new Set<Node>();
  const used = new Set<string>();
  const stack = g.outputs.map((o) => o.name);
  while (stack.length) {
    const v = stack.pop()!;
    if (!v || used.has(v)) continue;
    used.add(v);
    const p = g.producer(v);
    if (p && !nodes.has(p)) {
      nodes.add(p);
      stack.push(...p.inputs, ...implicitInputs(p));
    }
  }
  return { nodes, inits: new Set([...g.initializers.keys()].filter((k) => used.has(k))) };
}

/**
 * Surgery gives a reader of a shared weight its own copy; when every reader has one, the original (and an Identity
 * or Constant node that only passed it on) is dead. Drop what surgery made dead, so the file really shrinks; what was
 * dead in the original stays as it was.
 */
function dropNewlyDead(g: Graph, before: { nodes: Set<Node>; inits: Set<string> }): void {
  const after = liveness(g);
  const deadNodes = new Set([...before.nodes].filter((n) => !after.nodes.has(n)));
  if (deadNodes.size) g.nodes = g.nodes.filter((n) => !deadNodes.has(n));
  const gone = [...before.inits].filter((k) => !after.inits.has(k));
  for (const k of gone) g.initializers.delete(k);
  // IR < 4 lists initializers among the graph inputs too
  if (gone.length) g.inputs = g.inputs.filter((i) => !gone.includes(i.name));
  g.invalidate();
}

/** Removed channels zeroed in every member, nothing resized (the masked twin's weights). */
export function zeroMembers(model: Model, removed: Map<number, Set<number>>, dep: DepGraph): void {
  editConstants(model.graph, tensorRemovals(dep, removed), (t, axes) => ({ dims: t.dims, bytes: zeroTensor(t, axes) }));
}

/**
 * A constant input that only this node input reads: copied (and rewired) when it is shared with other readers,
 * reached through Identity, or held by a Constant node that others read too.
 */
export function ownConstant(g: Graph, node: Node, input: number): Tensor {
  const name = node.inputs[input];
  const t = g.constant(name);
  if (!t) throw new PruneLensError(`${node.opType} '${node.name}': input ${input} is not a constant`);
  const readers = g.consumersOf(name);
  const direct = g.initializers.get(name) === t || g.producer(name)?.opType === 'Constant';
  const onlyHere = readers.length === 1 && node.inputs.filter((i) => i === name).length === 1;
  if (direct && onlyHere && !g.outputs.some((o) => o.name === name)) return t;
  return setConstantInput(g, node, input, `${name}__pruned`, t.dtype, [...t.dims], t.bytes().slice());
}

/** Points a node input at a new initializer of its own (named after `base`). */
function setConstantInput(
  g: Graph, node: Node, input: number, base: string, dtype: Tensor['dtype'], dims: number[], bytes: Uint8Array,
): Tensor {
  const name = uniqueName(g, base);
  const t = new Tensor(name, dtype, dims, memorySource(bytes));
  t.modified = true;
  g.initializers.set(name, t);
  node.inputs[input] = name;
  g.invalidate();
  return t;
}

export function uniqueName(g: Graph, base: string): string {
  let name = base;
  for (let i = 1; g.constant(name) || g.producer(name); i++) name = `${base}${i}`;
  return name;
}

function setSplit(model: Model, node: Node, sizes: number[]): void {
  const g = model.graph;
  if (node.attrs.has('split')) return node.setAttr('split', { type: 'ints', value: sizes });
  if (node.inputs[1]) {
    const t = ownConstant(g, node, 1);
    t.replace(t.dims, sizes);
    return;
  }
  if ((model.opsetVersion('') ?? 13) < 13) return node.setAttr('split', { type: 'ints', value: sizes });
  node.attrs.delete('num_outputs');
  node.changedAttrs.add('num_outputs');
  setConstantInput(g, node, 1, `${node.name}__split`, 'int64', [sizes.length], encodeElements('int64', sizes));
}

function setSliceBounds(g: Graph, node: Node, f: Extract<Fix, { kind: 'slice' }>, start: number, end: number, rank: number): void {
  const norm = (a: number) => (a < 0 ? a + rank : a);
  if (node.attrs.has('starts')) {
    const axes = (node.ints('axes') ?? node.ints('starts')!.map((_, i) => i)).map(norm);
    const k = axes.indexOf(f.axis);
    const starts = [...node.ints('starts')!];
    const ends = [...node.ints('ends')!];
    starts[k] = start;
    ends[k] = end;
    node.setAttr('starts', { type: 'ints', value: starts });
    node.setAttr('ends', { type: 'ints', value: ends });
    return;
  }
  const axesT = node.inputs[3] ? g.constant(node.inputs[3]) : undefined;
  const axes = (axesT ? axesT.toNumbers() : f.starts!.map((_, i) => i)).map(norm);
  const k = axes.indexOf(f.axis);
  for (const [input, values, value] of [[1, f.starts!, start], [2, f.ends!, end]] as const) {
    const v = [...values];
    v[k] = value;
    // Written as a fresh constant: the bounds may have been computed in the graph or shared with other nodes.
    const base = `${node.name}__${input === 1 ? 'starts' : 'ends'}`;
    setConstantInput(g, node, input, base, 'int64', [v.length], encodeElements('int64', v));
  }
}
