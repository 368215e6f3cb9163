import type { DType } from '../ir/dtype.js';

/** A value's concrete type for one input shape. */
export interface TensorType {
  dtype: DType;
  dims: number[];
}

/** Shapes of every tensor value of the main graph, for the input shapes in `inputs`. */
export interface ShapeResult {
  inputs: Record<string, number[]>;
  types: Map<string, TensorType>;
  /** How the shapes were found: our own inference, or one ONNX Runtime run exposing every value. */
  method: 'inference' | 'probe';
  /** Values whose shape could not be found (e.g. inside sub-graphs, or non-tensor values). */
  unknown: string[];
  /** Folded values of small computed tensors (shape arithmetic), when inference found them. */
  values?: Map<string, number[]>;
  /** Why some shapes are unknown (e.g. the ONNX Runtime probe failed on synthetic inputs). */
  warning?: string;
}
