/**
 * A small criteria × criteria matrix as an Observable Plot heatmap, each cell written with its value: the mean
 * Spearman ρ (−1…1, a diverging scale) or the mean overlap of removed channels (0…1). As in the sensitivity
 * heatmap, Plot's <style> element is taken out (the CSP refuses it) and its rules live in webview/styles.css.
 */
import * as Plot from '@observablehq/plot';
import type { CriterionName } from '../../src/shared/types.js';
import { colors } from '../theme.js';

interface Cell {
  row: string;
  col: string;
  v: number;
}

export interface MatrixOptions {
  criteria: CriterionName[];
  values: number[][];
  /** What a value is, for the hover text ("ρ", "overlap"). */
  name: string;
  kind: 'correlation' | 'overlap';
  chart: string;
}

const CELL = 46;

export function matrixHeatmap(o: MatrixOptions): Element {
  const c = colors();
  const cells: Cell[] = o.criteria.flatMap((row, i) => o.criteria.map((col, j) => ({ row, col, v: o.values[i][j] })));
  const corr = o.kind === 'correlation';
  // dark text on the pale middle of the scale, light text on its saturated ends
  const ink = (d: Cell) => ((corr ? Math.abs(d.v) : d.v) > 0.6 ? '#fff' : '#000');
  const plot = Plot.plot({
    width: 78 + CELL * o.criteria.length,
    height: 30 + CELL * o.criteria.length,
    marginLeft: 72,
    marginTop: 28,
    marginBottom: 2,
    marginRight: 6,
    style: { fontSize: '12px', background: 'transparent' },
    x: { domain: o.criteria, axis: 'top', label: null, tickSize: 0 },
    y: { domain: o.criteria, label: null, tickSize: 0 },
    color: corr ? { type: 'linear', scheme: 'rdbu', domain: [-1, 1] } : { type: 'linear', scheme: 'blues', domain: [0, 1] },
    marks: [
      Plot.cell(cells, {
        x: 'col', y: 'row', fill: 'v', inset: 1,
        tip: { fill: c.bg, stroke: c.border },
        title: (d: Cell) => (d.row === d.col ? d.row : `${d.row} vs ${d.col}: ${o.name} ${d.v.toFixed(3)}`),
      }),
      Plot.text(cells, { x: 'col', y: 'row', text: (d: Cell) => d.v.toFixed(2), fill: ink, fontSize: 12 }),
    ],
  });
  for (const s of plot.querySelectorAll('style')) s.remove();
  plot.classList.add('matrix');
  plot.setAttribute('data-chart', o.chart);
  return plot;
}
