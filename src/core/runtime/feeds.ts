/** Synthetic model inputs: seeded Gaussian floats, and for scalar or integer inputs values the model itself suggests. */
import type { InputValue } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import type { DType } from '../ir/dtype.js';
import type { Graph, Model } from '../ir/graph.js';
import { runtimeInputs } from '../shapes/inputs.js';
import { gaussian, rng } from '../util/random.js';
import { ort, type Feeds } from './ort.js';

const INTEGER: DType[] = ['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64', 'bool'];
const COMPARE = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual']);
/** Ops an input may pass through before it is compared (a selector cast or reshaped first). */
const PASS = new Set(['Cast', 'Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/**
 * Values for integer and boolean inputs (a branch selector, a sample rate, a length): the user's, else the first
 * constant the model compares the input with (e.g. `If(Equal(sr, 16000))` → 16000), else 0 (safe as token ids and
 * masks). Float inputs get Gaussian samples and are not listed.
 */
export function chooseInputValues(model: Model, given: Record<string, number> = {}): InputValue[] {
  const out: InputValue[] = [];
  for (const input of runtimeInputs(model)) {
    if (!INTEGER.includes(input.dtype)) {
      if (input.name in given) throw new PruneLensError(`'${input.name}' is a ${input.dtype} input; values are chosen only for integer inputs`, { option: 'inputValues' });
      continue;
    }
    const candidates = comparedConstants(model.graph, input.name);
    if (input.name in given) {
      const v = given[input.name];
      if (!Number.isInteger(v)) throw new PruneLensError(`${input.name} takes whole numbers, got ${v}`, { option: 'inputValues' });
      out.push({ name: input.name, value: v, from: 'given', ...(candidates.length ? { candidates } : {}) });
    } else if (candidates.length) {
      out.push({ name: input.name, value: candidates[0], from: 'model', candidates });
    } else {
      out.push({ name: input.name, value: 0, from: 'default' });
    }
  }
  for (const k of Object.keys(given)) {
    if (!runtimeInputs(model).some((i) => i.name === k)) throw new PruneLensError(`the model has no input '${k}'`, { option: 'inputValues' });
  }
  return out;
}

/** Constants a value is compared with (through casts and reshapes), in graph order, each once. */
function comparedConstants(graph: Graph, value: string): number[] {
  const found: number[] = [];
  const seen = new Set<string>();
  const walk = (g: Graph, v: string) => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const sub of g.allGraphs()) {
      for (const n of sub.nodes) {
        if (!n.inputs.includes(v)) continue;
        if (PASS.has(n.opType) && n.outputs[0]) walk(sub, n.outputs[0]);
        if (!COMPARE.has(n.opType)) continue;
        const other = n.inputs.find((x) => x && x !== v);
        const t = other ? sub.constant(other) : undefined;
        if (t && t.size === 1) {
          const c = Number(t.toNumbers()[0]);
          if (Number.isFinite(c) && !found.includes(c)) found.push(c);
        }
      }
    }
  };
  walk(graph, value);
  return found;
}

/** Synthetic inputs: standard normal floats; integer inputs filled with their chosen value. */
export function syntheticFeeds(model: Model, shapes: Record<string, number[]>, seed = 1, given: Record<string, number> = {}): Feeds {
  const feeds: Feeds = {};
  const normal = gaussian(rng(seed));
  const values = new Map(chooseInputValues(model, given).map((v) => [v.name, v.value]));
  for (const input of runtimeInputs(model)) {
    const dims = shapes[input.name];
    if (!dims) throw new PruneLensError(`no shape for input '${input.name}'`, { option: 'inputShapes' });
    feeds[input.name] = makeTensor(input.dtype, dims, normal, values.get(input.name) ?? 0);
  }
  return feeds;
}

function makeTensor(dtype: DType, dims: number[], normal: () => number, value: number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from({ length: n }, normal), dims);
    case 'float64': return new ort.Tensor('float64', Float64Array.from({ length: n }, normal), dims);
    case 'float16': return new ort.Tensor('float16', new Uint16Array(n), dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(value)), dims);
    case 'uint64': return new ort.Tensor('uint64', new BigUint64Array(n).fill(BigInt(Math.max(value, 0))), dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array(n).fill(value), dims);
    case 'uint32': return new ort.Tensor('uint32', new Uint32Array(n).fill(value), dims);
    case 'int16': return new ort.Tensor('int16', new Int16Array(n).fill(value), dims);
    case 'uint16': return new ort.Tensor('uint16', new Uint16Array(n).fill(value), dims);
    case 'int8': return new ort.Tensor('int8', new Int8Array(n).fill(value), dims);
    case 'uint8': return new ort.Tensor('uint8', new Uint8Array(n).fill(value), dims);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(n).fill(value ? 1 : 0), dims);
    default: throw new PruneLensError(`cannot make synthetic data for an input of type ${dtype}`, { code: 'unsupported' });
  }
}
