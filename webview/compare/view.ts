/**
 * The Criteria tab: tick 2–5 criteria, compare them (the engine's `compareCriteria`), and see the mean Spearman ρ
 * and removal overlap as two small heatmaps, the groups where they agree least, and a group's scan curves under
 * each criterion side by side.
 */
import type { CriterionName } from '../../src/shared/types.js';
import type { Controller } from '../controller.js';
import { CRITERIA, FAMILIES, usesData } from '../criteria.js';
import { clear, h } from '../dom.js';
import { pct } from '../format.js';
import type { State, Store } from '../store.js';
import { taskSlot } from '../task-status.js';
import { onThemeChange } from '../theme.js';
import { agreementRows } from './agreement.js';
import { compareCurves } from './curves.js';
import { MAX_CRITERIA, MIN_CRITERIA, shownGroup } from './intents.js';
import { matrixHeatmap } from './matrix.js';

type Check = HTMLElement & { checked: boolean; disabled: boolean };
type Field = HTMLElement & { value: string };

export function compareView(store: Store, controller: Controller): HTMLElement {
  const intents = controller.compare;
  const root = h('section', { class: 'view criteria' });
  const checks = new Map<CriterionName, Check>();
  const picks = h('div', { class: 'criteria-picks' }, ...FAMILIES.map((f) => h('fieldset', { class: 'family' }, h('legend', null, f.title),
    ...CRITERIA.filter((c) => c.family === f.family).map((c) => {
      const box = h('vscode-checkbox', { class: 'pick', 'data-criterion': c.name, title: c.what }, c.name) as Check;
      box.addEventListener('change', () => intents.toggle(c.name, box.checked));
      checks.set(c.name, box);
      return box;
    }))));
  const ratio = h('vscode-textfield', { type: 'number', min: 5, max: 95, step: 5, class: 'compare-ratio', 'aria-label': 'Percent of channels removed for the overlap' }) as Field;
  ratio.addEventListener('change', () => {
    const v = Number(ratio.value);
    if (v > 0 && v < 100) intents.setRatio(v / 100);
  });
  const run = h('vscode-button', { class: 'run-compare', onclick: () => void intents.run() }, 'Compare') as HTMLElement & { disabled: boolean };
  const chosen = h('span', { class: 'muted chosen' });
  const notes = h('div', { class: 'compare-notes' });
  const compareSlot = taskSlot('compare', controller, { cancellable: true });
  const groupSlot = taskSlot('group', controller);
  const result = h('div', { class: 'compare-result' });
  const groups = h('div', { class: 'compare-groups' });
  const curvesHead = h('div');
  const curvesSlot = taskSlot('compareScan', controller, { cancellable: true });
  const curvesEl = h('div', { class: 'charts' });
  root.append(
    h('p', { class: 'muted intro' }, 'How far importance criteria agree, group by group: the rank correlation of their channel scores and the overlap of what each removes. Where they part, the scan curves under each say which choice hurts less.'),
    picks,
    h('div', { class: 'toolbar' }, h('label', null, 'Overlap at'), ratio, h('span', null, '% removed'), run, chosen),
    notes, compareSlot.el, result,
    // the groups and the selected one's curves side by side when the panel is wide enough
    h('div', { class: 'compare-body' }, groups, h('div', { class: 'compare-curves' }, curvesHead, curvesSlot.el, curvesEl)),
  );
  let destroy: (() => void) | undefined;
  let width = 0;

  const renderPicks = (s: State) => {
    const ticked = intents.criteria();
    for (const [name, box] of checks) {
      box.checked = ticked.includes(name);
      box.disabled = !box.checked && ticked.length >= MAX_CRITERIA;
    }
    ratio.value = String(Math.round(100 * s.compare.ratio));
    run.disabled = ticked.length < MIN_CRITERIA || !!s.tasks.compare?.running || !s.summary;
    chosen.textContent = ticked.length < MIN_CRITERIA
      ? `Tick ${MIN_CRITERIA}–${MAX_CRITERIA} criteria.`
      : `${ticked.join(' · ')}${ticked.length === MAX_CRITERIA ? ` (at most ${MAX_CRITERIA})` : ''}: the list below compares the first two.`;
    const data = ticked.filter(usesData);
    // the comparison shown says it itself when it ran on synthetic inputs
    const shownSays = s.compare.result?.data?.synthetic && s.compare.result.criteria.join() === ticked.join();
    clear(notes, data.length && !s.settings?.data && !shownSays
      ? h('div', { class: 'note synthetic', role: 'note' }, `⚠ ${data.join(', ')} ${data.length === 1 ? 'scores' : 'score'} channels from the model run on calibration data; none is set (prunelens.calibration.data), so ${data.length === 1 ? 'it runs' : 'they run'} on synthetic inputs: a ranking of how the model responds to noise, not to your task.`)
      : null);
    compareSlot.update(s.tasks.compare);
  };

  const label = (s: State, id: number) => {
    const src = s.groupInfo[id]?.sources ?? s.scan?.targets.find((t) => t.id === id)?.sources ?? s.plan?.groups.find((g) => g.id === id)?.sources;
    return `#${id} ${src?.[0] ?? ''}${src && src.length > 1 ? ` +${src.length - 1}` : ''}`;
  };

  const renderResult = (s: State) => {
    const r = s.compare.result;
    groupSlot.update(s.tasks.group?.error ? s.tasks.group : undefined);
    if (!r) {
      clear(result, s.tasks.compare?.running ? null : h('p', { class: 'empty' }, 'No comparison yet: tick the criteria to compare, then Compare.'));
      clear(groups);
      return;
    }
    const shown = shownGroup(s);
    const rows = agreementRows(r);
    const [a, b] = r.criteria;
    clear(result,
      h('div', { class: 'used muted' },
        `${r.groups.length} prunable groups · overlap at ${pct(r.ratio)} removed · ${r.data ? `data criteria on ${r.data.description}` : 'no data needed'} · ${(r.ms / 1000).toFixed(2)} s`),
      r.data?.synthetic ? h('div', { class: 'note synthetic' }, `⚠ The data criteria were computed on synthetic inputs (${r.data.description}): set prunelens.calibration.data to rank channels by what your data does.`) : null,
      groupSlot.el,
      h('div', { class: 'matrices' },
        h('figure', null, h('figcaption', null, 'Mean Spearman ρ of the channel scores'),
          matrixHeatmap({ criteria: r.criteria, values: r.mean.spearman, name: 'ρ', kind: 'correlation', chart: 'criteria-matrix' })),
        h('figure', null, h('figcaption', null, `Mean overlap of the channels removed at ${pct(r.ratio)}`),
          matrixHeatmap({ criteria: r.criteria, values: r.mean.overlap, name: 'overlap', kind: 'overlap', chart: 'criteria-overlap' }))));
    clear(groups,
      h('h3', null, 'Groups, least agreement first'),
      h('table', { class: 'grid agreement' },
        h('thead', null, h('tr', null, h('th', null, 'Group'), h('th', null, 'Channels'), h('th', null, `ρ ${a}–${b}`),
          ...(r.criteria.length > 2 ? [h('th', null, 'Least ρ (pair)')] : []), h('th', null, `Overlap ${a}–${b}`))),
        h('tbody', null, ...rows.map((row) => h('tr', { class: row.id === shown ? 'selected' : null, 'data-group': row.id },
          h('td', null, h('a', { href: '#', class: 'group-link', onclick: (e) => { e.preventDefault(); controller.select(row.id); } }, label(s, row.id))),
          h('td', null, String(row.channels)),
          h('td', { class: rhoClass(row.first) }, row.first.toFixed(2)),
          ...(r.criteria.length > 2 ? [h('td', { class: rhoClass(row.least) }, `${row.least.toFixed(2)} (${row.pair.join('–')})`)] : []),
          h('td', null, pct(row.overlap)))))));
  };

  const renderCurves = (s: State) => {
    destroy?.();
    destroy = undefined;
    curvesSlot.update(s.tasks.compareScan);
    const r = s.compare.result;
    const group = shownGroup(s);
    if (!r || group === null) {
      clear(curvesHead);
      clear(curvesEl);
      return;
    }
    clear(curvesHead,
      h('h3', null, `Group ${label(s, group)}: loss against channels removed, under each criterion`),
      s.selected !== group ? h('div', { class: 'muted' }, 'The group they agree on least; click another group in the list for its curves.') : null);
    const cc = s.compareCurves;
    if (!cc || cc.group !== group) {
      clear(curvesEl);
      return;
    }
    width = curvesEl.clientWidth || root.clientWidth || 600;
    const c = compareCurves(cc, Math.min(width - 8, 820));
    destroy = c.destroy;
    clear(curvesEl, c.el);
    root.dataset.curvesDrawn = String(performance.now());
  };

  const render = (s: State, prev?: State) => {
    if (!prev || s.compare !== prev.compare || s.settings !== prev.settings || s.tasks.compare !== prev.tasks.compare || s.summary !== prev.summary || s.criterion !== prev.criterion) renderPicks(s);
    if (!prev || s.compare.result !== prev.compare.result || s.groupInfo !== prev.groupInfo || s.selected !== prev.selected || s.tasks.compare !== prev.tasks.compare || s.tasks.group !== prev.tasks.group) renderResult(s);
    if (!prev || s.compareCurves !== prev.compareCurves || s.compare.result !== prev.compare.result || s.selected !== prev.selected || s.groupInfo !== prev.groupInfo
      || (s.tab !== prev.tab && s.tab === 'criteria' && curvesEl.clientWidth !== width)) renderCurves(s);
    else if (s.tasks.compareScan !== prev.tasks.compareScan) curvesSlot.update(s.tasks.compareScan);
  };
  store.subscribe((s, prev) => render(s, prev));
  render(store.get());
  onThemeChange(() => {
    renderResult(store.get());
    renderCurves(store.get());
  });
  new ResizeObserver(() => {
    if (curvesEl.clientWidth && Math.abs(curvesEl.clientWidth - width) > 24) renderCurves(store.get());
  }).observe(curvesEl);
  return root;
}

/** Agreement at a glance: rank correlations below 0.3 are weak, below 0.7 moderate. */
const rhoClass = (r: number) => (r < 0.3 ? 'rho weak' : r < 0.7 ? 'rho moderate' : 'rho strong');
