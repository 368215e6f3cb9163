/**
 * ThiNet's greedy channel selection (Luo et al. 2017). `x̂` holds, per unit u and sampled output entry r of the next
 * layers, the part of that entry unit u contributes (x̂[u·rows + r]). Removing a set T changes the entries by
 * Σ_{t∈T} x̂_t; the greedy step adds the unit that keeps ‖Σ_{t∈T} x̂_t‖² smallest. With the running sum S of the
 * chosen units, ‖S + x̂_u‖² = ‖S‖² + 2·S·x̂_u + ‖x̂_u‖², so a step costs O(units · rows).
 */

/** The order in which the greedy removes `candidates` (all units when absent): the first is removed first. */
export function greedyRemovalOrder(xhat: Float32Array, units: number, rows: number, candidates?: number[]): number[] {
  const left = candidates ? [...candidates] : Array.from({ length: units }, (_, u) => u);
  const norm = new Float64Array(units);
  for (const u of left) {
    let s = 0;
    for (let r = 0, k = u * rows; r < rows; r++, k++) s += xhat[k] * xhat[k];
    norm[u] = s;
  }
  const S = new Float64Array(rows);
  const order: number[] = [];
  while (left.length) {
    let best = -1;
    let bestCost = Infinity;
    for (let i = 0; i < left.length; i++) {
      const u = left[i];
      let dot = 0;
      for (let r = 0, k = u * rows; r < rows; r++, k++) dot += S[r] * xhat[k];
      // ‖S‖² is the same for every candidate: only what the candidate adds decides (ties: the lower unit, as
      // `left` stays in increasing order)
      const cost = 2 * dot + norm[u];
      if (cost < bestCost) {
        bestCost = cost;
        best = i;
      }
    }
    const u = left[best];
    left.splice(best, 1);
    order.push(u);
    for (let r = 0, k = u * rows; r < rows; r++, k++) S[r] += xhat[k];
  }
  return order;
}

/**
 * Scores (higher = more important) that rank units as the greedy removes them: the first removed scores lowest, so
 * the usual selection at any ratio takes the greedy's set of that size. Units outside `order` (pinned ones, never
 * removed) score above all.
 */
export function scoresFromOrder(order: number[], units: number): Float64Array {
  const scores = new Float64Array(units).fill(order.length + 1);
  order.forEach((u, i) => (scores[u] = i + 1));
  return scores;
}
