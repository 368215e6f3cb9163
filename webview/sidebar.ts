/** The rows of the Layer Sensitivity view, made from what the panel holds: sorted by sensitivity once scanned. */
import type { SidebarGroup } from '../src/shared/webview.js';
import { currentWarnings, editorRows } from './ratios/rows.js';
import type { State } from './store.js';

const HIGH: ReadonlySet<string> = new Set(['cliff', 'bottleneck', 'global-wipe']);

export function sidebarRows(s: Pick<State, 'plan' | 'scan' | 'keep' | 'edited'>): SidebarGroup[] {
  const rows = new Map<number, SidebarGroup>();
  for (const t of s.scan?.targets ?? []) {
    if (t.kind !== 'group') continue;
    rows.set(t.id as number, { id: t.id as number, label: t.sources[0] ?? `group ${t.id}`, channels: t.channels ?? 0, prunable: true, sensitivity: t.sensitivity, risk: 'none', layers: t.sources });
  }
  for (const r of editorRows(s)) {
    const row = rows.get(r.id) ?? { id: r.id, label: r.sources[0] ?? `group ${r.id}`, channels: r.channels, prunable: true, risk: 'none' as const, layers: r.sources };
    row.planned = r.ratio;
    row.risk = r.ratio <= 0 ? 'none' : (r.predictedLoss ?? 0) >= 0.05 ? 'medium' : 'low';
    rows.set(r.id, row);
  }
  for (const w of currentWarnings(s).warnings) {
    const row = w.group === undefined ? undefined : rows.get(w.group);
    if (!row) continue;
    if (w.kind === 'collapse' || w.kind === 'destroyed') row.risk = 'collapse';
    else if (HIGH.has(w.kind) && row.risk !== 'collapse') row.risk = 'high';
    else if (w.kind === 'min-channels' && (row.risk === 'low' || row.risk === 'none')) row.risk = 'medium';
    row.note = row.note ? `${row.note}\n\n${w.message}` : w.message;
  }
  for (const k of s.scan?.skipped ?? []) {
    if (typeof k.id !== 'number' || rows.has(k.id)) continue;
    rows.set(k.id, { id: k.id, label: k.sources[0] ?? `group ${k.id}`, channels: 0, prunable: false, reason: k.reason, risk: 'unprunable', layers: k.sources });
  }
  const list = [...rows.values()];
  // most sensitive first; unscanned groups by id after them
  return list.sort((a, b) => (b.sensitivity ?? -1) - (a.sensitivity ?? -1) || a.id - b.id);
}
