import { rng } from '../util/random.js';

/** A deterministic choice of `want` of `count` samples, spread over the set (a seeded shuffle), in index order. */
export function choose(count: number, want: number, seed: number): number[] {
  const idx = Array.from({ length: count }, (_, i) => i);
  if (want >= count) return idx;
  const r = rng(seed * 104729 + 17);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, want).sort((a, b) => a - b);
}
