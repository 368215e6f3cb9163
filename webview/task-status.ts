/**
 * The loading, progress and error state of one task, as every view shows it: a progress bar with the engine's
 * message and time left, a Cancel button while it runs, and the error in one sentence (naming the setting to change).
 */
import type { Controller } from './controller.js';
import { h } from './dom.js';
import type { Task, TaskName } from './store.js';

export function taskStatus(name: TaskName, task: Task | undefined, controller: Controller, opts: { cancellable?: boolean; idle?: string } = {}): HTMLElement {
  const box = h('div', { class: 'task', 'data-task': name, 'data-state': task?.running ? 'running' : task?.error ? 'error' : 'idle' });
  if (task?.running) {
    const bar = h('vscode-progress-bar', { 'aria-label': task.message ?? name }) as HTMLElement & { value?: number; indeterminate: boolean };
    if (task.percentage !== undefined) bar.value = task.percentage;
    else bar.indeterminate = true;
    const eta = task.eta !== undefined && task.eta > 1 ? ` — about ${Math.ceil(task.eta)} s left` : '';
    box.append(
      bar,
      h('div', { class: 'task-line' },
        h('span', { class: 'task-message' }, `${task.message ?? 'Working…'}${task.percentage !== undefined ? ` (${task.percentage} %)` : ''}${eta}`),
        opts.cancellable ? h('vscode-button', { secondary: true, class: 'cancel', onclick: () => controller.cancel(name) }, 'Cancel') : null),
    );
  } else if (task?.error) {
    box.append(h('div', { class: 'error', role: 'alert' },
      h('span', { class: 'codicon-like' }, '⚠ '),
      task.error.message,
      task.error.setting ? h('span', { class: 'muted' }, ` (setting: ${task.error.setting})`) : null));
  } else if (task?.message) {
    box.append(h('div', { class: 'muted' }, task.message));
  } else if (opts.idle) {
    box.append(h('div', { class: 'muted' }, opts.idle));
  }
  return box;
}
