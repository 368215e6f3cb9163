/**
 * One group's scan curves under each compared criterion, side by side on one uPlot chart (one series per
 * criterion), with a legend giving each criterion's mean loss; hovering reads the values at a ratio.
 */
import uPlot from 'uplot';
import type { CompareCurves } from '../store.js';
import { h } from '../dom.js';
import { pct } from '../format.js';
import { colors, seriesColors } from '../theme.js';

export function compareCurves(cc: CompareCurves, width: number): { el: HTMLElement; destroy: () => void } {
  const c = colors();
  const palette = seriesColors();
  const ratios = [0, ...cc.ratios];
  const data: uPlot.AlignedData = [ratios, ...cc.series.map((s) => [0, ...s.target.points.map((p) => p.loss)])];
  const best = Math.min(...cc.series.map((s) => s.target.sensitivity));
  const readout = h('div', { class: 'readout muted' }, 'Hover the chart for the loss under each criterion at a ratio.');
  const el = h('div', { class: 'curves', 'data-chart': 'criteria-curves', 'data-series': cc.series.length });
  const plot = new uPlot({
    width: Math.max(280, width),
    height: 240,
    series: [
      { label: 'ratio' },
      ...cc.series.map((s, i) => ({ label: s.criterion, stroke: palette[i % palette.length], width: 2, points: { show: true, size: 5 } }) satisfies uPlot.Series),
    ],
    legend: { show: false },
    cursor: { points: { show: false } },
    scales: { x: { time: false, range: [0, Math.max(...ratios)] } },
    axes: [
      { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid }, values: (_u, vals) => vals.map((v) => pct(v)), label: 'channels removed', labelFont: c.font, font: c.font },
      { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid }, label: `loss (${cc.metric})`, labelFont: c.font, font: c.font, size: 56 },
    ],
    hooks: {
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined) return;
        readout.textContent = `at ${pct(ratios[i])} removed: ${cc.series.map((s) => `${s.criterion} ${(i > 0 ? s.target.points[i - 1]?.loss ?? 0 : 0).toFixed(4)}`).join(' · ')}`;
      }],
    },
  }, data, el);
  const legend = h('ul', { class: 'legend' }, ...cc.series.map((s, i) => {
    const swatch = h('span', { class: 'swatch' });
    swatch.style.backgroundColor = palette[i % palette.length];
    return h('li', { 'data-criterion': s.criterion }, swatch, h('span', { class: 'legend-name' }, s.criterion),
      h('span', { class: 'muted' }, ` mean loss ${s.target.sensitivity.toFixed(4)}${s.target.sensitivity === best && cc.series.length > 1 ? ' (least)' : ''}`));
  }));
  return { el: h('div', null, legend, el, readout), destroy: () => plot.destroy() };
}
