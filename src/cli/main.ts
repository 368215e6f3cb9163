import { Command, CommanderError } from 'commander';
import { CancelledError, errorData, PruneLensError } from '../core/api.js';
import { runInspect } from './inspect.js';
import { runPrune } from './prune.js';
import { runEval } from './eval.js';
import { channelOptions, collect, CRITERION_HELP, describeError } from './args.js';
import { runCriteria } from './criteria.js';
import { runScan } from './scan.js';
import { runPlan } from './plan.js';
import { runBench } from './bench.js';
import { runServe } from './serve.js';
import { version } from './version.js';
import { connectToSupervisor, onSupervisorCancel } from './engine-child.js';


/** Ctrl-C aborts the running job cleanly (no partial files); a second Ctrl-C exits at once. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  // the supervisor's cancel (see supervise.ts): Ctrl-C sent to it alone, or it went away
  onSupervisorCancel(() => controller.abort());
  return controller.signal;
}

export function buildProgram(): Command {
  const program = new Command('prunelens')
    .description('Neural-network pruning analysis for ONNX, TF.js and Keras models')
    .option('--debug', 'show stack traces on errors')
    .version(version(), '--version', 'print the version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('inspect')
    .description('layers, shapes, parameters and MACs of a model')
    .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5)')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input, e.g. input=1x3x224x224 (repeatable)', collect)
    .option('--input-value <NAME=N>', 'value for an integer input, e.g. a branch selector (repeatable; default: from the model)', collect)
    .option('--json', 'machine-readable output')
    .option('--all', 'list data-movement nodes too (Reshape, Concat, …)')
    .option('--probe', 'find shapes with one ONNX Runtime run instead of static inference')
    .option('--no-groups', 'skip the channel dependency analysis')
    .action((model: string, flags) => runInspect(model, flags));
  channelOptions(
    program
      .command('prune')
      .description('remove channels for real (structured pruning), verified against the masked original')
      .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5); never modified')
      .requiredOption('-o, --output <file>', 'where to write the pruned model')
      .option('--ratio <R>', 'prune every prunable group by this fraction (uniform, local)')
      .option('--plan <PLAN.json>', 'per-group ratios or channel lists: {"groups": {"<id or layer>": 0.5 | [0, 3, …]}}')
      .option('--data <path>', 'also verify on real samples (image folder, .npy/.npz, or IDX images), and measure accuracy when labelled')
      .option('--labels <file>', 'labels for IDX or .npy data')
      .option('--preprocess <spec>', 'image preprocessing for --data (see scan)')
      .option('--samples <N>', 'how many --data samples to verify on', '8')
      .option('--sparsity <R>', 'instead: zero the fraction R of smallest weights per layer (unstructured; no speedup)')
      .option('--nm <N:M>', 'instead: keep N of every M weights along the reduction axis, e.g. 2:4 (no speedup on CPU)')
      .option('--recover <methods>', 'recovery without training after pruning, on --data (else synthetic samples): lsq (refit each layer to the dense outputs), bn (re-estimate BatchNorm statistics, or biases where BN was folded); e.g. lsq,bn')
      .option('--steps <k>', 'reach the target in k steps of prune → recover, the channels scored again before each (gradual pruning)')
      .option('--latency-runs <N>', 'timed ONNX Runtime runs of the original and the pruned model, in turn (0: skip; default: at least 20, filling 1 s)')
      .option('--threads <N|all>', 'ONNX Runtime threads for the latency runs', '1')
      .option('--no-report', 'do not write <out>.report.json and <out>.report.md')
      .option('--force', 'replace the output files if they exist')
      .option('--allow-other-model', 'apply a recipe made for another version of this model (its groups must still match)')
      .option('--quantization <how>', 'TF.js models: original (default: each weight in the quantisation it was read with) | none (float32)')
      .option('--json', 'machine-readable report'),
    `${CRITERION_HELP}; with --sparsity/--nm: l1 (magnitude) | wanda (|w|·‖x‖) | obs (SparseGPT: also updates the weights that stay), fitted on --data`,
  ).action((model: string, flags) => runPrune(model, flags, interruptSignal()));
  program
    .command('eval')
    .description('accuracy of a classifier on labelled data, and fidelity to the original model on any data (image folders, .npy/.npz, IDX)')
    .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5)')
    .requiredOption('--data <path>', 'data: image folder (labels from sub-folders), .npz, .npy (with --labels), or IDX images with --labels')
    .option('--reference <model>', 'the original model, to measure how closely this one follows it (default: the input named by MODEL\'s .report.json)')
    .option('--labels <file>', 'labels for IDX or .npy data')
    .option('--preprocess <spec>', 'image preprocessing (see scan)')
    .option('--samples <N>', 'evaluate on a seeded choice of N samples (default: all)')
    .option('--scale <s>', 'pixel scale before normalising (default 1/255)')
    .option('--mean <m>', 'per-channel means, comma-separated (default: model metadata)')
    .option('--std <s>', 'per-channel standard deviations (default: model metadata)')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect)
    .option('--input-value <NAME=N>', 'value for an integer input (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .action((model: string, flags) => runEval(model, flags));
  program
    .command('criteria')
    .description('how far importance criteria agree, per dependency group: rank correlation of their channel scores and overlap of what each removes')
    .argument('<model>', 'model file')
    .option('--compare <list>', `criteria, comma-separated (${CRITERION_HELP})`, 'l1,l2,fpgm,bn,lamp')
    .option('--ratio <R>', 'the ratio the overlaps are taken at', '0.5')
    .option('--data <path>', 'calibration data for the data criteria (see scan --data); default synthetic')
    .option('--labels <file>', 'labels for IDX or .npy data')
    .option('--preprocess <spec>', 'image preprocessing (see scan)')
    .option('--samples <N>', 'samples for the data criteria', '64')
    .option('--seed <N>', 'seed for synthetic data and sample choice', '1')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect)
    .option('--input-value <NAME=N>', 'value for an integer input (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .action((model: string, flags) => runCriteria(model, flags, interruptSignal()));
  channelOptions(
    program
      .command('scan')
      .description('layer-wise sensitivity: prune each dependency group alone at several ratios and measure the damage')
      .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5)')
      .option('--data <path>', 'calibration data: image folder (labels from sub-folders), .npy/.npz, or IDX images; default synthetic')
      .option('--labels <file>', 'labels for IDX or .npy data')
      .option('--preprocess <spec>', 'image preprocessing, e.g. "resize=256;crop=224;mean=0.485,0.456,0.406;std=0.229,0.224,0.225;order=rgb;layout=nchw", or a JSON file')
      .option('--samples <N>', 'samples to use (seeded choice)', '64')
      .option('--ratios <list>', 'pruning ratios to scan', '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9')
      .option('--metric <name>', 'agreement | kl | rel-l2 | cosine | accuracy | top5 (default: agreement for classifiers, rel-l2 otherwise)')
      .option('--mode <mode>', 'structured (channels per group) | unstructured (weights per layer)', 'structured')
      .option('--output-name <name>', 'model output the metric reads (default: the first)')
      .option('--only <ids>', 'scan only these group ids or layer names (comma-separated)')
      .option('--batch <N>', 'samples per ONNX Runtime run (default: as many as fit 256 MB of activations, 8…256)')
      .option('--max-memory <MB>', 'memory for cached intermediate values', '1024')
      .option('--stack', 'evaluate several ratios in one run (samples stacked per step); slower on CPU, see README')
      .option('--threads <N>', 'ONNX Runtime threads (default: all cores)')
      .option('--seed <N>', 'seed for synthetic data, sample choice and the random criterion', '1')
      .option('--no-cache', 'always recompute (results are cached by model hash, data and settings)')
      .option('--cache-dir <dir>', 'where results are cached (default ~/.cache/prunelens)')
      .option('-o, --output <file>', 'write the full result as JSON')
      .option('--csv <file>', 'write one row per (group, ratio) as CSV')
      .option('--force', 'replace existing output files')
      .option('--json', 'print the full result as JSON'),
    `which channels go at each ratio: ${CRITERION_HELP}`,
  ).action((model: string, flags) => runScan(model, flags, interruptSignal()));
  channelOptions(
    program
      .command('plan')
      .description('per-group pruning ratios that meet a target, with layer-collapse warnings, saved as a recipe')
      .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5)')
      .option('--target <KIND=FRACTION>', 'what to keep: macs=0.5, params=0.4 or latency=0.6 (measured)')
      .option('--max-loss <METRIC=VALUE>', 'instead: prune as much as a predicted loss allows, e.g. agreement=0.02')
      .option('--strategy <name>', 'uniform | global | sensitivity | ensemble', 'sensitivity')
      .option('--scan <scan.json>', 'a scan from prunelens scan -o (else one is run, and cached)')
      .option('--data <path>', 'calibration data for the scan (see scan --data)')
      .option('--labels <file>', 'labels for the scan data')
      .option('--preprocess <spec>', 'image preprocessing for the scan data')
      .option('--samples <N>', 'scan samples', '64')
      .option('--metric <name>', 'scan metric')
      .option('--ratios <list>', 'scan ratios', '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9')
      .option('--threads <N>', 'ONNX Runtime threads for the scan (default: all cores)')
      .option('--seed <N>', 'seed for synthetic data and sample choice', '1')
      .option('--max-ratio <R>', 'never prune a group by more than R', '0.9')
      .option('--no-cache', 'do not reuse cached scans')
      .option('--cache-dir <dir>', 'where scans are cached (default ~/.cache/prunelens)')
      .option('-o, --output <recipe.json>', 'write the recipe (apply with prune --plan)')
      .option('--force', 'replace the recipe file if it exists')
      .option('--json', 'print the recipe as JSON'),
    'which channels go within a group: l1 | l2 | fpgm | bn | lamp | random | activation | apoz | variance | hrank',
  ).action((model: string, flags) => runPlan(model, flags, interruptSignal()));
  program
    .command('bench')
    .description('measured latency (ONNX Runtime; TF.js for TF.js and Keras models), optionally against a pruned variant, beside MAC and params ratios')
    .argument('<model>', 'model file (.onnx, TF.js model.json, .keras or Keras .h5)')
    .option('--compare <pruned>', 'a pruned variant to compare with')
    .option('--runs <N>', 'exactly N timed runs of each model (default: at least 20, filling 1 s)')
    .option('--warmup <N>', 'warm-up runs', '3')
    .option('--threads <N|all>', 'ONNX Runtime intra-op threads', '1')
    .option('--input-shape <NAME=DIMS>', 'concrete shape for a dynamic input (repeatable)', collect)
    .option('--input-value <NAME=N>', 'value for an integer input (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .action((model: string, flags) => runBench(model, flags));
  program
    .command('serve')
    .description('run the engine as a JSON-RPC 2.0 process over stdio (LSP framing), as the VS Code extension does')
    .action(() => runServe());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  connectToSupervisor();
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
    const data = errorData(e);
    if (e instanceof PruneLensError) {
      process.stderr.write(`prunelens: error: ${describeError(data)}\n`);
      return 2;
    }
    process.stderr.write(`prunelens: internal error: ${data.message} (run with --debug for details)\n`);
    return 1;
  }
}
