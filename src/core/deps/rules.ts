import type { RuleCtx } from './context.js';
import type { Node } from '../ir/graph.js';
import type { Space } from './types.js';

/**
 * One rule per operator: how channel indices flow from inputs to outputs, which weights are sliced, and which
 * attributes or shape constants follow. Adding support for an operator means adding a rule here. An operator
 * without a rule blocks the groups of the channels it reads (never a wrong model).
 */
export type Rule = (c: RuleCtx) => void;

const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);
const norm = (a: number, r: number) => (a < 0 ? a + r : a);

/** The node's spaced inputs get blocked with a reason (and outputs get no spaces). */
export function blockInputs(c: RuleCtx, reason: string): void {
  for (const i of c.node.inputs) {
    const s = c.space(i);
    if (s) c.block(s, reason);
  }
}

const what = (c: RuleCtx) => `${c.node.opType} '${c.node.name}'`;

/** The channel space of input 0 with the input and output shapes; undefined (after blocking if needed) otherwise. */
function spacedIo(c: RuleCtx): { s: Space; xd: number[]; out: string; od: number[] } | undefined {
  const s = c.space(c.node.inputs[0]);
  if (!s) return undefined;
  const out = c.node.outputs[0];
  const od = c.dims(out);
  if (!od) {
    c.block(s, `${what(c)} has an unknown output shape`);
    return undefined;
  }
  return { s, xd: c.dims(c.node.inputs[0])!, out, od };
}

/** Channel-preserving ops of one data input: the output's channels are the input's. */
const passThrough: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (s && c.node.outputs[0]) c.follow(s, c.node.outputs[0], s.axis);
  // Extra outputs (Dropout mask, MaxPool indices) that carry channels are not followed: block if used.
  for (const o of c.node.outputs.slice(1)) if (o && s && c.used(o)) c.block(s, `${what(c)} second output is used`);
};

const conv: Rule = (c) => {
  const [x, wName, bName] = c.node.inputs;
  const w = c.constant(wName);
  const xs = c.space(x);
  const out = c.node.outputs[0];
  if (!w) {
    if (xs) c.block(xs, `${what(c)} has computed (non-constant) weights`);
    return;
  }
  const group = c.node.int('group', 1);
  const cout = w.dims[0];
  const cinPerGroup = w.dims[1];
  const xd = c.dims(x);
  const cin = xd?.[1] ?? cinPerGroup * group;
  if (group === 1) {
    const os = c.source(out, 1);
    if (os) {
      c.param(os, wName, 0, 'out');
      if (bName && c.constant(bName)) c.param(os, bName, 0, 'bias');
    }
    if (xs) {
      if (xs.axis !== 1) c.block(xs, `${what(c)} reads channels on axis ${xs.axis}`);
      else c.param(xs, wName, 1, 'in');
    }
    return;
  }
  if (group === cin && cinPerGroup === 1) {
    // Depthwise: input channel i makes output channels i·m … i·m+m−1; `group` follows the input's size.
    const m = cout / group;
    if (!xs) {
      const os = c.source(out, 1);
      if (os) c.block(os, `depthwise ${what(c)} reads a fixed input`);
      return;
    }
    const os = m === 1 ? c.follow(xs, out, 1) : c.expand(xs, out, 1, m);
    if (!os) return;
    c.param(os, wName, 0, 'out');
    if (bName && c.constant(bName)) c.param(os, bName, 0, 'bias');
    c.fix({ kind: 'group', node: c.node.name, space: xs.id });
    return;
  }
  // Grouped (ResNeXt): conv-group b reads input block b and writes output block b. Channels go equally from every
  // block so that `group` stays valid; an input channel's weights are one column of its own block's rows.
  const os = c.source(out, 1);
  if (os && cout / group < 2) c.block(os, `grouped convolution ${what(c)} has one output channel per group`);
  else if (os) {
    c.param(os, wName, 0, 'out');
    if (bName && c.constant(bName)) c.param(os, bName, 0, 'bias');
    c.balance(os, group);
  }
  if (xs) {
    if (xs.axis !== 1) c.block(xs, `${what(c)} reads channels on axis ${xs.axis}`);
    else if (cin !== cinPerGroup * group) c.block(xs, `${what(c)} has weights that do not match its ${cin} input channels`);
    else {
      c.param(xs, wName, 1, 'in', 1, group);
      c.balance(xs, group);
    }
  }
};

