/**
 * A Conv's pads as numbers, whatever its auto_pad says. TF.js and Keras convert 'same' padding to
 * auto_pad=SAME_UPPER (the input size is not always known when converting); what refits and differentiates a
 * convolution needs the pads themselves, which the input size fixes.
 */
import type { Node } from '../ir/graph.js';

/** [begin…, end…] pads for `spatialIn` (the input's spatial dims), as ONNX defines auto_pad. */
export function explicitPads(node: Node, spatialIn: number[], kernel: number[]): number[] {
  const n = kernel.length;
  const autoPad = node.str('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return node.ints('pads') ?? new Array(2 * n).fill(0);
  if (autoPad === 'VALID') return new Array(2 * n).fill(0);
  const strides = node.ints('strides') ?? [];
  const dilations = node.ints('dilations') ?? [];
  const begin: number[] = [];
  const end: number[] = [];
  spatialIn.forEach((x, i) => {
    const s = strides[i] ?? 1;
    const k = (kernel[i] - 1) * (dilations[i] ?? 1) + 1;
    const total = Math.max(0, (Math.ceil(x / s) - 1) * s + k - x);
    // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_LOWER' ? total - small : small);
    end.push(autoPad === 'SAME_LOWER' ? small : total - small);
  });
  return [...begin, ...end];
}
