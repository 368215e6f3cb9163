/**
 * The groups the ratio editor lists, and what it warns about: rows come from the plan (or, before one, the scan);
 * warnings are the plan's, plus a collapse flag for any group edited down to one channel since.
 */
import type { PlanWarning } from '../../src/shared/types.js';
import type { Keep, State } from '../store.js';

export interface EditorRow {
  id: number;
  sources: string[];
  channels: number;
  kept: number;
  /** Fraction of channels removed. */
  ratio: number;
  predictedLoss?: number;
}

export function editorRows(s: Pick<State, 'plan' | 'scan' | 'keep'>): EditorRow[] {
  const base = s.plan
    ? s.plan.groups.map((g) => ({ id: g.id, sources: g.sources, channels: g.channels, predictedLoss: g.predictedLoss }))
    : (s.scan?.targets ?? []).filter((t) => t.kind === 'group' && t.channels).map((t) => ({ id: t.id as number, sources: t.sources, channels: t.channels!, predictedLoss: undefined }));
  return base.map((g) => {
    const kept = s.keep?.[g.id] ?? g.channels;
    return { ...g, kept, ratio: 1 - kept / g.channels };
  });
}

export function keepOfPlan(plan: { groups: { id: number; keep: number }[] }): Keep {
  return Object.fromEntries(plan.groups.map((g) => [String(g.id), g.keep]));
}

/** The plan's warnings (while they still describe the ratios), and collapses made by edits. */
export function currentWarnings(s: Pick<State, 'plan' | 'scan' | 'keep' | 'edited'>): { warnings: PlanWarning[]; stale: boolean } {
  const fromPlan = s.plan?.warnings ?? [];
  if (!s.edited) return { warnings: fromPlan, stale: false };
  const live: PlanWarning[] = [];
  for (const r of editorRows(s)) {
    if (r.kept <= 1 && r.channels > 1) {
      live.push({
        kind: 'collapse', group: r.id, layers: r.sources, numbers: { channels: r.channels, kept: r.kept },
        message: `group ${r.id} (${r.sources[0]}) is left with ${r.kept} of ${r.channels} channels: the layer has collapsed`,
        fix: 'raise the kept channels of this group',
      });
    }
  }
  // the plan's other warnings are kept for reference, marked as describing the plan before the edits
  return { warnings: [...live, ...fromPlan.filter((w) => w.kind !== 'collapse' || !live.some((l) => l.group === w.group))], stale: true };
}

/**
 * What saving asks before it writes a variant with these warnings, or undefined when it need not ask: a collapsed
 * layer, or an output the scan predicts gone (named as such, since no layer may have collapsed).
 */
export function saveConfirmation(warnings: PlanWarning[]): { message: string; detail: string } | undefined {
  const risky = warnings.filter((w) => w.kind === 'collapse' || w.kind === 'destroyed');
  if (!risky.length) return undefined;
  const collapses = risky.filter((w) => w.kind === 'collapse').length;
  const what = [
    collapses ? (collapses === 1 ? 'a layer collapses' : `${collapses} layers collapse`) : '',
    collapses < risky.length ? 'the output is predicted to be lost' : '',
  ].filter(Boolean).join(' and ');
  return { message: `In this plan ${what}. Save the variant anyway?`, detail: risky.map((w) => w.message).join('\n') };
}
