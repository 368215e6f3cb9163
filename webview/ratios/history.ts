/** Undo and redo of the ratio editor: a bounded stack of past states and the states undone since. */

export interface History<T> {
  past: T[];
  future: T[];
}

const LIMIT = 100;

/** `current` is replaced by a new state: it goes on the undo stack and the redo stack is dropped. */
export function record<T>(h: History<T>, current: T): History<T> {
  return { past: [...h.past, current].slice(-LIMIT), future: [] };
}

export function undo<T>(h: History<T>, current: T): { history: History<T>; state: T } | undefined {
  if (!h.past.length) return undefined;
  return { history: { past: h.past.slice(0, -1), future: [current, ...h.future] }, state: h.past[h.past.length - 1] };
}

export function redo<T>(h: History<T>, current: T): { history: History<T>; state: T } | undefined {
  if (!h.future.length) return undefined;
  return { history: { past: [...h.past, current], future: h.future.slice(1) }, state: h.future[0] };
}
