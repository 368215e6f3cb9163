import type { InputValue, InspectResult } from '../../shared/types.js';
import { COST_BASIS, type CostSummary } from '../cost/cost.js';
import type { Model } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';
import { runtimeInputs } from '../shapes/inputs.js';

export type { InspectResult } from '../../shared/types.js';

export function buildInspectResult(model: Model, shapes: ShapeResult, cost: CostSummary, assumed: string[], inputValues: InputValue[] = []): InspectResult {
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
    inputValues,
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
    basis: COST_BASIS,
    layers: cost.layers,
  };
}