const convTranspose: Rule = (c) => {
  const [x, wName, bName] = c.node.inputs;
  const w = c.constant(wName);
  const xs = c.space(x);
  const out = c.node.outputs[0];
  if (!w) {
    const os = c.source(out, 1);
    if (os) c.block(os, `${what(c)} has computed weights`);
    if (xs) c.block(xs, `${what(c)} has computed weights`);
    return;
  }
  // Weights are [Cin, Cout/group, …]: output channels are columns of their conv-group's rows.
  const group = c.node.int('group', 1);
  const os = c.source(out, 1);
  if (os) {
    c.param(os, wName, 1, 'out', 1, group);
    if (bName && c.constant(bName)) c.param(os, bName, 0, 'bias');
    if (group > 1) c.balance(os, group);
  }
  if (xs) {
    if (xs.axis !== 1) return c.block(xs, `${what(c)} reads channels on axis ${xs.axis}`);
    c.param(xs, wName, 0, 'in');
    if (group > 1) c.balance(xs, group);
  }
};

const gemm: Rule = (c) => product(c, c.node.int('transA', 0) === 1, c.node.int('transB', 0) === 1);
const matmul: Rule = (c) => product(c, false, false);

/**
 * Y = A·B (Gemm: 2-D with transA/transB and bias C; MatMul: N-D with broadcast batch axes, a 1-D side dropping its
 * axis). Channels on a free axis (M of A, N of B) pass to Y; channels on the contracted axis K remove the matching
 * slice of a constant other side, or of a computed other side whose K channels are the same ones (Q·Kᵀ). A 2-D
 * constant side makes Y's channels on its free axis.
 */
function product(c: RuleCtx, transA: boolean, transB: boolean): void {
  const [aName, bName, cName] = c.node.inputs;
  const out = c.node.outputs[0];
  const ad = c.dims(aName);
  const bd = c.dims(bName);
  const od = c.dims(out);
  if (!ad || !bd || !od) return blockInputs(c, `${what(c)} has an operand of unknown shape`);
  const [ra, rb, ro] = [ad.length, bd.length, od.length];
  // k: the contracted axis; free: the axis that stays in Y (-1 for a 1-D side)
  const side = (name: string, d: number[], trans: boolean, isA: boolean) => {
    const r = d.length;
    const last = isA !== trans;
    return { name, d, r, k: r === 1 ? 0 : last ? r - 1 : r - 2, free: r === 1 ? -1 : last ? r - 2 : r - 1,
      space: c.space(name), constant: c.constant(name) };
  };
  const A = side(aName, ad, transA, true);
  const B = side(bName, bd, transB, false);
  const yN = rb === 1 ? -1 : ro - 1;
  const yM = ra === 1 ? -1 : rb === 1 ? ro - 1 : ro - 2;
  const yOf = (s: typeof A, axis: number) => (axis === s.free ? (s === A ? yM : yN) : axis + (ro - s.r));
  // A new or followed space of Y on axis y; the bias (Gemm) follows it.
  const withBias = (os: Space | undefined, y: number) => {
    const cd = cName ? c.dims(cName) : undefined;
    if (!os || !cd) return;
    const local = y - (ro - cd.length);
    if (local < 0 || cd[local] === 1) return;
    if (c.constant(cName)) c.param(os, cName, local, 'bias');
    else c.block(os, `${what(c)} adds a computed bias along the channels`);
  };
  for (const [s, o] of [[A, B], [B, A]] as const) {
    const sp = s.space;
    if (!sp) continue;
    if (sp.axis === s.k) {
      if (o.constant && o.r <= 2) c.param(sp, o.name, o.k, 'in');
      else if (o.space?.axis === o.k) c.linkIdentity(sp, o.space);
      else c.block(sp, `${what(c)} contracts the channels with a tensor PruneLens cannot slice`);
      continue;
    }
    if (sp.axis !== s.free) {
      // batch axis: passes through when the other side broadcasts along it
      const j = sp.axis + (o.r - s.r);
      if (j >= 0 && j < o.r - 2 && o.d[j] !== 1 && o.space?.axis !== j) {
        c.block(sp, `${what(c)} broadcasts channels against a batch axis`);
        continue;
      }
    }
    const y = yOf(s, sp.axis);
    const existing = c.space(out);
    if (existing) {
      if (existing.axis === y && existing.size === sp.size) c.linkIdentity(sp, existing);
      else c.block(sp, `${what(c)} would carry channels on two axes of its output`);
      continue;
    }
    withBias(c.follow(sp, out, y), y);
  }
  // A 2-D constant weight makes new channels on Y's axis for its free side (unless channels already flow there).
  for (const [s, o, y] of [[B, A, yN], [A, B, yM]] as const) {
    if (!s.constant || o.constant || y < 0) continue;
    if (s.r !== 2) {
      if (o.space) c.block(o.space, `${what(c)} multiplies by a batched constant`);
      continue;
    }
    if (c.space(out)) continue;
    const os = c.source(out, y);
    if (os) {
      c.param(os, s.name, s.free, 'out');
      withBias(os, y);
    }
  }
}

