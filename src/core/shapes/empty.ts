/**
 * Layers with an empty dimension (a Conv weight of [0, 3, 3, 3], an input with no channels) are refused before ONNX
 * Runtime sees them: some of its kernels loop for ever on them, on the main thread, where nothing can stop them.
 */
import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { TensorType } from './types.js';

/** Ops that compute over channels or a contracted axis: an empty input or weight leaves them nothing to do. */
const LAYERS = new Set([
  'Conv', 'ConvTranspose', 'ConvInteger', 'QLinearConv', 'Gemm', 'MatMul', 'MatMulInteger', 'QLinearMatMul',
  'BatchNormalization', 'InstanceNormalization', 'GroupNormalization', 'LayerNormalization',
  'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
]);

export function refuseEmptyLayers(model: Model, types: Map<string, TensorType>): void {
  const g = model.graph;
  for (const node of g.nodes) {
    if (!LAYERS.has(node.opType) || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    node.inputs.forEach((v, i) => {
      if (!v) return;
      const dims = g.constant(v)?.dims ?? types.get(v)?.dims;
      if (!dims || !dims.includes(0)) return;
      const role = g.constant(v) ? (i === 1 ? 'weight' : 'constant input') : 'input';
      throw new PruneLensError(
        `${model.path ? model.path.split(/[\\/]/).pop() : 'the model'}: ${node.opType} '${node.name}' has an empty ${role} '${v}' ` +
          `(${dims.join('x')}): a layer without channels cannot run`,
        { code: 'bad-model' },
      );
    });
  }
}
