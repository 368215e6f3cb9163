/**
 * Checks of the files a command will write, made before any work: an output that cannot be written (a missing or
 * read-only folder, a folder in its place) fails at once, naming the user's path, instead of after a long scan; an
 * existing one is refused unless replacing is allowed; and none may be one of the command's inputs, compared by
 * file identity, so `-o alias/model.onnx` (alias a symlink to the model's folder) cannot replace the model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { OutputBatch, writeAll, writeError } from './atomic.js';
import { removeTemp, tempPathFor } from './tempfiles.js';

export interface OutputCheck {
  overwrite?: boolean;
  /** Files the outputs must not be (the model, its external data, data and plan files). */
  protect?: (string | undefined)[];
  /** The option that named the outputs (default 'output'). */
  option?: OptionName;
}

/** Whether two paths are the same file (symlinks and hard links included), or name the same place. */
export function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return realTarget(a) === realTarget(b);
  }
}

/** A target's absolute path through its folder's real path (the file itself may not exist yet). */
function realTarget(p: string): string {
  const abs = path.resolve(p);
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

/** Refuses an output that is one of the protected inputs. */
export function refuseInputs(targets: string[], protect: (string | undefined)[], option: OptionName = 'output'): void {
  for (const t of targets) {
    const hit = protect.find((p) => p && sameFile(t, p));
    if (hit) {
      const same = path.resolve(hit) === path.resolve(t);
      throw new PruneLensError(`${t} is ${same ? 'one of this command\'s inputs' : `${hit}, one of this command's inputs`}, which are never overwritten`, { code: 'file-exists', option });
    }
  }
}

/** The checks of the module comment, in order; `targets` are paths the command will create. */
export function checkOutputs(targets: (string | undefined)[], opts: OutputCheck = {}): void {
  const option = opts.option ?? 'output';
  const list = targets.filter((t): t is string => !!t);
  list.forEach((t, i) => {
    if (list.slice(0, i).some((u) => realTarget(u) === realTarget(t))) throw new PruneLensError(`${t} is named as two outputs`, { code: 'invalid-option', option });
  });
  refuseInputs(list, opts.protect ?? [], option);
  const folders = new Set<string>();
  for (const t of list) {
    if (t.endsWith('/') || t.endsWith(path.sep)) throw new PruneLensError(`${t} names a folder, not a file`, { code: 'write-failed', option });
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(t);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw writeError(t, e, option);
    }
    if (st?.isDirectory()) throw new PruneLensError(`${t} is a folder`, { code: 'write-failed', option });
    if (st && !opts.overwrite) throw new PruneLensError(`${t} already exists`, { code: 'file-exists', option: 'overwrite' });
    folders.add(path.dirname(path.resolve(t)));
  }
  for (const dir of folders) canCreateBeside(list.find((t) => path.dirname(path.resolve(t)) === dir)!, option);
}

/** Creates and removes a temporary file in the folder: the one check that sees read-only mounts, permissions and full inode tables alike. */
function canCreateBeside(target: string, option: OptionName): void {
  const tmp = tempPathFor(target);
  try {
    fs.closeSync(fs.openSync(tmp, 'wx', 0o644));
  } catch (e) {
    throw writeError(target, e, option);
  } finally {
    removeTemp(tmp);
  }
}

/** Text files (results, recipes) written as one batch: all of them, or none; never over a protected input. */
export function writeTextFiles(files: { path: string; text: string }[], opts: OutputCheck = {}): void {
  refuseInputs(files.map((f) => f.path), opts.protect ?? [], opts.option);
  const batch = new OutputBatch({ overwrite: opts.overwrite, option: opts.option });
  try {
    for (const f of files) batch.stage(f.path, (fd) => writeAll(fd, Buffer.from(f.text, 'utf8')));
    batch.commit();
  } catch (e) {
    batch.discard();
    throw e;
  }
}
