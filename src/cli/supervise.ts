/**
 * The prunelens command runs its work in a child process (the engine) and watches it from here.
 *
 * Why: ONNX Runtime's Node binding runs every session creation and inference on the JavaScript thread. While one
 * lasts, the engine can handle no signal and no message; a run that never returns (a kernel that loops on a
 * malformed model), or one that allocates without bound (a shape only known at run time), could otherwise only be
 * ended with kill -9, and the first Ctrl-C would do nothing. This process never runs ONNX Runtime, so it can always:
 * - on Ctrl-C (or SIGTERM, SIGHUP), ask the engine to stop between runs, and if it has not stopped within
 *   GRACE_MS, or on a second Ctrl-C, kill it; then remove the temporary files it had open, and exit 130 (128 + n);
 * - watch the engine's memory (Linux: /proc) and stop it, with one line, above PRUNELENS_MAX_MEMORY_MB (default
 *   80 % of the machine's or container's memory): exit 2;
 * - report a native crash of the engine in one line.
 * It imports no engine code, so it starts in a moment and stays small.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Set in the engine child's environment. */
export const ENGINE_ENV = 'PRUNELENS_ENGINE_CHILD';
/** How long a cancelled engine may take to stop by itself. */
export const GRACE_MS = 1500;
const WATCH_MS = 100;

/** Messages the engine child sends here. */
export type ChildMessage = { kind: 'temp'; file: string; done?: boolean } | { kind: 'activity'; what: string };
/** Messages sent to the engine child. */
export type ParentMessage = { kind: 'cancel' };

/** Whether this process should supervise (it is not the child, and the command is not `serve`, which has a client). */
export function shouldSupervise(argv: string[]): boolean {
  if (process.env[ENGINE_ENV] === '1' || process.env.PRUNELENS_NO_SUPERVISOR === '1') return false;
  const command = argv.find((a) => !a.startsWith('-'));
  return command !== undefined && command !== 'serve' && command !== 'help';
}

export async function supervise(argv: string[], script: string): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [ENGINE_ENV]: '1' },
  });
  const temps = new Set<string>();
  let activity = '';
  let stopping: { code: number; message?: string } | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  child.on('message', (m: ChildMessage) => {
    if (m?.kind === 'temp') {
      if (m.done) temps.delete(m.file);
      else temps.add(m.file);
    } else if (m?.kind === 'activity') {
      activity = m.what;
    }
  });

  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const stop = (code: number, message?: string, immediately = false) => {
    if (!stopping) stopping = { code, message };
    if (immediately) return kill();
    send(child, { kind: 'cancel' });
    killTimer ??= setTimeout(kill, GRACE_MS);
  };
  // a second signal while stopping: no more waiting
  const onSignal = (code: number) => () => stop(code, undefined, !!stopping);
  const handlers: [NodeJS.Signals, () => void][] = [['SIGINT', onSignal(130)], ['SIGTERM', onSignal(143)], ['SIGHUP', onSignal(129)]];
  for (const [s, h] of handlers) process.on(s, h);

  const limit = memoryLimit();
  const watch = setInterval(() => {
    const rss = childRss(child.pid);
    if (rss !== undefined && rss > limit && !stopping) {
      stop(2, `prunelens: error: stopped after using more than ${gb(limit)} of memory (PRUNELENS_MAX_MEMORY_MB)` +
        `${activity ? ` while ${activity}` : ''}: give smaller input shapes (--input-shape) or fewer samples`, true);
    }
  }, WATCH_MS);

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearInterval(watch);
  if (killTimer) clearTimeout(killTimer);
  for (const [s, h] of handlers) process.off(s, h);
  // what the engine had half-written when it was killed
  for (const f of temps) {
    try { fs.unlinkSync(f); } catch { /* published or gone */ }
  }
  if (stopping && (signal || code === null)) {
    process.stderr.write(`${stopping.message ?? 'prunelens: cancelled'}\n`);
    return stopping.code;
  }
  if (signal) {
    process.stderr.write(`prunelens: internal error: the engine stopped on ${signal}${activity ? ` while ${activity}` : ''}\n`);
    return 1;
  }
  return code ?? 1;
}

function send(child: ChildProcess, m: ParentMessage): void {
  try {
    if (child.connected) child.send(m);
  } catch { /* already gone */ }
}

/** PRUNELENS_MAX_MEMORY_MB, else 80 % of the memory this machine (or its container) has. */
function memoryLimit(): number {
  const mb = Number(process.env.PRUNELENS_MAX_MEMORY_MB);
  if (Number.isFinite(mb) && mb > 0) return mb * 2 ** 20;
  let total = os.totalmem();
  try {
    const cgroup = Number(fs.readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim());
    if (Number.isFinite(cgroup) && cgroup > 0) total = Math.min(total, cgroup);
  } catch { /* no cgroup v2 limit */ }
  return 0.8 * total;
}

/** Resident memory of a process (Linux), or undefined where /proc is not available. */
function childRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const gb = (n: number) => `${(n / 2 ** 30).toFixed(1)} GB`;
