import * as fs from 'node:fs';
import { PruneLensError } from '../core/errors.js';
import { RECIPE_KIND, RECIPE_VERSION, type Recipe } from '../core/plan/plan.js';
import { pruneModel, type PlanEntries, type PruneReport } from '../core/prune.js';
import { sparsifyModel } from '../core/sparse.js';
import type { Sparsity } from '../core/surgery/sparsify.js';
import { bytes, emit, pct, si, table } from './format.js';
import { channelChoice, number, type ChannelFlags } from './args.js';
import { withProgress } from './progress.js';

export interface PruneFlags extends ChannelFlags {
  output: string;
  ratio?: string;
  plan?: string;
  data?: string;
  labels?: string;
  samples?: string;
  sparsity?: string;
  nm?: string;
  latencyRuns?: string;
  report?: boolean;
  force?: boolean;
  json?: boolean;
}


/** A plan file: either a recipe from `prunelens plan` (exact channels, model hash) or hand-written entries. */
export function readPlan(file: string): { entries?: PlanEntries; recipe?: Recipe } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new PruneLensError(`${file}: cannot read the plan`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new PruneLensError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (j && typeof j === 'object' && (j as { kind?: string }).kind === RECIPE_KIND) {
    const r = j as Recipe;
    if (r.version !== RECIPE_VERSION) throw new PruneLensError(`${file}: recipe version ${r.version} is not supported (this prunelens reads version ${RECIPE_VERSION})`);
    if (!r.model?.sha256 || !Array.isArray(r.groups)) throw new PruneLensError(`${file}: a damaged recipe (no model hash or groups)`);
    return { recipe: r };
  }
  const entries = (j && typeof j === 'object' && 'groups' in j ? (j as { groups: unknown }).groups : j) as unknown;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw new PruneLensError(`${file}: expected {"groups": {"<group id or layer>": ratio or [channel, …]}}`);
  }
  for (const [k, v] of Object.entries(entries)) {
    const ok = typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'));
    if (!ok) throw new PruneLensError(`${file}: entry '${k}' must be a ratio or a list of channel indices`);
  }
  return { entries: entries as PlanEntries };
}

export async function runPrune(model: string, flags: PruneFlags): Promise<void> {
  const choice = channelChoice(flags);
  if (flags.ratio !== undefined && flags.plan) throw new PruneLensError('give either --ratio or --plan, not both');
  if (!flags.data !== !flags.labels) throw new PruneLensError('--data and --labels go together');
  if (flags.sparsity !== undefined || flags.nm !== undefined) return runSparsify(model, flags);
  const plan = flags.plan ? readPlan(flags.plan) : undefined;
  const report = await withProgress((onProgress) =>
    pruneModel(model, flags.output, {
      ratio: number('--ratio', flags.ratio),
      plan: plan?.entries,
      recipe: plan?.recipe,
      ignoreHash: flags.force,
      latencyRuns: flags.latencyRuns === '0' ? undefined : number('--latency-runs', flags.latencyRuns) ?? 10,
      reports: flags.report !== false,
      ...choice,
      data: flags.data ? { images: flags.data, labels: flags.labels!, samples: number('--samples', flags.samples) } : undefined,
      overwrite: flags.force,
      onProgress,
    }),
  );
  emit(report, flags.json, renderPrune);
}

async function runSparsify(model: string, flags: PruneFlags): Promise<void> {
  if (flags.ratio !== undefined || flags.plan) throw new PruneLensError('--sparsity/--nm zero weights; they do not combine with --ratio or --plan');
  let s: Sparsity;
  if (flags.nm !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(flags.nm);
    if (!m) throw new PruneLensError(`--nm expects N:M, e.g. 2:4; got '${flags.nm}'`);
    s = { kind: 'nm', n: Number(m[1]), m: Number(m[2]) };
  } else {
    s = { kind: 'unstructured', ratio: number('--sparsity', flags.sparsity)! };
  }
  const r = await sparsifyModel(model, flags.output, s, { overwrite: flags.force });
  emit(r, flags.json, (x) =>
    `zeroed ${si(x.zeroedWeights)} of ${si(x.weights)} weights (${pct(x.zeroedWeights, x.weights)}) → ${x.output}\nnote: ${x.note}`);
}

export function renderPrune(r: PruneReport): string {
  const rows = r.layers
    .filter((l) => l.outChannelsBefore !== undefined && l.outChannelsBefore !== l.outChannelsAfter)
    .map((l) => [l.name, l.op, `${l.outChannelsBefore} → ${l.outChannelsAfter}`, `${si(l.paramsBefore)} → ${si(l.paramsAfter)}`]);
  const v = r.verification;
  const real = v.inputs.real ? ` and ${v.inputs.real.samples} samples of ${v.inputs.real.images}` : '';
  const fallback = r.bnFallback?.length
    ? [`  bn: ${r.bnFallback.length} group(s) without BatchNormalization, scored by l1: ${r.bnFallback.join(', ')}`]
    : [];
  return [
    `pruned ${r.input}`,
    `  → ${r.output}`,
    `  criterion ${r.criterion} (${r.reduce} over group members), ${r.groups.length} groups pruned`,
    ...fallback,
    '',
    table(['layer', 'op', 'channels', 'params'], rows, [2, 3]),
    '',
    `  params ${si(r.before.params)} → ${si(r.after.params)} (${pct(r.after.params, r.before.params)})`,
    `  MACs   ${si(r.before.macs)} → ${si(r.after.macs)} (${pct(r.after.macs, r.before.macs)})`,
    `  file   ${bytes(r.before.bytes)} → ${bytes(r.after.bytes)}`,
    `  verified against the masked original on ${v.inputs.random.seeds.length} random inputs${real}: ` +
      `max relative error ${v.maxRelError.toExponential(2)} ` +
      `(tolerance ${v.tolerance})`,
    ...(r.accuracy ? [`  top-1 on ${r.accuracy.samples} labelled samples ${(100 * r.accuracy.before).toFixed(1)}% → ${(100 * r.accuracy.after).toFixed(1)}% (no fine-tuning)`] : []),
    ...(r.latency ? [`  latency (measured) ${r.latency.beforeMs.toFixed(2)} → ${r.latency.afterMs.toFixed(2)} ms: ${r.latency.speedup.toFixed(2)}× faster (MACs ${(r.before.macs / r.after.macs).toFixed(2)}× fewer)`] : []),
    ...(r.recipe?.warnings.map((w) => `  warning [${w.kind}]: ${w.message}`) ?? []),
    ...(r.reports ? [`  report: ${r.reports.markdown}`] : []),
  ].join('\n');
}
