/**
 * Every result the engine gives, as plain serialisable data: no class instances, typed arrays or functions. The
 * engine, the CLI, the extension host and the webview all import these types (and only types: this module has no
 * runtime code), so what crosses JSON-RPC or postMessage is exactly what is declared here.
 */

// ---------------------------------------------------------------------------------------------------------------
// Progress and errors

/** Progress of a long-running engine call. */
export interface ProgressEvent {
  /** What is happening, e.g. "read", "decode", "shapes", "scan", "verify". */
  phase: string;
  /** Units done and total in this phase (bytes, nodes, steps); total 0 when unknown. */
  done: number;
  total: number;
  message?: string;
  /** Estimated seconds left in this phase, when the engine can tell. */
  eta?: number;
}

/** What kind of problem an engine error is; front ends choose words and exit codes from it. */
export type ErrorCode =
  /** An option has a bad value, or options conflict. `option` names it. */
  | 'invalid-option'
  /** A file the user named does not exist or cannot be read. */
  | 'file-not-found'
  /** An output exists and replacing it was not allowed. */
  | 'file-exists'
  /** An output cannot be written (folder missing, read-only, no space). */
  | 'write-failed'
  /** The model file is damaged, or not a model. */
  | 'bad-model'
  /** A data, recipe, plan or scan file is damaged or does not fit the model. */
  | 'bad-input'
  /** Valid, but not supported (yet). */
  | 'unsupported'
  /** A shape, data set or file needs more memory than PruneLens allows (the limits are in the README). */
  | 'too-large'
  /** ONNX Runtime (or another backend) refused or failed to run the model. */
  | 'runtime-failed'
  /** A pruned model did not compute what the masked original computes; nothing was written. */
  | 'verification-failed'
  /** A request names a model or variant the engine does not hold. */
  | 'unknown-id'
  | 'cancelled'
  /** A bug: the message is for a bug report. */
  | 'internal';

/** An engine error as data. `option` is the request option the error is about (`ratio`, `inputShapes`, …). */
export interface EngineErrorData {
  code: ErrorCode;
  message: string;
  option?: OptionName;
}

/**
 * Request options an error or a warning can point at. Front ends map each to their own word: the CLI to a flag
 * (`minChannels` → `--min-channels`), the extension to a setting.
 */
export type OptionName =
  | 'path' | 'output' | 'overwrite' | 'inputShapes' | 'inputValues'
  | 'ratio' | 'plan' | 'keep' | 'recipe' | 'ignoreHash' | 'criterion' | 'reduce' | 'roundTo' | 'minChannels' | 'withinGroup'
  | 'data' | 'labels' | 'preprocess' | 'samples'
  | 'ratios' | 'metric' | 'mode' | 'outputName' | 'batch' | 'maxMemoryMB' | 'threads' | 'only' | 'seed' | 'cacheDir' | 'stack'
  | 'target' | 'maxLoss' | 'strategy' | 'scan' | 'maxRatio'
  | 'sparsity' | 'nm' | 'latencyRuns' | 'runs' | 'warmup' | 'compare' | 'reference' | 'recover' | 'steps' | 'modelId' | 'variantId'
  | 'criteria' | 'method' | 'quantization';

// ---------------------------------------------------------------------------------------------------------------
// Shared vocabulary

export type Dim = number | string | null;
/**
 * Channel importance. Data-free: l1, l2, fpgm, bn, lamp, random, synflow (a gradient of the network with |w| on
 * ones). From activations on calibration data: activation (mean |a|), apoz (1 − average percentage of zeros),
 * variance, hrank (average feature-map rank). From gradients on calibration data: taylor (|a·∂L/∂a|), snip
 * (|w·∂L/∂w|), grasp (w·Hg), obd (½·Fisher·w²). From the next layers' outputs on calibration data: thinet (ThiNet's
 * greedy choice of the channels whose removal changes the consumer layers' outputs least).
 */
export type CriterionName =
  | 'l1' | 'l2' | 'fpgm' | 'bn' | 'lamp' | 'random'
  | 'activation' | 'apoz' | 'variance' | 'hrank'
  | 'taylor' | 'snip' | 'grasp' | 'synflow' | 'obd'
  | 'thinet';
