/**
 * Indices of the `k` lowest values of `v`, ties broken by index (so results are reproducible): a typed sort of a
 * copy finds the threshold, one pass collects. Far faster than sorting indices with a comparator on millions.
 */
export function lowestIndices(v: ArrayLike<number>, k: number): number[] {
  if (k <= 0) return [];
  const sorted = Float64Array.from(v).sort();
  const t = sorted[Math.min(k, v.length) - 1];
  let below = 0;
  for (let i = 0; i < v.length; i++) if (v[i] < t) below++;
  const out: number[] = [];
  let ties = k - below;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < t) out.push(i);
    else if (v[i] === t && ties > 0) {
      out.push(i);
      ties--;
    }
  }
  return out;
}
