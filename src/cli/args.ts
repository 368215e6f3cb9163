/** Flag parsing shared by the commands: numbers, and the channel-choice flags of prune, scan and plan. */
import type { Command } from 'commander';
import { CRITERIA, type CriterionName, type Reduction } from '../core/criteria/index.js';
import { PruneLensError } from '../core/errors.js';

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new PruneLensError(`${flag} expects a number, got '${v}'`);
  return n;
}

export interface ChannelFlags {
  criterion?: string;
  reduce?: string;
  roundTo?: string;
  minChannels?: string;
  inputShape?: string[];
}

/** Declares the channel-choice options (criterion, reduce, round-to, min-channels, input shapes). */
export function channelOptions(cmd: Command, criterionHelp = 'l1 | l2 | fpgm | bn | lamp | random'): Command {
  return cmd
    .option('--criterion <name>', criterionHelp, 'l1')
    .option('--reduce <how>', 'combine member scores of a group: mean | sum | max', 'mean')
    .option('--round-to <N>', 'keep a multiple of N channels per group')
    .option('--min-channels <N>', 'keep at least N channels per group')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect);
}

/** The channel-choice flags, checked. */
export function channelChoice(flags: ChannelFlags): {
  criterion: CriterionName; reduce: Reduction; roundTo?: number; minChannels?: number; inputShapes?: string[];
} {
  const criterion = (flags.criterion ?? 'l1') as CriterionName;
  if (!CRITERIA.includes(criterion)) throw new PruneLensError(`--criterion must be one of ${CRITERIA.join(', ')}`);
  const reduce = (flags.reduce ?? 'mean') as Reduction;
  if (!['mean', 'sum', 'max'].includes(reduce)) throw new PruneLensError('--reduce must be mean, sum or max');
  return {
    criterion,
    reduce,
    roundTo: number('--round-to', flags.roundTo),
    minChannels: number('--min-channels', flags.minChannels),
    inputShapes: flags.inputShape,
  };
}
