/** A note for the Ratios and Before/After tabs when the plan's channels were chosen by another criterion than the panel's. */
import type { Controller } from './controller.js';
import { h } from './dom.js';
import { criterionOf, type State } from './store.js';

/** The plan's channels were chosen by another criterion than the panel's: say so, and offer to plan again. */
export function staleCriterion(s: State, controller: Controller): HTMLElement | null {
  const planned = s.plan?.settings.criterion;
  const c = criterionOf(s);
  if (!planned || s.edited || planned === c) return null;
  return h('div', { class: 'note stale-criterion' },
    `This plan's channels were chosen by ${planned}; the panel's criterion is ${c}. Pruning it as it is keeps them: `,
    h('a', { href: '#', onclick: (e) => { e.preventDefault(); void controller.plan(); } }, `plan again by ${c}`), '.');
}
