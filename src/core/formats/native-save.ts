/**
 * A model's files (a TF.js model.json and its shards, a .keras archive, an .h5 file) staged into an output batch
 * (util/atomic.ts): written in full beside each other before any is published, the shards before the model file so
 * that a reader never finds a model.json whose shards are not there yet.
 */
import * as path from 'node:path';
import { OutputBatch, writeAll } from '../util/atomic.js';
import type { NativeFiles } from './foreign.js';

export function stageNative(files: NativeFiles, out: string, batch: OutputBatch): { bytes: number; files: string[] } {
  const dir = path.dirname(path.resolve(out));
  const target = (name: string) => (name === files.main ? path.resolve(out) : path.join(dir, name));
  const order = [...[...files.files.keys()].filter((n) => n !== files.main), files.main];
  let bytes = 0;
  for (const name of order) {
    const data = files.files.get(name)!;
    batch.stage(target(name), (fd) => writeAll(fd, data));
    bytes += data.length;
  }
  return { bytes, files: order.map(target) };
}

/** Writes the files on their own (sparsified models), published together. */
export function writeNative(files: NativeFiles, out: string, opts: { overwrite?: boolean } = {}): { bytes: number; files: string[] } {
  const batch = new OutputBatch({ overwrite: opts.overwrite });
  try {
    const r = stageNative(files, out, batch);
    batch.commit();
    return r;
  } catch (e) {
    batch.discard();
    throw e;
  }
}
