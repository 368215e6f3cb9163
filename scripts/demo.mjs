// `npm run demo`: the main job on the bundled example model: inspect, sensitivity scan, plans at 50 % of the MACs
// (sensitivity-guided and uniform), real pruning of both, recovery without training, accuracy and measured latency.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const model = 'examples/fashion-cnn.onnx';
const data = ['--data', 'examples/fashion-mnist-500-images-idx3-ubyte.gz', '--labels', 'examples/fashion-mnist-500-labels-idx1-ubyte.gz'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-demo-'));
const at = (f) => path.join(dir, f);
const steps = [
  ['inspect', model],
  // every group alone at 10…90 % on the 500 labelled samples: which layers can lose channels, which cannot
  ['scan', model, ...data, '--samples', '500', '--no-cache', '-o', at('scan.json')],
  // the same MACs budget two ways: ratios from the scan curves, and one ratio for every group
  ['plan', model, '--scan', at('scan.json'), '--target', 'macs=0.5', '--strategy', 'sensitivity', '-o', at('sensitivity.json')],
  ['plan', model, '--scan', at('scan.json'), '--target', 'macs=0.5', '--strategy', 'uniform', '-o', at('uniform.json')],
  ['prune', model, '--plan', at('sensitivity.json'), '-o', at('fashion-cnn-sensitivity.onnx'), ...data],
  ['prune', model, '--plan', at('uniform.json'), '-o', at('fashion-cnn-uniform.onnx'), ...data],
  // the sensitivity plan again, then least squares + BN re-calibration on three quarters of the samples
  ['prune', model, '--plan', at('sensitivity.json'), '--recover', 'lsq,bn', '-o', at('fashion-cnn-recovered.onnx'), ...data],
  ['bench', model, '--compare', at('fashion-cnn-sensitivity.onnx')],
];
for (const args of steps) {
  console.log(`\n$ prunelens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const report = (name) => JSON.parse(fs.readFileSync(at(`fashion-cnn-${name}.report.json`), 'utf8'));
console.log('\nAt the same budget (50 % of the MACs), no fine-tuning, 500 labelled samples:');
for (const name of ['uniform', 'sensitivity']) {
  const r = report(name);
  console.log(`  ${name.padEnd(12)} MACs ${((100 * r.after.macs) / r.before.macs).toFixed(1)} %  top-1 ${(100 * r.accuracy.before).toFixed(1)} % → ${(100 * r.accuracy.after).toFixed(1)} %`);
}
const rec = report('recovered').recovery;
console.log(`  recovery (lsq,bn; fitted on ${rec.data.fitted.split(' ')[0]} samples, judged on the other ${rec.data.judged.split(' ').pop()}): ` +
  `top-1 ${(100 * rec.before.accuracy).toFixed(1)} % → ${(100 * rec.after.accuracy).toFixed(1)} % on those held-out samples`);
console.log(`\nPruned models, recipes and reports (.report.md) are in ${dir}`);
