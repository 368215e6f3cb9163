import { checkSparsity, invalid, MAX_JSON_FILE_BYTES, readRegularText, pruneModel, PruneLensError, RECIPE_KIND, RECIPE_VERSION, sparsifyFile, type Sparsity } from '../core/api.js';
import type { PlanEntries, PruneReport, Recipe, RecoveryMethod, SparsityMethod, SparsityReport } from '../shared/types.js';
import { bytes, emit, pct, si, speed, table } from './format.js';
import { channelChoice, describeFix, inputValues, number, threadsOf, type ChannelFlags } from './args.js';
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
  preprocess?: string;
  threads?: string;
  recover?: string;
  steps?: string;
  report?: boolean;
  force?: boolean;
  allowOtherModel?: boolean;
  quantization?: string;
  json?: boolean;
}


/** A plan file: either a recipe from `prunelens plan` (exact channels, model hash) or hand-written entries. */
export function readPlan(file: string): { entries?: PlanEntries; recipe?: Recipe } {
  let text: string;
  const bad = (message: string) => new PruneLensError(`${file}: ${message}`, { code: 'bad-input', option: 'plan' });
  // a regular file of reasonable size: a FIFO would block, and a huge file is no plan
  text = readRegularText(file, { option: 'plan', what: 'plan', maxBytes: MAX_JSON_FILE_BYTES });
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  const o = j as Record<string, unknown> | null;
  if (o && typeof o === 'object' && o.kind === RECIPE_KIND) {
    const r = o as unknown as Recipe;
    if (r.version !== RECIPE_VERSION) throw bad(`recipe version ${r.version} is not supported (this prunelens reads version ${RECIPE_VERSION})`);
    const groupsOk = Array.isArray(r.groups) && r.groups.every((g) => g && Number.isInteger(g.id) && Array.isArray(g.remove) && Array.isArray(g.sources) && Number.isInteger(g.channels));
    if (!r.model?.sha256 || !groupsOk || !r.settings || typeof r.settings.inputShapes !== 'object') throw bad('a damaged recipe (model hash, settings or groups missing or of the wrong type)');
    return { recipe: r };
  }
  if (o && typeof o === 'object' && Array.isArray(o.targets) && o.settings) {
    throw bad('this is a scan result, not a plan: make a plan from it with prunelens plan MODEL --scan ' + file + ' -o recipe.json');
  }
  const entries = (o && typeof o === 'object' && 'groups' in o ? o.groups : j) as unknown;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) {
    throw bad('expected {"groups": {"<group id or layer>": ratio or [channel, …]}}');
  }
  for (const [k, v] of Object.entries(entries)) {
    const ok = typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number'));
    if (!ok) throw bad(`entry '${k}' must be a ratio or a list of channel indices`);
  }
  return { entries: entries as PlanEntries };
}

export async function runPrune(model: string, flags: PruneFlags, signal?: AbortSignal): Promise<void> {
  // zeroing weights takes its own criteria (magnitude, wanda, obs)
  if (flags.sparsity !== undefined || flags.nm !== undefined) return runSparsify(model, flags, signal);
  const choice = channelChoice(flags);
  if (flags.ratio !== undefined && flags.plan) throw invalid('plan', 'give either --ratio or --plan, not both');
  const plan = flags.plan ? readPlan(flags.plan) : undefined;
  const report = await withProgress((onProgress) =>
    pruneModel(model, flags.output, {
      ratio: number('ratio', flags.ratio),
      plan: plan?.entries,
      recipe: plan?.recipe,
      ignoreHash: flags.allowOtherModel,
      recover: flags.recover?.split(',').map((m) => m.trim()).filter(Boolean) as RecoveryMethod[] | undefined,
      steps: number('steps', flags.steps),
      latency: flags.latencyRuns !== '0',
      latencyRuns: number('latencyRuns', flags.latencyRuns),
      threads: threadsOf(flags.threads, 1),
      reports: flags.report !== false,
      ...choice,
      data: flags.data,
      labels: flags.labels,
      preprocess: flags.preprocess,
      samples: number('samples', flags.samples),
      quantization: flags.quantization as 'original' | 'none' | undefined,
      overwrite: flags.force,
      onProgress,
      signal,
    }),
  );
  emit(report, flags.json, renderPrune);
}

async function runSparsify(model: string, flags: PruneFlags, signal?: AbortSignal): Promise<void> {
  if (flags.ratio !== undefined || flags.plan) throw invalid(flags.nm !== undefined ? 'nm' : 'sparsity', 'zeroes weights; it does not combine with --ratio or --plan');
  if (flags.recover !== undefined) throw invalid('recover', 'refits layers after channels are removed; for zeroed weights, --criterion obs updates the weights that stay');
  if (flags.steps !== undefined) throw invalid('steps', 'schedules channel pruning; it does not combine with --sparsity or --nm');
  let s: Sparsity;
  if (flags.nm !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(flags.nm);
    if (!m) throw invalid('nm', `expects N:M, e.g. 2:4; got '${flags.nm}'`);
    s = { kind: 'nm', n: Number(m[1]), m: Number(m[2]) };
  } else {
    s = { kind: 'unstructured', ratio: number('sparsity', flags.sparsity)! };
  }
  // the channel criteria's default (l1) is magnitude here
  const method = (flags.criterion === undefined || flags.criterion === 'l1' ? 'magnitude' : flags.criterion) as SparsityMethod;
  checkSparsity(s, method);
  const r = await withProgress((onProgress) =>
    sparsifyFile(model, flags.output, s, {
      method, overwrite: flags.force, inputShapes: flags.inputShape, inputValues: inputValues(flags.inputValue),
      data: flags.data, labels: flags.labels, preprocess: flags.preprocess,
      onProgress, signal,
    }),
  );
  emit(r, flags.json, renderSparsity);
}

