/** The blocked float64 linear algebra recovery and OBS run on (GEMMs in ONNX Runtime), against definitions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cholesky, lowerInverse, ridgeSolve, upperCholeskyOfInverse } from '../src/core/recovery/linalg.js';
import { rng } from '../src/core/util/random.js';

/** AᵀA + I for a random A: symmetric positive definite. */
function spd(d: number, seed: number): Float64Array {
  const r = rng(seed);
  const A = Float64Array.from({ length: d * d }, () => r() - 0.5);
  const H = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let t = 0;
    for (let k = 0; k < d; k++) t += A[k * d + i] * A[k * d + j];
    H[i * d + j] = t + (i === j ? 1 : 0);
  }
  return H;
}

const mul = (X: Float64Array, Y: Float64Array, d: number, tx = false) => {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let t = 0;
    for (let k = 0; k < d; k++) t += (tx ? X[k * d + i] : X[i * d + k]) * Y[k * d + j];
    out[i * d + j] = t;
  }
  return out;
};
const maxDiffFromIdentity = (M: Float64Array, d: number) => Math.max(...Array.from(M, (v, i) => Math.abs(v - (i % (d + 1) === 0 ? 1 : 0))));

describe('blocked linear algebra', () => {
  // sizes below, at and across the 128 block
  for (const d of [7, 128, 300]) {
    it(`d = ${d}: Cholesky, triangular inverse, factor of the inverse, ridge solve`, async () => {
      const H = spd(d, d);
      const L = await cholesky(H, d);
      const LLt = mul(L, new Float64Array(Array.from({ length: d * d }, (_, i) => L[(i % d) * d + Math.floor(i / d)])), d);
      assert.ok(Math.max(...Array.from(LLt, (v, i) => Math.abs(v - H[i]))) < 1e-9 * d);
      for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) assert.equal(L[i * d + j], 0);
      assert.ok(maxDiffFromIdentity(mul(await lowerInverse(L, d), L, d), d) < 1e-9);
      const U = await upperCholeskyOfInverse(H, d);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(U[i * d + j], 0);
      assert.ok(maxDiffFromIdentity(mul(mul(U, U, d, true), H, d), d) < 1e-8);
      const B = Float64Array.from({ length: d * 2 }, (_, i) => Math.sin(i));
      const X = await ridgeSolve(H, B, d, 2, 0);
      for (let i = 0; i < d; i++) for (let c = 0; c < 2; c++) {
        let t = 0;
        for (let k = 0; k < d; k++) t += H[i * d + k] * X[k * 2 + c];
        assert.ok(Math.abs(t - B[i * 2 + c]) < 1e-8);
      }
    });
  }
});
