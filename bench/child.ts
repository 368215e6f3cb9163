/** One measurement in a fresh process, so time and peak memory are not polluted by earlier runs. */
import { loadAndShape } from '../src/core/analysis.js';
import { createSession } from '../src/core/runtime/ort.js';

const [what, file] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
if (what === 'ort-create') {
  const s = await createSession(file);
  await s.release();
} else if (what === 'load') {
  const r = await loadAndShape(file);
  if (r.shapes.unknown.length) throw new Error(`unknown shapes: ${r.shapes.unknown.length}`);
} else throw new Error(`unknown measurement ${what}`);
const ms = performance.now() - t0;
const peakExtra = process.resourceUsage().maxRSS * 1024 - rssBefore;
process.stdout.write(JSON.stringify({ ms, peakExtra }) + '\n');
