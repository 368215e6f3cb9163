/** The report written beside a pruned model: `<name>.report.json` (everything) and `<name>.report.md` (readable). */
import * as path from 'node:path';
import type { Metrics, PruneReport } from '../../shared/types.js';
import { writeAll, type OutputBatch } from '../util/atomic.js';

const si = (n: number) => (Math.abs(n) >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : Math.abs(n) >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : Math.abs(n) >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '-');

/** The files written beside a saved variant. */
export function reportPaths(out: string): { json: string; markdown: string; recipe: string } {
  const base = out.replace(/\.onnx$/i, '');
  return { json: `${base}.report.json`, markdown: `${base}.report.md`, recipe: `${base}.recipe.json` };
}

/** Stages both reports into `batch`, published with the model (an existing report is replaced only if the batch may). */
export function writePruneReports(r: PruneReport, out: string, batch: OutputBatch): { json: string; markdown: string } {
  const { json, markdown } = reportPaths(out);
  batch.stage(json, (fd) => writeAll(fd, Buffer.from(JSON.stringify({ ...r, reports: { json, markdown } }, null, 2) + '\n')));
  batch.stage(markdown, (fd) => writeAll(fd, Buffer.from(pruneMarkdown(r))));
  return { json, markdown };
}

export function pruneMarkdown(r: PruneReport): string {
  const predicted = new Map(r.recipe?.groups.map((g) => [g.id, g.predictedLoss]));
  const lines = [
    `# Pruning report: ${path.basename(r.output ?? r.input)}`,
    '',
    `From \`${r.input}\`${r.recipe ? `, plan: **${r.recipe.settings.strategy}** strategy, target ${JSON.stringify(r.recipe.settings.target)}` : ''}; ` +
      `channels chosen by ${r.criterion} (${r.reduce} over each group's members).`,
    '',
    r.verification.inputs.real
      ? `Data: real, ${r.verification.inputs.real.description}${r.accuracy ? ` (accuracy on all ${r.accuracy.samples})` : ''}; and ${r.verification.inputs.random.seeds.length} × ${r.verification.inputs.random.description}.`
      : `Data: **synthetic only** (${r.verification.inputs.random.seeds.length} × ${r.verification.inputs.random.description}); no real samples were given, so nothing here measures task accuracy.`,
    '',
    '| | before | after | ratio |',
    '|---|---:|---:|---:|',
    `| params | ${si(r.before.params)} | ${si(r.after.params)} | ${pct(r.after.params, r.before.params)} |`,
    `| MACs | ${si(r.before.macs)} | ${si(r.after.macs)} | ${pct(r.after.macs, r.before.macs)} |`,
    `| file | ${si(r.before.bytes)}B | ${si(r.after.bytes)}B | ${pct(r.after.bytes, r.before.bytes)} |`,
  ];
  if (r.latency) {
    lines.push(`| latency (measured, ${r.latency.backend && !r.latency.backend.startsWith('onnxruntime') ? r.latency.backend : `${r.latency.threads || 'all'} threads`}, median of ${r.latency.runs}) | ${r.latency.beforeMs.toFixed(2)} ms | ${r.latency.afterMs.toFixed(2)} ms | ${r.latency.speedup.toFixed(2)}× faster |`);
  }
  if (r.accuracy) {
    lines.push(`| top-1 on ${r.accuracy.data} | ${(100 * r.accuracy.before).toFixed(1)} % | ${(100 * r.accuracy.after).toFixed(1)} % | ${(100 * (r.accuracy.after - r.accuracy.before)).toFixed(1)} points |`);
  }
  if (r.recipe?.predicted.loss !== undefined) {
    lines.push('', `Predicted loss (${r.recipe.settings.scan?.metric ?? 'scan metric'}, sum over groups pruned alone): ${r.recipe.predicted.loss.toFixed(4)}.`);
  }
  lines.push('', '## Groups', '', '| group | layers | channels | kept | predicted loss |', '|---:|---|---:|---:|---:|');
  for (const g of r.groups) {
    const p = predicted.get(g.id);
    lines.push(`| ${g.id} | ${g.sources.slice(0, 3).join(', ')}${g.sources.length > 3 ? ', …' : ''} | ${g.channels} | ${g.kept} | ${p === undefined ? '' : p.toFixed(4)} |`);
  }
  if (r.recipe?.warnings.length) {
    lines.push('', '## Warnings', '');
    for (const w of r.recipe.warnings) lines.push(`- **${w.kind}**: ${w.message}. *Fix:* ${w.fix}.`);
  }
  const v = r.verification;
  const on = `${v.inputs.random.seeds.length} × ${v.inputs.random.description}${v.inputs.real ? ` and ${v.inputs.real.description}` : ''}`;
  const err = `max relative error ${v.maxRelError.toExponential(2)} (tolerance: ${v.tolerance.method}, at least ${v.tolerance.relativeFloor} of each output's scale)`;
  for (const s of v.silenced) lines.push('', `**Warning: the pruned model has lost an output**: ${s}. The plan cut too much.`);
  if (v.exercised) {
    lines.push('', `Verified against the masked original on ${on}: ${err}.`);
    if (v.degenerate.length) lines.push('', `Not exercised by these inputs: ${v.degenerate.join('; ')}.`);
  } else {
    lines.push('', `**Not verified**: on ${on} the original's outputs say nothing (${v.degenerate.join('; ')}), so the two ` +
      `models agreeing (${err}) proves nothing. Prune again with real samples (data) to verify.`);
  }
  const n = r.native;
  if (n) {
    lines.push('', `In TF.js (${n.backend}), the written ${n.format} files (${n.files.join(', ')}) equal ` +
      `${n.against === 'pruned' ? 'the recovered pruned model (written as float32)' : 'the masked original written the same way'} within max relative error ` +
      `${n.maxRelError.toExponential(2)}; ONNX Runtime's run of the converted graph follows TF.js's run of the file within ${n.conversion.maxRelError.toExponential(2)} of the output scale.`);
    for (const x of n.notes) lines.push('', `Note: ${x}.`);
  }
  lines.push(...recoveryMarkdown(r));
  lines.push('', `Params: ${r.basis.params}. MACs: ${r.basis.macs}.`);
  lines.push('', r.recovery
    ? 'No fine-tuning was done: recovery refitted weights in closed form on calibration samples; nothing was trained.'
    : 'No fine-tuning was done: accuracy lost here is what pruning alone costs.');
  return lines.join('\n') + '\n';
}

