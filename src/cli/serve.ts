/**
 * `prunelens serve`: the engine as a JSON-RPC 2.0 process over stdio, with LSP's framing, `$/progress` and
 * `$/cancelRequest` (src/shared/protocol.ts). The VS Code extension runs it as a child process, so a native crash in
 * ONNX Runtime ends this process, never the editor.
 */
import rpc from 'vscode-jsonrpc/node.js';
import { CancelledError, errorData, openModel, PruneLensError, type ModelSession, type ProgressFn } from '../core/api.js';
import { ENGINE_METHODS, ErrorCodes, PROTOCOL_VERSION, type EngineMethod, type EngineMethods, type ProgressParams, type WithProgress } from '../shared/protocol.js';
import type { EngineErrorData, OptionName } from '../shared/types.js';

interface Context {
  signal: AbortSignal;
  onProgress?: ProgressFn;
}

type Handler<M extends EngineMethod> = (params: EngineMethods[M]['params'], ctx: Context) => Promise<EngineMethods[M]['result']> | EngineMethods[M]['result'];

/** A parameter of the wrong type: answered as InvalidParams, naming it. */
function bad(option: OptionName, message: string): PruneLensError {
  return new PruneLensError(message, { code: 'invalid-option', option });
}

function need(p: Record<string, unknown>, key: string, type: 'string' | 'object' | 'number', optional = false): void {
  const v = p[key];
  if (v === undefined && optional) return;
  if (v === undefined) throw bad(key as OptionName, `'${key}' is required`);
  if (typeof v !== type || (type === 'object' && (v === null || Array.isArray(v)))) throw bad(key as OptionName, `'${key}' must be ${type === 'object' ? 'an object' : `a ${type}`}`);
}

function responseError(e: unknown): rpc.ResponseError<EngineErrorData> {
  const data = errorData(e);
  const code = data.code === 'cancelled' ? ErrorCodes.RequestCancelled
    : data.code === 'invalid-option' || data.code === 'unknown-id' ? ErrorCodes.InvalidParams
      : data.code === 'internal' ? ErrorCodes.InternalError : ErrorCodes.RequestFailed;
  return new rpc.ResponseError(code, data.message, data);
}

