/** Result files the CLI writes (scan JSON/CSV, recipes): atomically, never over the model they describe. */
import * as fs from 'node:fs';
import { PruneLensError, sameFile, writeTextAtomic } from '../core/api.js';

export function writeText(file: string, text: string, opts: { overwrite?: boolean; input?: string } = {}): void {
  if (opts.input && fs.existsSync(file) && sameFile(file, opts.input)) {
    throw new PruneLensError(`${file} is the model itself, which is never overwritten`, { code: 'file-exists', option: 'output' });
  }
  writeTextAtomic(file, text, { overwrite: opts.overwrite });
}