export type Reduction = 'mean' | 'sum' | 'max';
/**
 * How a ratio is spread inside a group whose channels come from several layers (a Concat of branches):
 * `per-source` (default) takes that ratio of every source layer's own channels, as Torch-Pruning and NNI do;
 * `global` takes the lowest-scoring channels of the whole group, wherever they come from.
 */
export type WithinGroup = 'per-source' | 'global';
export type MetricName = 'agreement' | 'kl' | 'rel-l2' | 'cosine' | 'accuracy' | 'top5';
export type StrategyName = 'uniform' | 'global' | 'sensitivity' | 'ensemble';
export type DataKind = 'synthetic' | 'idx' | 'npy' | 'npz' | 'images';
export type InputShapes = Record<string, number[]>;

/** Image preprocessing: resize (shorter side), centre crop, scale, per-channel mean/std, order and layout. */
export interface ImagePreprocess {
  resize?: number;
  crop?: [number, number];
  scale: number;
  mean: number[];
  std: number[];
  order: 'rgb' | 'bgr';
  layout?: 'nchw' | 'nhwc';
}

// ---------------------------------------------------------------------------------------------------------------
// Models and dependency groups

export interface ValueSummary {
  name: string;
  shape: Dim[] | null;
  type: string;
}

/** What `open` answers: enough for a model overview without asking for layers or groups. */
export interface ModelSummary {
  file: string;
  format: string;
  /** Bytes of the model file (and its external data). */
  bytes: number;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** The concrete input shapes every number is stated for. */
  inputShapes: InputShapes;
  /** Dynamic input dims given default values. */
  assumedDims: string[];
  /** Values chosen for scalar or integer inputs (e.g. a branch selector), and where they came from. */
  inputValues: InputValue[];
  params: number;
  macs: number;
  computeMacs: number;
  nodeCount: number;
  groupCount: number;
  prunableGroups: number;
  /** Share of the MACs held by layers in prunable groups. */
  prunableMacsShare: number;
  warnings: string[];
}

/** A value fed to a non-float input that PruneLens had to choose. */
export interface InputValue {
  name: string;
  value: number;
  /** 'given' (by the user), 'model' (a constant the model compares the input with), 'default'. */
  from: 'given' | 'model' | 'default';
  /** The other values the model's constants suggest (e.g. both branches of an If). */
  candidates?: number[];
}

export interface LayerInfo {
  name: string;
  op: string;
  params: number;
  macs: number;
  /** 'compute' for Conv/Gemm/MatMul-like ops, 'cheap' for element-wise and pooling, 'data' for data movement. */
  kind: 'compute' | 'cheap' | 'data';
  outChannels?: number;
  inShapes: (number[] | null)[];
  outShapes: (number[] | null)[];
  activationBytes: number;
}

export type MemberRole = 'out' | 'in' | 'bias' | 'norm' | 'scale';

/** One dependency group: the channels that must be removed together, and whether they can be. */
export interface GroupInfo {
  id: number;
  /** Number of units (removable channel sets) in the group. */
  channels: number;
  prunable: boolean;
  reason?: string;
  /** Units that can never go (e.g. Concat inputs from fixed tensors). */
  pinned: number;
  /** Layers whose output channels this group controls. */
  sources: string[];
  members: { node: string; tensor: string; axis: number; role: MemberRole }[];
  values: { value: string; axis: number; size: number }[];
  /** Parameters held by the group's slices (what pruning all of it would remove). */
  params: number;
  /** MACs of the layers whose cost depends on these channels (the MAC basis of `CostBasis`). */
  macs: number;
  /** Why these layers are coupled: the operators that tie them (residual Add, Concat, depthwise Conv, …). */
  couplings: { node: string; op: string; why: string }[];
  /** Set for groups inside a sub-graph (If/Loop/Scan branches), which are reported but not analysed. */
  subgraph?: string;
}

