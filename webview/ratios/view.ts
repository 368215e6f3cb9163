/**
 * The Ratios tab: target and strategy for a plan, the live estimate (params, MACs, file size) of the current ratios,
 * undo/redo, recipes, the warnings, and one bar per group to drag or type. Rows are made once per plan and
 * updated in place, so a drag touches one row and one estimate at a time.
 */
import type { PlanWarning } from '../../src/shared/types.js';
import type { Controller } from '../controller.js';
import { clear, h } from '../dom.js';
import { bytes, count, pct } from '../format.js';
import type { State, Store } from '../store.js';
import { staleCriterion } from '../stale-plan.js';
import { taskSlot } from '../task-status.js';
import { currentWarnings, editorRows, type EditorRow } from './rows.js';

type Field = HTMLElement & { value: string };

export function ratiosView(store: Store, controller: Controller): HTMLElement {
  const root = h('section', { class: 'view ratios' });
  const targetKind = h('vscode-single-select', { 'aria-label': 'Target', class: 'target-kind' },
    h('vscode-option', { value: 'macs' }, 'MACs'), h('vscode-option', { value: 'params' }, 'Parameters'), h('vscode-option', { value: 'latency' }, 'Latency (measured)')) as Field;
  const targetKeep = h('vscode-textfield', { type: 'number', min: 1, max: 100, step: 1, class: 'target-keep', 'aria-label': 'Percent to keep' }) as Field;
  const strategy = h('vscode-single-select', { 'aria-label': 'Strategy', class: 'strategy' },
    h('vscode-option', { value: 'sensitivity' }, 'sensitivity'), h('vscode-option', { value: 'uniform' }, 'uniform'),
    h('vscode-option', { value: 'global' }, 'global'), h('vscode-option', { value: 'ensemble' }, 'ensemble')) as Field;
  const planButton = h('vscode-button', { class: 'plan', onclick: () => void controller.plan() }, 'Plan');
  targetKind.addEventListener('change', () => controller.setTarget({ ...store.get().target, kind: targetKind.value as 'macs' }));
  targetKeep.addEventListener('change', () => {
    const v = Number(targetKeep.value);
    if (v > 0 && v <= 100) controller.setTarget({ ...store.get().target, keep: v / 100 });
  });
  strategy.addEventListener('change', () => controller.setStrategy(strategy.value as 'uniform'));

  const scanSlot = taskSlot('scan', controller, { cancellable: true });
  const planSlot = taskSlot('plan', controller, { cancellable: true });
  const scanHint = h('div', { class: 'muted' });
  const planNote = h('div');
  const planStatus = h('div', { class: 'status-slot' }, scanSlot.el, scanHint, planSlot.el, planNote);
  const estimate = h('div', { class: 'estimate' });
  const undoB = h('vscode-button', { secondary: true, class: 'undo', title: 'Undo (Ctrl+Z)', onclick: () => controller.undo() }, 'Undo');
  const redoB = h('vscode-button', { secondary: true, class: 'redo', title: 'Redo (Ctrl+Shift+Z)', onclick: () => controller.redo() }, 'Redo');
  const saveVariant = h('vscode-button', { class: 'save-variant', onclick: () => void controller.saveVariant() }, 'Save pruned variant…');
  const pruneSlot = taskSlot('prune', controller, { cancellable: true });
  const saveSlot = taskSlot('save', controller);
  const recipeSlot = taskSlot('recipe', controller);
  const savedLine = h('div', { class: 'saved' });
  const actionStatus = h('div', { class: 'status-slot' }, pruneSlot.el, saveSlot.el, recipeSlot.el, savedLine);
  const warnings = h('div', { class: 'warnings' });
  const list = h('div', { class: 'rows', role: 'list' });
  root.append(
    h('div', { class: 'toolbar' }, h('label', null, 'Keep'), targetKeep, h('span', null, '% of'), targetKind, h('label', null, 'Strategy'), strategy, planButton),
    planStatus,
    estimate,
    h('div', { class: 'toolbar' }, undoB, redoB,
      h('vscode-button', { secondary: true, onclick: () => void controller.loadRecipe() }, 'Load recipe…'),
      h('vscode-button', { secondary: true, onclick: () => void controller.saveRecipe() }, 'Save recipe…'),
      saveVariant),
    actionStatus, warnings, list,
  );

  // keyboard undo/redo anywhere in the panel except text fields
  window.addEventListener('keydown', (e) => {
    if (store.get().tab !== 'ratios' || !(e.ctrlKey || e.metaKey) || (e.target as HTMLElement).tagName === 'VSCODE-TEXTFIELD') return;
    const k = e.key.toLowerCase();
    if (k === 'z' && !e.shiftKey) controller.undo();
    else if ((k === 'z' && e.shiftKey) || k === 'y') controller.redo();
    else return;
    e.preventDefault();
  });

  const rowEls = new Map<number, RowEl>();
  let rowsOf: unknown;

  const renderRows = (s: State) => {
    const rows = editorRows(s);
    const maxRatio = s.plan?.settings.maxRatio ?? s.settings?.maxRatio ?? 1;
    if (rowsOf !== (s.plan ?? s.scan)) {
      rowsOf = s.plan ?? s.scan;
      rowEls.clear();
      clear(list, ...rows.map((r) => {
        const el = makeRow(r, maxRatio, controller);
        rowEls.set(r.id, el);
        return el.root;
      }));
      if (!rows.length) list.append(h('p', { class: 'empty' }, s.tasks.plan?.running || s.tasks.scan?.running ? '' : 'No plan yet: choose a target and a strategy, then Plan.'));
    }
    const adjusted = new Map((s.estimate?.adjusted ?? []).map((a) => [a.group, a.why]));
    for (const r of rows) rowEls.get(r.id)?.update(r, s.selected === r.id, adjusted.get(r.id));
  };

  const renderEstimate = (s: State) => {
    const e = s.estimate;
    if (!e) {
      clear(estimate, s.keep ? h('span', { class: 'muted' }, 'Estimating…') : null);
      return;
    }
    const item = (name: string, before: number, after: number, fmt: (n: number) => string) =>
      h('div', { class: 'metric', 'data-metric': name },
        h('div', { class: 'metric-name' }, name),
        h('div', { class: 'metric-value' }, `${fmt(before)} → ${fmt(after)}`),
        h('div', { class: 'metric-ratio' }, `${pct(after / before, 1)} kept`));
    const last = s.estimateMs.at(-1);
    const recent = [...s.estimateMs.slice(-50)].sort((a, b) => a - b);
    const median = recent.length ? recent[Math.floor(recent.length / 2)] : undefined;
    clear(estimate,
      item('Parameters', e.before.params, e.params, count),
      item('MACs', e.before.macs, e.macs, count),
      item('File size', e.before.bytes, e.bytes, bytes),
      h('div', { class: 'muted rt', title: 'Round trip of the estimates: webview → host → engine and back', 'data-median-ms': median?.toFixed(2) },
        last !== undefined ? `estimate ${last.toFixed(1)} ms${recent.length > 2 ? ` (median of ${recent.length}: ${median!.toFixed(1)} ms)` : ''}` : ''),
      s.tasks.estimate?.error ? h('div', { class: 'error' }, s.tasks.estimate.error.message) : null);
  };

  const renderWarnings = (s: State) => {
    const { warnings: ws, stale } = currentWarnings(s);
    if (!ws.length) {
      clear(warnings, s.plan ? h('div', { class: 'muted' }, 'No warnings.') : null);
      return;
    }
    clear(warnings,
      h('h3', null, `Warnings (${ws.length})`),
      stale ? h('div', { class: 'muted' }, 'These come from the plan; ratios edited since are checked for layer collapse only.') : null,
      h('ul', { class: 'warning-list' }, ...ws.map((w) => warningItem(w, controller))));
  };

  const render = (s: State, prev?: State) => {
    if (!prev || s.target !== prev.target) {
      targetKind.value = s.target.kind;
      targetKeep.value = String(Math.round(100 * s.target.keep));
    }
    if (!prev || s.strategy !== prev.strategy) strategy.value = s.strategy;
    if (!prev || s.tasks.plan !== prev.tasks.plan || s.tasks.scan !== prev.tasks.scan) {
      (planButton as HTMLElement & { disabled: boolean }).disabled = !!(s.tasks.plan?.running || s.tasks.scan?.running);
      scanSlot.update(s.tasks.scan?.running ? s.tasks.scan : undefined);
      scanHint.hidden = !s.tasks.scan?.running;
      scanHint.textContent = `The ${s.strategy} strategy needs a sensitivity scan first. To plan without one, cancel it and choose uniform or global.`;
      planSlot.update(s.tasks.plan);
    }
    if (!prev || s.estimate !== prev.estimate || s.keep !== prev.keep || s.tasks.estimate !== prev.tasks.estimate) renderEstimate(s);
    if (!prev || s.history !== prev.history) {
      (undoB as HTMLElement & { disabled: boolean }).disabled = !s.history.past.length;
      (redoB as HTMLElement & { disabled: boolean }).disabled = !s.history.future.length;
    }
    if (!prev || s.keep !== prev.keep || s.tasks.prune !== prev.tasks.prune || s.tasks.save !== prev.tasks.save || s.tasks.recipe !== prev.tasks.recipe || s.saved !== prev.saved) {
      (saveVariant as HTMLElement & { disabled: boolean }).disabled = !s.keep || !!s.tasks.prune?.running;
      pruneSlot.update(s.tasks.prune);
      saveSlot.update(s.tasks.save);
      recipeSlot.update(s.tasks.recipe);
      clear(savedLine, ...(s.saved ? [`Saved ${s.saved.name} (${bytes(s.saved.bytes)}) `,
        s.saved.reports ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); void controller.openFile(s.saved!.reports!.markdown); } }, 'Open report') : null] : []));
    }
    if (!prev || s.plan !== prev.plan || s.keep !== prev.keep || s.edited !== prev.edited) renderWarnings(s);
    if (!prev || s.plan !== prev.plan || s.edited !== prev.edited || s.criterion !== prev.criterion || s.settings !== prev.settings) clear(planNote, staleCriterion(s, controller));
    if (!prev || s.plan !== prev.plan || s.scan !== prev.scan || s.keep !== prev.keep || s.selected !== prev.selected || s.estimate !== prev.estimate) renderRows(s);
    if (prev && s.selected !== prev.selected && s.selected !== null) rowEls.get(s.selected)?.root.scrollIntoView({ block: 'nearest' });
  };
  store.subscribe(render);
  render(store.get());
  return root;
}

