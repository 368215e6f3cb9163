/**
 * A recipe from any front end (a file the CLI read, an object the extension sent) is checked field by field before
 * prune uses it: a damaged or hand-edited recipe fails in one line naming the field, never deep inside the prune, and
 * its input shapes must be whole numbers ≥ 1 (a batch of 3,000,000 is then refused by the run memory limit).
 */
import type { Recipe } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { CRITERIA } from '../criteria/index.js';

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isWhole = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

export function checkRecipeFields(r: Recipe): Recipe {
  const bad = (field: string, why: string) =>
    new PruneLensError(`the recipe is damaged: ${field} ${why}`, { code: 'bad-input', option: 'recipe' });
  const o = r as unknown as Record<string, unknown>;
  if (!isObject(o)) throw bad('the recipe', 'is not an object');
  if (!isObject(o.model) || typeof o.model.sha256 !== 'string' || typeof o.model.path !== 'string') throw bad('model', 'needs a path and a sha256');
  const s = o.settings;
  if (!isObject(s)) throw bad('settings', 'are missing');
  if (!isObject(s.inputShapes)) throw bad('settings.inputShapes', 'is missing');
  for (const [name, dims] of Object.entries(s.inputShapes)) {
    if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => isWhole(d, 1))) {
      throw bad(`settings.inputShapes.${name}`, `must be a list of whole numbers ≥ 1, got ${JSON.stringify(dims)}`);
    }
  }
  if (s.criterion !== undefined && !CRITERIA.includes(s.criterion as never)) throw bad('settings.criterion', `must be one of ${CRITERIA.join(', ')}, got ${JSON.stringify(s.criterion)}`);
  if (s.reduce !== undefined && !['mean', 'sum', 'max'].includes(s.reduce as string)) throw bad('settings.reduce', `must be mean, sum or max, got ${JSON.stringify(s.reduce)}`);
  if (s.withinGroup !== undefined && s.withinGroup !== 'per-source' && s.withinGroup !== 'global') throw bad('settings.withinGroup', `must be per-source or global, got ${JSON.stringify(s.withinGroup)}`);
  if (s.strategy !== undefined && typeof s.strategy !== 'string') throw bad('settings.strategy', 'must be a name');
  if (!Array.isArray(o.groups)) throw bad('groups', 'are missing');
  o.groups.forEach((g: unknown, i: number) => {
    const at = `groups[${i}]`;
    if (!isObject(g)) throw bad(at, 'is not an object');
    if (!isWhole(g.id)) throw bad(`${at}.id`, 'must be a group id');
    if (!Array.isArray(g.sources) || !g.sources.every((x) => typeof x === 'string')) throw bad(`${at}.sources`, 'must be a list of layer names');
    if (!isWhole(g.channels, 1)) throw bad(`${at}.channels`, 'must be a whole number ≥ 1');
    if (!Array.isArray(g.remove) || !g.remove.every((x) => isWhole(x) && x < (g.channels as number))) {
      throw bad(`${at}.remove`, `must list channel indices below ${g.channels}`);
    }
    if (g.predictedLoss !== undefined && typeof g.predictedLoss !== 'number') throw bad(`${at}.predictedLoss`, 'must be a number');
  });
  if (o.predicted !== undefined && !isObject(o.predicted)) throw bad('predicted', 'must be an object');
  if (o.warnings !== undefined && !(Array.isArray(o.warnings) && o.warnings.every((w) => isObject(w) && typeof w.message === 'string'))) {
    throw bad('warnings', 'must be a list of warnings with messages');
  }
  return r;
}
