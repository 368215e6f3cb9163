import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Exports torchvision architectures with Debian's torch into .cache/models when missing (opset 13 by default). */
export function torchvisionModel(root: string, name: string, keepBn = false, opset = 13): string {
  const dir = path.join(root, '.cache/models');
  const file = path.join(dir, `${name}${keepBn ? '-bn' : ''}${opset !== 13 ? `-op${opset}` : ''}.onnx`);
  if (fs.existsSync(file)) return file;
  const py = '/usr/bin/python3';
  const args = [path.join(root, 'scripts/models/export_torchvision.py'), dir, name, ...(keepBn ? ['--keep-bn'] : []), `--opset=${opset}`];
  const r = spawnSync(py, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !fs.existsSync(file)) {
    throw new Error(
      `could not export ${name}: install Debian's torch first ` +
        '(apt-get install -y --no-install-recommends python3-torch python3-torchvision)',
    );
  }
  return file;
}
