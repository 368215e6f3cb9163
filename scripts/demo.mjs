// `npm run demo`: the main job on the bundled example model (inspect for now; scan and prune as they land).
import { spawnSync } from 'node:child_process';

const model = 'examples/fashion-cnn.onnx';
const steps = [['inspect', model]];
for (const args of steps) {
  console.log(`\n$ prunelens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
