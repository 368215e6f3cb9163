/**
 * How far importance criteria agree, group by group: the Spearman rank correlation of their channel scores, and the
 * overlap of the channels each would remove at a ratio. Two criteria that rank alike prune alike; where they part,
 * the scan curves under each (a scan per criterion) say which choice hurts less.
 */
import type { CriteriaComparison, CriterionName } from '../../shared/types.js';
import type { Analysis } from '../analysis.js';
import type { CalibrationSet } from '../data/calibration.js';
import { invalid, throwIfCancelled } from '../errors.js';
import type { TaskOptions } from '../progress.js';
import { CRITERIA, needsData } from './index.js';

/** Ranks 0…n−1 with ties given their mean rank. */
function ranks(v: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const r = new Float64Array(v.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ (Pearson on ranks); 1 when either side is constant and so are both, 0 when only one is. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const [ra, rb] = [ranks(a), ranks(b)];
  const n = ra.length;
  const mean = (n - 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  if (saa === 0 || sbb === 0) return saa === sbb ? 1 : 0;
  return sab / Math.sqrt(saa * sbb);
}

/** |A ∩ B| / |A ∪ B| (1 for two empty sets). */
function jaccard(a: number[], b: number[]): number {
  const sa = new Set(a);
  const inter = b.filter((x) => sa.has(x)).length;
  const union = sa.size + b.length - inter;
  return union ? inter / union : 1;
}

export async function compareCriteria(
  a: Analysis, criteria: CriterionName[], data: CalibrationSet | undefined, opts: TaskOptions & { ratio?: number } = {},
): Promise<CriteriaComparison> {
  const t0 = performance.now();
  if (!Array.isArray(criteria) || criteria.length < 2) throw invalid('criteria', 'name at least two criteria to compare');
  for (const c of criteria) if (!CRITERIA.includes(c)) throw invalid('criteria', `one of ${CRITERIA.join(', ')}, got '${c}'`);
  const ratio = opts.ratio ?? 0.5;
  if (!(ratio > 0 && ratio < 1)) throw invalid('ratio', `must be between 0 and 1, got ${ratio}`);
  const used = [...new Set(criteria)];
  for (const [i, c] of used.entries()) {
    throwIfCancelled(opts.signal);
    opts.onProgress?.({ phase: 'criteria', done: i, total: used.length, message: c });
    if (needsData(c)) await a.prepare(c, data!, opts);
  }
  const k = used.length;
  const sum = { spearman: Array.from({ length: k }, () => new Array<number>(k).fill(0)), overlap: Array.from({ length: k }, () => new Array<number>(k).fill(0)) };
  const groups: CriteriaComparison['groups'] = [];
  for (const info of a.infos) {
    if (!info.prunable) continue;
    const g = a.dep.groups[info.id];
    const n = g.units.length;
    if (n < 2) continue;
    const scores = used.map((c) => a.scores(g, { criterion: c }).scores);
    const keep = Math.max(1, n - Math.round(ratio * n));
    const removed = used.map((c) => a.choose(g, keep, { criterion: c }));
    const sp = used.map((_, i) => used.map((__, j) => (i === j ? 1 : spearman(scores[i], scores[j]))));
    const ov = used.map((_, i) => used.map((__, j) => (i === j ? 1 : jaccard(removed[i], removed[j]))));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      sum.spearman[i][j] += sp[i][j];
      sum.overlap[i][j] += ov[i][j];
    }
    groups.push({ id: info.id, channels: n, spearman: sp, overlap: ov });
  }
  const m = Math.max(groups.length, 1);
  opts.onProgress?.({ phase: 'criteria', done: used.length, total: used.length, message: 'done' });
  return {
    criteria: used,
    ratio,
    data: needsData(used.find((c) => needsData(c))) ? { description: data!.description, synthetic: data!.kind === 'synthetic' } : undefined,
    groups,
    mean: { spearman: sum.spearman.map((r) => r.map((x) => x / m)), overlap: sum.overlap.map((r) => r.map((x) => x / m)) },
    ms: performance.now() - t0,
  };
}
