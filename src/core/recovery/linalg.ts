/**
 * The linear algebra recovery and OBS need, in double precision where it matters: Gram products AᵀA and AᵀY, and
 * blocked Cholesky, triangular inverse and ridge solve whose O(d³) work runs as ONNX Runtime GEMMs (vectorised and
 * threaded: a JavaScript triple loop is ~20× slower at d = 2304); only the small diagonal blocks are done here.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType, AttributeProtoSchema, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, TensorProto_DataType,
  TensorShapeProto_DimensionSchema, TensorShapeProtoSchema, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema,
} from 'onnx-buf';
import { createSession, ort, type Session } from '../runtime/ort.js';

function value(name: string, dims: string[], elemType: TensorProto_DataType) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType,
          shape: create(TensorShapeProtoSchema, { dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: d } })) }),
        }),
      },
    }),
  });
}

function node(op: string, ins: string[], out: string, attrs: { name: string; ints?: bigint[]; i?: bigint; f?: number }[] = []) {
  return create(NodeProtoSchema, {
    opType: op, input: ins, output: [out],
    attribute: attrs.map((a) => a.ints
      ? create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.INTS, ints: a.ints })
      : a.f !== undefined
        ? create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.FLOAT, f: a.f })
        : create(AttributeProtoSchema, { name: a.name, type: AttributeProto_AttributeType.INT, i: a.i })),
  });
}

/** A session of a small graph with dynamic dims, made once per key. */
const sessions = new Map<string, Promise<Session>>();
function session(key: string, build: () => ReturnType<typeof create<typeof GraphProtoSchema>>): Promise<Session> {
  let s = sessions.get(key);
  if (!s) {
    const model = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })], graph: build() });
    sessions.set(key, (s = createSession(toBinary(ModelProtoSchema, model), { optimization: 'all' })));
  }
  return s;
}

/** AᵀA [d, d] and AᵀY [d, o] of row-major A [M, d] and Y [M, o] (float32). */
export async function gram(A: Float32Array, Y: Float32Array, m: number, d: number, o: number): Promise<{ G: Float32Array; B: Float32Array }> {
  const F = TensorProto_DataType.FLOAT;
  const s = await session('gram', () => create(GraphProtoSchema, {
    name: 'gram',
    node: [node('Transpose', ['A'], 'At', [{ name: 'perm', ints: [1n, 0n] }]), node('MatMul', ['At', 'A'], 'G'), node('MatMul', ['At', 'Y'], 'B')],
    input: [value('A', ['M', 'd'], F), value('Y', ['M', 'o'], F)],
    output: [value('G', ['d', 'd'], F), value('B', ['d', 'o'], F)],
  }));
  const r = await s.run({ A: new ort.Tensor('float32', A, [m, d]), Y: new ort.Tensor('float32', Y, [m, o]) });
  return { G: r.G.data as Float32Array, B: r.B.data as Float32Array };
}

/** A row-major float64 matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** C − op(A)·op(B) (or op(A)·op(B) without C), op = transpose when asked; float64 GEMM in ONNX Runtime. */
export async function gemm(A: Mat, B: Mat, opts: { transA?: boolean; transB?: boolean; minus?: Mat } = {}): Promise<Mat> {
  const D = TensorProto_DataType.DOUBLE;
  const ta = opts.transA ? 1n : 0n;
  const tb = opts.transB ? 1n : 0n;
  const withC = !!opts.minus;
  const s = await session(`gemm${ta}${tb}${withC}`, () => create(GraphProtoSchema, {
    name: 'gemm',
    node: [node('Gemm', ['A', 'B', ...(withC ? ['C'] : [])], 'Y', [{ name: 'transA', i: ta }, { name: 'transB', i: tb }, ...(withC ? [{ name: 'alpha', f: -1 }] : [])])],
    input: [value('A', ['a0', 'a1'], D), value('B', ['b0', 'b1'], D), ...(withC ? [value('C', ['c0', 'c1'], D)] : [])],
    output: [value('Y', ['y0', 'y1'], D)],
  }));
  const feeds: Record<string, ort.Tensor> = {
    A: new ort.Tensor('float64', A.data, [A.rows, A.cols]),
    B: new ort.Tensor('float64', B.data, [B.rows, B.cols]),
  };
  if (opts.minus) feeds.C = new ort.Tensor('float64', opts.minus.data, [opts.minus.rows, opts.minus.cols]);
  const y = (await s.run(feeds)).Y;
  return { rows: y.dims[0], cols: y.dims[1], data: y.data as Float64Array };
}

/** Diagonal blocks factored or inverted in JavaScript; everything off them is GEMMs. */
const BLOCK = 128;

/** Rows [r0, r1) × columns [c0, c1) of the d×d row-major `M`, as a matrix of its own. */
function sub(M: Float64Array, d: number, r0: number, r1: number, c0: number, c1: number): Mat {
  const out = new Float64Array((r1 - r0) * (c1 - c0));
  for (let r = r0; r < r1; r++) out.set(M.subarray(r * d + c0, r * d + c1), (r - r0) * (c1 - c0));
  return { rows: r1 - r0, cols: c1 - c0, data: out };
}

