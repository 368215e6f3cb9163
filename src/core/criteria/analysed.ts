import type { GroupInfo } from '../../shared/types.js';
import type { DepGraph } from '../deps/analyze.js';
import type { Model } from '../ir/graph.js';
import type { ShapeResult } from '../shapes/types.js';

/**
 * What the data criteria read of an analysed model. `Analysis` has all of it; naming only this keeps criteria/ from
 * importing analysis.ts, which imports them.
 */
export interface AnalysedModel {
  model: Model;
  shapes: ShapeResult;
  dep: DepGraph;
  infos: GroupInfo[];
}
