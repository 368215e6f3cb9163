/**
 * The scan cache stays bounded: after each write its entries are trimmed to MAX_CACHE_BYTES, least recently used
 * first (a hit touches its entry's modification time). Only our own entries (`scan-*.json`) are counted or removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_CACHE_BYTES } from '../limits.js';

const ENTRY = /^scan-[0-9a-f]+\.json$/;

/** Removes the least recently used entries until the rest fit `maxBytes`; returns the removed files. */
export function trimCache(dir: string, maxBytes = MAX_CACHE_BYTES): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => ENTRY.test(n));
  } catch {
    return [];
  }
  const entries = names.flatMap((n) => {
    try {
      const st = fs.statSync(path.join(dir, n));
      return st.isFile() ? [{ file: path.join(dir, n), size: st.size, used: st.mtimeMs }] : [];
    } catch {
      return [];
    }
  });
  let total = entries.reduce((s, e) => s + e.size, 0);
  const removed: string[] = [];
  // newest last: the entry just written is the last to go
  for (const e of entries.sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    try {
      fs.unlinkSync(e.file);
      total -= e.size;
      removed.push(e.file);
    } catch { /* another process removed it */ }
  }
  return removed;
}
