/** The pruning panel: a header with the model and engine status, the pruning options, and five tabs. */
import type { PanelTab } from '../src/shared/webview.js';
import { compareView } from './compare/view.js';
import type { Controller } from './controller.js';
import { clear, h } from './dom.js';
import { bytes, count } from './format.js';
import { graphView } from './graph/view.js';
import { pruneOptions } from './prune-options.js';
import { ratiosView } from './ratios/view.js';
import { sensitivityView } from './sensitivity/view.js';
import type { State, Store } from './store.js';
import { summaryView } from './summary.js';
import { taskStatus } from './task-status.js';

const TABS: { tab: PanelTab; title: string }[] = [
  { tab: 'sensitivity', title: 'Sensitivity' },
  { tab: 'criteria', title: 'Criteria' },
  { tab: 'ratios', title: 'Ratios' },
  { tab: 'graph', title: 'Graph' },
  { tab: 'summary', title: 'Before / After' },
];

export function panel(store: Store, controller: Controller, app: HTMLElement): void {
  const head = h('header', { class: 'panel-head' });
  const open = h('div', { class: 'status-slot' });
  const tabs = h('vscode-tabs', { class: 'tabs' }) as HTMLElement & { selectedIndex: number };
  const views: Record<PanelTab, () => HTMLElement> = {
    sensitivity: () => sensitivityView(store, controller),
    ratios: () => ratiosView(store, controller),
    graph: () => graphView(store, controller),
    criteria: () => compareView(store, controller),
    summary: () => summaryView(store, controller),
  };
  for (const t of TABS) {
    tabs.append(h('vscode-tab-header', { slot: 'header', 'data-tab': t.tab }, t.title), h('vscode-tab-panel', { 'data-tab': t.tab }, views[t.tab]()));
  }
  tabs.addEventListener('vsc-tabs-select', (e) => {
    const i = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
    if (TABS[i] && TABS[i].tab !== store.get().tab) controller.setTab(TABS[i].tab);
  });
  clear(app, h('div', { class: 'panel' }, head, open, pruneOptions(store, controller), tabs));

  const renderHead = (s: State) => {
    const m = s.summary;
    clear(head,
      h('h1', null, s.model?.name ?? ''),
      m ? h('span', { class: 'muted' }, `${count(m.params)} params · ${count(m.macs)} MACs · ${bytes(m.bytes)} · ${m.prunableGroups} of ${m.groupCount} groups prunable`) : null);
  };
  const render = (s: State, prev?: State) => {
    if (!prev || s.summary !== prev.summary || s.model !== prev.model) renderHead(s);
    if (!prev || s.tasks.open !== prev.tasks.open) clear(open, taskStatus('open', s.tasks.open, controller));
    if (!prev || s.tab !== prev.tab) {
      const i = TABS.findIndex((t) => t.tab === s.tab);
      if (tabs.selectedIndex !== i) tabs.selectedIndex = i;
    }
  };
  store.subscribe(render);
  render(store.get());
}
