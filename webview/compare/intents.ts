/**
 * The Criteria tab's intents: which criteria to compare, the engine's comparison (`compareCriteria`), and one
 * group's scan curves under each compared criterion (one `scan` per criterion restricted to that group; the engine
 * session caches each, so a group shown again, or after a reload, comes back at once).
 */
import type { ProgressValue } from '../../src/shared/protocol.js';
import type { CriterionName } from '../../src/shared/types.js';
import type { Call, Host } from '../host.js';
import { criterionOf, type State, type Store, type TaskName } from '../store.js';
import { agreementRows } from './agreement.js';

/** How the panel runs a call as a task (Controller.run): loading, progress, cancel and errors are kept for the views. */
export interface Runner {
  run<T>(task: TaskName, call: Call<T>, message?: string): Promise<T | undefined>;
  progress(task: TaskName): (v: ProgressValue) => void;
  cancel(task: TaskName): void;
}

export const MIN_CRITERIA = 2;
export const MAX_CRITERIA = 5;

/** The criteria ticked before the user ticks any: the panel's own, then L1, FPGM and Taylor. */
export function defaultCriteria(s: Pick<State, 'criterion' | 'settings'>): CriterionName[] {
  return [...new Set<CriterionName>([criterionOf(s), 'l1', 'fpgm', 'taylor'])].slice(0, 3);
}

/** The group whose curves are shown: the selected one if the comparison has it, else the one they agree on least. */
export function shownGroup(s: Pick<State, 'selected' | 'compare'>): number | null {
  const r = s.compare.result;
  if (!r || !r.groups.length) return null;
  if (s.selected !== null && r.groups.some((g) => g.id === s.selected)) return s.selected;
  return agreementRows(r)[0].id;
}

/** What a set of curves depends on: the group, the criteria, and the scan settings the host fills in. */
export function curvesKey(s: Pick<State, 'settings'>, group: number, criteria: CriterionName[]): string {
  const st = s.settings;
  return JSON.stringify({ group, criteria, data: st?.data, labels: st?.labels, preprocess: st?.preprocess, samples: st?.samples, ratios: st?.ratios });
}

export class CompareIntents {
  /** The curves being asked for (a newer request supersedes it). */
  private loading?: string;

  constructor(private readonly host: Host, private readonly store: Store, private readonly runner: Runner) {}

  criteria(): CriterionName[] {
    const s = this.store.get();
    return s.compare.criteria.length ? s.compare.criteria : defaultCriteria(s);
  }

  toggle(criterion: CriterionName, on: boolean): void {
    const cur = this.criteria();
    const next = on ? (cur.includes(criterion) || cur.length >= MAX_CRITERIA ? cur : [...cur, criterion]) : cur.filter((c) => c !== criterion);
    this.store.set((s) => ({ compare: { ...s.compare, criteria: next } }));
  }

  setRatio(ratio: number): void {
    if (ratio > 0 && ratio < 1) this.store.set((s) => ({ compare: { ...s.compare, ratio } }));
  }

  /** Asks the engine how far the ticked criteria agree, then shows the curves of the group they agree on least. */
  async run(): Promise<void> {
    const s = this.store.get();
    const criteria = this.criteria();
    if (criteria.length < MIN_CRITERIA || criteria.length > MAX_CRITERIA) return;
    const call = this.host.call('compareCriteria', { criteria, ratio: s.compare.ratio }, this.runner.progress('compare'));
    const result = await this.runner.run('compare', call, `Scoring every group's channels by ${criteria.join(', ')}…`);
    if (!result) return;
    this.store.set((st) => ({ compare: { ...st.compare, criteria, result } }));
    await this.ensure();
  }

  /** What the tab shows besides the comparison itself: the groups' names and the shown group's curves. */
  async ensure(): Promise<void> {
    const r = this.store.get().compare.result;
    if (!r) return;
    const known = this.store.get().groupInfo;
    const missing = r.groups.map((g) => g.id).filter((id) => !known[id]);
    if (missing.length) {
      const infos = await this.runner.run('group', this.host.call('groups', { ids: missing }));
      if (infos) this.store.set((st) => ({ groupInfo: { ...st.groupInfo, ...Object.fromEntries(infos.map((g) => [g.id, g])) } }));
    }
    await this.curves();
  }

  /** The shown group's scan curves under each compared criterion, one scan at a time. */
  async curves(): Promise<void> {
    const s = this.store.get();
    const r = s.compare.result;
    const group = shownGroup(s);
    if (!r || group === null) return;
    const key = curvesKey(s, group, r.criteria);
    if (s.compareCurves?.key === key || this.loading === key) return;
    if (this.loading) this.runner.cancel('compareScan');
    this.loading = key;
    try {
      const series: NonNullable<State['compareCurves']>['series'] = [];
      let settings: { metric: string; ratios: number[] } | undefined;
      for (const [i, criterion] of r.criteria.entries()) {
        const call = this.host.call('scan', { criterion, only: [String(group)] }, this.runner.progress('compareScan'));
        const scan = await this.runner.run('compareScan', call, `Scanning group ${group} under ${criterion} (${i + 1} of ${r.criteria.length})…`);
        if (this.loading !== key || !scan) return;
        const target = scan.targets.find((t) => t.id === group);
        if (!target) {
          const why = scan.skipped.find((k) => k.id === group)?.reason ?? 'the scan returned no curve for it';
          this.store.task('compareScan', { running: false, error: { message: `Group ${group} under ${criterion}: ${why}` } });
          return;
        }
        series.push({ criterion, target });
        settings = { metric: scan.settings.metric, ratios: scan.settings.ratios };
      }
      this.store.set({ compareCurves: { key, group, metric: settings!.metric, ratios: settings!.ratios, series } });
    } finally {
      if (this.loading === key) this.loading = undefined;
    }
  }
}
