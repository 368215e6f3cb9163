/**
 * The model overview (the custom editor of a model file): inputs and outputs, params, MACs, the op histogram, the
 * share of the MACs in prunable groups, the dependency groups, and buttons for the PruneLens commands.
 */
import * as Plot from '@observablehq/plot';
import type { OpenResult } from '../src/shared/protocol.js';
import type { InspectResult } from '../src/shared/types.js';
import type { ModelRef } from '../src/shared/webview.js';
import { clear, h } from './dom.js';
import { bytes, count, pct, shape } from './format.js';
import { CallFailed, type Host } from './host.js';
import { colors, onThemeChange } from './theme.js';

export function overview(host: Host, model: ModelRef, app: HTMLElement): void {
  const status = h('div', { class: 'task', 'data-state': 'running' }, h('vscode-progress-bar', { indeterminate: true, 'aria-label': 'Loading' }), h('div', { class: 'muted' }, `Loading ${model.name}…`));
  clear(app, h('main', { class: 'overview' }, h('h1', null, model.name), status));
  const fail = (e: unknown) => {
    const message = e instanceof CallFailed ? e.error.message : String(e);
    clear(app, h('main', { class: 'overview' }, h('h1', null, model.name), h('div', { class: 'error', role: 'alert' }, `⚠ ${message}`)));
  };
  const progress = (v: { kind: string; message?: string; percentage?: number }) => {
    if (v.kind === 'report') status.querySelector('.muted')!.textContent = `${v.message ?? 'Loading'}${v.percentage !== undefined ? ` (${v.percentage} %)` : ''}…`;
  };
  host.call('open', {}, progress).result.then(async (summary) => {
    const info = await host.call('inspect', { layers: false, groups: true }).result;
    const draw = () => render(host, model, summary, info, app);
    draw();
    onThemeChange(draw);
  }).catch(fail);
}

function render(host: Host, model: ModelRef, s: OpenResult, info: InspectResult, app: HTMLElement): void {
  const command = (c: 'prune' | 'scan') => () => void host.call('host.command', { command: c }).result.catch(() => undefined);
  const card = (name: string, value: string, note?: string) => h('div', { class: 'card' }, h('div', { class: 'metric-name' }, name), h('div', { class: 'metric-value' }, value), note ? h('div', { class: 'muted' }, note) : null);
  const io = (title: string, vals: OpenResult['inputs']) =>
    h('table', { class: 'grid io' }, h('caption', null, title),
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Shape'), h('th', null, 'Type'))),
      h('tbody', null, ...vals.map((v) => h('tr', null, h('td', null, v.name), h('td', null, shape(v.shape)), h('td', null, v.type)))));
  const groups = info.groups ?? [];
  const prunable = groups.filter((g) => g.prunable && !g.subgraph);
  clear(app, h('main', { class: 'overview' },
    h('header', { class: 'overview-head' },
      h('div', null, h('h1', null, model.name), h('div', { class: 'muted' }, `${s.format.toUpperCase()} · IR ${info.irVersion} · opsets ${info.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}${info.producer ? ` · ${info.producer}` : ''}`)),
      h('div', { class: 'toolbar' },
        h('vscode-button', { class: 'prune', onclick: command('prune') }, 'Prune Model…'),
        h('vscode-button', { secondary: true, class: 'scan', onclick: command('scan') }, 'Analyze Sensitivity'))),
    h('div', { class: 'cards' },
      card('Parameters', count(s.params)),
      card('MACs', count(s.macs), `for inputs ${Object.entries(s.inputShapes).map(([k, v]) => `${k} ${shape(v)}`).join(', ')}`),
      card('File size', bytes(s.bytes)),
      card('Nodes', String(s.nodeCount)),
      card('Prunable share', pct(s.prunableMacsShare), 'of the MACs are in layers of prunable groups'),
      card('Dependency groups', `${s.prunableGroups} of ${s.groupCount}`, 'prunable')),
    s.assumedDims.length ? h('p', { class: 'muted' }, `Dynamic dimensions given default values: ${s.assumedDims.join(', ')}.`) : null,
    s.warnings.length ? h('ul', { class: 'warning-list' }, ...s.warnings.map((w) => h('li', { class: 'warning' }, w))) : null,
    h('div', { class: 'two' }, io('Inputs', s.inputs), io('Outputs', s.outputs)),
    h('h2', null, 'Operators'),
    opHistogram(info.opCounts),
    h('h2', null, `Dependency groups (${groups.length})`),
    h('p', { class: 'muted' }, 'Channels in one group must be removed together: the layers that write them and every layer that reads them.'),
    h('table', { class: 'grid groups' },
      h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'Channels'), h('th', null, 'Prunable'), h('th', null, 'Layers'), h('th', null, 'Params'), h('th', null, 'MACs'))),
      h('tbody', null, ...groups.map((g) => h('tr', { class: g.prunable ? '' : 'fixed' },
        h('td', null, String(g.id)), h('td', null, String(g.channels)),
        h('td', null, g.prunable ? 'yes' : `no: ${g.reason ?? ''}`),
        h('td', null, `${g.sources.slice(0, 3).join(', ')}${g.sources.length > 3 ? ` +${g.sources.length - 3}` : ''}`),
        h('td', null, count(g.params)), h('td', null, count(g.macs)))))),
    h('p', { class: 'muted' }, `${prunable.length} prunable groups hold ${count(prunable.reduce((a, g) => a + g.params, 0))} parameters.`),
  ));
}

function opHistogram(ops: Record<string, number>): Element {
  const c = colors();
  const data = Object.entries(ops).map(([op, n]) => ({ op, n })).sort((a, b) => b.n - a.n);
  const plot = Plot.plot({
    width: 640,
    height: 24 + 18 * data.length,
    marginLeft: 150,
    x: { label: 'nodes', grid: true },
    y: { label: null, domain: data.map((d) => d.op) },
    marks: [
      Plot.barX(data, { x: 'n', y: 'op', fill: c.selection, tip: { fill: c.bg, stroke: c.border } }),
      Plot.text(data, { x: 'n', y: 'op', text: (d: { n: number }) => String(d.n), dx: 4, textAnchor: 'start', fill: c.fg }),
    ],
  });
  for (const s of plot.querySelectorAll('style')) s.remove();
  plot.classList.add('histogram');
  plot.setAttribute('data-chart', 'ops');
  return plot;
}
