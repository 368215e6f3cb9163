/**
 * The engine's public entry points: plain arguments in, plain serialisable results out, with progress and
 * cancellation, so the CLI, a worker thread and the extension call the same functions.
 */
import { computeCost } from './cost/cost.js';
import { analyzeDependencies, describeGroup } from './deps/analyze.js';
import { throwIfCancelled } from './errors.js';
import { loadModel } from './formats/index.js';
import type { Model } from './ir/graph.js';
import type { TaskOptions } from './progress.js';
import { buildInspectResult, type InspectResult } from './report/inspect.js';
import { computeShapes, resolveInputShapes, type ShapeResult } from './shapes/index.js';

export interface AnalyseOptions extends TaskOptions {
  /** `NAME=1x3x224x224` specs for dynamic inputs. */
  inputShapes?: string[];
  shapeMethod?: 'auto' | 'inference' | 'probe';
}

export interface Analysed {
  model: Model;
  shapes: ShapeResult;
  assumed: string[];
}

/** Load a model and find the shapes of every value for concrete input shapes. */
export async function loadAndShape(file: string, opts: AnalyseOptions = {}): Promise<Analysed> {
  const model = await loadModel(file, opts);
  throwIfCancelled(opts.signal);
  const { shapes: inputs, assumed } = resolveInputShapes(model, opts.inputShapes);
  const shapes = await computeShapes(model, inputs, { ...opts, method: opts.shapeMethod });
  return { model, shapes, assumed };
}

export async function inspect(file: string, opts: AnalyseOptions & { groups?: boolean } = {}): Promise<InspectResult> {
  const { model, shapes, assumed } = await loadAndShape(file, opts);
  throwIfCancelled(opts.signal);
  const result = buildInspectResult(model, shapes, computeCost(model, shapes), assumed);
  if (opts.groups !== false) {
    const dep = analyzeDependencies(model, shapes);
    result.groups = dep.groups.map((g) => describeGroup(g, model));
  }
  return result;
}

export type { InspectResult } from './report/inspect.js';
