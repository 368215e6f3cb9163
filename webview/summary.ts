/**
 * The Before/After tab: what the pruned variant really is — params, MACs and file size before and after, measured
 * latency, accuracy (with labelled data), the verification against the masked original and what recovery did — and
 * saving it. Recovery and steps are chosen above the tabs (prune-options.ts). Below it, weight sparsity
 * (sparse/view.ts): another way to make a copy, shown here so both results sit side by side.
 */
import type { Controller } from './controller.js';
import { clear, h } from './dom.js';
import { bytes, count, ms, pct } from './format.js';
import { recoveryReport } from './recovery.js';
import { sparsifyView } from './sparse/view.js';
import { staleCriterion } from './stale-plan.js';
import { pruneKey, recoverOf, type State, type Store } from './store.js';
import { taskSlot } from './task-status.js';

export function summaryView(store: Store, controller: Controller): HTMLElement {
  const root = h('section', { class: 'view summary' });
  const actionsEl = h('div');
  const pruneSlot = taskSlot('prune', controller, { cancellable: true });
  const saveSlot = taskSlot('save', controller);
  const body = h('div');
  root.append(actionsEl, pruneSlot.el, saveSlot.el, body, sparsifyView(store, controller));
  const render = (s: State) => {
    pruneSlot.update(s.tasks.prune);
    saveSlot.update(s.tasks.save);
    const p = s.pruned;
    const current = p && s.keep && p.fromKey === pruneKey(s);
    const actions = h('div', { class: 'toolbar' },
      h('vscode-button', { class: 'prune', disabled: !s.keep || !!s.tasks.prune?.running, onclick: () => void controller.prune() }, current ? 'Pruned' : 'Prune and verify'),
      h('vscode-button', { class: 'save-variant', disabled: !s.keep || !!s.tasks.prune?.running, onclick: () => void controller.saveVariant() }, 'Save pruned variant…'));
    const rec = recoverOf(s);
    clear(actionsEl, actions,
      h('div', { class: 'muted will' }, `Prunes ${!s.edited && s.plan ? `the plan's channels (chosen by ${s.plan.settings.criterion})` : 'the edited ratios'}${s.steps > 1 ? ` in ${s.steps} steps` : ' in one shot'}, ${rec.length ? `then recovers (${rec.join('+')})` : 'without recovery'}: change these above the tabs.`),
      staleCriterion(s, controller));
    if (!p) {
      clear(body,
        h('p', { class: 'empty' }, s.keep ? 'Prune the current ratios to measure the variant: it is built, verified against the masked original and timed, but not written until you save it.' : 'Plan first (Ratios tab).'));
      return;
    }
    const r = p.report;
    const row = (name: string | Node, before: string, after: string, change: string) =>
      h('tr', null, h('th', { scope: 'row' }, name), h('td', null, before), h('td', null, after), h('td', null, change));
    const rows = [
      row('Parameters', count(r.before.params), count(r.after.params), `${pct(r.after.params / r.before.params, 1)} kept`),
      row('MACs', count(r.before.macs), count(r.after.macs), `${pct(r.after.macs / r.before.macs, 1)} kept`),
      row('File size', bytes(r.before.bytes), bytes(r.after.bytes), `${pct(r.after.bytes / r.before.bytes, 1)} kept`),
    ];
    if (r.latency) {
      const t = r.latency.threads;
      rows.push(row(`Latency (median of ${r.latency.runs} runs, ${t === 0 ? 'all cores' : `${t} thread${t === 1 ? '' : 's'}`})`, ms(r.latency.beforeMs), ms(r.latency.afterMs), `${r.latency.speedup.toFixed(2)}× faster`));
    }
    if (r.accuracy) {
      // recovery fits on part of the same data, so this accuracy flatters it; its table below is on held-out samples
      const fitted = r.recovery && !r.recovery.data.synthetic;
      const name = h('span', null, `Top-1 accuracy (${r.accuracy.samples} samples)`,
        fitted ? h('div', { class: 'muted fitted-on' }, 'recovery fitted on some of them; held-out below') : null);
      rows.push(row(name, pct(r.accuracy.before, 1), pct(r.accuracy.after, 1), `${((r.accuracy.after - r.accuracy.before) * 100).toFixed(1)} points`));
      rows.push(row('Top-5 accuracy', pct(r.accuracy.top5Before, 1), pct(r.accuracy.top5After, 1), `${((r.accuracy.top5After - r.accuracy.top5Before) * 100).toFixed(1)} points`));
    }
    const v = r.verification;
    // agreement on inputs that excite nothing proves nothing: then the variant is not called verified
    const verified = v.passed && v.exercised !== false;
    clear(body,
      current ? null : h('div', { class: 'note' }, 'The ratios, criterion or recovery changed since this variant was pruned: prune again to measure them.'),
      h('table', { class: 'grid before-after' },
        h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'Before'), h('th', null, 'After'), h('th', null, 'Change'))),
        h('tbody', null, ...rows)),
      h('p', { class: verified ? 'verified' : 'error' },
        verified ? '✓ Verified: ' : v.passed ? '⚠ Not verified: ' : '✗ Not verified: ',
        v.passed && v.exercised === false
          ? `the outputs stayed silent on the ${v.samples} samples it was checked on (${v.degenerate?.join('; ') || 'degenerate outputs'}), so agreement proves nothing; give calibration data (prunelens.calibration.data).`
          : `the pruned model computes what the masked original computes on ${v.samples} samples (${v.inputs.real ? v.inputs.real.description : v.inputs.random.description ?? 'seeded random inputs'}); largest relative error ${v.maxRelError.toExponential(2)}.`),
      v.silenced?.length ? h('p', { class: 'error' }, `⚠ Outputs the original fills and the variant leaves silent: ${v.silenced.join('; ')}.`) : null,
      recoveryReport(r),
      h('p', { class: 'muted' }, `Criterion ${r.criterion}, ${r.groups.length} groups pruned${r.recipe ? `, from a ${r.recipe.settings.strategy} plan` : ', from edited ratios'}${r.steps ? ` in ${r.steps.length} steps` : ''}${r.recovery ? `, recovered by ${r.recovery.methods.join('+')}` : ''}.`),
      s.saved ? h('p', { class: 'saved' },
        // another prune (other ratios, criterion or recovery) makes a new variant: the file saved is an earlier one
        s.saved.fromKey === undefined || s.saved.fromKey === p.fromKey ? `Saved as ${s.saved.path} (${bytes(s.saved.bytes)}). ` : `Not saved yet; the last variant saved (an earlier one) is ${s.saved.path}. `,
        s.saved.reports ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); void controller.openFile(s.saved!.reports!.markdown); } }, 'Open report') : null) : null);
  };
  store.subscribe((s, prev) => {
    if (s.pruned !== prev.pruned || s.keep !== prev.keep || s.tasks.prune !== prev.tasks.prune || s.tasks.save !== prev.tasks.save || s.saved !== prev.saved
      || s.criterion !== prev.criterion || s.recover !== prev.recover || s.steps !== prev.steps || s.settings !== prev.settings || s.plan !== prev.plan || s.edited !== prev.edited) render(s);
  });
  render(store.get());
  return root;
}
