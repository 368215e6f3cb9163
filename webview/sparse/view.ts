/**
 * Weight sparsity, a section of the Before/After tab: the sparsity and method, the Sparsify… button, and what the
 * engine reported about the copy it wrote — how many layers the method handled and how many fell back to magnitude,
 * the quality dense → sparse on held-out samples, and, plainly, that zeroed weights make the file no smaller and
 * dense kernels no faster.
 */
import type { SparsityMethod } from '../../src/shared/types.js';
import type { SparsifiedModel } from '../../src/shared/webview.js';
import type { Controller } from '../controller.js';
import { clear, h } from '../dom.js';
import { bytes, count, pct } from '../format.js';
import { METRICS } from '../recovery.js';
import type { State, Store } from '../store.js';
import { taskSlot } from '../task-status.js';
import { blocked, METHODS, methodUsesData, SPARSITIES, sparsityChoice } from './intents.js';

type Select = HTMLElement & { value: string; disabled: boolean };

/** What sparsity is judged by: accuracy with labels, agreement for classifiers, and the output's relative L2. */
const JUDGED_BY = new Set(['accuracy', 'agreement', 'rel-l2']);

export function sparsifyView(store: Store, controller: Controller): HTMLElement {
  const choice = h('vscode-single-select', { class: 'sparsity', 'aria-label': 'Sparsity' },
    ...SPARSITIES.map((c) => h('vscode-option', { value: c.value, description: c.what }, c.label))) as Select;
  const method = h('vscode-single-select', { class: 'sparsity-method', 'aria-label': 'Sparsity method' },
    ...METHODS.map((m) => h('vscode-option', { value: m.method, description: m.what }, m.method))) as Select;
  choice.addEventListener('change', () => controller.sparse.setChoice(choice.value));
  method.addEventListener('change', () => controller.sparse.setMethod(method.value as SparsityMethod));
  const button = h('vscode-button', { class: 'run-sparsify', onclick: () => void controller.sparse.sparsify() }, 'Sparsify…') as HTMLElement & { disabled: boolean };
  const notes = h('div', { class: 'sparsify-notes' });
  const slot = taskSlot('sparsify', controller, { cancellable: true });
  const result = h('div', { class: 'sparsify-result' });
  const root = h('section', { class: 'sparsify' },
    h('h3', null, 'Weight sparsity'),
    h('p', { class: 'muted' }, 'Zeroes weights instead of removing channels, to measure what unstructured or N:M sparsity costs; writes a copy, independent of the ratios above.'),
    h('div', { class: 'toolbar' }, h('label', null, 'Sparsity'), choice, h('label', null, 'Method'), method, button),
    notes, slot.el, result);

  const render = (s: State) => {
    const c = sparsityChoice(s);
    const m = s.sparse.method;
    choice.value = c.value;
    choice.title = c.what;
    method.value = m;
    method.title = METHODS.find((x) => x.method === m)?.what ?? '';
    const running = !!s.tasks.sparsify?.running;
    choice.disabled = running;
    method.disabled = running;
    button.disabled = running || !!blocked(s);
    slot.update(s.tasks.sparsify);
    const st = s.settings;
    const data = st?.data?.split(/[\\/]/).pop();
    clear(notes,
      methodUsesData(m)
        ? data
          ? h('div', { class: 'muted' }, `${m} chooses the weights from the model run on ${data} (at most ${st!.samples} samples: three quarters fitted on, the rest judged on).`)
          // the engine refuses Wanda and OBS on synthetic inputs: noise says nothing about which weights matter
          : h('div', { class: 'note synthetic' }, `⚠ ${m} chooses the weights from the model run on calibration data, and none is set (prunelens.calibration.data): on synthetic inputs it would rank weights by how the model responds to noise, so the engine does not run it. Set the data, or use magnitude.`)
        : h('div', { class: 'muted' }, data
          ? `The result is judged against the dense model on held-out samples of ${data}.`
          : 'Without calibration data (prunelens.calibration.data) the result is not judged on samples.'));
    clear(result, s.sparsified ? report(s.sparsified) : null);
  };
  store.subscribe((s, prev) => {
    if (s.sparse !== prev.sparse || s.sparsified !== prev.sparsified || s.tasks.sparsify !== prev.tasks.sparsify || s.settings !== prev.settings) render(s);
  });
  render(store.get());
  return root;
}

function report(r: SparsifiedModel): HTMLElement {
  const what = r.sparsity.kind === 'nm' ? `${r.sparsity.n}:${r.sparsity.m}` : pct(r.sparsity.ratio);
  const q = r.quality;
  const layers = r.layers
    ? `${r.layers.length} layer${r.layers.length === 1 ? '' : 's'} by ${r.method}, ${r.magnitudeLayers ?? 0} by magnitude (layers ${r.method} does not handle: grouped convolutions, ConvTranspose, …).`
    : 'Every layer by magnitude.';
  const rows = q ? METRICS.filter((m) => JUDGED_BY.has(m.key) && q.dense[m.key] !== undefined && q.sparse[m.key] !== undefined)
    .map((m) => h('tr', { 'data-metric': m.key }, h('th', { scope: 'row' }, m.name), h('td', null, m.fmt(q.dense[m.key]!)), h('td', null, m.fmt(q.sparse[m.key]!)))) : [];
  return h('div', null,
    h('p', { class: 'sparsified' }, `${what} sparsity by ${r.method}: ${count(r.zeroedWeights)} of ${count(r.weights)} weights zeroed (${pct(r.zeroedWeights / r.weights, 1)}) in ${(r.ms / 1000).toFixed(1)} s. `, h('span', { class: 'muted' }, layers)),
    q ? h('table', { class: 'grid sparsity-quality' },
      h('thead', null, h('tr', null, h('th', null, `On ${q.data.judged}`), h('th', null, 'Dense'), h('th', null, 'Sparse'))),
      h('tbody', null, ...rows)) : h('p', { class: 'muted' }, 'Not judged on samples: no calibration data was set.'),
    q?.data.fitted ? h('p', { class: 'muted' }, `${r.method} fitted on ${q.data.fitted}; the table is on samples it did not fit on.`) : null,
    q?.data.synthetic ? h('div', { class: 'note synthetic' }, '⚠ Judged on synthetic inputs: agreement on noise says little about your task.') : null,
    h('p', { class: 'saved' }, `Saved as ${r.output} (${bytes(r.bytes)}).`),
    h('div', { class: 'note sparsity-note' }, r.note));
}
