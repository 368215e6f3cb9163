import { inspect } from '../core/api.js';
import type { InspectResult } from '../shared/types.js';
import { inputValues } from './args.js';
import { bytes, emit, pct, shape, si, table } from './format.js';
import { withProgress } from './progress.js';

export interface InspectFlags {
  inputShape?: string[];
  inputValue?: string[];
  json?: boolean;
  all?: boolean;
  probe?: boolean;
  groups?: boolean;
}

export async function runInspect(file: string, flags: InspectFlags): Promise<void> {
  const result = await withProgress((onProgress) =>
    inspect(file, {
      inputShapes: flags.inputShape,
      inputValues: inputValues(flags.inputValue),
      onProgress,
      shapeMethod: flags.probe ? 'probe' : 'auto',
      groups: flags.groups,
    }),
  );
  emit(result, flags.json, (r) => renderInspect(r, flags.all ?? false));
}

export function renderInspect(r: InspectResult, all: boolean): string {
  const io = (list: InspectResult['inputs']) => list.map((i) => `${i.name} ${i.type}[${shape(i.shape)}]`).join(', ');
  const lines = [
    `${r.file}`,
    (r.format === 'onnx'
      ? `  format onnx, IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`
      : `  format ${r.format}, analysed as ONNX operators in NCHW`) +
      (r.producer ? `, from ${r.producer}` : ''),
    `  inputs  ${io(r.inputs)}`,
    `  outputs ${io(r.outputs)}`,
    `  numbers below are for input ${Object.entries(r.inputShapes).map(([k, v]) => `${k}=${shape(v)}`).join(' ')}` +
      (r.assumedDims.length ? ` (assumed ${r.assumedDims.join(', ')}; set with --input-shape)` : ''),
    ...r.inputValues.filter((v) => v.from !== 'given').map((v) =>
      `  input ${v.name} = ${v.value} (${v.from === 'model' ? 'a value the model compares it with' : 'default'}; set with --input-value ${v.name}=N)`),
    '',
  ];
  const shown = r.layers.filter((l) => all || l.kind !== 'data');
  const rows = shown.map((l) => [
    l.name,
    l.op,
    shape(l.inShapes[0]),
    shape(l.outShapes[0]),
    l.outChannels !== undefined ? String(l.outChannels) : '',
    l.params ? si(l.params) : '',
    l.macs ? si(l.macs) : '',
    pct(l.macs, r.macs),
  ]);
  lines.push(table(['layer', 'op', 'in', 'out', 'ch', 'params', 'MACs', 'MAC share'], rows, [4, 5, 6, 7]));
  if (!all && shown.length < r.layers.length) lines.push(`  (${r.layers.length - shown.length} data-movement nodes hidden; --all shows them)`);
  lines.push(
    '',
    `  nodes ${r.nodeCount}${r.subgraphCount ? ` (in ${r.subgraphCount + 1} graphs)` : ''}, params ${si(r.params)} (${bytes(r.weightBytes)} of weights), ` +
      `MACs ${si(r.macs)} (${si(r.computeMacs)} in conv/gemm/matmul), peak activations ${bytes(r.peakActivationBytes)}`,
  );
  if (r.groups) {
    const prunable = r.groups.filter((g) => g.prunable);
    lines.push('', `  dependency groups: ${r.groups.length}, prunable ${prunable.length}`);
    const rows = r.groups.map((g) => [
      String(g.id),
      String(g.channels),
      si(g.params),
      g.sources.slice(0, 3).join(', ') + (g.sources.length > 3 ? ` +${g.sources.length - 3}` : ''),
      g.prunable ? 'yes' : `no: ${g.reason}`,
    ]);
    lines.push(table(['group', 'ch', 'params', 'layers', 'prunable'], rows, [0, 1, 2]).replace(/^/gm, '  '));
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}
