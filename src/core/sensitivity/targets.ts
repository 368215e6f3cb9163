/**
 * What a scan masks: a dependency group (structured: whole channels in every member) or one layer's weights
 * (unstructured: the smallest magnitudes). Each target says where its masks go and what they contain for a step;
 * what a step saves comes from the cost estimator.
 */
import type { DepGraph, Group } from '../deps/analyze.js';
import type { DType } from '../ir/dtype.js';
import type { Model, Node } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';
import { removedBySpace } from '../surgery/apply.js';
import type { MaskSite } from './instrument.js';

export type MaskArray = Float32Array | Float64Array | Uint16Array;

const MASKABLE: DType[] = ['float32', 'float64', 'float16'];
const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

function ones(dtype: DType, n: number): MaskArray {
  if (dtype === 'float16') return new Uint16Array(n).fill(0x3c00);
  return dtype === 'float64' ? new Float64Array(n).fill(1) : new Float32Array(n).fill(1);
}

export interface GroupTarget {
  group: Group;
  sites: MaskSite[];
  /** Masks for removing these units (aligned with sites). */
  masks(remove: number[]): MaskArray[];
}

/**
 * Where a group's masks go. 'inputs' (default): on the data input of each consumer that sums over the group's
 * channels (the 'in' slices), so weights stay constant and ONNX Runtime keeps its fast pre-packed kernels; the
 * removed channels then reach no consumer, which is exactly what pruning does. 'weights': every member's slice
 * (the masked twin itself); also the fallback for consumers whose input cannot be masked one-to-one.
 */
export type MaskPlacement = 'inputs' | 'weights';

/** Masks for a group, or a reason it cannot be masked (e.g. integer weights). */
export function groupTarget(
  model: Model,
  dep: DepGraph,
  group: Group,
  shapes: ShapeResult,
  placement: MaskPlacement = 'inputs',
): GroupTarget | string {
  const g = model.graph;
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  // each site zeroes its mask where a removed channel (index in the slice's space) lands
  type Fill = (m: MaskArray, removed: Set<number>) => void;
  const keys = new Map<string, { site: MaskSite; fills: { space: number; fill: Fill }[] }>();
  const add = (key: string, site: MaskSite, space: number, fill: Fill) => {
    let k = keys.get(key);
    if (!k) keys.set(key, (k = { site, fills: [] }));
    k.fills.push({ space, fill });
  };
  const onInputs = placement === 'inputs' && group.params.some((p) => p.role === 'in');
  for (const p of group.params) {
    const node = byName.get(p.node)!;
    const t = g.constant(node.inputs[p.input]);
    if (!t) return `${p.node}: input ${p.input} is not a constant`;
    if (!MASKABLE.includes(t.dtype)) return `${p.node}: ${t.dtype} weights cannot be masked`;
    if (onInputs && p.role !== 'in') continue;
    const space = dep.spaces[p.space];
    const input = node.inputs.indexOf(space.value);
    const type = shapes.types.get(space.value);
    const blocks: Fill = (m, r) => { for (const i of r) for (let b = 0; b < p.block; b++) m[i * p.block + b] = 0; };
    if (onInputs && input >= 0 && type && MASKABLE.includes(type.dtype) && type.dims[space.axis] === space.size * p.block) {
      // the consumer's input itself (a grouped conv's too: its input channel i is position i there)
      const dims = type.dims.map((d, i) => (i === space.axis ? d : 1));
      add(`${p.node}\u0000x${input}\u0000${space.axis}`, { node: p.node, input, dims, dtype: type.dtype, perSample: space.axis > 0 }, p.space, blocks);
    } else if (p.groups) {
      // a grouped conv's weight [O, C/g, …]: input channel i = position i mod C/g in the rows of conv-group i div C/g
      const [rows, cols, groups] = [t.dims[0], t.dims[p.axis], p.groups];
      const per = space.size / groups;
      const dims = t.dims.map((d, i) => (i === 0 || i === p.axis ? d : 1));
      add(`${p.node}\u0000${p.input}\u0000g${p.axis}`, { node: p.node, input: p.input, dims, dtype: t.dtype }, p.space, (m, r) => {
        for (const i of r) {
          const b = Math.floor(i / per);
          for (let o = (b * rows) / groups; o < ((b + 1) * rows) / groups; o++) m[o * cols + (i % per)] = 0;
        }
      });
    } else {
      const dims = t.dims.map((d, i) => (i === p.axis ? d : 1));
      add(`${p.node}\u0000${p.input}\u0000${p.axis}`, { node: p.node, input: p.input, dims, dtype: t.dtype }, p.space, blocks);
    }
  }
  const entries = [...keys.values()];
  const removed = (remove: number[]) => removedBySpace(dep, [{ group: group.id, remove }]);
  return {
    group,
    sites: entries.map((e) => e.site),
    masks(remove) {
      const r = removed(remove);
      return entries.map(({ site, fills }) => {
        const m = ones(site.dtype, site.dims.reduce((a, b) => a * b, 1));
        for (const f of fills) f.fill(m, r.get(f.space) ?? new Set());
        return m;
      });
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
