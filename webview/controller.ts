/**
 * The panel's intents: what a button, a drag or a click asks for, turned into calls to the host and state changes.
 * Every call goes through `run`, which records its loading, progress and error state for the views to show.
 */
import type { ProgressValue } from '../src/shared/protocol.js';
import type { CriterionName, Recipe, RecoveryMethod } from '../src/shared/types.js';
import type { InitMessage, PanelAction, PanelTab } from '../src/shared/webview.js';
import { MODEL_EXT, modelExtension } from '../src/shared/model-files.js';
import { CompareIntents } from './compare/intents.js';
import { recoveryValue } from './criteria.js';
import { CallFailed, type Call, type Host } from './host.js';
import { record, redo, undo } from './ratios/history.js';
import { currentWarnings, editorRows, keepOfPlan, saveConfirmation } from './ratios/rows.js';
import { SparsifyIntents } from './sparse/intents.js';
import { sidebarRows } from './sidebar.js';
import { criterionOf, pruneKey, recoverOf, type Keep, type Store, type TaskName } from './store.js';

const NEEDS_SCAN = new Set(['sensitivity', 'ensemble']);

export class Controller {
  private readonly calls = new Map<TaskName, Call<unknown>>();
  private estimating = false;
  private estimateAgain = false;
  private generation = 0;
  /** The Criteria tab's intents (comparison, side-by-side curves). */
  readonly compare: CompareIntents;
  /** Weight sparsity (Before/After tab): writes a copy with zeroed weights. */
  readonly sparse: SparsifyIntents;

  constructor(private readonly host: Host, private readonly store: Store) {
    this.compare = new CompareIntents(host, store, this);
    // a sparsified copy is named like a variant: the model's name and format, what was done in between
    this.sparse = new SparsifyIntents(host, store, this, (tag) => `${this.baseName()}.${tag}${this.modelExt()}`);
  }

  /** Runs a call as a named task: loading, progress and error states are kept for the views. */
  async run<T>(task: TaskName, call: Call<T>, message?: string): Promise<T | undefined> {
    this.calls.set(task, call as Call<unknown>);
    this.store.task(task, { running: true, message });
    try {
      const result = await call.result;
      if (this.calls.get(task) === call) this.store.task(task, undefined);
      return result;
    } catch (e) {
      if (this.calls.get(task) !== call) return undefined;
      const error = e instanceof CallFailed ? e.error : { message: String(e) };
      this.store.task(task, error.cancelled ? { running: false, message: 'Cancelled.' } : { running: false, error });
      return undefined;
    } finally {
      if (this.calls.get(task) === call) this.calls.delete(task);
    }
  }

  progress(task: TaskName): (v: ProgressValue) => void {
    return (v) => {
      if (v.kind !== 'report') return;
      this.store.task(task, { running: true, message: v.message, percentage: v.percentage, eta: v.eta });
    };
  }

