import { evaluateFile } from '../core/api.js';
import { emit } from './format.js';
import { inputValues, number } from './args.js';

export interface EvalFlags {
  data: string;
  labels?: string;
  preprocess?: string;
  mean?: string;
  std?: string;
  scale?: string;
  samples?: string;
  reference?: string;
  inputShape?: string[];
  inputValue?: string[];
  json?: boolean;
}

export async function runEval(file: string, flags: EvalFlags): Promise<void> {
  // --mean/--std/--scale are shorthands for the same keys of --preprocess
  const extra = (['mean', 'std', 'scale'] as const).filter((k) => flags[k] !== undefined).map((k) => `${k}=${flags[k]}`);
  const preprocess = [flags.preprocess, ...extra].filter(Boolean).join(';') || undefined;
  const r = await evaluateFile(file, {
    data: flags.data, labels: flags.labels, preprocess, samples: number('samples', flags.samples), reference: flags.reference,
    inputShapes: flags.inputShape, inputValues: inputValues(flags.inputValue),
  });
  emit(r, flags.json, (x) => {
    const lines = [`${file} on ${x.data}:`];
    if (x.top1 !== undefined) lines.push(`  top-1 ${(100 * x.top1).toFixed(1)}%${(x.classes ?? 6) > 5 ? `, top-5 ${(100 * x.top5!).toFixed(1)}%` : ` (${x.classes} classes)`}`);
    if (x.fidelity) {
      const m = x.fidelity.metrics;
      lines.push(`  against ${x.fidelity.reference} (output '${x.fidelity.output}'): ` +
        [m.agreement !== undefined ? `top-1 agreement ${(100 * m.agreement).toFixed(1)}%` : '', `rel-l2 ${m['rel-l2'].toFixed(4)}`, `cosine ${m.cosine.toFixed(4)}`].filter(Boolean).join(', '));
    }
    return lines.join('\n');
  });
}
