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
 * Concrete shapes for every runtime input: user overrides first, then the file's static dims, then defaults
 * for dynamic dims (batch 1, image sides 224, sequence lengths 128). Returns which dims were assumed.
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
    shapes[input.name] = input.shape.map((d, i) => {
      if (typeof d === 'number' && d > 0) return d;
      if (typeof d === 'string' && named.has(d)) return named.get(d)!;
      const v = i === 0 ? 1 : rank === 4 || rank === 5 ? (i === 1 ? 3 : 224) : 128;
      if (typeof d === 'string') named.set(d, v);
      assumed.push(`${input.name}[${i}]${typeof d === 'string' ? ` (${d})` : ''}=${v}`);
      return v;
    });
  }
  return { shapes, assumed };
}
