/**
 * The sensitivity heatmap with Observable Plot: groups (most sensitive first) × ratios, coloured by loss. Hovering
 * a cell shows its values; clicking selects the group. Plot puts a <style> element in its SVG, which the CSP
 * refuses, so it is taken out before the SVG is attached and its rules live in webview/styles.css.
 */
import * as Plot from '@observablehq/plot';
import type { ScanResult } from '../../src/shared/types.js';
import { pct } from '../format.js';
import { colors } from '../theme.js';

interface Cell {
  id: number;
  label: string;
  ratio: string;
  loss: number;
  kept: number;
  channels: number;
}

export function heatmap(scan: ScanResult, selected: number | null, width: number, onSelect: (group: number) => void): Element {
  const c = colors();
  const targets = scan.targets.filter((t) => t.kind === 'group').sort((a, b) => b.sensitivity - a.sensitivity);
  const label = (t: (typeof targets)[number]) => `#${t.id} ${shorten(t.sources[0] ?? '')}`;
  const cells: Cell[] = targets.flatMap((t) => t.points.map((p) => ({ id: t.id as number, label: label(t), ratio: pct(p.ratio), loss: p.loss, kept: p.kept, channels: t.channels ?? 0 })));
  const sel = targets.find((t) => t.id === selected);
  const plot = Plot.plot({
    width: Math.max(320, width),
    height: 40 + 18 * targets.length,
    marginLeft: 230,
    marginBottom: 32,
    style: { fontSize: '12px', background: 'transparent' },
    x: { label: 'channels removed', domain: scan.settings.ratios.map((r) => pct(r)) },
    y: { label: null, domain: targets.map(label) },
    color: { type: 'linear', scheme: c.kind === 'light' || c.kind === 'hc-light' ? 'ylorrd' : 'inferno', domain: [0, Math.max(1e-9, ...cells.map((d) => d.loss))] },
    marks: [
      Plot.cell(cells, {
        x: 'ratio', y: 'label', fill: 'loss', inset: 0.5,
        // inferno starts at black: on a high-contrast theme's black, low-loss cells need an outline to be seen
        ...(c.kind === 'hc-dark' ? { stroke: c.border, strokeOpacity: 0.5 } : {}),
        tip: { fill: c.bg, stroke: c.border },
        channels: { group: 'id', kept: (d: Cell) => `${d.kept} of ${d.channels}` },
        title: (d: Cell) => `#${d.id} at ${d.ratio}: loss ${d.loss.toFixed(4)} (${d.kept} of ${d.channels} channels kept)`,
      }),
      // the selected group's row, outlined
      ...(sel ? [Plot.cell(cells.filter((d) => d.id === selected), { x: 'ratio', y: 'label', fill: null, stroke: c.focus, strokeWidth: 2, inset: 0.5 })] : []),
    ],
  });
  for (const s of plot.querySelectorAll('style')) s.remove();
  plot.classList.add('heatmap');
  plot.setAttribute('data-chart', 'heatmap');
  plot.addEventListener('click', () => {
    const v = (plot as unknown as { value?: Cell | null }).value;
    if (v) onSelect(v.id);
  });
  return plot;
}

const shorten = (s: string) => (s.length > 28 ? `…${s.slice(-27)}` : s);
