/**
 * The loading, progress and error state of one task, as every view shows it: a progress bar with the engine's
 * message and time left, a Cancel button while it runs, and the error in one sentence (naming the setting to
 * change). A slot is built once and updated in place, so its Cancel button stays put while progress streams in.
 */
import type { Controller } from './controller.js';
import { clear, h } from './dom.js';
import type { Task, TaskName } from './store.js';

export interface TaskSlot {
  el: HTMLElement;
  update(task: Task | undefined): void;
}

export function taskSlot(name: TaskName, controller: Controller, opts: { cancellable?: boolean; idle?: string } = {}): TaskSlot {
  const el = h('div', { class: 'task', 'data-task': name, 'data-state': 'idle' });
  const bar = h('vscode-progress-bar', { 'aria-label': name }) as HTMLElement & { value?: number; indeterminate: boolean };
  const message = h('span', { class: 'task-message' });
  const cancel = opts.cancellable ? h('vscode-button', { secondary: true, class: 'cancel', onclick: () => controller.cancel(name) }, 'Cancel') : null;
  const running = h('div', null, bar, h('div', { class: 'task-line' }, message, cancel));
  const other = h('div');
  el.append(running, other);
  const update = (task: Task | undefined) => {
    const state = task?.running ? 'running' : task?.error ? 'error' : 'idle';
    el.dataset.state = state;
    running.hidden = state !== 'running';
    other.hidden = state === 'running';
    if (task?.running) {
      if (task.percentage !== undefined) {
        bar.indeterminate = false;
        bar.value = task.percentage;
      } else bar.indeterminate = true;
      const eta = task.eta !== undefined && task.eta > 1 ? ` — about ${Math.ceil(task.eta)} s left` : '';
      message.textContent = `${task.message ?? 'Working…'}${task.percentage !== undefined ? ` (${task.percentage} %)` : ''}${eta}`;
    } else if (task?.error) {
      clear(other, h('div', { class: 'error', role: 'alert' }, `⚠ ${task.error.message}`,
        task.error.setting ? h('span', { class: 'muted' }, ` (setting: ${task.error.setting})`) : null));
    } else {
      clear(other, task?.message ? h('div', { class: 'muted' }, task.message) : opts.idle ? h('div', { class: 'muted' }, opts.idle) : null);
    }
  };
  update(undefined);
  return { el, update };
}

/** A slot showing one task once (for places that rebuild their content anyway). */
export function taskStatus(name: TaskName, task: Task | undefined, controller: Controller, opts: { cancellable?: boolean; idle?: string } = {}): HTMLElement {
  const s = taskSlot(name, controller, opts);
  s.update(task);
  return s.el;
}
