// `npm run package [-- --target linux-x64]`: the .vsix for one platform (default: this machine's), with @vscode/vsce.
// Everything JavaScript is bundled in dist/; the package carries only the native parts the engine loads at run
// time — onnxruntime-node's binding for that platform (and onnxruntime-common, which it requires) and sharp's
// prebuilt @img packages — listed here as `!` lines added to .vscodeignore for that target.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = opt('--target') ?? `${process.platform}-${process.arch}`;
// VS Code target → onnxruntime-node's bin folder and sharp's platform package
const PLATFORMS = {
  'linux-x64': { ort: 'linux/x64', sharp: 'linux-x64' },
  'linux-arm64': { ort: 'linux/arm64', sharp: 'linux-arm64' },
  'darwin-arm64': { ort: 'darwin/arm64', sharp: 'darwin-arm64' },
  'win32-x64': { ort: 'win32/x64', sharp: 'win32-x64' },
  'win32-arm64': { ort: 'win32/arm64', sharp: 'win32-arm64' },
};
const p = PLATFORMS[target];
if (!p) {
  console.error(`prunelens: no package for target '${target}': onnxruntime-node ships binaries for ${Object.keys(PLATFORMS).join(', ')}`);
  process.exit(2);
}
const ortBin = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6', p.ort);
const sharpPkgs = [`@img/sharp-${p.sharp}`, `@img/sharp-libvips-${p.sharp}`].filter((d) => fs.existsSync(path.join(root, 'node_modules', d)));
if (!fs.existsSync(ortBin)) {
  console.error(`prunelens: ${path.relative(root, ortBin)} is missing: run npm ci first`);
  process.exit(2);
}
if (sharpPkgs.length < 2) {
  // npm installs sharp's binaries for the machine it runs on only; see the README for other targets
  console.error(`prunelens: sharp's ${p.sharp} packages are not installed (found: ${sharpPkgs.join(', ') || 'none'}); ` +
    `install them with: npm install --no-save --os=${p.sharp.split('-')[0]} --cpu=${p.sharp.split('-')[1]} sharp`);
  process.exit(2);
}
const keep = [
  'node_modules/onnxruntime-node/package.json',
  'node_modules/onnxruntime-node/dist/**/*.js',
  `node_modules/onnxruntime-node/bin/napi-v6/${p.ort}/**`,
  'node_modules/onnxruntime-common/package.json',
  'node_modules/onnxruntime-common/dist/cjs/**/*.js',
  // its package.json says "type": "module"; this one makes the CommonJS build CommonJS
  'node_modules/onnxruntime-common/dist/cjs/package.json',
  ...sharpPkgs.map((d) => `node_modules/${d}/**`),
];
const ignoreFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prunelens-package-')), `.vscodeignore-${target}`);
fs.writeFileSync(ignoreFile, `${fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8')}\n# target ${target}\n${keep.map((k) => `!${k}`).join('\n')}\n`);
const out = opt('-o') ?? opt('--out') ?? path.join(root, `prunelens-${target}.vsix`);
const vsce = path.join(root, 'node_modules/@vscode/vsce/vsce');
const r = spawnSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '-o', out, '--allow-missing-repository', '--skip-license'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`${path.relative(process.cwd(), out)}: ${(fs.statSync(out).size / 1e6).toFixed(1)} MB`);
