/**
 * Temporary files: every output is written to a hidden sibling `.NAME.prunelens-PID-RANDOM.tmp` in the target's
 * folder and renamed into place once complete. The ones still open are removed when the process exits (process.exit
 * included, which the CLI's signal handlers call), and stale ones of our own naming, left by a process that was
 * killed outright, are swept from a folder before we write into it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const live = new Set<string>();
let hooked = false;
const swept = new Set<string>();

/** Our naming: the target's name, our marker, the writing process's id, a random part. */
const PATTERN = /^\..+\.prunelens-(\d+)-[0-9a-f]{8}\.tmp$/;

/** A stale temporary file must be at least this old, so a live writer on another machine sharing the folder is spared. */
const STALE_MS = 60_000;

let listener: ((file: string, done: boolean) => void) | undefined;

/** Tells `fn` of every temporary file made (done false) and of each one published or removed (done true). */
export function onTempFile(fn: (file: string, done: boolean) => void): void {
  listener = fn;
}

/** A new temporary path beside `target`, registered for removal at exit. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  sweepStale(dir);
  const tmp = path.join(dir, `.${path.basename(target)}.prunelens-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  live.add(tmp);
  listener?.(tmp, false);
  if (!hooked) {
    hooked = true;
    process.on('exit', removeLiveTempFiles);
  }
  return tmp;
}

/** The temporary file became the target (or was removed): no longer ours to clean up. */
export function forgetTemp(tmp: string): void {
  live.delete(tmp);
  listener?.(tmp, true);
}

/** Removes a temporary file, quietly. */
export function removeTemp(tmp: string): void {
  try {
    fs.unlinkSync(tmp);
  } catch { /* never created, or already gone */ }
  forgetTemp(tmp);
}

/** Removes every temporary file this process still has open (at exit, or before a forced exit). */
export function removeLiveTempFiles(): void {
  for (const tmp of [...live]) removeTemp(tmp);
}

/**
 * Removes our temporary files in `dir` whose writer is gone: a process that no longer exists (or `pid` when given,
 * a child the caller killed, whatever its age). Others' files are never touched.
 */
export function sweepStale(dir: string, pid?: number): string[] {
  if (pid === undefined && swept.has(dir)) return [];
  if (pid === undefined) swept.add(dir);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  const now = Date.now();
  for (const name of names) {
    const m = PATTERN.exec(name);
    if (!m) continue;
    const owner = Number(m[1]);
    const file = path.join(dir, name);
    if (pid !== undefined ? owner !== pid : owner === process.pid || alive(owner)) continue;
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile() || (pid === undefined && now - st.mtimeMs < STALE_MS)) continue;
      fs.unlinkSync(file);
      removed.push(file);
    } catch { /* gone already, or not ours to remove */ }
  }
  return removed;
}

/** Whether process `pid` exists (one we may not signal does). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