/** Per-channel normalisation with statistics/affine parameters on inputs 1…. */
function channelNorm(paramInputs: number[]): Rule {
  return (c) => {
    const s = c.space(c.node.inputs[0]);
    if (!s) return;
    if (s.axis !== 1) {
      c.block(s, `${what(c)} normalises along axis 1, channels are on axis ${s.axis}`);
      return;
    }
    const os = c.follow(s, c.node.outputs[0], 1);
    if (!os) return;
    for (const i of paramInputs) {
      const p = c.node.inputs[i];
      if (p && c.constant(p)) c.param(os, p, 0, 'norm');
      else if (p) c.block(os, `${what(c)} has computed parameters`);
    }
    for (const o of c.node.outputs.slice(1)) if (o && c.used(o)) c.block(os, `${what(c)} training outputs are used`);
  };
}

/**
 * GroupNormalization: channels go equally from each norm-group so that num_groups still divides them. Scale and
 * bias are per channel (opset 21) or per group (opset 18, unchanged). Statistics span channels: see the twin.
 */
const groupNorm: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const groups = c.node.int('num_groups', 0);
  if (s.axis !== 1) return c.block(s, `${what(c)} normalises groups along axis 1, channels are on axis ${s.axis}`);
  if (!groups || s.size % groups !== 0 || s.size / groups < 2) return c.block(s, `${what(c)} has ${s.size / groups} channel(s) per group`);
  const os = c.follow(s, c.node.outputs[0], 1);
  if (!os) return;
  c.balance(os, groups);
  for (const p of c.node.inputs.slice(1, 3)) {
    const t = p ? c.constant(p) : undefined;
    if (p && !t) c.block(os, `${what(c)} has computed parameters`);
    else if (t && t.dims[0] === s.size) c.param(os, p, 0, 'norm');
  }
  c.fix({ kind: 'norm', node: c.node.name, space: s.id });
};

/** LayerNormalization over axes axis…r−1: when those include the channels, scale and bias follow them. */
const layerNorm: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const r = s.rank;
  const os = c.follow(s, c.node.outputs[0], s.axis);
  if (!os) return;
  for (const o of c.node.outputs.slice(1)) if (o && c.used(o)) c.block(os, `${what(c)} statistics outputs are used`);
  if (s.axis < norm(c.node.int('axis', -1), r)) return;
  for (const p of c.node.inputs.slice(1, 3)) {
    const t = p ? c.constant(p) : undefined;
    if (p && !t) {
      c.block(os, `${what(c)} has computed parameters`);
      continue;
    }
    const local = t ? s.axis - (r - t.dims.length) : -1;
    if (t && local >= 0 && t.dims[local] !== 1) c.param(os, p, local, 'norm');
  }
  c.fix({ kind: 'norm', node: c.node.name, space: s.id });
};

