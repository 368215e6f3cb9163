/** Flag parsing shared by the commands, and the one table from engine option names to this CLI's flags. */
import type { Command } from 'commander';
import { CRITERIA, invalid, type PruneOptions } from '../core/api.js';
import type { CriterionName, EngineErrorData, OptionName, Reduction, WithinGroup } from '../shared/types.js';

/** Every option the engine can name in an error or a warning, spelt as this CLI spells it. */
export const FLAGS: Record<OptionName, string | undefined> = {
  path: 'MODEL', output: '-o/--output', overwrite: '--force', inputShapes: '--input-shape', inputValues: '--input-value',
  ratio: '--ratio', plan: '--plan', keep: '--plan', recipe: '--plan', ignoreHash: '--allow-other-model', criterion: '--criterion',
  reduce: '--reduce', roundTo: '--round-to', minChannels: '--min-channels', withinGroup: '--within-group',
  data: '--data', labels: '--labels', preprocess: '--preprocess', samples: '--samples',
  ratios: '--ratios', metric: '--metric', mode: '--mode', outputName: '--output-name', batch: '--batch', maxMemoryMB: '--max-memory',
  threads: '--threads', only: '--only', seed: '--seed', cacheDir: '--cache-dir', stack: '--stack',
  target: '--target', maxLoss: '--max-loss', strategy: '--strategy', scan: '--scan', maxRatio: '--max-ratio',
  sparsity: '--sparsity', nm: '--nm', latencyRuns: '--latency-runs', runs: '--runs', warmup: '--warmup', compare: '--compare', reference: '--reference', recover: '--recover', steps: '--steps',
  modelId: undefined, variantId: undefined, criteria: '--compare', method: '--criterion', quantization: '--quantization',
};

/** An engine error in this CLI's words: the option it is about becomes its flag. */
export function describeError(e: EngineErrorData): string {
  const flag = e.option ? FLAGS[e.option] : undefined;
  if (!flag) return e.message;
  if (e.code === 'invalid-option') return `${flag}: ${e.message}`;
  if (e.option === 'overwrite') return `${e.message} (pass --force to replace it)`;
  if (e.option === 'ignoreHash') return `${e.message}: pass --allow-other-model to apply it anyway`;
  return `${e.message} (see ${flag})`;
}

/** A warning's fix, with the flags of the options it names. */
export function describeFix(fix: string, options?: OptionName[]): string {
  const flags = (options ?? []).map((o) => FLAGS[o]).filter((f): f is string => !!f);
  return flags.length ? `${fix} (${[...new Set(flags)].join(', ')})` : fix;
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** A number flag, or undefined when absent; `option` names it in the error. */
export function number(option: OptionName, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(option, `expects a number, got '${v}'`);
  return n;
}

/** `NAME=VALUE` pairs for integer inputs (`--input-value sr=16000`). */
export function inputValues(specs: string[] | undefined): Record<string, number> | undefined {
  if (!specs?.length) return undefined;
  return Object.fromEntries(specs.map((s) => {
    const eq = s.lastIndexOf('=');
    const v = Number(s.slice(eq + 1));
    if (eq <= 0 || !Number.isInteger(v)) throw invalid('inputValues', `expected NAME=WHOLE_NUMBER, e.g. sr=16000; got '${s}'`);
    return [s.slice(0, eq), v];
  }));
}

export interface ChannelFlags {
  criterion?: string;
  reduce?: string;
  withinGroup?: string;
  roundTo?: string;
  minChannels?: string;
  inputShape?: string[];
  inputValue?: string[];
}

export const CRITERION_HELP = 'l1 | l2 | fpgm | bn | lamp | random; from calibration data (--data, else synthetic): activation | apoz | variance | hrank (activations), taylor | snip | grasp | synflow | obd (gradients), thinet (the next layers\' outputs, greedy)';

/** Declares the channel-choice and input options shared by prune, scan and plan. */
export function channelOptions(cmd: Command, criterionHelp = CRITERION_HELP): Command {
  return cmd
    .option('--criterion <name>', criterionHelp, 'l1')
    .option('--reduce <how>', 'combine member scores of a group: mean | sum | max', 'mean')
    .option('--within-group <how>', 'inside a group fed by several layers (a Concat): per-source (each loses the ratio) | global', 'per-source')
    .option('--round-to <N>', 'keep a multiple of N channels per group')
    .option('--min-channels <N>', 'keep at least N channels per group')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect)
    .option('--input-value <NAME=N>', 'value for an integer input, e.g. a branch selector (repeatable; default: from the model)', collect);
}

/** The channel-choice flags as engine options. */
export function channelChoice(flags: ChannelFlags): Pick<PruneOptions, 'criterion' | 'reduce' | 'withinGroup' | 'roundTo' | 'minChannels'> & {
  inputShapes?: string[]; inputValues?: Record<string, number>;
} {
  const criterion = (flags.criterion ?? 'l1') as CriterionName;
  if (!CRITERIA.includes(criterion)) throw invalid('criterion', `one of ${CRITERIA.join(', ')}, got '${criterion}'`);
  const reduce = (flags.reduce ?? 'mean') as Reduction;
  if (!['mean', 'sum', 'max'].includes(reduce)) throw invalid('reduce', `mean, sum or max, got '${reduce}'`);
  const withinGroup = (flags.withinGroup ?? 'per-source') as WithinGroup;
  if (withinGroup !== 'per-source' && withinGroup !== 'global') throw invalid('withinGroup', `per-source or global, got '${withinGroup}'`);
  return {
    criterion,
    reduce,
    withinGroup,
    roundTo: number('roundTo', flags.roundTo),
    minChannels: number('minChannels', flags.minChannels),
    inputShapes: flags.inputShape,
    inputValues: inputValues(flags.inputValue),
  };
}

/** `--threads N|all` as ONNX Runtime's intra-op thread count (0 = all cores). */
export function threadsOf(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (v === 'all') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw invalid('threads', `expected a whole number ≥ 1 or 'all', got '${v}'`);
  return n;
}