  cancel(task: TaskName): void {
    this.calls.get(task)?.cancel();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Start, restore, commands

  async start(init: InitMessage): Promise<void> {
    const gen = ++this.generation;
    const s = this.store.get();
    const sameModel = s.model?.uri === init.model.uri;
    this.store.set({
      model: init.model, settings: init.settings, ...(init.tab ? { tab: init.tab } : {}),
      // a new model starts from the settings' target and strategy; a restored panel keeps the user's choices
      ...(sameModel ? {} : {
        target: init.settings.target, strategy: init.settings.strategy, criterion: null, recover: null, steps: 1,
        compare: { criteria: [], ratio: 0.5, result: null },
        keep: null, plan: null, edited: false, scanned: false, selected: null, history: { past: [], future: [] }, graphView: { expanded: [], ghosts: true },
      }),
      scan: undefined, estimate: undefined, graph: undefined, groupInfo: {}, tasks: {}, compareCurves: undefined,
      ...(sameModel ? {} : { pruned: undefined, saved: undefined, sparsified: undefined }),
    });
    if (!(await this.open()) || gen !== this.generation) return;
    const restored = this.store.get();
    if (init.action) return this.action(init.action);
    // after a reload: ask again for what was shown (a scan comes from the engine's cache)
    if (restored.scanned) await this.scan();
    if (restored.keep) void this.estimate();
    if (restored.selected !== null) void this.ensureGroup(restored.selected);
    if (restored.tab === 'graph') void this.loadGraph();
    if (restored.tab === 'criteria') void this.compare.ensure();
    this.sidebar();
  }

  private async open(): Promise<boolean> {
    const summary = await this.run('open', this.host.call('open', {}, this.progress('open')), 'Loading the model…');
    if (summary) this.store.set({ summary });
    return summary !== undefined;
  }

  async action(a: PanelAction): Promise<void> {
    if (a === 'scan') {
      this.setTab('sensitivity');
      await this.scan();
      return;
    }
    this.setTab('ratios');
    const s = this.store.get();
    if (NEEDS_SCAN.has(s.strategy) && !s.scan) await this.scan();
    await this.plan();
  }

  /** The engine restarted: variants it held are gone; everything else is asked for again. */
  async restarted(): Promise<void> {
    this.store.set({ pruned: undefined });
    if (!this.store.get().summary) return;
    if (!(await this.open())) return;
    if (this.store.get().keep) void this.estimate();
  }

  setTab(tab: PanelTab): void {
    this.store.set({ tab });
    if (tab === 'graph') void this.loadGraph();
    if (tab === 'criteria') void this.compare.ensure();
  }

  select(group: number | null, from: 'panel' | 'host' = 'panel'): void {
    this.store.set({ selected: group });
    if (from === 'panel') this.host.send({ type: 'selected', group });
    if (group !== null) void this.ensureGroup(group);
    if (this.store.get().tab === 'criteria') void this.compare.curves();
  }

  // ------------------------------------------------------------------------------------------------------------
  // The panel's criterion and recovery (they override the settings for this panel)

  /** Scans, plans, estimates and prunes of this panel rank channels by `criterion`; a shown scan is shown again under it. */
  async setCriterion(criterion: CriterionName): Promise<void> {
    const s = this.store.get();
    if (criterion === criterionOf(s)) return;
    this.store.set({ criterion });
    // while the model is still opening, start() asks for the estimate and the scan (under this criterion) itself
    if (!s.summary) return;
    if (s.keep) void this.estimate();
    // the engine session caches a scan per criterion: switching back is instant
    if (s.scanned || s.scan) await this.scan();
  }

  setRecovery(recover: RecoveryMethod[]): void {
    this.store.set({ recover });
  }

  setSteps(steps: number): void {
    if (Number.isInteger(steps) && steps >= 1 && steps <= 5) this.store.set({ steps });
  }

  /** One group's members and couplings, asked for when it is selected. */
  async ensureGroup(id: number): Promise<void> {
    if (this.store.get().groupInfo[id]) return;
    const r = await this.run('group', this.host.call('groups', { ids: [id] }));
    if (r?.[0]) this.store.set((s) => ({ groupInfo: { ...s.groupInfo, [id]: r[0] } }));
  }

  async loadGraph(): Promise<void> {
    const s = this.store.get();
    if (s.graph || s.tasks.graph?.running) return;
    const graph = await this.run('graph', this.host.call('graph', {}), 'Reading the graph…');
    if (graph) this.store.set({ graph });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Sensitivity

  async scan(): Promise<void> {
    this.store.task('plan', undefined);
    const scan = await this.run('scan', this.host.call('scan', { criterion: criterionOf(this.store.get()) }, this.progress('scan')), 'Starting the scan…');
    if (!scan) return;
    this.store.set({ scan, scanned: true });
    this.sidebar();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Plans and the ratio editor

  async plan(): Promise<void> {
    const s = this.store.get();
    // the scan a plan uses must be under the panel's criterion (the engine caches one per criterion)
    const scanFor = (st: typeof s) => st.scan && st.scan.settings.criterion === criterionOf(st) ? st.scan : undefined;
    if (NEEDS_SCAN.has(s.strategy) && !scanFor(s)) {
      await this.scan();
      if (!scanFor(this.store.get())) return;
    }
    const cur = this.store.get();
    const scan = NEEDS_SCAN.has(cur.strategy) ? scanFor(cur) : undefined;
    const plan = await this.run('plan', this.host.call('plan', { target: cur.target, strategy: cur.strategy, criterion: criterionOf(cur), ...(scan ? { scan } : {}) }, this.progress('plan')), 'Planning…');
    if (plan) this.usePlan(plan);
  }

  private usePlan(plan: Recipe): void {
    this.store.set((s) => ({ plan, keep: keepOfPlan(plan), edited: false, history: s.keep ? record(s.history, s.keep) : s.history }));
    void this.estimate();
    this.sidebar();
  }

  setTarget(target: { kind: 'macs' | 'params' | 'latency'; keep: number }): void {
    this.store.set({ target });
  }

  setStrategy(strategy: 'uniform' | 'global' | 'sensitivity' | 'ensemble'): void {
    this.store.set({ strategy });
  }

  /** Starts an edit (a drag or a typed value): the state before it goes on the undo stack. */
  beginEdit(): void {
    this.store.set((s) => (s.keep ? { history: record(s.history, s.keep) } : {}));
  }

  /** Sets one group's kept channels (during a drag, many times per edit). */
  editKeep(group: number, kept: number): void {
    const s = this.store.get();
    if (!s.keep || s.keep[group] === kept) return;
    const keep = { ...s.keep, [group]: kept };
    this.store.set({ keep, edited: !sameKeep(keep, s.plan ? keepOfPlan(s.plan) : {}) });
    void this.estimate();
  }

  /** After an edit: the sidebar follows (not on every pointer move). */
  endEdit(): void {
    this.sidebar();
  }

  undo(): void {
    this.step(undo);
  }

  redo(): void {
    this.step(redo);
  }

  private step(fn: typeof undo<Keep>): void {
    const s = this.store.get();
    if (!s.keep) return;
    const r = fn(s.history, s.keep);
    if (!r) return;
    this.store.set({ keep: r.state, history: r.history, edited: !sameKeep(r.state, s.plan ? keepOfPlan(s.plan) : {}) });
    void this.estimate();
    this.sidebar();
  }

  /** Params, MACs and size for the current keep map; while one is in flight, the latest edit waits for it. */
  async estimate(): Promise<void> {
    if (this.estimating) {
      this.estimateAgain = true;
      return;
    }
    this.estimating = true;
    try {
      do {
        this.estimateAgain = false;
        const keep = this.store.get().keep;
        if (!keep) return;
        const t = performance.now();
        const estimate = await this.run('estimate', this.host.call('estimate', { keep, criterion: criterionOf(this.store.get()) }));
        const took = performance.now() - t;
        if (!estimate) return;
        this.store.set((s) => {
          // the engine clamps what a group cannot keep (e.g. a multiple of its blocks): the editor shows what it used
          const fixed = s.keep === keep && estimate.adjusted.length ? { ...keep, ...Object.fromEntries(estimate.adjusted.map((a) => [String(a.group), a.used])) } : undefined;
          return { estimate, estimateMs: [...s.estimateMs, took].slice(-200), ...(fixed ? { keep: fixed } : {}) };
        });
      } while (this.estimateAgain);
    } finally {
      this.estimating = false;
    }
  }

  async loadRecipe(): Promise<void> {
    const recipe = await this.run('recipe', this.host.call('host.loadRecipe', {}));
    if (!recipe) return;
    // a recipe made with recovery or in steps is pruned the same way unless the user changes it
    const { recovery, steps } = recipe.settings;
    this.store.set({ ...(recovery ? { recover: recovery.methods } : {}), ...(steps ? { steps } : {}) });
    this.usePlan(recipe);
  }

  async saveRecipe(): Promise<void> {
    const s = this.store.get();
    // an edited state has no channel lists yet: the engine chooses them (by pruning, which also verifies); a plan
    // records no recovery or steps, the recipe of its prune does (so replaying it gives the same file)
    const asPruned = s.edited || !s.plan || recoverOf(s).length > 0 || s.steps > 1;
    const recipe = asPruned ? (await this.prune())?.recipe : s.plan ?? undefined;
    if (!recipe) return;
    await this.run('recipe', this.host.call('host.saveRecipe', { recipe, defaultName: `${this.baseName()}.${this.suffix()}.recipe.json` }));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Pruning and saving

  /**
   * Prunes the current ratios (the plan's exact channels while unedited, else chosen by the panel's criterion),
   * verified, with the panel's recovery and steps; reuses the last variant if it is still current.
   */
  async prune(): Promise<{ variantId: string; recipe: Recipe } | undefined> {
    const s = this.store.get();
    if (!s.keep) return undefined;
    const key = pruneKey(s);
    if (s.pruned?.fromKey === key) return s.pruned;
    const recipe = !s.edited && s.plan ? s.plan : undefined;
    const recover = recoverOf(s);
    // a recipe that records the same recovery is replayed as it was (on the data it was fitted on)
    const replay = recipe?.settings.recovery && recoveryValue(recipe.settings.recovery.methods) === recoveryValue(recover);
    const params = { ...(recipe ? { recipe } : { keep: s.keep, criterion: criterionOf(s) }), ...(replay ? {} : { recover }), steps: s.steps };
    const doing = `${s.steps > 1 ? `Pruning in ${s.steps} steps` : 'Pruning'}${recover.length ? `, recovering (${recover.join('+')})` : ''} and verifying…`;
    const r = await this.run('prune', this.host.call('prune', params, this.progress('prune')), doing);
    if (!r) return undefined;
    this.store.set({ pruned: { ...r, fromKey: key } });
    return r;
  }

  async saveVariant(): Promise<void> {
    const s = this.store.get();
    // a collapsed layer, or a group cut until its output is predicted gone: ask before writing such a model
    const ask = saveConfirmation(currentWarnings(s).warnings);
    if (ask) {
      const ok = await this.run('save', this.host.call('host.confirm', { ...ask, action: 'Save anyway' }));
      if (!ok) return;
    }
    let pruned = await this.prune();
    if (!pruned) return;
    const save = (variantId: string) => this.host.call('host.saveVariant', { variantId, defaultName: `${this.baseName()}.${this.suffix()}${this.modelExt()}` });
    this.store.task('save', { running: true, message: 'Saving…' });
    let call = save(pruned.variantId);
    let saved = await call.result.catch((e: unknown) => e as CallFailed);
    if (saved instanceof CallFailed && saved.error.code === 'unknown-id') {
      // the engine no longer holds that variant (it restarted, or keeps only the latest few): build it again
      this.store.set({ pruned: undefined });
      pruned = await this.prune();
      if (!pruned) return;
      call = save(pruned.variantId);
      saved = await call.result.catch((e: unknown) => e as CallFailed);
    }
    if (saved instanceof CallFailed) {
      this.store.task('save', saved.cancelled ? undefined : { running: false, error: saved.error });
      return;
    }
    this.store.task('save', undefined);
    if (saved) this.store.set((st) => ({ saved: { ...saved, fromKey: st.pruned?.fromKey } }));
  }

  private baseName(): string {
    return (this.store.get().model?.name ?? 'model').replace(MODEL_EXT, '');
  }

  /** A variant is written in its model's format: `.onnx`, TF.js `.json` (shards beside it), `.keras` or `.h5`. */
  private modelExt(): string {
    return `.${modelExtension(this.store.get().model?.name ?? '')}`;
  }

  /** `pruned-macs50`: the plan's target while unedited, else what the edited ratios keep of that measure. */
  private suffix(): string {
    const s = this.store.get();
    const target = s.plan?.settings.target;
    if (!s.edited && target && target.kind !== 'loss') return `pruned-${target.kind}${Math.round(100 * target.keep)}${this.pruning()}`;
    const kind = s.target.kind === 'params' ? 'params' : 'macs';
    const ratio = s.estimate ? s.estimate.ratios[kind] : s.target.keep;
    return `pruned-${kind}${Math.round(100 * ratio)}${this.pruning()}`;
  }

  /** How the variant is pruned besides its ratios, for its default file name: "-lsq-bn", "-3steps". */
  private pruning(): string {
    const s = this.store.get();
    const rec = recoverOf(s);
    return `${rec.length ? `-${rec.join('-')}` : ''}${s.steps > 1 ? `-${s.steps}steps` : ''}`;
  }

  log(message: string): void {
    this.host.send({ type: 'log', message });
  }

  async openFile(path: string): Promise<void> {
    await this.run('save', this.host.call('host.open', { path }));
  }

  /** Tells the sidebar what to list. */
  sidebar(): void {
    const s = this.store.get();
    if (!s.scan && !s.plan) return;
    this.host.send({ type: 'sidebar', groups: sidebarRows(s), scanned: !!s.scan });
  }

  rows() {
    return editorRows(this.store.get());
  }
}

function sameKeep(a: Keep, b: Keep): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