function renderSparsity(x: SparsityReport): string {
  const what = x.sparsity.kind === 'nm' ? `${x.sparsity.n}:${x.sparsity.m}` : `${(100 * x.sparsity.ratio).toFixed(0)}%`;
  const lines = [`zeroed ${si(x.zeroedWeights)} of ${si(x.weights)} weights (${pct(x.zeroedWeights, x.weights)}, ${what}) by ${x.method} → ${x.output}`];
  if (x.layers) {
    const worst = [...x.layers].sort((a, b) => b.error - a.error).slice(0, 3);
    lines.push(`  ${x.layers.length} layers by ${x.method}${x.magnitudeLayers ? `, ${x.magnitudeLayers} by magnitude (grouped convs, or more inputs than ${x.method} handles here)` : ''}; ` +
      `largest output change: ${worst.map((l) => `${l.node} ${l.error.toFixed(3)}`).join(', ')}`);
  }
  if (x.quality) {
    const q = x.quality;
    const m = (v: typeof q.dense) => [v.accuracy !== undefined ? `top-1 ${(100 * v.accuracy).toFixed(1)}%` : '', v.agreement !== undefined ? `agreement ${(100 * v.agreement).toFixed(1)}%` : '', `rel-l2 ${v['rel-l2'].toFixed(3)}`].filter(Boolean).join(', ');
    lines.push(`  on ${q.data.judged}${q.data.synthetic ? ' (SYNTHETIC)' : ''}${q.data.fitted ? ` (fitted on ${q.data.fitted})` : ''}:`);
    lines.push(`    dense:  ${m(q.dense)}`, `    sparse: ${m(q.sparse)}`);
  }
  lines.push(`  done in ${(x.ms / 1000).toFixed(1)} s`, `note: ${x.note}`);
  return lines.join('\n');
}

/** What recovery did: the fidelity (and accuracy) on held-out samples before and after it. */
function recoveryLines(r: PruneReport): string[] {
  const rec = r.recovery;
  const steps = (r.steps ?? []).map((s) => `  step ${s.step}: ${s.removed} channels removed, ${s.verified ? 'verified' : 'NOT verified'}` +
    (s.recovery ? `; recovery: rel-l2 ${s.recovery.before['rel-l2'].toFixed(3)} → ${s.recovery.after['rel-l2'].toFixed(3)}` : ''));
  if (!rec) return steps;
  const m = (x: typeof rec.before) =>
    [x.accuracy !== undefined ? `top-1 ${(100 * x.accuracy).toFixed(1)}%` : '', x.agreement !== undefined ? `agreement ${(100 * x.agreement).toFixed(1)}%` : '', `rel-l2 ${x['rel-l2'].toFixed(3)}`].filter(Boolean).join(', ');
  const skipped = rec.lsq.filter((l) => l.skipped);
  const undone = (method: string) => (rec.reverted?.some((x) => x.method === method) ? ' (undone)' : '');
  return [
    ...steps,
    `  recovery (${rec.methods.join(', ')}) fitted on ${rec.data.fitted}${rec.data.synthetic ? ' (SYNTHETIC)' : ''} in ${(rec.ms / 1000).toFixed(1)} s: ` +
      `${rec.lsq.length - skipped.length} layers refitted${undone('lsq')}, ${rec.bn.filter((b) => b.kind === 'bn').length} BatchNorms re-estimated and ` +
      `${rec.bn.filter((b) => b.kind === 'bias').length} biases corrected${undone('bn')}`,
    `    on ${rec.data.judged}: ${m(rec.before)} → ${m(rec.after)}`,
    ...(rec.reverted ?? []).map((x) => `    undone: ${x.method} (it did not help on those samples: ${m(x.before)} → ${m(x.after)})`),
    ...skipped.map((l) => `    not refitted: ${l.node} (${l.skipped})`),
  ];
}

/** What the numbers below rest on: synthetic inputs only, or real samples too. */
export function dataLine(r: PruneReport): string {
  const v = r.verification;
  const synthetic = `${v.inputs.random.seeds.length} × ${v.inputs.random.description}`;
  if (!v.inputs.real) return `SYNTHETIC only (${synthetic}); pass --data with real samples to verify on them and measure accuracy`;
  return `real: ${v.inputs.real.description}${r.accuracy ? `; accuracy on ${r.accuracy.samples}` : ''}; and ${synthetic}`;
}

