/**
 * Reading the files a user names (models, data, labels, plans): regular files only, opened without blocking, and
 * never more bytes than a cap. A FIFO or a device named like a data file would otherwise hang a read for ever, and
 * a folder would fail with a bare EISDIR.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErrorCode, OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { formatBytes } from '../limits.js';

export interface ReadOptions {
  /** The request option that named the file (errors point at it). */
  option?: OptionName;
  /** What the file is, for messages: 'data file', 'plan', … */
  what?: string;
  /** Larger files are refused before reading. */
  maxBytes?: number;
  /** The code of errors about the file's content or kind (default 'bad-input'). */
  code?: ErrorCode;
}

// O_NONBLOCK makes open() of a FIFO return at once instead of waiting for a writer; regular files ignore it.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** Opens a regular file for reading; anything else (missing, a folder, a FIFO, a socket, a device) is refused. */
export function openRegular(file: string, opts: ReadOptions = {}): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (e) {
    throw openError(file, e, opts);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new PruneLensError(`${file}: is a folder, not a ${opts.what ?? 'file'}`, { code: opts.code ?? 'bad-input', option: opts.option });
    if (!st.isFile()) {
      throw new PruneLensError(`${file}: not a regular file (a FIFO, socket or device): refusing to read it as a ${opts.what ?? 'file'}`, {
        code: opts.code ?? 'bad-input', option: opts.option,
      });
    }
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      throw new PruneLensError(`${file}: ${formatBytes(st.size)}, more than the ${formatBytes(opts.maxBytes)} PruneLens reads for a ${opts.what ?? 'file'}`, {
        code: opts.code ?? 'bad-input', option: opts.option,
      });
    }
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The whole content of a regular file (see openRegular). */
export function readRegular(file: string, opts: ReadOptions = {}): Buffer {
  const { fd, size } = openRegular(file, opts);
  try {
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, buf, done, size - done, done);
      if (n === 0) break; // shrank while reading
      done += n;
    }
    return buf.subarray(0, done);
  } catch (e) {
    throw e instanceof PruneLensError ? e : openError(file, e, opts);
  } finally {
    fs.closeSync(fd);
  }
}

/** A regular text file (UTF-8). */
export function readRegularText(file: string, opts: ReadOptions = {}): string {
  return readRegular(file, opts).toString('utf8');
}

/** Whether a path names a regular file (following symlinks), without opening it. */
export function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Creates a folder and its missing parents, one mkdir each. Not `mkdirSync(…, { recursive: true })`: Node's recursive
 * mkdir spins for ever (synchronously, so no signal handler runs) when a parent exists but mkdir of its child answers
 * ENOENT, as under /proc or through a dangling symlink.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      if (!fs.statSync(at).isDirectory()) throw Object.assign(new Error(`${at}: not a folder`), { code: 'ENOTDIR' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.push(at);
      const up = path.dirname(at);
      if (up === at) break;
      at = up;
    }
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw e;
    }
  }
}

function openError(file: string, e: unknown, opts: ReadOptions): PruneLensError {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'no such file', EISDIR: `is a folder, not a ${opts.what ?? 'file'}`, EACCES: 'permission denied', EPERM: 'permission denied',
    ENOTDIR: 'a part of the path is not a folder', ELOOP: 'too many levels of symbolic links', ENAMETOOLONG: 'name too long', EIO: 'input/output error',
  };
  return new PruneLensError(`${file}: ${why[code ?? ''] ?? `cannot read (${code ?? (e as Error).message})`}`, {
    code: code === 'ENOENT' ? 'file-not-found' : opts.code ?? 'bad-input', option: opts.option, cause: e,
  });
}
