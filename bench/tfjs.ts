/**
 * TF.js models (issue 13): the scan floor ratio of nsfwjs's MobileNetV2 (a uint8 TF.js layers model, scanned on its
 * converted graph in ONNX Runtime), and the measured latency of pruned vs original as TF.js runs them on its wasm
 * backend, beside the theoretical MAC ratio.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel, pruneModel } from '../src/core/api.js';
import { measureNativeLatencies } from '../src/core/cost/native-latency.js';
import { nsfwjsModel } from './nsfwjs.js';
import { benchScan } from './scan.js';

export async function benchTfjs(cores: number): Promise<void> {
  const file = nsfwjsModel('mobilenet_v2');
  if (!file) {
    console.log('\n[tfjs] nsfwjs@4.4.0 could not be fetched from the npm registry: skipped');
    return;
  }
  await benchScan(file, cores, 'TF.js MobileNetV2 (nsfwjs 4.4.0, uint8 layers model)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-bench-tfjs-'));
  const original = await openModel(file);
  for (const ratio of [0.3, 0.5]) {
    const out = path.join(dir, `mobilenet_v2-${ratio}.json`);
    const r = await pruneModel(file, out, { ratio, latencyRuns: 0 });
    const pruned = await openModel(out);
    for (const batch of [1, 8]) {
      const shapes = { [Object.keys(original.analysis.shapes.inputs)[0]]: [batch, 224, 224, 3] };
      const [a, b] = await measureNativeLatencies([original.analysis.model, pruned.analysis.model], shapes, { runs: 20 });
      const speedup = a.medianMs / b.medianMs;
      const macRatio = r.before.macs / r.after.macs;
      console.log(
        `\n[latency] TF.js MobileNetV2 pruned ${100 * ratio} % (uniform, L1), ${a.backend}, batch ${batch}, 20 runs after 3 warm-up, taken in turn\n` +
          `  original ${a.medianMs.toFixed(1)} ms (p10 ${a.p10Ms.toFixed(1)}, p90 ${a.p90Ms.toFixed(1)}), pruned ${b.medianMs.toFixed(1)} ms (p10 ${b.p10Ms.toFixed(1)}, p90 ${b.p90Ms.toFixed(1)})\n` +
          `  measured speedup ${speedup.toFixed(2)}× vs theoretical MAC ratio ${macRatio.toFixed(2)}×; files ${(r.before.bytes / 2 ** 20).toFixed(2)} → ${(r.after.bytes / 2 ** 20).toFixed(2)} MiB (uint8 kept)`,
      );
    }
  }
}
