/**
 * What an allocation costs, for the strategies' searches: params and MACs when each group keeps some units, from the
 * session's exact cost estimator. Only the groups whose keep changed since the last call are recomputed, so a search
 * that tries one group at a time pays for that group's neighbourhood only.
 */
import type { Analysis } from '../analysis.js';
import type { SelectOptions } from '../criteria/select.js';
import type { CostTotals, EstimatorState } from '../cost/estimate.js';

export interface PlanCost {
  params: number;
  macs: number;
}

export class PlanCosting {
  readonly params: number;
  readonly macs: number;
  private readonly state: EstimatorState;
  private readonly applied = new Map<number, number>();

  constructor(private readonly a: Analysis, private readonly opts: SelectOptions) {
    this.state = a.estimator.state();
    this.params = a.cost.params;
    this.macs = a.cost.macs;
  }

  /** Params, MACs and weight bytes when groups keep these many units (groups absent keep all of theirs). */
  evaluate(keep: ReadonlyMap<number, number>): CostTotals {
    const units = (id: number) => this.a.dep.groups[id].units.length;
    const set = (id: number, k: number) => {
      if ((this.applied.get(id) ?? units(id)) === k) return;
      this.state.setGroup(id, this.a.countsForKeep(this.a.dep.groups[id], k, this.opts));
      this.applied.set(id, k);
    };
    for (const [id, k] of keep) set(id, k);
    for (const id of this.applied.keys()) if (!keep.has(id)) set(id, units(id));
    return this.state.totals();
  }
}