/** Broadcasting element-wise ops of any arity. */
const elementwise: Rule = (c) => {
  const out = c.node.outputs[0];
  const od = c.dims(out);
  if (!od) return blockInputs(c, `${what(c)} has an unknown output shape`);
  const r = od.length;
  let axis = -1;
  const spaced: Space[] = [];
  for (const i of c.node.inputs) {
    const s = c.space(i);
    const d = c.dims(i);
    if (!s || !d) continue;
    const aligned = s.axis + (r - d.length);
    if (axis >= 0 && aligned !== axis) return blockInputs(c, `${what(c)} combines channels on different axes`);
    axis = aligned;
    spaced.push(s);
  }
  if (axis < 0) return;
  const first = spaced[0];
  const os = c.follow(first, out, axis);
  if (!os) return;
  for (const s of spaced.slice(1)) {
    if (s.size !== os.size) return blockInputs(c, `${what(c)} broadcasts channels`);
    c.linkIdentity(s, os);
  }
  c.node.inputs.forEach((i) => {
    if (!i || c.space(i)) return;
    const d = c.dims(i);
    if (!d) return c.block(os, `${what(c)} has an input of unknown shape`);
    const local = axis - (r - d.length);
    if (local < 0 || d[local] === 1) return; // broadcast along channels: unaffected
    if (c.constant(i)) c.param(os, i, local, 'scale');
    else c.block(os, `${what(c)} combines the channels with a fixed-size tensor`);
  });
};

const concat: Rule = (c) => {
  const out = c.node.outputs[0];
  const od = c.dims(out);
  if (!od) return blockInputs(c, `${what(c)} has an unknown output shape`);
  const axis = norm(c.node.int('axis', 0), od.length);
  const ins = c.node.inputs.filter(Boolean);
  const spaced = ins.map((i) => c.space(i));
  if (spaced.every((s) => !s)) return;
  if (spaced.some((s) => s && s.axis !== axis)) {
    // Concatenating along another axis: all inputs share one set of channels.
    const on = spaced.find((s) => s)!;
    if (spaced.some((s) => !s || s.axis !== on.axis)) return blockInputs(c, `${what(c)} joins tensors whose channels differ`);
    const os = c.follow(on, out, on.axis);
    if (os) for (const s of spaced) if (s && s !== on) c.linkIdentity(s, os);
    return;
  }
  const os = c.empty(out, axis);
  if (!os) return;
  let offset = 0;
  ins.forEach((i, k) => {
    const size = c.dims(i)?.[axis] ?? 0;
    const s = spaced[k];
    if (s) c.linkOffset(s, os, offset);
    else c.pin(os, offset, offset + size);
    offset += size;
  });
};

const split: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const xd = c.dims(c.node.inputs[0])!;
  const axis = norm(c.node.int('axis', 0), xd.length);
  if (axis !== s.axis) {
    for (const o of c.node.outputs) if (o) c.follow(s, o, s.axis);
    return;
  }
  const outs: number[] = [];
  let offset = 0;
  for (const o of c.node.outputs) {
    const os = c.empty(o, axis);
    if (!os) return c.block(s, `${what(c)} has an output of unknown shape`);
    c.linkOffset(os, s, offset);
    offset += os.size;
    outs.push(os.id);
  }
  if (c.node.inputs[1] && !c.constant(c.node.inputs[1])) return c.block(s, `${what(c)} split sizes are computed`);
  c.fix({ kind: 'split', node: c.node.name, spaces: outs, axis });
};

