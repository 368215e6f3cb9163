/**
 * The webview's side of the host protocol (src/shared/webview.ts): calls with ids, progress and cancel, messages
 * the host pushes, and the state VS Code keeps for the webview across reloads (setState/getState).
 */
import type { ProgressValue } from '../src/shared/protocol.js';
import type { CallError, CallMethod, CallParams, CallResult, ToHost, ToWebview } from '../src/shared/webview.js';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** A call that failed: `error` is what to show. */
export class CallFailed extends Error {
  constructor(readonly error: CallError) {
    super(error.message);
  }
  get cancelled(): boolean {
    return this.error.cancelled === true;
  }
}

export interface Call<T> {
  readonly id: number;
  readonly result: Promise<T>;
  cancel(): void;
}

type Pushed = Exclude<ToWebview, { type: 'result' | 'error' | 'progress' }>;

export class Host {
  private readonly api: VsCodeApi = acquireVsCodeApi();
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: CallFailed) => void; onProgress?: (v: ProgressValue) => void }>();
  private readonly listeners = new Set<(m: Pushed) => void>();

  constructor() {
    window.addEventListener('message', (e: MessageEvent<ToWebview>) => this.receive(e.data));
  }

  call<M extends CallMethod>(method: M, params: CallParams<M>, onProgress?: (v: ProgressValue) => void): Call<CallResult<M>> {
    const id = this.next++;
    const result = new Promise<CallResult<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
    });
    this.send({ type: 'call', id, method, params, ...(onProgress ? { progress: true } : {}) });
    return { id, result, cancel: () => this.send({ type: 'cancel', id }) };
  }

  send(msg: ToHost): void {
    this.api.postMessage(msg);
  }

  on(fn: (m: Pushed) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  getState<T>(): T | undefined {
    return (this.api.getState() ?? undefined) as T | undefined;
  }

  setState(state: unknown): void {
    this.api.setState(state);
  }

  private receive(m: ToWebview): void {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'result' || m.type === 'error' || m.type === 'progress') {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') p.onProgress?.(m.value);
      else {
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve(m.result);
        else p.reject(new CallFailed(m.error));
      }
      return;
    }
    for (const fn of this.listeners) fn(m);
  }
}
