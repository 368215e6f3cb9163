/**
 * Channel dependency analysis, data model. A *space* is one axis of one tensor value whose indices are channels
 * (e.g. axis 1 of a conv output). Rules per operator link the indices of spaces (identity, offset for Concat,
 * blocks for Flatten). Linked indices form *units*: the things removed together. Spaces connected by links form a
 * *group*; pruning a group removes some of its units from every member.
 */

/** How one tensor (a weight, a bias, BN statistics, a per-channel constant) is sliced when units go. */
export interface ParamSlice {
  /** Constant value name (initializer or Constant node output). */
  tensor: string;
  /** Which input of `node` reads it (surgery gives each reader its own copy when a constant is shared). */
  input: number;
  axis: number;
  space: number;
  /** Each space index owns `block` consecutive indices of the tensor's axis (1 normally). */
  block: number;
  /**
   * Grouped convolution (1 when absent): the space and the tensor's axis 0 split into `groups` blocks, and index j
   * of block b is position j of `axis` in the rows of block b only (each conv-group reads its own input channels).
   */
  groups?: number;
  node: string;
  /** out: producer filters; in: consumer input channels; bias; norm: BN/IN statistics; scale: other constants. */
  role: 'out' | 'in' | 'bias' | 'norm' | 'scale';
}

/** Attributes and shape constants that must follow a space's new size. */
export type Fix =
  | { kind: 'group'; node: string; space: number }
  | { kind: 'split'; node: string; spaces: number[]; axis: number }
  /**
   * A Slice of the channel axis: its output `space` is the input's indices from `start` on (the original, normalised
   * start; several input indices may share a unit after channel shuffles, so the start is kept, not looked up).
   */
  | { kind: 'slice'; node: string; space: number; inputSpace: number; axis: number; start: number; starts?: number[]; ends?: number[] }
  | { kind: 'shape'; node: string; input: number; index: number; space: number; divisor?: number }
  /** A normalisation whose statistics span the channels of its input `space`: the masked twin leaves removed ones out. */
  | { kind: 'norm'; node: string; space: number };

export interface Space {
  id: number;
  value: string;
  axis: number;
  size: number;
  /** Rank of the value. */
  rank: number;
  /** First element id of this space in the union-find. */
  base: number;
  /** The node whose weights create these channels (Conv, Gemm, …), if this is where channels originate. */
  source?: string;
  /** Removal must take equally many channels from each of this many contiguous blocks (grouped conv, GroupNorm). */
  blocks?: number;
}

export type { GroupInfo } from '../../shared/types.js';
