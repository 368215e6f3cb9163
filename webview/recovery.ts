/**
 * What recovery without training did to a pruned variant (the Before/After tab): the fidelity to the original and
 * the accuracy on held-out samples before and after it, what it changed (layers refitted, BatchNorm statistics and
 * biases corrected), the data it fitted on (synthetic inputs said so), and with gradual pruning each step.
 */
import type { Metrics, PruneReport } from '../src/shared/types.js';
import { h } from './dom.js';
import { pct } from './format.js';

/** The metrics recovery (and sparsity) are judged by, in the order shown; accuracy and top-5 only with labels. */
export const METRICS: { key: keyof Metrics; name: string; fmt: (v: number) => string; better: 'up' | 'down' }[] = [
  { key: 'agreement', name: 'Top-1 agreement with the original', fmt: (v) => pct(v, 1), better: 'up' },
  { key: 'kl', name: 'KL divergence from the original', fmt: (v) => v.toFixed(4), better: 'down' },
  { key: 'rel-l2', name: 'Relative L2 error of the output', fmt: (v) => v.toFixed(4), better: 'down' },
  { key: 'cosine', name: 'Cosine similarity of the output', fmt: (v) => v.toFixed(4), better: 'up' },
  { key: 'accuracy', name: 'Top-1 accuracy (labels)', fmt: (v) => pct(v, 1), better: 'up' },
  { key: 'top5', name: 'Top-5 accuracy (labels)', fmt: (v) => pct(v, 1), better: 'up' },
];

const METHOD: Record<string, string> = { lsq: 'least squares', bn: 'BN re-calibration' };

/** The headline of a fidelity: agreement for classifiers, else the relative L2 error. */
export function headline(m: Metrics): string {
  return m.agreement !== undefined ? `agreement ${pct(m.agreement, 1)}` : `rel-l2 ${m['rel-l2'].toFixed(3)}`;
}

export function recoveryReport(r: PruneReport): HTMLElement | null {
  const rec = r.recovery;
  if (!rec && !r.steps) return null;
  const parts: (HTMLElement | null)[] = [];
  if (rec) {
    const rows = METRICS.filter((m) => rec.before[m.key] !== undefined && rec.after[m.key] !== undefined).map((m) => {
      const b = rec.before[m.key]!;
      const a = rec.after[m.key]!;
      const gain = m.better === 'up' ? a - b : b - a;
      return h('tr', { 'data-metric': m.key }, h('th', { scope: 'row' }, m.name), h('td', null, m.fmt(b)), h('td', null, m.fmt(a)),
        h('td', { class: gain > 1e-9 ? 'better' : gain < -1e-9 ? 'worse' : 'muted' }, gain > 1e-9 ? 'better' : gain < -1e-9 ? 'worse' : 'same'));
    });
    const refitted = rec.lsq.filter((l) => !l.skipped);
    const skipped = rec.lsq.filter((l) => l.skipped);
    const bnStats = rec.bn.filter((b) => b.kind === 'bn').length;
    const biases = rec.bn.filter((b) => b.kind === 'bias').length;
    const did = [
      rec.methods.includes('lsq') ? `${refitted.length} layer${refitted.length === 1 ? '' : 's'} refitted by least squares` : null,
      rec.methods.includes('bn') ? `${bnStats} BatchNorm layer${bnStats === 1 ? '' : 's'} re-estimated, ${biases} folded bias${biases === 1 ? '' : 'es'} corrected` : null,
    ].filter(Boolean).join('; ');
    parts.push(
      h('p', null, `${rec.methods.map((m) => METHOD[m] ?? m).join(' + ')}: ${did} in ${(rec.ms / 1000).toFixed(1)} s. Fitted on ${rec.data.fitted}; judged on ${rec.data.judged} it did not fit on.`),
      rec.data.synthetic ? h('div', { class: 'note synthetic' }, '⚠ Recovery fitted on synthetic inputs (no prunelens.calibration.data): it pulled the variant towards the original on noise, which may not carry over to real inputs.') : null,
      h('table', { class: 'grid recovery' },
        h('thead', null, h('tr', null, h('th', null, 'On held-out samples'), h('th', null, 'Before recovery'), h('th', null, 'After recovery'), h('th', null, ''))),
        h('tbody', null, ...rows)),
      skipped.length ? h('p', { class: 'muted' }, `Left as they were: ${skipped.map((l) => `${l.node} (${l.skipped})`).join('; ')}.`) : null,
      // the engine keeps a method only if it helped on the held-out samples; one it undid is said, with why
      ...(rec.reverted ?? []).map((x) => h('div', { class: 'note undone', 'data-method': x.method },
        `${METHOD[x.method] ?? x.method} was undone: it did not help on the held-out samples (${headline(x.before)} → ${headline(x.after)}, ` +
        `rel-l2 ${x.before['rel-l2'].toFixed(3)} → ${x.after['rel-l2'].toFixed(3)}). "After recovery" is the variant without it.`)),
    );
  }
  if (r.steps?.length) {
    parts.push(
      h('h4', null, `Gradual pruning: ${r.steps.length} steps of prune → recover`),
      h('table', { class: 'grid steps' },
        h('thead', null, h('tr', null, h('th', null, 'Step'), h('th', null, 'Channels removed'), h('th', null, 'Surgery verified'), h('th', null, 'Recovery'))),
        h('tbody', null, ...r.steps.map((st) => h('tr', null, h('td', null, String(st.step)), h('td', null, String(st.removed)),
          h('td', { class: st.verified ? 'verified' : 'error' }, st.verified ? '✓' : '✗'),
          h('td', null, st.recovery ? `${headline(st.recovery.before)} → ${headline(st.recovery.after)}` : '—'))))),
    );
  }
  return h('section', { class: 'recovery-report' }, h('h3', null, 'Recovery without training'), ...parts);
}
