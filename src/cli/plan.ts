import { invalid, METRICS, planModel } from '../core/api.js';
import type { MetricName, PlanTarget, Recipe, StrategyName } from '../shared/types.js';
import { checkResultFiles, writeResultFiles } from './files.js';
import { emit, pct, si, table } from './format.js';
import { channelChoice, describeFix, number } from './args.js';
import { withProgress } from './progress.js';
import { scanOptions, type ScanFlags } from './scan.js';

export interface PlanFlags extends Omit<ScanFlags, 'output' | 'csv' | 'json'> {
  target?: string;
  maxLoss?: string;
  strategy?: string;
  scan?: string;
  maxRatio?: string;
  output?: string;
  force?: boolean;
  json?: boolean;
}

/** `macs=0.5`, `params=0.3`, `latency=0.6` (fractions to keep), or with --max-loss `agreement=0.02`. */
export function parseTarget(target?: string, maxLoss?: string): { target: PlanTarget; metric?: MetricName } {
  if (!target === !maxLoss) throw invalid('target', 'give one of --target macs|params|latency=FRACTION or --max-loss METRIC=VALUE');
  const option = maxLoss ? 'maxLoss' : 'target';
  const [k, v] = (target ?? maxLoss)!.split('=');
  const x = Number(v);
  if (v === undefined || !Number.isFinite(x)) throw invalid(option, `expected KEY=NUMBER, got '${target ?? maxLoss}'`);
  if (maxLoss) {
    if (!METRICS.includes(k as MetricName)) throw invalid('maxLoss', `the metric must be one of ${METRICS.join(', ')}`);
    return { target: { kind: 'loss', max: x }, metric: k as MetricName };
  }
  if (k !== 'macs' && k !== 'params' && k !== 'latency') throw invalid('target', `macs, params or latency, got '${k}'`);
  return { target: { kind: k, keep: x } };
}

export async function runPlan(model: string, flags: PlanFlags, signal?: AbortSignal): Promise<void> {
  const { target, metric } = parseTarget(flags.target, flags.maxLoss);
  const choice = channelChoice(flags);
  const { inputShapes, inputValues, ...scanSettings } = scanOptions(flags);
  const files = { outputs: [flags.output], overwrite: flags.force, inputs: [model, flags.scan, flags.data, flags.labels, flags.preprocess] };
  const outputs = checkResultFiles(files);
  const recipe = await withProgress((onProgress) =>
    planModel(model, {
      outputs,
      strategy: (flags.strategy ?? 'sensitivity') as StrategyName,
      target,
      scan: flags.scan,
      ...choice,
      inputShapes,
      inputValues,
      maxRatio: number('maxRatio', flags.maxRatio),
      scanSettings: { ...scanSettings, metric: metric ?? scanSettings.metric },
      onProgress,
      signal,
    }),
  );
  if (metric && recipe.settings.scan && recipe.settings.scan.metric !== metric) {
    throw invalid('maxLoss', `${metric}: the scan measured ${recipe.settings.scan.metric}; scan with --metric ${metric}`);
  }
  writeResultFiles([{ path: flags.output, text: () => JSON.stringify(recipe, null, 2) + '\n' }], files);
  emit(recipe, flags.json, (r) => renderPlan(r, flags.output));
}

function renderPlan(r: Recipe, out?: string): string {
  const t = r.settings.target as PlanTarget;
  const rows = r.groups
    .filter((g) => g.keep < g.channels)
    .map((g) => [String(g.id), g.sources[0] + (g.sources.length > 1 ? ` +${g.sources.length - 1}` : ''), `${g.channels} → ${g.keep}`,
      `${Math.round(100 * g.ratio)}%`, g.predictedLoss === undefined ? '' : g.predictedLoss.toFixed(3)]);
  const sc = r.settings.scan;
  const destroyed = r.warnings.filter((w) => w.kind === 'destroyed');
  const lines = [
    `${r.settings.strategy} plan for ${r.model.path}: target ${t.kind === 'loss' ? `predicted loss ≤ ${t.max}` : `${t.kind} ${pct(t.keep, 1)}`}`,
    sc ? `based on a scan on ${sc.synthetic ? 'SYNTHETIC data (fidelity on such inputs, not task accuracy): ' : 'real data: '}${sc.data}` : 'based on the criterion\'s scores only (no scan)',
    ...destroyed.map((w) => `WARNING: ${w.message}; fix: ${describeFix(w.fix, w.options)}`),
    '',
    table(['group', 'layers', 'channels', 'pruned', 'pred. loss'], rows, [2, 3, 4]),
    ...(sc ? [`pred. loss: the scan's ${sc.metric} loss of each group pruned alone at its planned ratio (0 = as the dense model; ` +
      `the plan's total is the sum over groups, an estimate of pruning them together)`] : []),
    '',
    `  params ${si(r.model.params)} → ${si(r.predicted.params)} (${pct(r.predicted.paramsRatio, 1)})`,
    `  MACs   ${si(r.model.macs)} → ${si(r.predicted.macs)} (${pct(r.predicted.macsRatio, 1)})`,
  ];
  if (r.predicted.latencyRatio !== undefined) lines.push(`  latency (measured) ${pct(r.predicted.latencyRatio, 1)} of the original`);
  if (r.predicted.loss !== undefined) lines.push(`  predicted loss (${r.settings.scan?.metric}, sum of groups alone) ${r.predicted.loss.toFixed(4)}`);
  for (const w of r.warnings.filter((x) => x.kind !== 'destroyed')) lines.push(`warning [${w.kind}]: ${w.message}; fix: ${describeFix(w.fix, w.options)}`);
  lines.push(out ? `recipe written to ${out}: apply it with prunelens prune MODEL --plan ${out} -o OUT` : 'pass -o RECIPE.json to save the recipe');
  return lines.join('\n');
}
