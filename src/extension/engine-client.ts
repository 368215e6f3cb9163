/**
 * The engine process client: starts `prunelens serve` (the bundled dist/cli.js) as a child process on the first
 * request, speaks JSON-RPC to it (vscode-jsonrpc), logs every request with its duration, forwards `$/progress` and
 * cancels with `$/cancelRequest`. If the process dies, pending requests fail with one clear sentence, the user is
 * told once, and the next request starts a fresh process (`generation` counts them, so models are opened again).
 * Nothing here imports vscode: the glue passes in how to log and how to tell the user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import rpc from 'vscode-jsonrpc/node.js';
import { ErrorCodes, type EngineMethod, type EngineMethods, type ProgressParams, type ProgressValue } from '../shared/protocol.js';
import type { EngineErrorData } from '../shared/types.js';
import type { CallError } from '../shared/webview.js';

export interface EngineClientOptions {
  /** The engine's entry script (dist/cli.js). */
  cli: string;
  /** One line to the output channel. */
  log: (line: string) => void;
  /** Tells the user the engine stopped (once per death). */
  onDied?: (reason: string) => void;
  /** Called after a new engine process started, with its generation (1 = the first). */
  onStarted?: (generation: number) => void;
  /** Starts the process (tests replace it). */
  spawnEngine?: (cli: string) => ChildProcess;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (value: ProgressValue) => void;
}

/** A failed engine request, carrying what the UI shows. */
export class EngineError extends Error {
  constructor(readonly error: CallError) {
    super(error.message);
    this.name = 'EngineError';
  }
}

const defaultSpawn = (cli: string): ChildProcess =>
  // Inside VS Code's extension host process.execPath is Electron (or code-server's node): run it as plain Node.
  spawn(process.execPath, [cli, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });

interface Running {
  child: ChildProcess;
  connection: rpc.MessageConnection;
  generation: number;
  stderr: string[];
  pending: Set<(e: EngineError) => void>;
  stopping: boolean;
}

export class EngineClient {
  private running?: Running;
  private generation = 0;
  private nextToken = 1;
  private readonly progress = new Map<string, (value: ProgressValue) => void>();
  private disposed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  /** The running process's generation (1 for the first), or -1 when none runs (ids from a dead one are stale). */
  get currentGeneration(): number {
    return this.running?.generation ?? -1;
  }

  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  async request<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], opts: RequestOptions = {}): Promise<EngineMethods[M]['result']> {
    if (this.disposed) throw new EngineError({ message: 'PruneLens is shutting down', code: 'engine-stopped' });
    if (opts.signal?.aborted) throw new EngineError({ message: 'cancelled', code: 'cancelled', cancelled: true });
    const r = this.ensure();
    const token = opts.onProgress ? `p${this.nextToken++}` : undefined;
    if (token) this.progress.set(token, opts.onProgress!);
    const source = new rpc.CancellationTokenSource();
    const onAbort = () => source.cancel();
    opts.signal?.addEventListener('abort', onAbort);
    const started = performance.now();
    const label = describe(method, params);
    this.opts.log(`→ ${label}`);
    let reject!: (e: EngineError) => void;
    // a request outlives its process only as an error: the death handler rejects what is pending
    const died = new Promise<never>((_, rej) => (reject = rej));
    r.pending.add(reject);
    try {
      const sent = r.connection.sendRequest(method, token ? { ...params, workDoneToken: token } : params, source.token) as Promise<EngineMethods[M]['result']>;
      const result = await Promise.race([sent, died]);
      this.opts.log(`← ${method} ${ms(started)}`);
      return result;
    } catch (e) {
      // a dying process first closes its streams (vscode-jsonrpc then rejects what is pending), then exits: wait
      // briefly for the exit, so the error says what happened to the process
      // (the engine's own errors always carry data; vscode-jsonrpc's connection errors do not)
      if (!(e instanceof EngineError) && !(e instanceof rpc.ResponseError && e.data)) {
        e = (await Promise.race([died.catch((x: unknown) => x), new Promise((r) => setTimeout(r, 1000))])) ?? e;
      }
      const err = toEngineError(e);
      this.opts.log(`✗ ${method} ${ms(started)}: ${err.error.cancelled ? 'cancelled' : err.message}`);
      throw err;
    } finally {
      r.pending.delete(reject);
      opts.signal?.removeEventListener('abort', onAbort);
      source.dispose();
      if (token) this.progress.delete(token);
    }
  }

  /** Ends the engine process (it is started again by the next request). */
  stop(): void {
    const r = this.running;
    if (!r) return;
    r.stopping = true;
    this.running = undefined;
    r.connection.dispose();
    r.child.kill();
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
  }

  private ensure(): Running {
    if (this.running) return this.running;
    const generation = ++this.generation;
    const child = (this.opts.spawnEngine ?? defaultSpawn)(this.opts.cli);
    const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout!), new rpc.StreamMessageWriter(child.stdin!));
    const r: Running = { child, connection, generation, stderr: [], pending: new Set(), stopping: false };
    this.running = r;
    this.opts.log(`engine process ${child.pid ?? '?'} started (${this.opts.cli} serve)`);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      for (const line of d.split('\n').filter(Boolean)) {
        r.stderr.push(line);
        if (r.stderr.length > 20) r.stderr.shift();
        this.opts.log(`[engine] ${line}`);
      }
    });
    connection.onNotification('$/progress', (p: ProgressParams) => this.progress.get(String(p.token))?.(p.value));
    // stdin errors (EPIPE) follow a death; the exit handler reports it
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => this.died(r, `could not start the engine: ${e.message}`));
    child.on('exit', (code, signal) => this.died(r, signal ? `the engine process was ended by ${signal}` : `the engine process exited with code ${code}`));
    connection.listen();
    this.opts.onStarted?.(generation);
    return r;
  }

  private died(r: Running, why: string): void {
    if (this.running === r) this.running = undefined;
    if (r.stopping) return;
    r.stopping = true;
    r.connection.dispose();
    const last = r.stderr.at(-1);
    const reason = `${why}${last ? ` (last message: ${last})` : ''}`;
    this.opts.log(`engine process ${r.child.pid ?? '?'} stopped: ${reason}`);
    for (const reject of r.pending) reject(new EngineError({ message: `${reason}; it restarts on the next request`, code: 'engine-stopped' }));
    r.pending.clear();
    if (!this.disposed) this.opts.onDied?.(reason);
  }
}

function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof rpc.ResponseError) {
    const data = e.data as EngineErrorData | undefined;
    const cancelled = e.code === ErrorCodes.RequestCancelled || data?.code === 'cancelled';
    return new EngineError({ message: data?.message ?? e.message, code: data?.code, option: data?.option, ...(cancelled ? { cancelled } : {}) });
  }
  return new EngineError({ message: e instanceof Error ? e.message : String(e), code: 'internal' });
}

const ms = (t: number) => `${(performance.now() - t).toFixed(performance.now() - t < 10 ? 1 : 0)} ms`;

/** The request as one log line: the method and its small parameters (never whole recipes or scans). */
function describe(method: string, params: unknown): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (v === undefined) continue;
    const s = typeof v === 'object' ? (Array.isArray(v) ? `[${v.length}]` : `{${Object.keys(v as object).length}}`) : String(v);
    parts.push(`${k}=${s.length > 60 ? `${s.slice(0, 57)}…` : s}`);
  }
  return `${method} ${parts.join(' ')}`.trim();
}
