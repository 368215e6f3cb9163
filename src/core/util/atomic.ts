/**
 * Writing what the user keeps, so that nothing is ever half-written or lost:
 * - each file is written to a temporary sibling (util/tempfiles.ts), flushed, then published under its name;
 * - a batch (a model, its data, its reports and recipe) is written in full before any of it is published, so a full
 *   disk fails with nothing published, and publishing (renames, which need no space) follows;
 * - without `overwrite` a target is created exclusively (a hard link, which fails when the name exists), so two
 *   writers to one name cannot both succeed; with it, the rename replaces the old file in one step;
 * - errors name the user's path, never the temporary file, in one line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { forgetTemp, removeTemp, tempPathFor } from './tempfiles.js';

export interface WriteOptions {
  /** Replace an existing file. Without it an existing target is an error and nothing is written. */
  overwrite?: boolean;
  /** The request option that named the target (errors point at it; default 'output'). */
  option?: OptionName;
}

interface Staged {
  target: string;
  tmp: string;
  overwrite: boolean;
}

/** Files written in full first, then published together (see the module comment). */
export class OutputBatch {
  private readonly staged: Staged[] = [];
  private readonly after: (() => void)[] = [];

  constructor(private readonly opts: WriteOptions = {}) {}

  /** Writes one file's content to its temporary sibling; `write` gets an open descriptor and may write in pieces. */
  stage(target: string, write: (fd: number) => void, opts: { overwrite?: boolean } = {}): void {
    const overwrite = opts.overwrite ?? !!this.opts.overwrite;
    if (!overwrite) refuseExisting(target, this.opts.option);
    const tmp = tempPathFor(target);
    this.staged.push({ target, tmp, overwrite });
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'wx', 0o644);
    } catch (e) {
      throw writeError(target, e, this.opts.option);
    }
    try {
      write(fd);
      fs.fsyncSync(fd);
    } catch (e) {
      throw e instanceof PruneLensError ? e : writeError(target, e, this.opts.option);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Runs once everything is published (e.g. removing files the replaced ones referenced). */
  afterCommit(fn: () => void): void {
    this.after.push(fn);
  }

  /** Publishes the staged files in the order they were staged; on a failure, what this batch created is removed. */
  commit(): void {
    const created: string[] = [];
    try {
      for (const s of this.staged) {
        publish(s, this.opts.option);
        if (!s.overwrite) created.push(s.target);
      }
    } catch (e) {
      for (const f of created) {
        try { fs.unlinkSync(f); } catch { /* already gone */ }
      }
      this.discard();
      throw e;
    }
    this.staged.length = 0;
    for (const fn of this.after) fn();
  }

  /** Removes every temporary file not yet published. */
  discard(): void {
    for (const s of this.staged) removeTemp(s.tmp);
    this.staged.length = 0;
  }
}

function publish(s: Staged, option?: OptionName): void {
  try {
    if (s.overwrite) {
      fs.renameSync(s.tmp, s.target);
    } else {
      try {
        // a hard link creates the name only if it is free: the check and the creation are one step
        fs.linkSync(s.tmp, s.target);
        fs.unlinkSync(s.tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw existsError(s.target, option);
        // file systems without hard links (FAT, some network shares): check, then rename
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
        refuseExisting(s.target, option);
        fs.renameSync(s.tmp, s.target);
      }
    }
    forgetTemp(s.tmp);
  } catch (e) {
    throw e instanceof PruneLensError ? e : writeError(s.target, e, option);
  }
}

function refuseExisting(target: string, option?: OptionName): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(target);
  } catch { /* free */ }
  if (st?.isDirectory()) throw new PruneLensError(`${target} is a folder`, { code: 'write-failed', option: option ?? 'output' });
  if (st) throw existsError(target, option);
}

function existsError(target: string, option?: OptionName): PruneLensError {
  void option;
  return new PruneLensError(`${target} already exists`, { code: 'file-exists', option: 'overwrite' });
}

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EROFS: 'the file system is read-only',
  EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a folder', ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'its folder does not exist', EFBIG: 'the file is too large for the file system', ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error', ETXTBSY: 'the file is busy', EMFILE: 'too many open files', ENFILE: 'too many open files',
};

/** A system error while writing `target`, in one line naming the user's path (not the temporary file). */
export function writeError(target: string, e: unknown, option: OptionName = 'output'): PruneLensError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const why = code === 'ENOENT' && fs.existsSync(path.dirname(path.resolve(target))) ? 'no file can be created there' : WHY[code] ?? (code || (e as Error).message);
  return new PruneLensError(`cannot write ${target}: ${why}`, { code: 'write-failed', option, cause: e });
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** One file written atomically (see OutputBatch). */
export function writeFileAtomic(target: string, write: (fd: number) => void, opts: WriteOptions = {}): void {
  const batch = new OutputBatch(opts);
  try {
    batch.stage(target, write);
    batch.commit();
  } catch (e) {
    batch.discard();
    throw e;
  }
}

/** A text file (reports, JSON results) written atomically. */
export function writeTextAtomic(target: string, text: string, opts: WriteOptions = {}): void {
  writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(text, 'utf8')), opts);
}
