import type { InputShapes } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import type { Model, ValueInfo } from '../ir/graph.js';

export type { InputShapes } from '../../shared/types.js';
const bad = (message: string) => new PruneLensError(message, { option: 'inputShapes' });

/** Parses `NAME=1x3x224x224` (or `1x3x224x224` for a single-input model). */
export function parseInputShape(spec: string): { name?: string; dims: number[] } {
  const eq = spec.lastIndexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq) : undefined;
  const dimsText = eq >= 0 ? spec.slice(eq + 1) : spec;
  const dims = dimsText.split(/[x,]/).map((d) => Number(d));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw bad(`'${spec}': expected NAME=D1xD2x… with whole numbers, e.g. input=1x3x224x224`);
  }
  return { name, dims };
}

/** Graph inputs that are fed at run time (not initializers that happen to be listed as inputs). */
export function runtimeInputs(model: Model): ValueInfo[] {
  return model.graph.inputs.filter((i) => !model.graph.initializers.has(i.name));
}

/**
 * Spatial sizes (height, width) the model is used at, from its metadata (`input_size`, `image_size`, `img_size`,
 * `imgsz`, `input_shape`: "224", "224,224", "[1,3,224,224]") or its exporter's conventions (PaddleOCR exports via
 * paddle2onnx: the direction classifier runs at 48×192, the recogniser at height 48 and width 320, the detector at
 * 640×640), with where the size came from.
 */
export function conventionalSize(model: Model, input: ValueInfo): { hw: [number, number]; from: string } | undefined {
  const md = model.meta.metadata;
  for (const key of ['input_size', 'image_size', 'img_size', 'imgsz', 'input_shape']) {
    const v = md[key];
    const nums = v?.match(/\d+/g)?.map(Number).filter((n) => n > 4);
    if (nums?.length) return { hw: [nums[nums.length - 2] ?? nums[nums.length - 1], nums[nums.length - 1]], from: `metadata ${key}` };
  }
  const shape = input.shape;
  const paddle = shape?.some((d) => typeof d === 'string' && d.startsWith('p2o.'));
  if (!paddle || shape?.length !== 4 || shape[1] !== 3) return undefined;
  const out = model.graph.outputs[0]?.shape;
  if (shape[2] === 48 && out?.length === 3) return { hw: [48, 320], from: 'PaddleOCR recogniser convention' };
  if (out?.length === 2 && out[1] === 2) return { hw: [48, 192], from: 'PaddleOCR classifier convention' };
  if (out?.length === 4 && out[1] === 1) return { hw: [640, 640], from: 'PaddleOCR detector convention' };
  return undefined;
}

/**
 * Concrete shapes for every runtime input: user overrides first, then the file's static dims, then the sizes the
 * model's metadata or exporter's conventions give, then defaults for dynamic dims (batch 1, image sides 224,
 * sequence lengths 128). Returns which dims were assumed, and from what.
 */
export function resolveInputShapes(model: Model, requested: string[] | InputShapes = []): { shapes: InputShapes; assumed: string[] } {
  const inputs = runtimeInputs(model);
  const overrides = new Map<string, number[]>();
  const specs = Array.isArray(requested) ? requested.map((s) => ({ s, ...parseInputShape(s) })) : Object.entries(requested).map(([name, dims]) => {
    if (!Array.isArray(dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`${name}: expected a list of whole numbers, got ${JSON.stringify(dims)}`);
    return { s: `${name}=${dims.join('x')}`, name, dims };
  });
  for (const { s, name, dims } of specs) {
    if (name === undefined) {
      if (inputs.length !== 1) {
        throw bad(`'${s}' names no input, but the model has ${inputs.length} inputs: ${inputs.map((i) => i.name).join(', ')}`);
      }
      overrides.set(inputs[0].name, dims);
    } else {
      if (!inputs.some((i) => i.name === name)) {
        throw bad(`the model has no input '${name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
      }
      overrides.set(name, dims);
    }
  }
  const shapes: InputShapes = {};
  const assumed: string[] = [];
  const named = new Map<string, number>();
  for (const input of inputs) {
    const given = overrides.get(input.name);
    if (given) {
      if (input.shape && input.shape.length !== given.length) {
        throw bad(`${input.name}: the model expects rank ${input.shape.length}, got ${given.length} dims`);
      }
      input.shape?.forEach((d, i) => {
        if (typeof d === 'number' && d > 0 && d !== given[i]) {
          throw bad(`${input.name}: dim ${i} is fixed at ${d} in the model, got ${given[i]}`);
        }
        if (typeof d === 'string') named.set(d, given[i]);
      });
      shapes[input.name] = given;
      continue;
    }
    if (!input.shape) {
      throw bad(`input '${input.name}' has no shape in the model: give one as ${input.name}=D1xD2x…`);
    }
    const rank = input.shape.length;
    const conv = rank === 4 ? conventionalSize(model, input) : undefined;
    // channels-last images (TF.js, Keras): [N, H, W, C] with C fixed and the sides dynamic
    const last = rank === 4 && typeof input.shape[3] === 'number' && input.shape[3] > 0 && typeof input.shape[1] !== 'number';
    shapes[input.name] = input.shape.map((d, i) => {
      if (typeof d === 'number' && d > 0) return d;
      if (typeof d === 'string' && named.has(d)) return named.get(d)!;
      const fromConvention = conv && (i === 2 || i === 3) ? conv.hw[i - 2] : undefined;
      const v = fromConvention ?? (i === 0 ? 1 : last ? 224 : rank === 4 || rank === 5 ? (i === 1 ? 3 : 224) : 128);
      if (typeof d === 'string') named.set(d, v);
      // generated dim names (p2o.DynamicDimension.0, unk__12) say nothing
      const named_ = typeof d === 'string' && !/^(p2o\.|unk__|DynamicDimension)/.test(d) ? ` (${d})` : '';
      assumed.push(`${input.name}[${i}]${named_}=${v}${fromConvention !== undefined ? ` (${conv!.from})` : ''}`);
      return v;
    });
  }
  return { shapes, assumed };
}
