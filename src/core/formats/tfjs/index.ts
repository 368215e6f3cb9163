/** A TF.js model.json: a layers model (a Keras topology) or a graph model (a GraphDef), told apart by content. */
import * as path from 'node:path';
import { PruneLensError } from '../../errors.js';
import type { Model } from '../../ir/graph.js';
import { loadTfjsGraph } from './graph.js';
import { loadTfjsLayers } from './layers.js';

export function loadTfjsJson(bytes: Uint8Array, file: string): Model {
  const where = path.basename(file);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new PruneLensError(`${where}: not a valid JSON file (${(e as Error).message})`, { code: 'bad-model' });
  }
  const j = json as Record<string, unknown>;
  if (typeof j !== 'object' || j === null || Array.isArray(j) || typeof j.modelTopology !== 'object' || j.modelTopology === null) {
    throw new PruneLensError(`${where}: a JSON file without modelTopology is not a TF.js model`, { code: 'bad-model' });
  }
  if (!Array.isArray(j.weightsManifest)) throw new PruneLensError(`${where}: a TF.js model without weightsManifest`, { code: 'bad-model' });
  const topo = j.modelTopology as Record<string, unknown>;
  // graph models hold a GraphDef (`node`), layers models a Keras config; the `format` field is optional
  if (j.format === 'graph-model' || Array.isArray(topo.node)) return loadTfjsGraph(j, file);
  return loadTfjsLayers(j, file);
}