function put(M: Float64Array, d: number, r0: number, c0: number, X: Mat): void {
  for (let r = 0; r < X.rows; r++) M.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), (r0 + r) * d + c0);
}

/** Lower Cholesky factor of the symmetric positive definite n×n matrix in `L` (row-major), in place. */
export function choleskyInPlace(L: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = L[rj + j];
    for (let k = 0; k < j; k++) s -= L[rj + k] * L[rj + k];
    const djj = Math.sqrt(Math.max(s, 1e-300));
    L[rj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = L[ri + j];
      for (let k = 0; k < j; k++) t -= L[ri + k] * L[rj + k];
      L[ri + j] = t / djj;
    }
    for (let k = j + 1; k < n; k++) L[rj + k] = 0;
  }
}

/** Inverse of the lower triangular n×n `L`: row i = (e_i − Σ_{k<i} L_ik · row k) / L_ii, contiguous row updates. */
function smallLowerInverse(L: Float64Array, n: number): Float64Array {
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let k = 0; k < i; k++) {
      const f = L[ri + k];
      if (f === 0) continue;
      const rk = k * n;
      for (let c = 0; c <= k; c++) X[ri + c] -= f * X[rk + c];
    }
    X[ri + i] += 1;
    const inv = 1 / L[ri + i];
    for (let c = 0; c <= i; c++) X[ri + c] *= inv;
  }
  return X;
}

/** Lower Cholesky factor of the SPD d×d `H` (right-looking, blocked: panels here, trailing updates as GEMMs). */
export async function cholesky(H: ArrayLike<number>, d: number): Promise<Float64Array> {
  const A = Float64Array.from(H);
  for (let j0 = 0; j0 < d; j0 += BLOCK) {
    const j1 = Math.min(d, j0 + BLOCK);
    const nb = j1 - j0;
    const L11 = sub(A, d, j0, j1, j0, j1);
    choleskyInPlace(L11.data, nb);
    put(A, d, j0, j0, L11);
    if (j1 === d) break;
    // L21 = A21 · L11⁻ᵀ, then A22 −= L21 · L21ᵀ
    const L21 = await gemm(sub(A, d, j1, d, j0, j1), { rows: nb, cols: nb, data: smallLowerInverse(L11.data, nb) }, { transB: true });
    put(A, d, j1, j0, L21);
    put(A, d, j1, j1, await gemm(L21, L21, { transB: true, minus: sub(A, d, j1, d, j1, d) }));
  }
  for (let i = 0; i < d; i++) A.fill(0, i * d + i + 1, (i + 1) * d);
  return A;
}

/** Inverse of the lower triangular d×d `L`, by block rows: X_i,<i = −L_ii⁻¹ · (L_i,<i · X_<i,<i). */
export async function lowerInverse(L: Float64Array, d: number): Promise<Float64Array> {
  const X = new Float64Array(d * d);
  for (let i0 = 0; i0 < d; i0 += BLOCK) {
    const i1 = Math.min(d, i0 + BLOCK);
    const nb = i1 - i0;
    const Xii: Mat = { rows: nb, cols: nb, data: smallLowerInverse(sub(L, d, i0, i1, i0, i1).data, nb) };
    put(X, d, i0, i0, Xii);
    if (i0 === 0) continue;
    const S = await gemm(sub(L, d, i0, i1, 0, i0), sub(X, d, 0, i0, 0, i0));
    const R = await gemm(Xii, S);
    for (let k = 0; k < R.data.length; k++) R.data[k] = -R.data[k];
    put(X, d, i0, 0, R);
  }
  return X;
}

/**
 * Solves (G + λI) X = B for X [d, o] in float64, λ = ridge × mean(diag G) (a little damping keeps nearly collinear
 * features, e.g. dead channels, from blowing the solution up): X = L⁻ᵀ(L⁻¹B). Returns X row-major.
 */
export async function ridgeSolve(G: ArrayLike<number>, B: ArrayLike<number>, d: number, o: number, ridge = 1e-4): Promise<Float64Array> {
  let trace = 0;
  for (let i = 0; i < d; i++) trace += G[i * d + i];
  const lambda = Math.max(ridge * (trace / Math.max(d, 1)), 1e-12);
  const H = Float64Array.from(G);
  for (let i = 0; i < d; i++) H[i * d + i] += lambda;
  const Li: Mat = { rows: d, cols: d, data: await lowerInverse(await cholesky(H, d), d) };
  const Y = await gemm(Li, { rows: d, cols: o, data: Float64Array.from(B) });
  return (await gemm(Li, Y, { transA: true })).data;
}

/**
 * U upper triangular with UᵀU = H⁻¹ (the factor SparseGPT's OBS updates run on), from one Cholesky and one
 * triangular inverse: with J the reversal, JHJ = LLᵀ gives H = RRᵀ for R = JLJ (upper), so H⁻¹ = (R⁻¹)ᵀR⁻¹ and
 * U = R⁻¹ = J·L⁻¹·J.
 */
export async function upperCholeskyOfInverse(H: ArrayLike<number>, d: number): Promise<Float64Array> {
  const rev = (M: ArrayLike<number>) => {
    const out = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = M[(d - 1 - i) * d + (d - 1 - j)];
    return out;
  };
  return rev(await lowerInverse(await cholesky(rev(H), d), d));
}
