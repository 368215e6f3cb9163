/**
 * Sensitivity curves with uPlot: the loss of every scanned group against the ratio removed. The selected group is
 * drawn bold, the others faint; hovering a curve names it and its value, clicking selects its group.
 */
import uPlot from 'uplot';
import type { ScanResult } from '../../src/shared/types.js';
import { h } from '../dom.js';
import { pct } from '../format.js';
import { colors, groupColor } from '../theme.js';

export interface CurvesOptions {
  scan: ScanResult;
  selected: number | null;
  width: number;
  onSelect: (group: number) => void;
}

export function curves(o: CurvesOptions): { el: HTMLElement; destroy: () => void } {
  const c = colors();
  const targets = o.scan.targets.filter((t) => t.kind === 'group');
  const ratios = [0, ...o.scan.settings.ratios];
  const data: uPlot.AlignedData = [ratios, ...targets.map((t) => [0, ...t.points.map((p) => p.loss)])];
  const readout = h('div', { class: 'readout muted' }, 'Hover a curve for its values; click it to select the group.');
  const el = h('div', { class: 'curves', 'data-chart': 'curves' });
  let focused: number | null = null;
  const series: uPlot.Series[] = [
    { label: 'ratio' },
    ...targets.map((t) => {
      const sel = t.id === o.selected;
      return {
        label: `#${t.id} ${t.sources[0] ?? ''}`,
        // the other groups fade, but on a high-contrast theme's black they must stay legible
        stroke: groupColor(t.id as number, c.kind, sel || o.selected === null ? 1 : c.kind.startsWith('hc') ? 0.7 : 0.35),
        width: sel ? 3 : 1.25,
        points: { show: sel },
      } satisfies uPlot.Series;
    }),
  ];
  const plot = new uPlot({
    width: Math.max(280, o.width),
    height: 260,
    series,
    legend: { show: false },
    cursor: { focus: { prox: 24 }, points: { show: false } },
    focus: { alpha: 0.25 },
    scales: { x: { time: false, range: [0, Math.max(...ratios)] } },
    axes: [
      { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid }, values: (_u, vals) => vals.map((v) => pct(v)), label: 'channels removed', labelFont: c.font, font: c.font },
      { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid }, label: `loss (${o.scan.settings.metric})`, labelFont: c.font, font: c.font, size: 56 },
    ],
    hooks: {
      setSeries: [(_u, idx) => {
        focused = idx ?? null;
      }],
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined || focused === null || focused < 1) return;
        const t = targets[focused - 1];
        const p = i > 0 ? t.points[i - 1] : undefined;
        const metric = p ? Object.entries(p.metrics).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(3) : v}`).join(', ') : 'dense model';
        readout.textContent = `#${t.id} ${t.sources[0] ?? ''} at ${pct(ratios[i])}: loss ${(p?.loss ?? 0).toFixed(4)} — ${metric}`;
      }],
    },
  }, data, el);
  plot.over.addEventListener('click', () => {
    if (focused !== null && focused > 0) o.onSelect(targets[focused - 1].id as number);
  });
  return { el: h('div', null, el, readout), destroy: () => plot.destroy() };
}