function warningItem(w: PlanWarning, controller: Controller): HTMLElement {
  return h('li', { class: `warning warning-${w.kind}` },
    h('vscode-badge', { variant: 'counter' }, w.kind),
    ' ',
    w.group !== undefined ? h('a', { href: '#', class: 'group-link', onclick: (e) => { e.preventDefault(); controller.select(w.group!); } }, `group ${w.group}`) : null,
    w.group !== undefined ? ': ' : '',
    w.message,
    h('div', { class: 'muted fix' }, `Fix: ${w.fix}`));
}

interface RowEl {
  root: HTMLElement;
  update(r: EditorRow, selected: boolean, adjusted?: string): void;
}

/** One group: label, a track with the planned fill and the maximum marker (drag or arrow keys), and a kept field. */
function makeRow(r: EditorRow, maxRatio: number, controller: Controller): RowEl {
  const fill = h('div', { class: 'fill' });
  const marker = h('div', { class: 'max', title: `maximum ratio ${pct(maxRatio)}` });
  marker.style.left = `${100 * maxRatio}%`;
  const track = h('div', { class: 'track', tabindex: 0, role: 'slider', 'aria-label': `channels removed from group ${r.id}`, 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill, marker);
  const field = h('vscode-textfield', { type: 'number', min: 1, max: r.channels, class: 'kept', 'aria-label': `channels kept in group ${r.id}` }) as Field;
  const ratioText = h('span', { class: 'ratio' });
  const root = h('div', { class: 'row', role: 'listitem', 'data-group': r.id },
    h('a', { href: '#', class: 'row-label', title: r.sources.join(', '), onclick: (e) => { e.preventDefault(); controller.select(r.id); } },
      h('span', { class: 'gid' }, `#${r.id}`), ` ${r.sources[0] ?? ''}${r.sources.length > 1 ? ` +${r.sources.length - 1}` : ''}`),
    track, field, h('span', { class: 'of' }, `/ ${r.channels}`), ratioText);
  let channels = r.channels;
  let kept = r.kept;
  const keptAt = (clientX: number) => {
    const box = track.getBoundingClientRect();
    const ratio = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return Math.min(channels, Math.max(1, Math.round(channels * (1 - ratio))));
  };
  track.addEventListener('pointerdown', (e) => {
    track.setPointerCapture(e.pointerId);
    controller.beginEdit();
    controller.select(r.id);
    controller.editKeep(r.id, keptAt(e.clientX));
  });
  track.addEventListener('pointermove', (e) => {
    if (track.hasPointerCapture(e.pointerId)) controller.editKeep(r.id, keptAt(e.clientX));
  });
  const release = (e: PointerEvent) => {
    if (!track.hasPointerCapture(e.pointerId)) return;
    track.releasePointerCapture(e.pointerId);
    controller.endEdit();
  };
  track.addEventListener('pointerup', release);
  track.addEventListener('pointercancel', release);
  track.addEventListener('keydown', (e) => {
    const d = e.key === 'ArrowLeft' ? 1 : e.key === 'ArrowRight' ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    controller.beginEdit();
    controller.editKeep(r.id, Math.min(channels, Math.max(1, kept + d)));
    controller.endEdit();
  });
  field.addEventListener('change', () => {
    const v = Math.round(Number(field.value));
    if (!(v >= 1 && v <= channels)) {
      field.value = String(kept);
      return;
    }
    controller.beginEdit();
    controller.editKeep(r.id, v);
    controller.endEdit();
  });
  return {
    root,
    update(row, selected, adjusted) {
      channels = row.channels;
      kept = row.kept;
      fill.style.width = `${100 * row.ratio}%`;
      track.setAttribute('aria-valuenow', String(Math.round(100 * row.ratio)));
      if (document.activeElement !== field) field.value = String(row.kept);
      ratioText.textContent = `${pct(row.ratio)} removed${row.predictedLoss !== undefined ? ` · loss ${row.predictedLoss.toFixed(3)}` : ''}`;
      root.classList.toggle('selected', selected);
      root.classList.toggle('over-max', row.ratio > maxRatio + 1e-9);
      root.classList.toggle('collapsed', row.kept <= 1 && row.channels > 1);
      root.title = adjusted ? `Adjusted by the engine: ${adjusted}` : '';
    },
  };
}
