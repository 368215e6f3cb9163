/**
 * The panel's pruning options, above its tabs: the criterion (what ranks channels inside a group, for every scan,
 * plan, estimate and prune of this panel), recovery without training and the steps of gradual pruning (for the
 * variants it prunes). They start from the settings and override them for this panel; the line below says when
 * data criteria or recovery will run on synthetic inputs.
 */
import type { CriterionName } from '../src/shared/types.js';
import type { Controller } from './controller.js';
import { CRITERIA, criterionInfo, FAMILIES, RECOVERY, recoveryMethods, recoveryValue, usesData } from './criteria.js';
import { clear, h } from './dom.js';
import { criterionOf, recoverOf, type State, type Store } from './store.js';

type Select = HTMLElement & { value: string; disabled: boolean };

const STEPS = [1, 2, 3, 4, 5];

export function pruneOptions(store: Store, controller: Controller): HTMLElement {
  const criterion = h('vscode-single-select', { class: 'criterion', 'aria-label': 'Criterion' },
    ...FAMILIES.flatMap((f) => [
      // vscode-single-select has no option groups: a disabled option heads each family
      h('vscode-option', { disabled: true, class: 'family-head', value: `family:${f.family}` }, `${f.title}`),
      ...CRITERIA.filter((c) => c.family === f.family).map((c) => h('vscode-option', { value: c.name, description: c.what }, c.name)),
    ])) as Select;
  const recovery = h('vscode-single-select', { class: 'recovery', 'aria-label': 'Recovery' },
    ...RECOVERY.map((r) => h('vscode-option', { value: r.value, description: r.what }, r.label))) as Select;
  const steps = h('vscode-single-select', { class: 'steps', 'aria-label': 'Steps', title: 'Gradual pruning: k rounds of prune → recover, each removing 1/k of the channels, scored again on the model as it is' },
    ...STEPS.map((k) => h('vscode-option', { value: String(k), description: k === 1 ? 'Prune at once.' : `${k} rounds of prune → recover, each removing 1/${k} of the channels.` }, k === 1 ? '1 (one shot)' : `${k} (gradual)`))) as Select;
  criterion.addEventListener('change', () => {
    if (CRITERIA.some((c) => c.name === criterion.value)) void controller.setCriterion(criterion.value as CriterionName);
  });
  recovery.addEventListener('change', () => controller.setRecovery(recoveryMethods(recovery.value)));
  steps.addEventListener('change', () => controller.setSteps(Number(steps.value)));
  const notes = h('div', { class: 'options-notes' });
  const root = h('div', { class: 'prune-options' },
    h('div', { class: 'toolbar' },
      h('label', null, 'Criterion'), criterion,
      h('label', null, 'Recovery'), recovery,
      h('label', null, 'Steps'), steps),
    notes);

  const render = (s: State) => {
    const c = criterionOf(s);
    const rec = recoverOf(s);
    criterion.value = c;
    criterion.title = `${c}: ${criterionInfo(c).what}`;
    recovery.value = recoveryValue(rec);
    recovery.title = RECOVERY.find((r) => r.value === recovery.value)?.what ?? '';
    steps.value = String(s.steps);
    const busy = !!(s.tasks.scan?.running || s.tasks.plan?.running || s.tasks.prune?.running);
    criterion.disabled = busy;
    recovery.disabled = !!s.tasks.prune?.running;
    steps.disabled = !!s.tasks.prune?.running;
    const st = s.settings;
    const lines: HTMLElement[] = [];
    if (usesData(c)) {
      lines.push(st?.data
        ? h('div', { class: 'muted' }, `${c} scores channels from the model run on ${st.data.split(/[\\/]/).pop()} (${st.samples} samples).`)
        : h('div', { class: 'note synthetic' }, `⚠ ${c} scores channels from the model run on calibration data, and none is set (prunelens.calibration.data): it will run on synthetic inputs, which rank channels by how the model responds to noise, not to your task.`));
    }
    if (rec.length && !st?.data) {
      lines.push(h('div', { class: 'note synthetic' }, `⚠ Recovery (${rec.join('+')}) will fit on synthetic inputs (no prunelens.calibration.data): it pulls the pruned model back towards the original on noise, which may not carry over to real inputs.`));
    }
    if (st && (s.criterion !== null && s.criterion !== st.criterion)) lines.push(h('div', { class: 'muted' }, `This panel uses ${c}; the setting prunelens.criterion is ${st.criterion}.`));
    clear(notes, ...lines);
  };
  store.subscribe((s, prev) => {
    if (s.criterion !== prev.criterion || s.recover !== prev.recover || s.steps !== prev.steps || s.settings !== prev.settings
      || s.tasks.scan !== prev.tasks.scan || s.tasks.plan !== prev.tasks.plan || s.tasks.prune !== prev.tasks.prune) render(s);
  });
  render(store.get());
  return root;
}
