/**
 * What a scan masks: a dependency group (structured: whole channels in every member) or one layer's weights
 * (unstructured: the smallest magnitudes). Each target says where its masks go, what they contain for a step,
 * and what that step would save.
 */
import type { DepGraph, Group } from '../deps/analyze.js';
import type { DType } from '../ir/dtype.js';
import type { Model, Node } from '../ir/graph.js';
import { removedBySpace } from '../surgery/apply.js';
import type { MaskSite } from './instrument.js';

export type MaskArray = Float32Array | Float64Array | Uint16Array;

const MASKABLE: DType[] = ['float32', 'float64', 'float16'];
const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function ones(dtype: DType, n: number): MaskArray {
  if (dtype === 'float16') return new Uint16Array(n).fill(0x3c00);
  return dtype === 'float64' ? new Float64Array(n).fill(1) : new Float32Array(n).fill(1);
}

export interface StepCost {
  params: number;
  macs: number;
}

export interface GroupTarget {
  group: Group;
  sites: MaskSite[];
  /** Masks for removing these units (aligned with sites). */
  masks(remove: number[]): MaskArray[];
  /** Params and compute MACs this removal takes away when pruned for real. */
  saved(remove: number[]): StepCost;
  /** MACs of the compute layers with a member in the group. */
  macs: number;
}

/** Masks for a group, or a reason it cannot be masked (e.g. integer weights). */
export function groupTarget(model: Model, dep: DepGraph, group: Group, layerMacs: Map<string, number>): GroupTarget | string {
  const g = model.graph;
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const keys = new Map<string, { site: MaskSite; slices: Group['params'] }>();
  for (const p of group.params) {
    const node = byName.get(p.node)!;
    const t = g.constant(node.inputs[p.input]);
    if (!t) return `${p.node}: input ${p.input} is not a constant`;
    if (!MASKABLE.includes(t.dtype)) return `${p.node}: ${t.dtype} weights cannot be masked`;
    const key = `${p.node}\u0000${p.input}\u0000${p.axis}`;
    let k = keys.get(key);
    if (!k) {
      const dims = t.dims.map((d, i) => (i === p.axis ? d : 1));
      keys.set(key, (k = { site: { node: p.node, input: p.input, dims, dtype: t.dtype }, slices: [] }));
    }
    k.slices.push(p);
  }
  const entries = [...keys.values()];
  const removed = (remove: number[]) => removedBySpace(dep, [{ group: group.id, remove }]);
  const weightNodes = new Set(group.params.filter((p) => p.role === 'out' || p.role === 'in').map((p) => p.node));
  return {
    group,
    sites: entries.map((e) => e.site),
    macs: [...weightNodes].reduce((s, n) => s + (layerMacs.get(n) ?? 0), 0),
    masks(remove) {
      const r = removed(remove);
      return entries.map(({ site, slices }) => {
        const m = ones(site.dtype, site.dims.reduce((a, b) => a * b, 1));
        for (const p of slices) for (const i of r.get(p.space) ?? []) for (let b = 0; b < p.block; b++) m[i * p.block + b] = 0;
        return m;
      });
    },
    saved(remove) {
      const r = removed(remove);
      // kept fraction per (tensor, axis) and per (weight node, axis)
      const tensorKept = new Map<string, Map<number, number>>();
      const nodeKept = new Map<string, Map<number, number>>();
      for (const p of group.params) {
        const space = dep.spaces[p.space];
        const frac = 1 - (r.get(p.space)?.size ?? 0) / space.size;
        const tk = tensorKept.get(p.tensor) ?? new Map<number, number>();
        tensorKept.set(p.tensor, tk.set(p.axis, frac));
        if (p.role === 'out' || p.role === 'in') {
          const nk = nodeKept.get(p.node) ?? new Map<number, number>();
          nodeKept.set(p.node, nk.set(p.axis, frac));
        }
      }
      let params = 0;
      for (const [name, axes] of tensorKept) {
        const size = g.constant(name)?.size ?? 0;
        params += size * (1 - [...axes.values()].reduce((a, b) => a * b, 1));
      }
      let macs = 0;
      for (const [node, axes] of nodeKept) macs += (layerMacs.get(node) ?? 0) * (1 - [...axes.values()].reduce((a, b) => a * b, 1));
      return { params: Math.round(params), macs: Math.round(macs) };
    },
  };
}

export interface LayerTarget {
  node: Node;
  sites: MaskSite[];
  params: number;
  macs: number;
  /** Mask zeroing the `ratio` smallest-magnitude weights, and how many it zeroes. */
  masks(ratio: number): { masks: MaskArray[]; zeroed: number };
}

/** Unstructured targets: the constant weight of every Conv, ConvTranspose, Gemm and MatMul. */
export function layerTargets(model: Model, layerMacs: Map<string, number>): LayerTarget[] {
  const g = model.graph;
  const out: LayerTarget[] = [];
  for (const node of g.nodes) {
    if (!COMPUTE.has(node.opType) || node.domain !== '') continue;
    const input = node.opType === 'MatMul' && !g.constant(node.inputs[1]) ? 0 : 1;
    const t = g.constant(node.inputs[input]);
    if (!t || t.size < 2 || !MASKABLE.includes(t.dtype)) continue;
    let sorted: Float32Array | undefined;
    out.push({
      node,
      sites: [{ node: node.name, input, dims: [...t.dims], dtype: t.dtype }],
      params: t.size,
      macs: layerMacs.get(node.name) ?? 0,
      masks(ratio) {
        const w = t.toFloat32();
        sorted ??= Float32Array.from(w, Math.abs).sort();
        const k = Math.floor(ratio * w.length + 1e-9);
        const m = ones(t.dtype, w.length);
        if (k === 0) return { masks: [m], zeroed: 0 };
        const threshold = sorted[k - 1];
        let zeroed = 0;
        // below the threshold always; at it only until k are gone (ties)
        for (let i = 0; i < w.length; i++) if (Math.abs(w[i]) < threshold) (m[i] = 0), zeroed++;
        for (let i = 0; i < w.length && zeroed < k; i++) if (Math.abs(w[i]) === threshold) (m[i] = 0), zeroed++;
        return { masks: [m], zeroed };
      },
    });
  }
  return out;
}
