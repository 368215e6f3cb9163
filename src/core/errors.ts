/**
 * Errors meant for the user: a one-line message naming the file and the problem.
 * Front ends print `message` alone (no stack) and exit with `exitCode`.
 */
export class PruneLensError extends Error {
  constructor(message: string, readonly exitCode = 2, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PruneLensError';
  }
}

/** Thrown when an AbortSignal fires; front ends treat it as a clean stop, not a failure. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}
