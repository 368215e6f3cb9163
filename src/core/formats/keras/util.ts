import type { Model } from '../../ir/graph.js';
import { inferShapes } from '../../shapes/infer.js';
import { resolveInputShapes } from '../../shapes/inputs.js';

/** Dims of the IR's values (for the shapes a Keras 3 config records), at the model's own input shapes. */
export function irShapes(model: Model): (value: string) => number[] | undefined {
  let types: ReturnType<typeof inferShapes>['types'] | undefined;
  return (value) => {
    if (!types) types = inferShapes(model, resolveInputShapes(model).shapes).types;
    return types.get(value)?.dims;
  };
}

/** JSON as Python's json.dumps writes it (the separators Keras's files have), so rewritten configs read alike. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${asciiJson(k)}: ${pyJson(x)}`).join(', ')}}`;
  if (typeof v === 'string') return asciiJson(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return JSON.stringify(v) ?? 'null';
}

/** json.dumps escapes non-ASCII characters (ensure_ascii). */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
