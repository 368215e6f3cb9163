import { openModel } from '../core/api.js';
import type { CriteriaComparison, CriterionName } from '../shared/types.js';
import { emit, table } from './format.js';
import { inputValues, number } from './args.js';
import { withProgress } from './progress.js';

export interface CriteriaFlags {
  compare: string;
  ratio?: string;
  data?: string;
  labels?: string;
  preprocess?: string;
  samples?: string;
  seed?: string;
  inputShape?: string[];
  inputValue?: string[];
  json?: boolean;
}

/** `prunelens criteria`: how far importance criteria agree, on average and in the groups where they part most. */
export async function runCriteria(file: string, flags: CriteriaFlags, signal?: AbortSignal): Promise<void> {
  const criteria = flags.compare.split(',').map((c) => c.trim()).filter(Boolean) as CriterionName[];
  const r = await withProgress(async (onProgress) => {
    const session = await openModel(file, { inputShapes: flags.inputShape, inputValues: inputValues(flags.inputValue), signal, onProgress });
    return session.compareCriteria(criteria, {
      ratio: number('ratio', flags.ratio), data: flags.data, labels: flags.labels, preprocess: flags.preprocess,
      samples: number('samples', flags.samples), seed: number('seed', flags.seed), signal, onProgress,
    });
  });
  emit(r, flags.json, render);
}

function render(r: CriteriaComparison): string {
  const c = r.criteria;
  const matrix = (m: number[][]) => table(['', ...c], m.map((row, i) => [c[i], ...row.map((x) => x.toFixed(2))]), c.map((_, i) => i + 1));
  // the groups where the first two criteria agree least
  const worst = [...r.groups].sort((a, b) => a.spearman[0][1] - b.spearman[0][1]).slice(0, 5);
  return [
    `${r.groups.length} prunable groups${r.data ? `; data criteria on ${r.data.description}${r.data.synthetic ? ' (SYNTHETIC)' : ''}` : ''}`,
    '',
    'Spearman rank correlation of the channel scores, mean over groups:',
    matrix(r.mean.spearman),
    '',
    `Overlap (Jaccard) of the channels each removes at ${(100 * r.ratio).toFixed(0)} %, mean over groups:`,
    matrix(r.mean.overlap),
    '',
    `Groups where ${c[0]} and ${c[1]} agree least: ` + worst.map((g) => `#${g.id} (${g.channels} ch) ρ ${g.spearman[0][1].toFixed(2)}, overlap ${g.overlap[0][1].toFixed(2)}`).join('; '),
    `Which choice hurts less: scan with each (prunelens scan --criterion …) and compare the curves of those groups.`,
  ].join('\n');
}