/** The plain, serialisable result of `inspect`. */
export interface InspectResult {
  file: string;
  format: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  metadata: Record<string, string>;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  inputShapes: InputShapes;
  assumedDims: string[];
  inputValues: InputValue[];
  shapeMethod: 'inference' | 'probe';
  /** Values whose shapes are unknown; their costs count as zero. */
  unknownShapes: number;
  warnings: string[];
  nodeCount: number;
  opCounts: Record<string, number>;
  params: number;
  macs: number;
  computeMacs: number;
  weightBytes: number;
  activationBytes: number;
  peakActivationBytes: number;
  subgraphCount: number;
  /** The conventions every number follows. */
  basis: CostBasis;
  groups?: GroupInfo[];
  layers: LayerInfo[];
}

/** The stated conventions of the cost model (one for inspect, scan, plan, estimate and prune). */
export interface CostBasis {
  params: string;
  macs: string;
}

/** The model graph for drawing: nodes in graph order, edges as producer indices, and the groups each node touches. */
export interface ModelGraph {
  nodes: {
    /** Index in `nodes`. */
    id: number;
    name: string;
    op: string;
    /** Producer node ids of its inputs (graph inputs and constants are not nodes). */
    inputs: number[];
    /** The dependency group of the channels this node writes, if its output has a channel space. */
    writes?: number;
    /** Groups whose channels it reads or whose weights it holds (other than `writes`). */
    reads: number[];
    params: number;
    macs: number;
    outChannels?: number;
    /** Output dims of its first output, when known. */
    shape?: number[];
    /** 'compute' for Conv/Gemm/MatMul-like ops, 'cheap' for element-wise and pooling, 'data' for data movement. */
    kind: 'compute' | 'cheap' | 'data';
  }[];
  /** Graph inputs and the nodes that read them. */
  inputs: { name: string; consumers: number[] }[];
  /** Graph outputs and the node that writes each. */
  outputs: { name: string; producer?: number }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Estimates

/** Params, MACs and file size for a per-group choice of kept channels, without surgery. */
export interface Estimate {
  params: number;
  macs: number;
  /** The Conv/ConvTranspose/Gemm/MatMul part of `macs`. */
  computeMacs: number;
  /** Bytes of the model file once saved (weights removed, shape constants rewritten): exact to a few bytes. */
  bytes: number;
  before: { params: number; macs: number; computeMacs: number; bytes: number };
  /** after / before. */
  ratios: { params: number; macs: number; bytes: number };
  /** Kept channels per group, as used (clamped to what the group allows). */
  keep: Record<string, number>;
  /** Entries that could not be used as given, and why (kept for the UI to show). */
  adjusted: { group: number; asked: number; used: number; why: string }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Scans

export interface Metrics {
  agreement?: number;
  kl?: number;
  'rel-l2': number;
  cosine: number;
  accuracy?: number;
  top5?: number;
}

/** Options of a sensitivity scan (the CLI's `scan` flags), as data. */
export interface ScanSettingsInput {
  data?: string;
  labels?: string;
  preprocess?: Partial<ImagePreprocess> | string;
  samples?: number;
  ratios?: number[];
  metric?: MetricName;
  mode?: 'structured' | 'unstructured';
  criterion?: CriterionName;
  reduce?: Reduction;
  withinGroup?: WithinGroup;
  roundTo?: number;
  minChannels?: number;
  /** The model output the headline metric reads (default: the first). */
  outputName?: string;
  batch?: number;
  maxMemoryMB?: number;
  stack?: boolean;
  threads?: number;
  /** Scan only these group ids (structured) or layer names (unstructured). */
  only?: string[];
  seed?: number;
  /** Where results are cached between runs; absent: no disk cache. */
  cacheDir?: string;
}

export interface ScanPoint {
  ratio: number;
  /** Channels kept (structured) or weights kept (unstructured). */
  kept: number;
  removed: number;
  /** Params and MACs really removed if pruned (unstructured: params zeroed, MACs unchanged). MACs on the stated basis. */
  paramsRemoved: number;
  macsRemoved: number;
  metrics: Metrics;
  /** Degradation under the headline metric, ≥ 0 (0 = dense). */
  loss: number;
  outputs?: Record<string, Metrics>;
}

export interface ScanTargetResult {
  kind: 'group' | 'layer';
  /** Group id, or layer name in unstructured mode. */
  id: number | string;
  sources: string[];
  members: GroupInfo['members'];
  channels?: number;
  params: number;
  macs: number;
  /** Mean loss over the scanned ratios: one number to rank targets by (higher = more sensitive). */
  sensitivity: number;
  points: ScanPoint[];
}

export interface ScanResult {
  version: number;
  model: { path: string; sha256: string; bytes: number; params: number; macs: number };
  settings: {
    mode: 'structured' | 'unstructured';
    criterion: string;
    reduce: string;
    withinGroup: WithinGroup;
    ratios: number[];
    metric: MetricName;
    output: string;
    samples: number;
    seed: number;
    batch: number;
    inputShapes: InputShapes;
    /** Input dims that were not given and had to be assumed (and from what). */
    assumed?: string[];
    roundTo?: number;
    minChannels?: number;
  };
  data: { kind: DataKind; description: string; samples: number; labelled: boolean; synthetic: boolean };
  dense: {
    outputs: { name: string; dims: number[]; classes?: number }[];
    metrics: Metrics;
    /** Outputs of the dense model that say nothing on the scan's data (zero, constant, far below their range). */
    degenerate: string[];
  };
  targets: ScanTargetResult[];
  skipped: { id: number | string; sources: string[]; reason: string }[];
  basis: CostBasis;
  timing: {
    totalMs: number;
    prepareMs: number;
    denseMs: number;
    sessionMs: number;
    runMs: number;
    steps: number;
    runs: number;
    /** Targets whose frontier did not fit maxMemoryMB and ran from the graph inputs. */
    uncut: number;
    threads: number;
    cached: boolean;
  };
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Plans and recipes

/** What a plan reaches: keep a fraction of params or MACs (or measured latency), or stay under a predicted loss. */
export type PlanTarget = { kind: 'params' | 'macs' | 'latency'; keep: number } | { kind: 'loss'; max: number };

/**
 * `destroyed`: a group cut to a predicted loss near the metric's maximum (the output is gone); `data`: what the
 * prediction rests on is weak (synthetic data, a dense reference that says nothing, assumed input sizes).
 */
export type WarningKind = 'destroyed' | 'collapse' | 'min-channels' | 'global-wipe' | 'cliff' | 'bottleneck' | 'unprunable' | 'target' | 'data';

export interface PlanWarning {
  kind: WarningKind;
  group?: number;
  layers?: string[];
  message: string;
  numbers: Record<string, number>;
  /** What to do about it, in words; `options` are the settings involved. */
  fix: string;
  options?: OptionName[];
}

/** Options of a plan, as data (a scan is run with `scan` settings when none is given). */
export interface PlanSettingsInput {
  strategy?: StrategyName;
  target: PlanTarget;
  criterion?: CriterionName;
  reduce?: Reduction;
  withinGroup?: WithinGroup;
  maxRatio?: number;
  roundTo?: number;
  minChannels?: number;
  seed?: number;
  /** Settings of the scan run when the plan needs one (sensitivity, ensemble, loss targets). */
  scanSettings?: ScanSettingsInput;
}

/** A versioned, replayable plan: `prune` with it gives the same file, byte for byte. */
export interface Recipe {
  kind: 'prunelens-recipe';
  version: number;
  model: { path: string; sha256: string; params: number; macs: number };
  settings: {
    strategy: StrategyName | 'manual';
    target?: PlanTarget;
    criterion: CriterionName;
    reduce: string;
    withinGroup?: WithinGroup;
    maxRatio?: number;
    minChannels?: number;
    roundTo?: number;
    inputShapes: InputShapes;
    scan?: { metric: string; samples: number; data: string; criterion: string; synthetic?: boolean };
    /**
     * Recovery applied after the prune, and the data it was fitted on (the file's SHA-256 when it is a file), so a
     * replay fits the same weights: the same file, byte for byte.
     */
    recovery?: RecoverySettings;
    /** The prune ran in this many steps of prune → recover (its channels are those `groups` lists). */
    steps?: number;
  };
  /** Per pruned group: channels before and kept, and the exact channel indices removed. */
  groups: { id: number; sources: string[]; channels: number; keep: number; ratio: number; remove: number[]; predictedLoss?: number }[];
  predicted: { params: number; macs: number; paramsRatio: number; macsRatio: number; loss?: number; latencyRatio?: number };
  warnings: PlanWarning[];
}

// ---------------------------------------------------------------------------------------------------------------
// Pruning

/** A hand plan: per group id or layer name, a ratio or the exact channel indices to remove. */
export type PlanEntries = Record<string, number | number[]>;

/** Options of a prune, as data: what to remove (one of ratio, plan, keep, recipe), how, and what to check it on. */
export interface PruneSettingsInput {
  /** Every prunable group loses this fraction (per source layer inside a group, unless withinGroup is global). */
  ratio?: number;
  /** Per group id or layer name: a ratio or the exact channel indices to remove. */
  plan?: PlanEntries;
  /** Channels kept per group id (the ratio editor's state). */
  keep?: Record<string, number>;
  /** A recipe: its exact channels are applied; it must be for this model unless ignoreHash. */
  recipe?: Recipe;
  /** Apply a recipe made for another version of the model (its groups must still match). */
  ignoreHash?: boolean;
  criterion?: CriterionName;
  reduce?: Reduction;
  withinGroup?: WithinGroup;
  roundTo?: number;
  minChannels?: number;
  seed?: number;
  /** Samples to also verify on (the first `samples`, 8 by default), and to measure accuracy with when labelled. */
  data?: string;
  labels?: string;
  samples?: number;
  preprocess?: Partial<ImagePreprocess> | string;
  /** Recovery without training after the prune, on the data given (else on synthetic samples). */
  recover?: RecoveryMethod[];
  /**
   * Reach the target in this many steps of prune → recover, the channels scored again on the model as it is before
   * each step (gradual pruning). 1 (default): one shot.
   */
  steps?: number;
  /** Measure the latency of the original and the pruned model (at least 20 runs each, filling a second). */
  latency?: boolean;
  /** Exactly this many timed runs of each (implies latency; 0: not measured). */
  latencyRuns?: number;
  /** ONNX Runtime threads for the latency runs (1 by default, 0 = all cores). */
  threads?: number;
  /**
   * TF.js and Keras models: 'original' (default) writes every weight in the quantisation it was read with (exact:
   * pruning keeps values on their original grid); 'none' writes float32.
   */
  quantization?: 'original' | 'none';
}

/** What the masked original and the pruned model were compared on, and how close they came. */
export interface Verification {
  /** Largest relative error over outputs: max |pruned − twin| / max |twin|. */
  maxRelError: number;
  maxAbsError: number;
  outputs: { name: string; relError: number; absError: number; scale: number; tolerance: number; noise: number; degenerate?: string; silenced?: string }[];
  /** Samples both models ran on (random and real). */
  samples: number;
  /** The synthetic inputs (the kind that excited the original most: noise, synthetic images, …) and real samples. */
  inputs: { random: { seeds: number[]; kind: string; description: string }; real?: { description: string; samples: number } };
  /**
   * How the tolerance was set: from the model's own float32 noise (the masked original against itself with every
   * weight moved by one rounding step), never below `floor` relative to the output's scale.
   */
  tolerance: { method: string; relativeFloor: number; factor: number };
  /** Outputs agree within tolerance. */
  passed: boolean;
  /**
   * At least one output said something on these inputs, in the original and in the pruned model. When false,
   * agreement proves nothing (two silent models always agree): front ends must not call the model verified.
   */
  exercised: boolean;
  /** Outputs of the original that stayed degenerate (zero, constant, far below their range) on the inputs, and why. */
  degenerate: string[];
  /**
   * Outputs the original fills and the pruned model leaves silent on the same inputs: the surgery may be right, but
   * the pruned model has lost that output (e.g. a detector that marks nothing any more).
   */
  silenced: string[];
}

/**
 * For TF.js and Keras models: the files written in the model's own format, loaded and run in TF.js against the
 * masked original written the same way (float32), with the tolerance `Verification` uses; and how closely ONNX
 * Runtime's run of the converted graph (what scans and verification used) follows TF.js's run of the file.
 */
export interface NativeVerification {
  /** 'tfjs-layers', 'tfjs-graph', 'keras' or 'keras-h5'. */
  format: string;
  /** e.g. 'tfjs wasm, 1 thread'. */
  backend: string;
  /** The files of the pruned model (names beside the output). */
  files: string[];
  /** Weights stored with each weight's original quantisation, or all as float32. */
  quantization: 'original' | 'none';
  /**
   * What the files were compared with: the masked original, or (after recovery, which moves weights on purpose) the
   * pruned model itself, written the same way as float32.
   */
  against: 'masked-original' | 'pruned';
  passed: boolean;
  maxAbsError: number;
  maxRelError: number;
  outputs: { name: string; absError: number; scale: number; noise: number; tolerance: number }[];
  /** max |ONNX Runtime − TF.js| / max |TF.js| over outputs, on the masked original; `passed` when ≤ `tolerance`. */
  conversion: { maxRelError: number; tolerance: number; passed: boolean };
  /** What writing did that the user should know (a weight re-quantised with a new range, optimizer state dropped). */
  notes: string[];
}

export interface PruneReport {
  input: string;
  /** Where the variant was saved (absent until it is). */
  output?: string;
  criterion: CriterionName;
  reduce: Reduction;
  withinGroup: WithinGroup;
  inputShapes: InputShapes;
  basis: CostBasis;
  before: { params: number; macs: number; bytes: number };
  after: { params: number; macs: number; bytes: number };
  groups: { id: number; channels: number; kept: number; removed: number[]; sources: string[]; scoredBy?: CriterionName }[];
  /** With criterion bn: the pruned groups without a BatchNormalization member, scored by l1 instead. */
  bnFallback?: number[];
  /** With criterion thinet: the pruned groups whose consumer layers it cannot measure, scored by l1 instead, and why. */
  fallback?: { group: number; reason: string }[];
  layers: { name: string; op: string; outChannelsBefore?: number; outChannelsAfter?: number; paramsBefore: number; paramsAfter: number }[];
  verification: Verification;
  /** TF.js and Keras models: the saved files checked in TF.js (see NativeVerification). */
  native?: NativeVerification;
  /**
   * Measured latency, original vs pruned: the same inputs and threads (1 unless asked), warm-up, runs taken in turn;
   * medians, and p10/p90 as [before, after]. `backend` says what ran them: ONNX Runtime for ONNX models, TF.js for
   * TF.js and Keras models (their own files).
   */
  latency?: { beforeMs: number; afterMs: number; speedup: number; runs: number; threads: number; p10: [number, number]; p90: [number, number]; backend?: string };
  /** Recovery without training, when asked for: what it did and the fidelity/accuracy before and after it (the last step's). */
  recovery?: RecoveryReport;
  /** An iterative schedule: per step, the channels it removed, whether it verified, and its recovery. */
  steps?: { step: number; removed: number; verified: boolean; recovery?: { before: Metrics; after: Metrics } }[];
  /** Accuracy on the labelled data given (all its samples), before and after (after recovery, when there was one). */
  accuracy?: { samples: number; before: number; after: number; top5Before: number; top5After: number; data: string };
  /** The plan this model was made from: strategy, target, predictions and warnings. */
  recipe?: Pick<Recipe, 'settings' | 'predicted' | 'warnings'> & { groups: { id: number; predictedLoss?: number }[] };
  reports?: { json: string; markdown: string };
}

/** Recovery without training: `lsq` refits each layer to the dense model's outputs; `bn` re-estimates BatchNorm
 * statistics (or, where BN was folded, biases) on calibration data. */
export type RecoveryMethod = 'bn' | 'lsq';

export interface RecoverySettings {
  /** Empty for a schedule (`steps`) without recovery: the data below is what its steps re-scored on. */
  methods: RecoveryMethod[];
  /** Absolute path of the data (absent: synthetic samples), with its labels and preprocessing. */
  data?: string;
  labels?: string;
  preprocess?: Partial<ImagePreprocess> | string;
  dataSha256?: string;
  seed: number;
}

/** What recovery did, and the model's fidelity (and accuracy with labels) on held-out samples before and after. */
export interface RecoveryReport {
  methods: RecoveryMethod[];
  data: { fitted: string; judged: string; synthetic: boolean };
  before: Metrics;
  after: Metrics;
  /**
   * Methods undone because they did not help on the held-out samples (closer to the dense model, or with labels more
   * accurate): the metrics with and without each. `after` is the model without them.
   */
  reverted?: { method: RecoveryMethod; before: Metrics; after: Metrics }[];
  /** Per refitted layer: the relative output error on its fitting rows before and after, or why it was skipped. */
  lsq: { node: string; features: number; rows: number; before: number; after: number; skipped?: string }[];
  /** Per BatchNorm (running statistics) or folded layer (bias): the mean shift applied, in standard deviations. */
  bn: { node: string; kind: 'bn' | 'bias'; shift: number }[];
  ms: number;
}

/** A pruned model held by the engine until it is saved. */
export interface PruneResult {
  variantId: string;
  report: PruneReport;
  /** The recipe that reproduces this variant (exact channels). */
  recipe: Recipe;
}

export interface SaveResult {
  path: string;
  bytes: number;
  /** Every file written for the model (a TF.js model.json and its shards); bytes counts them all. */
  files?: string[];
  dataFile?: string;
  dataBytes?: number;
  reports?: { json: string; markdown: string };
  recipe?: string;
}

/** How far criteria agree, per prunable group and on average (matrices indexed like `criteria`). */
export interface CriteriaComparison {
  criteria: CriterionName[];
  /** The ratio the overlaps are taken at. */
  ratio: number;
  /** The data the data criteria were computed on. */
  data?: { description: string; synthetic: boolean };
  groups: {
    id: number;
    channels: number;
    /** Spearman rank correlation of the channel scores. */
    spearman: number[][];
    /** Jaccard overlap of the channels each criterion removes at `ratio`. */
    overlap: number[][];
  }[];
  mean: { spearman: number[][]; overlap: number[][] };
  ms: number;
}

/** How weights to zero are chosen: by magnitude alone, or from calibration data (Wanda: |w|·‖x‖; OBS: SparseGPT's
 * layer-wise Optimal Brain Surgeon, which also updates the remaining weights to make up for the ones removed). */
export type SparsityMethod = 'magnitude' | 'wanda' | 'obs';

/** Weights zeroed: a fraction of each layer's, or N of every M along the reduction axis. */
export type Sparsity = { kind: 'unstructured'; ratio: number } | { kind: 'nm'; n: number; m: number };

export interface SparsityReport {
  input: string;
  output: string;
  sparsity: Sparsity;
  method: SparsityMethod;
  zeroedWeights: number;
  weights: number;
  bytes: number;
  /** Per layer the data-aware method handled: weights zero of all, and the relative change of its output on sampled
   * calibration rows. Layers it does not handle (grouped convs, ConvTranspose, too many inputs for OBS) get magnitude. */
  layers?: { node: string; zeroed: number; total: number; error: number }[];
  /** Layers sparsified by magnitude although another method was asked for. */
  magnitudeLayers?: number;
  /** Fidelity to the dense model (and accuracy with labels) on held-out samples the method did not fit on. */
  quality?: { data: { fitted?: string; judged: string; synthetic: boolean }; dense: Metrics; sparse: Metrics };
  seed?: number;
  ms: number;
  note: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement

export interface LatencyResult {
  /** What ran the model: 'onnxruntime (cpu)' or TF.js's backend for TF.js and Keras models. */
  backend?: string;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  runs: number;
  warmup: number;
  threads: number;
  inputShapes: InputShapes;
}

export interface BenchMeasured {
  path: string;
  params: number;
  macs: number;
  /** Fraction of weights that are exactly zero. */
  zeroWeights: number;
  latency: LatencyResult;
}

export interface BenchResult {
  model: BenchMeasured;
  compare?: BenchMeasured & { speedup: number; macRatio: number; paramsRatio: number };
  notes: string[];
}

export interface EvalResult {
  model: string;
  data: string;
  samples: number;
  /** With labels and a classifier output [N, classes]. */
  top1?: number;
  top5?: number;
  classes?: number;
  /** How closely the model follows a reference (its original) on the same samples: agreement, KL, rel-l2, cosine. */
  fidelity?: { reference: string; output: string; metrics: Metrics };
}