/** Recovery without training and the steps of a gradual schedule: what ran, on what, and what it changed. */
function recoveryMarkdown(r: PruneReport): string[] {
  const rec = r.recovery;
  if (!rec && !r.steps?.length) return [];
  const m = (x: Metrics) => [x.accuracy !== undefined ? `top-1 ${(100 * x.accuracy).toFixed(1)} %` : '', x.agreement !== undefined ? `agreement ${(100 * x.agreement).toFixed(1)} %` : '',
    `rel-l2 ${x['rel-l2'].toFixed(3)}`].filter(Boolean).join(', ');
  const lines = ['', '## Recovery without training', ''];
  if (rec) {
    const refitted = rec.lsq.filter((l) => !l.skipped).length;
    lines.push(`Methods asked: ${rec.methods.join(', ')}; fitted on ${rec.data.fitted}${rec.data.synthetic ? ' (**synthetic**)' : ''}, judged on ${rec.data.judged} ` +
      `(fidelity to the original model): ${m(rec.before)} → **${m(rec.after)}**, in ${(rec.ms / 1000).toFixed(1)} s. The verification above checks the ` +
      'channel surgery, before recovery moved weights on purpose.', '');
    const undone = (m: string) => (rec.reverted?.some((x) => x.method === m) ? ' (then undone, see below)' : '');
    if (rec.lsq.length) lines.push(`- least squares${undone('lsq')}: ${refitted} of ${rec.lsq.length} layers refitted` + (refitted < rec.lsq.length ? ` (not refitted: ${rec.lsq.filter((l) => l.skipped).map((l) => `${l.node}, ${l.skipped}`).join('; ')})` : ''));
    if (rec.bn.length) lines.push(`- BatchNorm${undone('bn')}: ${rec.bn.filter((b) => b.kind === 'bn').length} re-estimated, ${rec.bn.filter((b) => b.kind === 'bias').length} folded biases corrected`);
    for (const x of rec.reverted ?? []) lines.push(`- **undone: ${x.method}**, which did not help on the held-out samples (${m(x.before)} → ${m(x.after)})`);
  }
  for (const st of r.steps ?? []) {
    lines.push(`- step ${st.step}: ${st.removed} channels removed, ${st.verified ? 'verified' : '**not verified**'}` +
      (st.recovery ? `; recovery: ${m(st.recovery.before)} → ${m(st.recovery.after)}` : ''));
  }
  return lines;
}
