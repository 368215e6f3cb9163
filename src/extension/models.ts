/**
 * The models open in the engine, by file path. A model is opened once per engine process; after a restart the next
 * call opens it again, so callers never hold a stale `modelId`. Requests are routed here with the path, never the id.
 */
import type { EngineMethod, EngineMethods, OpenResult } from '../shared/protocol.js';
import type { EngineClient, RequestOptions } from './engine-client.js';

type ModelMethod = Exclude<EngineMethod, 'open' | 'close'>;

interface Entry {
  generation: number;
  opening: Promise<OpenResult>;
}

export class ModelStore {
  private readonly open = new Map<string, Entry>();

  constructor(private readonly engine: EngineClient) {}

  /** Opens the model (once per engine process) and answers its summary. */
  summary(file: string, opts: RequestOptions = {}): Promise<OpenResult> {
    const e = this.open.get(file);
    // a request starts the engine, so compare generations after that may have happened
    if (e && e.generation === this.engine.currentGeneration) return e.opening;
    const opening = this.engine.request('open', { path: file }, opts);
    const entry: Entry = { generation: -1, opening };
    this.open.set(file, entry);
    entry.generation = this.engine.currentGeneration;
    // a failed open is not remembered: the next call tries again (the file may have been fixed)
    opening.catch(() => {
      if (this.open.get(file) === entry) this.open.delete(file);
    });
    return opening;
  }

  /** Runs a method on the model at `file`. */
  async call<M extends ModelMethod>(file: string, method: M, params: Omit<EngineMethods[M]['params'], 'modelId'>, opts: RequestOptions = {}): Promise<EngineMethods[M]['result']> {
    const { modelId } = await this.summary(file);
    return this.engine.request(method, { ...params, modelId } as EngineMethods[M]['params'], opts);
  }

  /** Forgets a model (its file changed, or no view shows it any more) and frees it in the engine. */
  async close(file: string): Promise<void> {
    const e = this.open.get(file);
    this.open.delete(file);
    if (!e || e.generation !== this.engine.currentGeneration) return;
    try {
      const { modelId } = await e.opening;
      await this.engine.request('close', { modelId });
    } catch {
      // nothing to free: the open failed or the engine is gone
    }
  }
}
