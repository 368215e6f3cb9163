import * as fs from 'node:fs';
import * as path from 'node:path';
import { PruneLensError } from '../errors.js';

export interface WriteOptions {
  /** Replace an existing file. Without it an existing target is an error and nothing is written. */
  overwrite?: boolean;
}

/**
 * Writes a file through a temporary sibling and a rename, so a reader (or a crash) never sees it half-written.
 * `write` receives an open file descriptor and may write in pieces.
 */
export function writeFileAtomic(target: string, write: (fd: number) => void, opts: WriteOptions = {}): void {
  if (!opts.overwrite && fs.existsSync(target)) {
    throw new PruneLensError(`${target} already exists`, { code: 'file-exists', option: 'overwrite' });
  }
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw new PruneLensError(`${target}: folder ${dir} does not exist`, { code: 'write-failed', option: 'output' });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    try { fs.unlinkSync(tmp); } catch { /* never created */ }
    throw e;
  }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** A text file (reports, JSON results) written atomically. */
export function writeTextAtomic(target: string, text: string, opts: WriteOptions = {}): void {
  writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(text, 'utf8')), opts);
}
