/**
 * Errors meant for the user, as data: a code, a one-line message naming the file and the problem, and the request
 * option involved. Messages never name a front end's spelling of an option (a CLI flag, a setting): the CLI maps
 * `option` to its flag, the extension to its setting.
 */
import type { EngineErrorData, ErrorCode, OptionName } from '../shared/types.js';

export interface ErrorDetails {
  /** Default: 'invalid-option' when an option is named, else 'bad-input'. */
  code?: ErrorCode;
  option?: OptionName;
  cause?: unknown;
}

export class PruneLensError extends Error {
  readonly code: ErrorCode;
  readonly option?: OptionName;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PruneLensError';
    this.code = details.code ?? (details.option ? 'invalid-option' : 'bad-input');
    this.option = details.option;
  }

  toData(): EngineErrorData {
    return { code: this.code, message: this.message, ...(this.option ? { option: this.option } : {}) };
  }
}

/** A bad value for a request option: `invalid(option, 'must be in [0, 1), got 2')`. */
export function invalid(option: OptionName, message: string): PruneLensError {
  return new PruneLensError(message, { code: 'invalid-option', option });
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

/** Any thrown value as engine error data (anything that is not ours is an internal error). */
export function errorData(e: unknown): EngineErrorData {
  if (e instanceof PruneLensError) return e.toData();
  if (e instanceof CancelledError) return { code: 'cancelled', message: 'cancelled' };
  return { code: 'internal', message: String((e as Error)?.message ?? e) };
}