const slice: Rule = (c) => {
  const io = spacedIo(c);
  if (!io) return;
  const { s, xd, out, od } = io;
  if (od[s.axis] === xd[s.axis]) {
    c.follow(s, out, s.axis);
    return;
  }
  // Slicing the channel axis: a contiguous, unit-step range. Bounds computed in the graph (x.chunk in PyTorch) are
  // known here from shape inference and are written back as constants.
  const value = (k: number) => {
    const i = c.node.inputs[k];
    return i ? c.constant(i)?.toNumbers() ?? c.folded(i) : undefined;
  };
  const attrStarts = c.node.ints('starts');
  const starts = attrStarts ?? value(1);
  const ends = c.node.ints('ends') ?? value(2);
  const axesV = c.node.ints('axes') ?? value(3);
  const stepsV = attrStarts ? undefined : value(4);
  if (!starts || !ends || (c.node.inputs[3] && !axesV) || (c.node.inputs[4] && !stepsV)) {
    return c.block(s, `${what(c)} slices channels with bounds PruneLens cannot determine`);
  }
  const axes = axesV?.map((a) => norm(a, xd.length)) ?? starts.map((_, i) => i);
  const k = axes.indexOf(s.axis);
  const step = stepsV?.[k] ?? 1;
  if (step !== 1) return c.block(s, `${what(c)} slices channels with step ${step}`);
  let start = starts[k];
  if (start < 0) start += xd[s.axis];
  start = Math.min(Math.max(start, 0), xd[s.axis]);
  const os = c.empty(out, s.axis);
  if (!os) return;
  c.linkOffset(os, s, start);
  c.fix({ kind: 'slice', node: c.node.name, space: os.id, inputSpace: s.id, axis: s.axis, start, starts, ends });
};

const flatten: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const xd = c.dims(c.node.inputs[0])!;
  const axis = norm(c.node.int('axis', 1), xd.length);
  if (axis !== s.axis) return c.block(s, `${what(c)} flattens across the channel axis`);
  c.expand(s, c.node.outputs[0], 1, prod(xd.slice(axis + 1)));
};

/** Reshape: channels stay on one axis, possibly merged with the axes after them (Flatten-like). */
const reshape: Rule = (c) => {
  const io = spacedIo(c);
  if (!io) return;
  const { s, xd, out, od } = io;
  const before = prod(xd.slice(0, s.axis));
  let axis = 0;
  let p = 1;
  while (axis < od.length && p < before) p *= od[axis++];
  while (axis < od.length && od[axis] === 1 && xd[s.axis] !== 1) axis++; // size-1 axes dropped or added
  if (p === before && axis + 1 < od.length && od[axis] * od[axis + 1] === xd[s.axis] && axis === s.axis) {
    if (channelShuffle(c, s, xd, od)) return;
  }
  if (p !== before || axis >= od.length || od[axis] % xd[s.axis] !== 0) {
    return c.block(s, `${what(c)} splits or moves the channel axis (${xd.join('x')} → ${od.join('x')})`);
  }
  const k = od[axis] / xd[s.axis];
  if (k !== 1 && prod(xd.slice(s.axis, s.axis + 1)) * k !== od[axis]) return c.block(s, `${what(c)} reshapes channels`);
  // channels merged with the following axes must keep channel-major order
  if (k !== 1) {
    let q = 1;
    let j = s.axis + 1;
    while (j < xd.length && q < k) q *= xd[j++];
    if (q !== k) return c.block(s, `${what(c)} merges channels with part of an axis`);
  }
  const os = k === 1 ? c.follow(s, out, axis) : c.expand(s, out, axis, k);
  if (!os) return;
  if (!c.node.inputs[1]) {
    const literal = c.node.ints('shape')?.[axis];
    if (literal !== -1 && !(literal === 0 && axis === s.axis)) c.block(s, `${what(c)} has a fixed target shape attribute`);
    return;
  }
  if (!shapeEntry(c, c.node, axis, os, 1, axis === s.axis)) c.block(s, `${what(c)} target shape cannot be rewritten`);
};

type Entry = { kind: 'dynamic' } | { kind: 'literal'; value: number; node: Node; input: number; index: number };

/**
 * Where entry `index` of a shape-like input comes from: a literal in some constant (which surgery can rewrite),
 * or a value computed from Shape at run time (which follows the pruned tensor by itself).
 */
