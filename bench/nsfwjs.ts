/**
 * The real TF.js models inside nsfwjs@4.4.0 (MobileNetV2 and InceptionV3 layers models, uint8-quantised, and a
 * MobileNetV2 graph model), fetched with `npm pack` into .cache/models and unwrapped from the JavaScript files they
 * ship in: each wrapper module exports the model.json object, or a shard as a base64 string.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const NSFWJS = 'nsfwjs@4.4.0';
const CACHE = path.join(ROOT, '.cache/models');
const OUT = path.join(CACHE, 'nsfwjs-4.4.0');

export type NsfwModel = 'mobilenet_v2' | 'inception_v3' | 'mobilenet_v2_mid';

/** The model.json of one nsfwjs model (with its shards beside it), or undefined when the registry is unreachable. */
export function nsfwjsModel(name: NsfwModel): string | undefined {
  const json = path.join(OUT, name, 'model.json');
  if (fs.existsSync(json)) return json;
  const pkg = path.join(CACHE, 'nsfwjs-4.4.0.tgz');
  const unpacked = path.join(CACHE, 'nsfwjs-4.4.0-package');
  try {
    fs.mkdirSync(CACHE, { recursive: true });
    if (!fs.existsSync(pkg)) execFileSync('npm', ['pack', NSFWJS, '--silent'], { cwd: CACHE, stdio: ['ignore', 'ignore', 'pipe'] });
    if (!fs.existsSync(unpacked)) {
      fs.mkdirSync(unpacked, { recursive: true });
      execFileSync('tar', ['xzf', pkg, '-C', unpacked]);
    }
  } catch {
    return undefined;
  }
  const require = createRequire(import.meta.url);
  for (const m of ['mobilenet_v2', 'inception_v3', 'mobilenet_v2_mid'] as NsfwModel[]) {
    const from = path.join(unpacked, 'package/dist/models', m);
    const to = path.join(OUT, m);
    fs.mkdirSync(to, { recursive: true });
    for (const f of fs.readdirSync(from)) {
      const mod = require(path.join(from, f)) as unknown;
      const base = f.replace(/\.min\.js$/, '');
      if (base === 'model') continue;
      // a shard: base64 of the binary
      // named as the manifest names it (no extension)
      fs.writeFileSync(path.join(to, base), Buffer.from(mod as string, "base64"));
    }
    // the model last, so an interrupted extraction is redone
    const model = require(path.join(from, 'model.min.js')) as Record<string, unknown>;
    fs.writeFileSync(path.join(to, 'model.json'), JSON.stringify(model));
  }
  return json;
}
