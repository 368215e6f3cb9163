/**
 * Runs the prunelens command as a hostile tester would, with limits: a child process in its own process group, killed
 * (group and all) at a time limit, its peak memory measured by GNU time (the largest process of the tree: the
 * supervisor or its engine child), and checks that no process of the group outlives it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI } from './env.js';

const TIME = '/usr/bin/time';
export const HAVE_TIME = fs.existsSync(TIME);

export interface ProbeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
  /** Peak resident memory of the largest process of the tree, in MB (undefined without GNU time). */
  peakMB?: number;
  timedOut: boolean;
  /** Processes of the group still alive after the command ended (an orphaned engine). */
  leftover: boolean;
}

export interface ProbeOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Called once the command runs, with a function that signals its whole process group (as a terminal's Ctrl-C does). */
  started?: (signalGroup: (s: NodeJS.Signals) => void) => void;
}

export async function probe(args: string[], opts: ProbeOptions = {}): Promise<ProbeResult> {
  const stat = path.join(os.tmpdir(), `prunelens-probe-${process.pid}-${Math.random().toString(36).slice(2)}.time`);
  const cmd = HAVE_TIME ? TIME : process.execPath;
  const argv = HAVE_TIME ? ['-f', '%M', '-o', stat, process.execPath, CLI, ...args] : [CLI, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { detached: true, cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const group = (s: NodeJS.Signals) => {
    try { process.kill(-child.pid!, s); } catch { /* gone */ }
  };
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    group('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  opts.started?.(group);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  const ms = performance.now() - t0;
  clearTimeout(timer);
  let leftover = false;
  try {
    process.kill(-child.pid!, 0);
    leftover = true;
    group('SIGKILL');
  } catch { /* the group is empty: nothing outlived the command */ }
  let peakMB: number | undefined;
  if (HAVE_TIME) {
    try {
      const lines = fs.readFileSync(stat, 'utf8').trim().split('\n');
      // a non-zero exit adds a line before the figure
      peakMB = Number(lines[lines.length - 1]) / 1024;
    } catch { /* killed before it wrote */ }
    fs.rmSync(stat, { force: true });
  }
  return { code, signal, out, err, ms, peakMB, timedOut, leftover };
}

/** SHA-256 of every file under a folder (symlinks as their targets' names), to show the user's files unchanged. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out.set(p, `-> ${fs.readlinkSync(p)}`);
      else if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
      else out.set(p, e.isFIFO() ? 'fifo' : 'special');
    }
  };
  walk(dir);
  return out;
}