/** What verification showed, and on what: never "verified" when the original's outputs said nothing. */
export function verificationLines(r: PruneReport): string[] {
  const v = r.verification;
  const on = `${v.inputs.random.seeds.length} × ${v.inputs.random.description}${v.inputs.real ? ` and ${v.inputs.real.description}` : ''}`;
  const err = `max relative error ${v.maxRelError.toExponential(2)} (tolerance ${Math.max(...v.outputs.map((o) => o.tolerance / Math.max(o.scale, 1e-12))).toExponential(1)} of the output scale, from the model's own float32 noise)`;
  const lost = v.silenced.map((s) => `  WARNING: the pruned model has lost an output: ${s}. The plan cut too much; lower the target, or plan with the sensitivity strategy on real data.`);
  if (!v.exercised) {
    const why = [...v.degenerate.map((d) => `the original's ${d}`), ...v.silenced.map((d) => `the pruned model's ${d.replace(/, where.*/, '')}`)];
    return [
      `  NOT VERIFIED: on ${on}, ${why.join('; ')}: two silent outputs always agree (${err}), so this proves nothing.`,
      ...(v.silenced.length ? [] : ['    Pass --data with real samples to verify.']),
      ...lost,
    ];
  }
  const lines = [`  verified against the masked original on ${on}: ${err}`];
  if (v.degenerate.length) lines.push(`  note: not exercised by these inputs: ${v.degenerate.join('; ')}`);
  return [...lines, ...lost];
}

/** TF.js and Keras models: the written files as TF.js runs them, and how closely the converted graph follows them. */
export function nativeLines(r: PruneReport): string[] {
  const n = r.native;
  if (!n) return [];
  const tol = Math.max(...n.outputs.map((o) => o.tolerance / Math.max(o.scale, 1e-12)));
  return [
    `  in TF.js (${n.backend}): the written ${n.format} files (${n.files.join(', ')}; weights ${n.quantization === 'original' ? 'stored as the original stores them' : 'as float32'}) ` +
      `equal ${n.against === 'pruned' ? 'the recovered pruned model\'s (written as float32)' : 'the masked original\'s'} within max relative error ${n.maxRelError.toExponential(2)} (tolerance ${tol.toExponential(1)})`,
    `  ONNX Runtime's run of the converted graph (scans, verification) follows TF.js's run of the file within ${n.conversion.maxRelError.toExponential(2)} of the output scale`,
    ...n.notes.map((x) => `  note: ${x}`),
  ];
}

export function renderPrune(r: PruneReport): string {
  const rows = r.layers
    .filter((l) => l.outChannelsBefore !== undefined && l.outChannelsBefore !== l.outChannelsAfter)
    .map((l) => [l.name, l.op, `${l.outChannelsBefore} → ${l.outChannelsAfter}`, `${si(l.paramsBefore)} → ${si(l.paramsAfter)}`]);
  const fallback = r.bnFallback?.length
    ? [`  bn: ${r.bnFallback.length} group(s) without BatchNormalization, scored by l1: ${r.bnFallback.join(', ')}`]
    : (r.fallback ?? []).map((f) => `  ${r.criterion}: group ${f.group} scored by l1: ${f.reason}`);
  return [
    `pruned ${r.input}`,
    `  → ${r.output}`,
    `  data: ${dataLine(r)}`,
    `  criterion ${r.criterion} (${r.reduce} over group members), ${r.groups.length} groups pruned`,
    ...fallback,
    '',
    table(['layer', 'op', 'channels', 'params'], rows, [2, 3]),
    '',
    `  params ${si(r.before.params)} → ${si(r.after.params)} (${pct(r.after.params, r.before.params)})`,
    `  MACs   ${si(r.before.macs)} → ${si(r.after.macs)} (${pct(r.after.macs, r.before.macs)})`,
    `  file   ${bytes(r.before.bytes)} → ${bytes(r.after.bytes)}`,
    ...verificationLines(r),
    ...nativeLines(r),
    ...recoveryLines(r),
    ...(r.accuracy ? [`  top-1 on ${r.accuracy.data}: ${(100 * r.accuracy.before).toFixed(1)}% → ${(100 * r.accuracy.after).toFixed(1)}% (no fine-tuning${r.recovery ? `; after recovery (${r.recovery.methods.join(', ')})` : ''})`] : []),
    ...(r.latency ? [`  latency (measured, ${r.latency.backend && !r.latency.backend.startsWith('onnxruntime') ? r.latency.backend : `${r.latency.threads || 'all'} thread${r.latency.threads === 1 ? '' : 's'}`}, median of ${r.latency.runs} runs each) ` +
      `${r.latency.beforeMs.toFixed(2)} → ${r.latency.afterMs.toFixed(2)} ms: ${speed(r.latency.speedup)} (MACs ${(r.before.macs / r.after.macs).toFixed(2)}× fewer)`] : []),
    ...(r.recipe?.warnings.map((w) => `  warning [${w.kind}]: ${w.message}; fix: ${describeFix(w.fix, w.options)}`) ?? []),
    ...(r.reports ? [`  report: ${r.reports.markdown}`] : []),
  ].join('\n');
}
