/**
 * The per-group rows of a criteria comparison, least agreement first: the Spearman ρ between the first two criteria,
 * the least ρ over every pair (and which pair), and the overlap of what the first two remove.
 */
import type { CriteriaComparison, CriterionName } from '../../src/shared/types.js';

export interface AgreementRow {
  id: number;
  channels: number;
  /** ρ between the first two criteria. */
  first: number;
  /** The least ρ over all pairs, and that pair. */
  least: number;
  pair: [CriterionName, CriterionName];
  /** Jaccard overlap of the channels the first two remove at the comparison's ratio. */
  overlap: number;
}

export function agreementRows(c: CriteriaComparison): AgreementRow[] {
  const k = c.criteria.length;
  return c.groups.map((g): AgreementRow => {
    let least = Infinity;
    let pair: [number, number] = [0, 1];
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        if (g.spearman[i][j] < least) {
          least = g.spearman[i][j];
          pair = [i, j];
        }
      }
    }
    return { id: g.id, channels: g.channels, first: g.spearman[0][1], least, pair: [c.criteria[pair[0]], c.criteria[pair[1]]], overlap: g.overlap[0][1] };
  }).sort((a, b) => a.least - b.least || a.first - b.first || a.id - b.id);
}
