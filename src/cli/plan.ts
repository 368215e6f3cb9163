import * as fs from 'node:fs';
import { parsePreprocess } from '../core/data/preprocess.js';
import { PruneLensError } from '../core/errors.js';
import { planModel, type PlanTarget, type Recipe } from '../core/plan/plan.js';
import { STRATEGIES, type StrategyName } from '../core/plan/strategies.js';
import { METRICS, type MetricName } from '../core/sensitivity/metrics.js';
import { writeTextAtomic } from '../core/util/atomic.js';
import { emit, pct, si, table } from './format.js';
import { channelChoice, number, type ChannelFlags } from './args.js';
import { withProgress } from './progress.js';
import { defaultCacheDir } from './scan.js';

export interface PlanFlags extends ChannelFlags {
  target?: string;
  maxLoss?: string;
  strategy?: string;
  scan?: string;
  data?: string;
  labels?: string;
  preprocess?: string;
  samples?: string;
  metric?: string;
  maxRatio?: string;
  cache?: boolean;
  output?: string;
  force?: boolean;
  json?: boolean;
}

/** `macs=0.5`, `params=0.3`, `latency=0.6` (fractions to keep), or with --max-loss `agreement=0.02`. */
export function parseTarget(target?: string, maxLoss?: string): { target: PlanTarget; metric?: MetricName } {
  if (!target === !maxLoss) throw new PruneLensError('give one of --target macs|params|latency=FRACTION or --max-loss METRIC=VALUE');
  const [k, v] = (target ?? maxLoss)!.split('=');
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x)) throw new PruneLensError(`expected KEY=NUMBER, got '${target ?? maxLoss}'`);
  if (maxLoss) {
    if (!METRICS.includes(k as MetricName)) throw new PruneLensError(`--max-loss: the metric must be one of ${METRICS.join(', ')}`);
    return { target: { kind: 'loss', max: x }, metric: k as MetricName };
  }
  if (k !== 'macs' && k !== 'params' && k !== 'latency') throw new PruneLensError(`--target: macs, params or latency, got '${k}'`);
  return { target: { kind: k, keep: x } };
}

export async function runPlan(model: string, flags: PlanFlags, signal?: AbortSignal): Promise<void> {
  const { target, metric } = parseTarget(flags.target, flags.maxLoss);
  const strategy = (flags.strategy ?? 'sensitivity') as StrategyName;
  if (!STRATEGIES.includes(strategy)) throw new PruneLensError(`--strategy must be one of ${STRATEGIES.join(', ')}`);
  const choice = channelChoice(flags);
  if (flags.output && !flags.force && fs.existsSync(flags.output)) throw new PruneLensError(`${flags.output} already exists (pass --force to replace it)`);
  const scanMetric = metric ?? (flags.metric as MetricName | undefined);
  const recipe = await withProgress((onProgress) =>
    planModel(model, {
      strategy,
      target,
      scan: flags.scan,
      ...choice,
      maxRatio: number('--max-ratio', flags.maxRatio),
      scanOptions: {
        data: flags.data,
        labels: flags.labels,
        preprocess: parsePreprocess(flags.preprocess),
        samples: number('--samples', flags.samples),
        metric: scanMetric,
        criterion: choice.criterion,
        cacheDir: flags.cache === false ? undefined : defaultCacheDir(),
      },
      onProgress,
      signal,
    }),
  );
  if (metric && recipe.settings.scan && recipe.settings.scan.metric !== metric) {
    throw new PruneLensError(`--max-loss ${metric}: the scan measured ${recipe.settings.scan.metric}; scan with --metric ${metric}`);
  }
  if (flags.output) writeTextAtomic(flags.output, JSON.stringify(recipe, null, 2) + '\n', { overwrite: flags.force });
  emit(recipe, flags.json, (r) => renderPlan(r, flags.output));
}

function renderPlan(r: Recipe, out?: string): string {
  const t = r.settings.target;
  const rows = r.groups
    .filter((g) => g.keep < g.channels)
    .map((g) => [String(g.id), g.sources[0] + (g.sources.length > 1 ? ` +${g.sources.length - 1}` : ''), `${g.channels} → ${g.keep}`,
      `${Math.round(100 * g.ratio)}%`, g.predictedLoss === undefined ? '' : g.predictedLoss.toFixed(3)]);
  const lines = [
    `${r.settings.strategy} plan for ${r.model.path}: target ${t.kind === 'loss' ? `predicted loss ≤ ${t.max}` : `${t.kind} ${pct(t.keep, 1)}`}`,
    '',
    table(['group', 'layers', 'channels', 'pruned', 'pred. loss'], rows, [2, 3, 4]),
    '',
    `  params ${si(r.model.params)} → ${si(r.predicted.params)} (${pct(r.predicted.paramsRatio, 1)})`,
    `  MACs   ${si(r.model.macs)} → ${si(r.predicted.macs)} (${pct(r.predicted.macsRatio, 1)})`,
  ];
  if (r.predicted.latencyRatio !== undefined) lines.push(`  latency (measured) ${pct(r.predicted.latencyRatio, 1)} of the original`);
  if (r.predicted.loss !== undefined) lines.push(`  predicted loss (${r.settings.scan?.metric}, sum of groups alone) ${r.predicted.loss.toFixed(4)}`);
  for (const w of r.warnings) lines.push(`warning [${w.kind}]: ${w.message}; fix: ${w.fix}`);
  lines.push(out ? `recipe written to ${out}: apply it with prunelens prune MODEL --plan ${out} -o OUT` : 'pass -o RECIPE.json to save the recipe');
  return lines.join('\n');
}
