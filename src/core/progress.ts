/**
 * Progress and cancellation shared by every long-running engine call: plain data and a standard AbortSignal, so the
 * same calls work in the CLI, in the engine process, or behind a VS Code progress notification.
 */
import type { ProgressEvent } from '../shared/types.js';

export type { ProgressEvent } from '../shared/types.js';

export type ProgressFn = (event: ProgressEvent) => void;

export interface TaskOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}
