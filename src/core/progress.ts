/**
 * Progress and cancellation shared by every long-running engine call. Both are plain data / standard objects so
 * the same calls work on the CLI, in a worker thread, or behind a VS Code progress notification.
 */
export interface ProgressEvent {
  /** What is happening, e.g. "read", "decode", "shapes". */
  phase: string;
  /** Units done and total in this phase (bytes, nodes, steps); total 0 when unknown. */
  done: number;
  total: number;
  message?: string;
  /** Estimated seconds left in this phase, when the engine can tell. */
  eta?: number;
}

export type ProgressFn = (event: ProgressEvent) => void;

export interface TaskOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}
