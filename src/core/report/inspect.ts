import type { CostSummary } from '../cost/cost.js';
import type { GroupInfo } from '../deps/types.js';
import type { Dim, Model } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';
import { runtimeInputs } from '../shapes/inputs.js';

/** The plain, serialisable result of `inspect` (the CLI's --json and the extension's model view). */
export interface InspectResult {
  file: string;
  format: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  metadata: Record<string, string>;
  inputs: { name: string; shape: Dim[] | null; type: string }[];
  outputs: { name: string; shape: Dim[] | null; type: string }[];
  /** The concrete input shapes every number below is stated for. */
  inputShapes: Record<string, number[]>;
  /** Dynamic input dims that were given default values (pass --input-shape to choose). */
  assumedDims: string[];
  shapeMethod: ShapeResult['method'];
  /** Values whose shapes are unknown, and why; their costs count as zero. */
  unknownShapes: number;
  warnings: string[];
  nodeCount: number;
  opCounts: Record<string, number>;
  params: number;
  macs: number;
  computeMacs: number;
  weightBytes: number;
  activationBytes: number;
  peakActivationBytes: number;
  subgraphCount: number;
  /** Channel dependency groups: which channels must be removed together, and whether they can be. */
  groups?: GroupInfo[];
  layers: {
    name: string;
    op: string;
    params: number;
    macs: number;
    kind: string;
    outChannels?: number;
    inShapes: (number[] | null)[];
    outShapes: (number[] | null)[];
    activationBytes: number;
  }[];
}

export function buildInspectResult(model: Model, shapes: ShapeResult, cost: CostSummary, assumed: string[]): InspectResult {
  const opCounts: Record<string, number> = {};
  let nodeCount = 0;
  let subgraphCount = 0;
  for (const g of model.graph.allGraphs()) {
    if (g !== model.graph) subgraphCount++;
    for (const n of g.nodes) {
      nodeCount++;
      opCounts[n.key] = (opCounts[n.key] ?? 0) + 1;
    }
  }
  return {
    file: model.path,
    format: model.format,
    irVersion: model.meta.irVersion,
    opsets: model.meta.opsets,
    producer: [model.meta.producer, model.meta.producerVersion].filter(Boolean).join(' '),
    metadata: model.meta.metadata,
    inputs: runtimeInputs(model).map((i) => ({ name: i.name, shape: i.shape ?? null, type: i.dtype })),
    outputs: model.graph.outputs.map((o) => ({ name: o.name, shape: o.shape ?? null, type: o.dtype })),
    inputShapes: shapes.inputs,
    assumedDims: assumed,
    shapeMethod: shapes.method,
    unknownShapes: shapes.unknown.length,
    warnings: shapes.warning ? [shapes.warning] : [],
    nodeCount,
    opCounts,
    params: cost.params,
    macs: cost.macs,
    computeMacs: cost.computeMacs,
    weightBytes: cost.weightBytes,
    activationBytes: cost.activationBytes,
    peakActivationBytes: cost.peakActivationBytes,
    subgraphCount,
    layers: cost.layers,
  };
}
