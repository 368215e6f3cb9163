import { Command, CommanderError } from 'commander';
import { CancelledError, PruneLensError } from '../core/errors.js';
import { runInspect } from './inspect.js';

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
    .action((model: string, flags) => runInspect(model, flags));
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
