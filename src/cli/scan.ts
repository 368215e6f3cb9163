import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { invalid, scanModel, type ScanOptions } from '../core/api.js';
import type { MetricName, ScanResult } from '../shared/types.js';
import { checkResultFiles, writeResultFiles } from './files.js';
import { emit, pct, si, table } from './format.js';
import { channelChoice, number, type ChannelFlags } from './args.js';
import { withProgress } from './progress.js';

export interface ScanFlags extends ChannelFlags {
  data?: string;
  labels?: string;
  preprocess?: string;
  samples?: string;
  ratios?: string;
  metric?: string;
  mode?: string;
  outputName?: string;
  batch?: string;
  maxMemory?: string;
  threads?: string;
  only?: string;
  seed?: string;
  cache?: boolean;
  cacheDir?: string;
  output?: string;
  csv?: string;
  stack?: boolean;
  force?: boolean;
  json?: boolean;
}

/** Where scans are cached between runs: $XDG_CACHE_HOME/prunelens or ~/.cache/prunelens. */
export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'prunelens');
}

/** The scan flags as engine options (plan passes the same ones on to the scan it runs). */
export function scanOptions(flags: ScanFlags): ScanOptions & { inputShapes?: string[]; inputValues?: Record<string, number> } {
  const ratios = flags.ratios?.split(',').map((r) => {
    const v = Number(r);
    if (!(v > 0 && v < 1)) throw invalid('ratios', `fractions in (0, 1), e.g. 0.1,0.3,0.5; got '${r}'`);
    return v;
  });
  return {
    data: flags.data,
    labels: flags.labels,
    preprocess: flags.preprocess,
    samples: number('samples', flags.samples),
    ratios,
    metric: flags.metric as MetricName | undefined,
    ...channelChoice(flags),
    mode: flags.mode as ScanOptions['mode'],
    outputName: flags.outputName,
    batch: number('batch', flags.batch),
    maxMemoryMB: number('maxMemoryMB', flags.maxMemory),
    stack: flags.stack,
    threads: number('threads', flags.threads),
    only: flags.only?.split(','),
    seed: number('seed', flags.seed),
    cacheDir: flags.cache === false ? undefined : flags.cacheDir ?? defaultCacheDir(),
  };
}

export async function runScan(model: string, flags: ScanFlags, signal?: AbortSignal): Promise<void> {
  const opts = scanOptions(flags);
  if (flags.output && flags.csv && path.resolve(flags.output) === path.resolve(flags.csv)) throw invalid('output', '-o and --csv name the same file');
  const files = { outputs: [flags.output, flags.csv], overwrite: flags.force, inputs: [model, flags.data, flags.labels, flags.preprocess] };
  const outputs = checkResultFiles(files);
  const result = await withProgress((onProgress) => scanModel(model, { ...opts, outputs, onProgress, signal }));
  // Results are written only once the whole scan is done: a cancelled scan leaves no partial file.
  writeResultFiles([{ path: flags.output, text: () => JSON.stringify(result, null, 2) + '\n' }, { path: flags.csv, text: () => toCsv(result) }], files);
  emit(result, flags.json, render);
}

export function toCsv(r: ScanResult): string {
  const rows = r.targets.flatMap((t) =>
    t.points.map((p) => [
      t.kind, t.id, t.sources.join(' '), t.channels ?? '', t.params, t.macs, p.ratio, p.kept, p.removed, p.paramsRemoved,
      p.macsRemoved, p.loss, p.metrics.agreement ?? '', p.metrics.kl ?? '', p.metrics['rel-l2'], p.metrics.cosine,
      p.metrics.accuracy ?? '', p.metrics.top5 ?? '',
    ]),
  );
  return stringify(rows, {
    header: true,
    columns: ['kind', 'id', 'sources', 'channels', 'params', 'macs', 'ratio', 'kept', 'removed', 'params_removed',
      'macs_removed', 'loss', 'agreement', 'kl', 'rel_l2', 'cosine', 'accuracy', 'top5'],
  });
}

const fmt = (m: MetricName, v: number) => (m === 'kl' || m === 'rel-l2' ? v.toFixed(3) : `${(100 * v).toFixed(1)}`);

function render(r: ScanResult): string {
  const m = r.settings.metric;
  const value = (p: ScanResult['targets'][number]['points'][number]) => fmt(m, p.metrics[m] ?? 0);
  const ranked = [...r.targets].sort((a, b) => b.sensitivity - a.sensitivity);
  const lines = [
    `${path.basename(r.model.path)}: ${r.settings.mode} scan of ${r.targets.length} ${r.settings.mode === 'structured' ? 'groups' : 'layers'} ` +
      `x ${r.settings.ratios.length} ratios`,
    `data: ${r.data.synthetic ? 'SYNTHETIC (the losses are fidelity to the dense model on such inputs, not task accuracy): ' : 'real, '}${r.data.description}`,
    ...r.dense.degenerate.map((d) => `WARNING: the dense model's ${d} on this data, so the losses below measure rounding, not the model: scan with real data (--data)`),
    ...(r.settings.assumed?.length ? [`input sizes assumed: ${r.settings.assumed.join(', ')} (set with --input-shape)`] : []),
    `metric: ${m}${m === 'kl' || m === 'rel-l2' ? ' (lower is better)' : ' (%, higher is better)'} on output '${r.settings.output}', each group pruned alone` +
      (r.dense.metrics.accuracy !== undefined ? `; dense accuracy ${(100 * r.dense.metrics.accuracy).toFixed(1)}%` : ''),
    '',
    table(
      ['id', 'layers', r.settings.mode === 'structured' ? 'ch' : 'params', 'MACs', ...r.settings.ratios.map((x) => `${Math.round(x * 100)}%`)],
      ranked.map((t) => [
        String(t.id),
        t.sources.length > 2 ? `${t.sources.slice(0, 2).join(', ')} +${t.sources.length - 2}` : t.sources.join(', '),
        r.settings.mode === 'structured' ? String(t.channels) : si(t.params),
        pct(t.macs, r.model.macs),
        ...t.points.map(value),
      ]),
      [2, 3, ...r.settings.ratios.map((_, i) => i + 4)],
    ),
    '',
    `most sensitive: ${ranked.slice(0, 3).map((t) => `${t.id} (${t.sources[0]})`).join(', ')}`,
    `least sensitive: ${ranked.slice(-3).reverse().map((t) => `${t.id} (${t.sources[0]})`).join(', ')}`,
  ];
  if (r.skipped.length) lines.push(`not scanned: ${r.skipped.length} group${r.skipped.length === 1 ? "" : "s"} (e.g. ${r.skipped[0].id}: ${r.skipped[0].reason})`);
  const t = r.timing;
  lines.push(
    t.cached
      ? 'reused a cached result (same model, data and settings)'
      : `${t.steps} steps in ${(t.totalMs / 1000).toFixed(1)} s (dense ${(t.denseMs / 1000).toFixed(1)} s, sessions ${(t.sessionMs / 1000).toFixed(1)} s, runs ${(t.runMs / 1000).toFixed(1)} s)`,
  );
  lines.push(...r.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}
