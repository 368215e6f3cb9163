/**
 * The criteria the engine offers, as the panel lists them: grouped by what they read (the weights, activations on
 * calibration data, gradients), each with one line on what it measures, and whether it runs on calibration data
 * (so the panel can say when it will run on synthetic inputs instead).
 */
import type { CriterionName, RecoveryMethod } from '../src/shared/types.js';

export type CriterionFamily = 'weights' | 'activations' | 'gradients';

export interface CriterionInfo {
  name: CriterionName;
  family: CriterionFamily;
  /** What it measures, in one line (the picker's tooltip). */
  what: string;
  /** Computed from the model run on calibration data (synthetic inputs when none is set). */
  data: boolean;
}

export const FAMILIES: { family: CriterionFamily; title: string }[] = [
  { family: 'weights', title: 'From the weights' },
  { family: 'activations', title: 'From activations' },
  { family: 'gradients', title: 'From gradients' },
];

export const CRITERIA: CriterionInfo[] = [
  { name: 'l1', family: 'weights', data: false, what: 'L1 norm of each channel\'s weights: small weights, small contribution.' },
  { name: 'l2', family: 'weights', data: false, what: 'L2 norm of each channel\'s weights.' },
  { name: 'fpgm', family: 'weights', data: false, what: 'Summed distance of a filter to the layer\'s others: filters near the geometric median are replaceable and go first (He et al. 2019).' },
  { name: 'bn', family: 'weights', data: false, what: '|γ| of the channel\'s BatchNormalization scale (groups without BN fall back to L1).' },
  { name: 'lamp', family: 'weights', data: false, what: 'Layer-adaptive magnitude: a channel\'s squared norm relative to the larger ones in its layer (Lee et al. 2021).' },
  { name: 'random', family: 'weights', data: false, what: 'Seeded random scores: the baseline any criterion should beat.' },
  { name: 'activation', family: 'activations', data: true, what: 'Mean |a| of the channel\'s output on the calibration data.' },
  { name: 'apoz', family: 'activations', data: true, what: '1 − average percentage of zeros after the ReLU: a channel that is mostly off goes first.' },
  { name: 'variance', family: 'activations', data: true, what: 'Variance of the channel\'s output: a channel that barely varies acts as a bias.' },
  { name: 'hrank', family: 'activations', data: true, what: 'Mean rank of the channel\'s feature maps (Lin et al. 2020).' },
  { name: 'thinet', family: 'activations', data: true, what: 'ThiNet: greedily, the channels whose removal changes the next layers\' outputs least on the data go first (Luo et al. 2017).' },
  { name: 'taylor', family: 'gradients', data: true, what: '|Σ a·∂L/∂a|: first-order estimate of the loss change when the channel goes (Molchanov et al. 2019).' },
  { name: 'snip', family: 'gradients', data: true, what: '|w·∂L/∂w| summed over the channel\'s weights: connection sensitivity (Lee et al. 2019).' },
  { name: 'grasp', family: 'gradients', data: true, what: 'w·Hg: keeps the channels whose removal would shrink the gradient flow most (Wang et al. 2020).' },
  { name: 'synflow', family: 'gradients', data: false, what: 'Data-free: the path norm through the channel, from a gradient on an all-ones input (Tanaka et al. 2020).' },
  { name: 'obd', family: 'gradients', data: true, what: '½·w²·diagonal Fisher: Optimal Brain Damage\'s saliency.' },
];

export const criterionInfo = (c: CriterionName): CriterionInfo => CRITERIA.find((x) => x.name === c) ?? { name: c, family: 'weights', data: false, what: '' };

/** Runs on calibration data (else on synthetic inputs). */
export const usesData = (c: CriterionName): boolean => criterionInfo(c).data;

/** The recovery choices the panel offers, as the value of its select (methods joined by commas). */
export const RECOVERY: { value: string; label: string; what: string }[] = [
  { value: '', label: 'none', what: 'The variant as cut.' },
  { value: 'bn', label: 'BN re-calibration', what: 'Re-estimates BatchNorm statistics on the data (or, where BN was folded, corrects the biases).' },
  { value: 'lsq', label: 'least squares', what: 'Refits each layer whose inputs lost channels to the dense model\'s outputs (ridge least squares).' },
  { value: 'lsq,bn', label: 'least squares + BN', what: 'Least-squares refit, then BatchNorm re-calibration: usually the best without training.' },
];

/** lsq first: the order the engine applies them in. */
export const recoveryValue = (methods: RecoveryMethod[]): string => [...new Set(methods)].sort((a, b) => (a === b ? 0 : a === 'lsq' ? -1 : 1)).join(',');

export const recoveryMethods = (value: string): RecoveryMethod[] => (value ? (value.split(',') as RecoveryMethod[]) : []);