export async function runServe(): Promise<void> {
  // stdout carries the protocol: anything else printed would corrupt it
  console.log = console.info = (...args: unknown[]) => process.stderr.write(args.join(' ') + '\n');
  const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(process.stdin), new rpc.StreamMessageWriter(process.stdout));
  const sessions = new Map<string, ModelSession>();
  let nextId = 1;
  const session = (p: { modelId?: unknown }): ModelSession => {
    if (typeof p.modelId !== 'string') throw bad('modelId', "'modelId' is required (from open)");
    const s = sessions.get(p.modelId);
    if (!s) throw new PruneLensError(`no open model '${p.modelId}' (open it first; close forgets it)`, { code: 'unknown-id', option: 'modelId' });
    return s;
  };

  const handle = <M extends EngineMethod>(method: M, fn: Handler<M>) => {
    connection.onRequest(method, async (params: unknown, token: rpc.CancellationToken) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      const p = (params ?? {}) as EngineMethods[M]['params'] & WithProgress;
      const progressToken = typeof params === 'object' && params ? p.workDoneToken : undefined;
      const send = (value: ProgressParams['value']) => {
        if (progressToken !== undefined) void connection.sendNotification('$/progress', { token: progressToken, value } satisfies ProgressParams);
      };
      let last = 0;
      let phase = '';
      const onProgress: ProgressFn | undefined = progressToken === undefined ? undefined : (e) => {
        const now = Date.now();
        // at most ten a second, but every change of phase
        if (now - last < 100 && e.phase === phase && e.done < e.total) return;
        last = now;
        phase = e.phase;
        send({ kind: 'report', ...e, message: e.message ?? e.phase, ...(e.total > 0 ? { percentage: Math.floor((100 * e.done) / e.total) } : {}) });
      };
      send({ kind: 'begin', title: method, cancellable: true });
      try {
        if (typeof params !== 'object' || params === null || Array.isArray(params)) throw bad('modelId', `${method} takes one object of named parameters`);
        return await fn(p, { signal: controller.signal, onProgress });
      } catch (e) {
        throw responseError(controller.signal.aborted ? new CancelledError() : e);
      } finally {
        send({ kind: 'end' });
      }
    });
  };

  handle('open', async (p, ctx) => {
    need(p as unknown as Record<string, unknown>, 'path', 'string');
    need(p as unknown as Record<string, unknown>, 'inputShapes', 'object', true);
    need(p as unknown as Record<string, unknown>, 'inputValues', 'object', true);
    const s = await openModel(p.path, { inputShapes: p.inputShapes, inputValues: p.inputValues, ...ctx });
    const modelId = `m${nextId++}`;
    sessions.set(modelId, s);
    return { modelId, protocol: PROTOCOL_VERSION, ...s.summary() };
  });
  handle('inspect', (p) => session(p).inspect({ layers: p.layers, groups: p.groups }));
  handle('groups', (p) => {
    if (p.ids !== undefined && !(Array.isArray(p.ids) && p.ids.every(Number.isInteger))) throw bad('modelId', "'ids' must be a list of group ids");
    return session(p).groups(p.ids);
  });
  handle('graph', (p) => session(p).graph());
  handle('estimate', (p) => {
    need(p as unknown as Record<string, unknown>, 'keep', 'object');
    return session(p).estimate(p.keep, { criterion: p.criterion, withinGroup: p.withinGroup });
  });
  handle('scan', (p, ctx) => {
    const { modelId, workDoneToken, ...settings } = p as typeof p & WithProgress;
    void modelId;
    void workDoneToken;
    return session(p).scan({ ...settings, ...ctx });
  });
  handle('plan', (p, ctx) => {
    need(p as unknown as Record<string, unknown>, 'target', 'object');
    const { modelId, workDoneToken, ...opts } = p as typeof p & WithProgress;
    void modelId;
    void workDoneToken;
    return session(p).plan({ ...opts, ...ctx });
  });
  handle('prune', (p, ctx) => {
    const { modelId, workDoneToken, ...opts } = p as typeof p & WithProgress;
    void modelId;
    void workDoneToken;
    return session(p).prune({ ...opts, ...ctx });
  });
  handle('save', (p) => {
    need(p as unknown as Record<string, unknown>, 'variantId', 'string');
    need(p as unknown as Record<string, unknown>, 'path', 'string');
    return session(p).save(p.variantId, p.path, { overwrite: p.overwrite, reports: p.reports, writeRecipe: p.recipe });
  });
  handle('sparsify', (p, ctx) => {
    need(p as unknown as Record<string, unknown>, 'path', 'string');
    need(p as unknown as Record<string, unknown>, 'sparsity', 'object');
    return session(p).sparsify(p.path, p.sparsity, {
      method: p.method, data: p.data, labels: p.labels, preprocess: p.preprocess, samples: p.samples, seed: p.seed, overwrite: p.overwrite, ...ctx,
    });
  });
  handle('compareCriteria', (p, ctx) => {
    if (!Array.isArray(p.criteria)) throw bad('criteria', "'criteria' must be a list of criterion names");
    return session(p).compareCriteria(p.criteria, {
      ratio: p.ratio, data: p.data, labels: p.labels, preprocess: p.preprocess, samples: p.samples, seed: p.seed, ...ctx,
    });
  });
  handle('close', (p) => {
    session(p).close();
    sessions.delete(p.modelId);
    return null;
  });
  connection.onRequest((method: string) => {
    throw new rpc.ResponseError(ErrorCodes.MethodNotFound, `unknown method '${method}' (methods: ${ENGINE_METHODS.join(', ')})`);
  });
  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  connection.listen();
  await closed;
}
