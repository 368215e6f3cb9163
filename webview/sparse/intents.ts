/**
 * Weight sparsity from the Before/After tab: the choices offered (a fraction of each layer's weights, or N of every
 * M), the methods and whether they need calibration data, and the call that writes the sparsified copy
 * (host.sparsify: save dialog, then the engine's `sparsify`). Sparsity zeroes weights instead of removing channels,
 * so it is independent of the ratios, the criterion and recovery above.
 */
import type { Sparsity, SparsityMethod } from '../../src/shared/types.js';
import type { Runner } from '../compare/intents.js';
import type { Host } from '../host.js';
import type { State, Store } from '../store.js';

export interface SparsityChoice {
  value: string;
  label: string;
  sparsity: Sparsity;
  /** For the default file name: `sparse50`, `sparse2of4` (no colon: Windows refuses it in names). */
  tag: string;
  what: string;
}

export const SPARSITIES: SparsityChoice[] = [
  { value: '0.5', label: '50 %', sparsity: { kind: 'unstructured', ratio: 0.5 }, tag: 'sparse50', what: 'Half of each layer\'s weights zeroed, wherever they are.' },
  { value: '0.7', label: '70 %', sparsity: { kind: 'unstructured', ratio: 0.7 }, tag: 'sparse70', what: '70 % of each layer\'s weights zeroed, wherever they are.' },
  { value: '2:4', label: '2:4', sparsity: { kind: 'nm', n: 2, m: 4 }, tag: 'sparse2of4', what: '2 of every 4 weights along the input channels zeroed: the pattern sparse tensor cores use.' },
  { value: '4:8', label: '4:8', sparsity: { kind: 'nm', n: 4, m: 8 }, tag: 'sparse4of8', what: '4 of every 8 weights along the input channels zeroed.' },
];

export const METHODS: { method: SparsityMethod; what: string; data: boolean }[] = [
  { method: 'magnitude', data: false, what: 'Each layer\'s smallest weights go.' },
  { method: 'wanda', data: true, what: 'Wanda: |w|·‖x‖ per output, from the model run on the calibration data (Sun et al. 2023).' },
  { method: 'obs', data: true, what: 'SparseGPT\'s layer-wise Optimal Brain Surgeon, from the calibration data: the weights that stay are updated to make up for those removed (Frantar & Alistarh 2023).' },
];

export const methodUsesData = (m: SparsityMethod): boolean => METHODS.find((x) => x.method === m)?.data ?? false;

export const sparsityChoice = (s: Pick<State, 'sparse'>): SparsityChoice => SPARSITIES.find((c) => c.value === s.sparse.choice) ?? SPARSITIES[0];

/** Why Sparsify… cannot run now, if it cannot: the engine refuses Wanda and OBS without calibration data. */
export function blocked(s: Pick<State, 'sparse' | 'settings'>): string | undefined {
  return methodUsesData(s.sparse.method) && !s.settings?.data ? 'needs calibration data' : undefined;
}

export class SparsifyIntents {
  constructor(private readonly host: Host, private readonly store: Store, private readonly runner: Runner, private readonly fileName: (tag: string) => string) {}

  setChoice(choice: string): void {
    if (SPARSITIES.some((c) => c.value === choice)) this.store.set((s) => ({ sparse: { ...s.sparse, choice } }));
  }

  setMethod(method: SparsityMethod): void {
    if (METHODS.some((m) => m.method === method)) this.store.set((s) => ({ sparse: { ...s.sparse, method } }));
  }

  /** Asks where to write the sparsified copy, then has the engine write it; the report is kept for the view. */
  async sparsify(): Promise<void> {
    const s = this.store.get();
    if (blocked(s)) return;
    const c = sparsityChoice(s);
    const method = s.sparse.method;
    const call = this.host.call('host.sparsify', { sparsity: c.sparsity, method, defaultName: this.fileName(`${c.tag}-${method}`) }, this.runner.progress('sparsify'));
    const r = await this.runner.run('sparsify', call, `Sparsifying (${c.label}, ${method})…`);
    if (r) this.store.set({ sparsified: r });
  }
}
