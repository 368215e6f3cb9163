/** The Sensitivity tab: run or cancel a scan, the settings it used, its curves and its heatmap. */
import type { Controller } from '../controller.js';
import { clear, h } from '../dom.js';
import { criterionOf, type State, type Store } from '../store.js';
import { taskSlot } from '../task-status.js';
import { onThemeChange } from '../theme.js';
import { curves } from './curves.js';
import { heatmap } from './heatmap.js';

/** What the next scan will use, from the settings. */
const planned = (s: State) => {
  const st = s.settings!;
  return `${st.data ? st.data.split(/[\\/]/).pop() : 'synthetic inputs (set prunelens.calibration.data for real samples)'} · ${st.samples} samples · criterion ${criterionOf(s)} · ratios ${st.ratios.join(', ')}`;
};

/** The settings differ from those of the scan shown. */
const changed = (s: State) => {
  const st = s.settings;
  const sc = s.scan?.settings;
  return !!st && !!sc && (sc.samples !== st.samples || sc.criterion !== criterionOf(s) || sc.ratios.join() !== st.ratios.join() || s.scan!.data.synthetic !== !st.data);
};

export function sensitivityView(store: Store, controller: Controller): HTMLElement {
  const root = h('section', { class: 'view sensitivity' });
  const toolbar = h('div', { class: 'toolbar' });
  const status = h('div', { class: 'status-slot' });
  const used = h('div', { class: 'used muted' });
  const charts = h('div', { class: 'charts' });
  const scanSlot = taskSlot('scan', controller, { cancellable: true });
  status.append(scanSlot.el);
  root.append(toolbar, status, used, charts);
  let destroy: (() => void) | undefined;
  let width = 0;

  const renderToolbar = (s: State) => {
    const running = s.tasks.scan?.running;
    clear(toolbar,
      h('vscode-button', { class: 'run-scan', disabled: running || !s.summary, onclick: () => void controller.scan() }, s.scan ? 'Scan again' : 'Run scan'),
      h('span', { class: 'muted' }, s.scan ? `${s.scan.targets.length} groups scanned` : ''));
    scanSlot.update(s.tasks.scan);
  };

  const renderUsed = (s: State) => {
    if (s.scan) {
      const sc = s.scan;
      clear(used,
        `Data: ${sc.data.description} · metric ${sc.settings.metric} on ${sc.settings.output} · ${sc.settings.samples} samples · criterion ${sc.settings.criterion} · ratios ${sc.settings.ratios.join(', ')} · `,
        `${(sc.timing.totalMs / 1000).toFixed(1)} s${sc.timing.cached ? ' (cached)' : ''}`,
        changed(s) ? h('div', { class: 'next' }, `The settings changed: the next scan will use ${planned(s)}.`) : null,
        ...sc.notes.map((n) => h('div', { class: 'note' }, n)));
    } else if (s.settings) {
      const st = s.settings;
      clear(used, `Will use ${planned(s)}.`);
    }
  };

  const renderCharts = (s: State) => {
    destroy?.();
    destroy = undefined;
    if (!s.scan) {
      clear(charts, s.tasks.scan?.running ? null : h('p', { class: 'empty' }, 'No scan yet. A scan prunes each dependency group alone at every ratio and measures how far the outputs move.'));
      return;
    }
    width = charts.clientWidth || root.clientWidth || 600;
    const c = curves({ scan: s.scan, selected: s.selected, width: width - 8, onSelect: (g) => controller.select(g) });
    destroy = c.destroy;
    clear(charts,
      h('h3', null, 'Curves: loss against channels removed, per group'), c.el,
      h('h3', null, 'Heatmap: groups × ratios (most sensitive first)'),
      heatmap(s.scan, s.selected, width - 8, (g) => controller.select(g)));
    root.dataset.drawn = String(performance.now());
  };

  const render = (s: State, prev?: State) => {
    if (!prev || s.tasks.scan !== prev.tasks.scan || s.scan !== prev.scan || s.summary !== prev.summary) renderToolbar(s);
    if (!prev || s.scan !== prev.scan || s.settings !== prev.settings || s.criterion !== prev.criterion) renderUsed(s);
    if (!prev || s.scan !== prev.scan || s.selected !== prev.selected || (s.tab !== prev.tab && s.tab === 'sensitivity' && charts.clientWidth !== width)) renderCharts(s);
  };
  store.subscribe((s, prev) => render(s, prev));
  render(store.get());
  onThemeChange(() => renderCharts(store.get()));
  new ResizeObserver(() => {
    if (charts.clientWidth && Math.abs(charts.clientWidth - width) > 24) renderCharts(store.get());
  }).observe(charts);
  return root;
}
