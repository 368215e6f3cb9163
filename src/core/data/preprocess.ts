import * as fs from 'node:fs';
import type { ImagePreprocess } from '../../shared/types.js';
import { invalid, PruneLensError } from '../errors.js';
import { MAX_JSON_FILE_BYTES } from '../limits.js';
import { readRegularText } from '../util/files.js';
import type { Model } from '../ir/graph.js';

/**
 * How raw pixels become model input (ImagePreprocess): resize (shorter side), centre crop, scale, per-channel
 * mean/std, channel order and memory layout (NHWC by default when the input's last dim is 1 or 3 and its second is
 * not). Unset fields come from the model (metadata, input shape).
 */
export type { ImagePreprocess } from '../../shared/types.js';

const KEYS = ['resize', 'crop', 'scale', 'mean', 'std', 'order', 'layout'];

/** Parses `resize=256;crop=224;mean=0.485,0.456,0.406;std=…;order=rgb;layout=nchw;scale=1/255`, or a JSON file. */
export function parsePreprocess(spec: string | undefined): Partial<ImagePreprocess> {
  if (!spec) return {};
  let entries: [string, unknown][];
  if (spec.trim().endsWith('.json') || fs.existsSync(spec)) {
    try {
      entries = Object.entries(JSON.parse(readRegularText(spec, { option: 'preprocess', what: 'preprocessing file', maxBytes: MAX_JSON_FILE_BYTES })) as Record<string, unknown>);
    } catch (e) {
      if (e instanceof PruneLensError) throw e;
      throw invalid('preprocess', `${spec}: not a readable JSON object (${(e as Error).message})`);
    }
  } else {
    entries = spec.split(';').filter((s) => s.trim()).map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 0) throw invalid('preprocess', `expected key=value, got '${kv}'`);
      return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
    });
  }
  const out: Partial<ImagePreprocess> = {};
  for (const [k, raw] of entries) {
    const v = String(raw);
    const nums = () => (Array.isArray(raw) ? raw.map(Number) : v.split(/[,/x]/).map(Number));
    switch (k) {
      case 'resize': out.resize = number(k, v); break;
      case 'crop': {
        const c = nums();
        if (c.length > 2 || c.some((x) => !(x > 0))) throw invalid('preprocess', `crop: expected N or HxW, got '${v}'`);
        out.crop = [c[0], c[1] ?? c[0]];
        break;
      }
      case 'scale': out.scale = /^1\/\d+(\.\d+)?$/.test(v) ? 1 / Number(v.slice(2)) : number(k, v); break;
      case 'mean': case 'std': {
        const list = Array.isArray(raw) ? raw.map(Number) : v.split(',').map(Number);
        if (list.some((x) => !Number.isFinite(x)) || (k === 'std' && list.some((x) => x === 0))) {
          throw invalid('preprocess', `${k}: expected numbers, got '${v}'`);
        }
        out[k] = list;
        break;
      }
      case 'order':
        if (v !== 'rgb' && v !== 'bgr') throw invalid('preprocess', `order: rgb or bgr, got '${v}'`);
        out.order = v;
        break;
      case 'layout':
        if (v !== 'nchw' && v !== 'nhwc') throw invalid('preprocess', `layout: nchw or nhwc, got '${v}'`);
        out.layout = v;
        break;
      default:
        throw invalid('preprocess', `unknown key '${k}' (known: ${KEYS.join(', ')})`);
    }
  }
  return out;
}

function number(key: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw invalid('preprocess', `${key}: expected a positive number, got '${v}'`);
  return n;
}

/** Fills unset fields from the model's metadata (`mean`, `std`, `scale`, as lists or JSON) and sensible defaults. */
export function completePreprocess(model: Model, given: Partial<ImagePreprocess>): ImagePreprocess {
  const md = model.meta.metadata;
  const list = (v: string | undefined) =>
    v === undefined ? undefined : v.trim().startsWith('[') ? (JSON.parse(v) as number[]) : v.split(',').map(Number);
  return {
    ...given,
    scale: given.scale ?? (md.scale !== undefined ? Number(md.scale) : 1 / 255),
    mean: given.mean ?? list(md.mean) ?? [0],
    std: given.std ?? list(md.std) ?? [1],
    order: given.order ?? 'rgb',
  };
}

/** (v·scale − mean[c]) / std[c] for channel c. */
export function normalise(v: number, c: number, p: Pick<ImagePreprocess, 'scale' | 'mean' | 'std'>): number {
  const mean = p.mean[c] ?? p.mean[0];
  const std = p.std[c] ?? p.std[0];
  return (v * p.scale - mean) / std;
}