function traceEntry(c: RuleCtx, node: Node, input: number, index: number, depth = 0): Entry | undefined {
  const v = node.inputs[input];
  const t = v ? c.constant(v) : undefined;
  if (t) return { kind: 'literal', value: t.toNumbers()[index], node, input, index };
  const p = v ? c.producer(v) : undefined;
  if (!p || depth > 12) return undefined;
  switch (p.opType) {
    case 'Shape': case 'Size': return { kind: 'dynamic' };
    case 'Concat': {
      let offset = 0;
      for (let k = 0; k < p.inputs.length; k++) {
        const n = c.dims(p.inputs[k])?.[0] ?? 1;
        if (index < offset + n) return traceEntry(c, p, k, index - offset, depth + 1);
        offset += n;
      }
      return undefined;
    }
    case 'Cast': case 'Identity': case 'Unsqueeze': case 'Squeeze': case 'Reshape':
      return traceEntry(c, p, 0, index, depth + 1);
    default:
      return c.dependsOnShape(v) ? { kind: 'dynamic' } : undefined;
  }
}

/** Registers the rewrite a shape entry needs; false when it cannot be followed. */
function shapeEntry(c: RuleCtx, node: Node, index: number, space: Space, divisor: number, zeroCopies = false): boolean {
  const e = traceEntry(c, node, 1, index);
  if (!e) return false;
  if (e.kind === 'dynamic' || e.value === -1 || (e.value === 0 && zeroCopies)) return true;
  c.fix({ kind: 'shape', node: e.node.name, input: e.input, index: e.index, space: space.id, divisor });
  return true;
}

/**
 * Channel shuffle (ShuffleNet): Reshape C → (g, C/g), Transpose of those two axes, Reshape back to C. Output
 * channel b·g + a is input channel a·C/g + b, and the g input channels b, C/g + b, … must go together so that
 * the shuffle keeps its shape.
 */
function channelShuffle(c: RuleCtx, s: Space, xd: number[], od: number[]): boolean {
  const axis = s.axis;
  const g = od[axis];
  const per = od[axis + 1];
  const [t] = c.consumers(c.node.outputs[0]);
  if (!t || c.consumers(c.node.outputs[0]).length !== 1 || t.opType !== 'Transpose') return false;
  const perm = t.ints('perm');
  const swapped = perm && perm.every((p, i) => (i === axis ? p === axis + 1 : i === axis + 1 ? p === axis : p === i));
  if (!swapped) return false;
  const [r] = c.consumers(t.outputs[0]);
  if (!r || c.consumers(t.outputs[0]).length !== 1 || r.opType !== 'Reshape') return false;
  const rd = c.dims(r.outputs[0]);
  if (!rd || rd.length !== xd.length || rd.some((d, i) => d !== xd[i])) return false;
  const out = c.empty(r.outputs[0], axis);
  if (!out) return false;
  for (let a = 0; a < g; a++) {
    for (let b = 0; b < per; b++) {
      c.linkElements(s, a * per + b, out, b * g + a);
      if (a > 0) c.linkElements(s, b, s, a * per + b);
    }
  }
  if (!shapeEntry(c, c.node, axis + 1, s, g) || !shapeEntry(c, r, axis, out, 1)) {
    c.block(s, `channel shuffle at ${what(c)} has a target shape PruneLens cannot rewrite`);
  }
  return true;
}

const transpose: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const r = c.dims(c.node.inputs[0])!.length;
  const perm = c.node.ints('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  c.follow(s, c.node.outputs[0], perm.indexOf(s.axis));
};

/** Ops that keep channels in place only when they do not touch the channel axis. */
function axisSafe(changes: (c: RuleCtx, axis: number, rank: number) => boolean, why: string): Rule {
  return (c) => {
    const s = c.space(c.node.inputs[0]);
    if (!s) return;
    const r = c.dims(c.node.inputs[0])!.length;
    if (changes(c, s.axis, r)) return c.block(s, `${what(c)} ${why}`);
    c.follow(s, c.node.outputs[0], s.axis);
  };
}

const padTouchesChannels = (c: RuleCtx, axis: number, r: number) => {
  const pads = c.node.ints('pads') ?? (c.node.inputs[1] ? c.constant(c.node.inputs[1])?.toNumbers() : undefined);
  if (!pads) return true;
  const axes = c.node.inputs[3] ? c.constant(c.node.inputs[3])?.toNumbers().map((a) => norm(a, r)) : undefined;
  const k = axes ? axes.indexOf(axis) : axis;
  if (k < 0) return false;
  const n = axes ? axes.length : r;
  return pads[k] !== 0 || pads[k + n] !== 0;
};

