// `npm run demo`: the main job on the bundled example model: inspect, sensitivity scan, prune 50 %, accuracy before and after.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const model = 'examples/fashion-cnn.onnx';
const data = ['--data', 'examples/fashion-mnist-500-images-idx3-ubyte.gz', '--labels', 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'];
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-demo-')), 'fashion-cnn-pruned50.onnx');
const steps = [
  ['inspect', model],
  // every group alone at 10…90 % on the 500 labelled samples: which layers can lose channels, which cannot
  ['scan', model, ...data, '--samples', '500', '--no-cache'],
  ['prune', model, '-o', out, '--ratio', '0.5', '--criterion', 'l1', ...data],
  ['eval', model, ...data],
  ['eval', out, ...data],
];
for (const args of steps) {
  console.log(`\n$ prunelens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log('\n(no fine-tuning: pruning without recovery costs accuracy; sensitivity-guided plans come next)');
