/**
 * The least-squares pieces recovery needs: Gram products AᵀA and AᵀY (by ONNX Runtime's MatMul, far faster than a
 * JavaScript loop once the rows run into the thousands), and a ridge solve by Cholesky in double precision.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType, AttributeProtoSchema, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, TensorProto_DataType,
  TensorShapeProto_DimensionSchema, TensorShapeProtoSchema, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema,
} from 'onnx-buf';
import { createSession, ort, type Session } from '../runtime/ort.js';

function input(name: string, dims: string[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: TensorProto_DataType.FLOAT,
          shape: create(TensorShapeProtoSchema, { dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: d } })) }),
        }),
      },
    }),
  });
}

let gramSession: Promise<Session> | undefined;

/** A session computing G = AᵀA and B = AᵀY for A [M, d] and Y [M, o] (all dims dynamic), made once. */
function gramModel(): Promise<Session> {
  gramSession ??= (async () => {
    const node = (op: string, ins: string[], out: string, attrs: { name: string; ints: bigint[] }[] = []) =>
      create(NodeProtoSchema, {
        opType: op, input: ins, output: [out],
        attribute: attrs.map((a) => create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.INTS, ints: a.ints })),
      });
    const graph = create(GraphProtoSchema, {
      name: 'gram',
      node: [
        node('Transpose', ['A'], 'At', [{ name: 'perm', ints: [1n, 0n] }]),
        node('MatMul', ['At', 'A'], 'G'),
        node('MatMul', ['At', 'Y'], 'B'),
      ],
      input: [input('A', ['M', 'd']), input('Y', ['M', 'o'])],
      output: [input('G', ['d', 'd']), input('B', ['d', 'o'])],
    });
    const model = create(ModelProtoSchema, {
      irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })], graph,
    });
    return createSession(toBinary(ModelProtoSchema, model), { optimization: 'all' });
  })();
  return gramSession;
}

/** AᵀA [d, d] and AᵀY [d, o] of row-major A [M, d] and Y [M, o]. */
export async function gram(A: Float32Array, Y: Float32Array, m: number, d: number, o: number): Promise<{ G: Float32Array; B: Float32Array }> {
  const s = await gramModel();
  const r = await s.run({ A: new ort.Tensor('float32', A, [m, d]), Y: new ort.Tensor('float32', Y, [m, o]) });
  return { G: r.G.data as Float32Array, B: r.B.data as Float32Array };
}

/**
 * Solves (G + λI) X = B for X [d, o] by Cholesky in float64, λ = ridge × mean(diag G) (a little damping keeps
 * nearly collinear features, e.g. dead channels, from blowing the solution up). Returns X row-major.
 */
export function ridgeSolve(G: ArrayLike<number>, B: ArrayLike<number>, d: number, o: number, ridge = 1e-4): Float64Array {
  let trace = 0;
  for (let i = 0; i < d; i++) trace += G[i * d + i];
  const lambda = Math.max(ridge * (trace / Math.max(d, 1)), 1e-12);
  const L = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) L[i] = G[i];
  for (let i = 0; i < d; i++) L[i * d + i] += lambda;
  // in-place lower Cholesky
  for (let j = 0; j < d; j++) {
    const rj = j * d;
    let s = L[rj + j];
    for (let k = 0; k < j; k++) s -= L[rj + k] * L[rj + k];
    const djj = Math.sqrt(Math.max(s, 1e-300));
    L[rj + j] = djj;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let t = L[ri + j];
      for (let k = 0; k < j; k++) t -= L[ri + k] * L[rj + k];
      L[ri + j] = t / djj;
    }
  }
  const X = new Float64Array(d * o);
  const y = new Float64Array(d);
  for (let c = 0; c < o; c++) {
    // forward: L y = b
    for (let i = 0; i < d; i++) {
      let t = B[i * o + c];
      const ri = i * d;
      for (let k = 0; k < i; k++) t -= L[ri + k] * y[k];
      y[i] = t / L[ri + i];
    }
    // backward: Lᵀ x = y
    for (let i = d - 1; i >= 0; i--) {
      let t = y[i];
      for (let k = i + 1; k < d; k++) t -= L[k * d + i] * X[k * o + c];
      X[i * o + c] = t / L[i * d + i];
    }
  }
  return X;
}