const resizeTouchesChannels = (c: RuleCtx, axis: number) => {
  const x = c.dims(c.node.inputs[0]);
  const y = c.dims(c.node.outputs[0]);
  return !x || !y || x[axis] !== y[axis] || !!(c.node.inputs[3] && c.dims(c.node.inputs[3])?.[0]);
};

function reduceAxes(c: RuleCtx, r: number): number[] {
  const fromAttr = c.node.ints('axes');
  const fromInput = c.node.inputs[1] ? c.constant(c.node.inputs[1])?.toNumbers() : undefined;
  const axes = fromAttr ?? fromInput;
  return axes && axes.length ? axes.map((a) => norm(a, r)) : Array.from({ length: r }, (_, i) => i);
}

const reduce: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const r = c.dims(c.node.inputs[0])!.length;
  if (c.node.inputs[1] && !c.constant(c.node.inputs[1])) return c.block(s, `${what(c)} reduces over computed axes`);
  const axes = reduceAxes(c, r);
  if (axes.includes(s.axis)) return c.block(s, `${what(c)} reduces over the channel axis`);
  const keep = c.node.int('keepdims', 1) === 1;
  c.follow(s, c.node.outputs[0], keep ? s.axis : s.axis - axes.filter((a) => a < s.axis).length);
};

const squeeze: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const xd = c.dims(c.node.inputs[0])!;
  const od = c.dims(c.node.outputs[0]);
  if (!od) return c.block(s, `${what(c)} has an unknown output shape`);
  // Map by counting the non-1 dims before the channel axis (size-1 channel spaces are too small to prune anyway).
  const lead = xd.slice(0, s.axis).filter((d) => d !== 1).length;
  let seen = 0;
  for (let i = 0; i < od.length; i++) {
    if (od[i] === 1) continue;
    if (seen === lead) {
      if (od[i] !== xd[s.axis]) break;
      c.follow(s, c.node.outputs[0], i);
      return;
    }
    seen++;
  }
  c.block(s, `${what(c)} moves the channel axis in a way PruneLens does not follow`);
};

const softmaxLike: Rule = (c) => {
  const s = c.space(c.node.inputs[0]);
  if (!s) return;
  const r = c.dims(c.node.inputs[0])!.length;
  const opset13 = c.node.attrs.has('axis') ? norm(c.node.int('axis', -1), r) : r - 1;
  // Before opset 13 Softmax works on the flattened tail from `axis`; either way, mixing channels blocks.
  if (opset13 <= s.axis) return c.block(s, `${what(c)} normalises across channels`);
  c.follow(s, c.node.outputs[0], s.axis);
};

const noChannelOutput: Rule = () => {
  /* Shape, Size: read only the shape, which follows the pruned tensor at run time. */
};

export const RULES: Record<string, Rule> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmul,
  BatchNormalization: channelNorm([1, 2, 3, 4]),
  InstanceNormalization: channelNorm([1, 2]),
  GroupNormalization: groupNorm,
  LayerNormalization: layerNorm,
  Concat: concat,
  Split: split,
  Slice: slice,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Pad: axisSafe(padTouchesChannels, 'pads the channel axis'),
  Resize: axisSafe(resizeTouchesChannels, 'resizes the channel axis'),
  Upsample: axisSafe(resizeTouchesChannels, 'resizes the channel axis'),
  Squeeze: squeeze,
  Unsqueeze: squeeze,
  Softmax: softmaxLike,
  LogSoftmax: softmaxLike,
  Hardmax: softmaxLike,
  Shape: noChannelOutput,
  Size: noChannelOutput,
};

for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Where', 'Pow', 'Equal', 'Less',
  'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Mod']) RULES[op] = elementwise;
for (const op of ['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'Gelu', 'Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Mish',
  'ThresholdedRelu', 'Shrink', 'Not', 'Sin', 'Cos', 'Identity', 'Cast', 'Dropout', 'Clip', 'IsNaN', 'IsInf',
  'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']) {
  RULES[op] = passThrough;
}
for (const op of ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']) RULES[op] = reduce;
