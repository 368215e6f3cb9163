import { Command, CommanderError } from 'commander';
import { CancelledError, PruneLensError } from '../core/errors.js';
import { runInspect } from './inspect.js';
import { runPrune } from './prune.js';
import { runEval } from './eval.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('prunelens')
    .description('Neural-network pruning analysis for ONNX models')
    .option('--debug', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('inspect')
    .description('layers, shapes, parameters and MACs of a model')
    .argument('<model>', 'model file (.onnx)')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input, e.g. input=1x3x224x224 (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .option('--all', 'list data-movement nodes too (Reshape, Concat, …)')
    .option('--probe', 'find shapes with one ONNX Runtime run instead of static inference')
    .option('--no-groups', 'skip the channel dependency analysis')
    .action((model: string, flags) => runInspect(model, flags));
  program
    .command('prune')
    .description('remove channels for real (structured pruning), verified against the masked original')
    .argument('<model>', 'model file (.onnx); never modified')
    .requiredOption('-o, --output <file>', 'where to write the pruned model')
    .option('--ratio <R>', 'prune every prunable group by this fraction (uniform, local)')
    .option('--plan <PLAN.json>', 'per-group ratios or channel lists: {"groups": {"<id or layer>": 0.5 | [0, 3, …]}}')
    .option('--criterion <name>', 'l1 | l2 | fpgm | bn | lamp | random', 'l1')
    .option('--reduce <how>', 'combine member scores of a group: mean | sum | max', 'mean')
    .option('--round-to <N>', 'keep a multiple of N channels per group')
    .option('--min-channels <N>', 'keep at least N channels per group')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect)
    .option('--data <images>', 'also verify on the first samples of these IDX images (with --labels)')
    .option('--labels <labels>', 'IDX labels for --data')
    .option('--samples <N>', 'how many --data samples to verify on', '8')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'machine-readable report')
    .action((model: string, flags) => runPrune(model, flags));
  program
    .command('eval')
    .description('accuracy of a classifier on labelled samples (IDX images and labels)')
    .argument('<model>', 'model file (.onnx)')
    .requiredOption('--data <images>', 'IDX images [N,H,W] (optionally .gz)')
    .requiredOption('--labels <labels>', 'IDX labels [N] (optionally .gz)')
    .option('--scale <s>', 'pixel scale before normalising (default 1/255)')
    .option('--mean <m>', 'per-channel means, comma-separated (default: model metadata)')
    .option('--std <s>', 'per-channel standard deviations (default: model metadata)')
    .option('--json', 'machine-readable output')
    .action((model: string, flags) => runEval(model, flags));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CancelledError) {
      process.stderr.write('prunelens: cancelled\n');
      return 130;
    }
    if (debug) process.stderr.write(`${(e as Error).stack ?? e}\n`);
    if (e instanceof PruneLensError) {
      process.stderr.write(`prunelens: error: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`prunelens: internal error: ${(e as Error).message ?? e} (run with --debug for details)\n`);
    return 1;
  }
}
