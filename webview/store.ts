/**
 * The panel's state, in one place: what the views render. Part of it (selection, ratio edits, undo history, graph
 * view) is kept by VS Code with setState, so it comes back after a reload; the rest is asked for again.
 */
import type { OpenResult } from '../src/shared/protocol.js';
import type { CriteriaComparison, CriterionName, Estimate, GroupInfo, ModelGraph, PruneResult, Recipe, RecoveryMethod, ScanResult, ScanTargetResult, SparsityMethod, StrategyName } from '../src/shared/types.js';
import type { CallError, ModelRef, PanelTab, ResolvedSettings, SavedVariant, SparsifiedModel } from '../src/shared/webview.js';
import type { History } from './ratios/history.js';

export type TaskName = 'open' | 'scan' | 'plan' | 'estimate' | 'prune' | 'graph' | 'save' | 'group' | 'recipe' | 'inspect' | 'compare' | 'compareScan' | 'sparsify';

export interface Task {
  running: boolean;
  message?: string;
  /** 0…100 when known. */
  percentage?: number;
  eta?: number;
  error?: CallError;
}

export type Keep = Record<string, number>;

/** The Criteria tab: the criteria ticked, the ratio their removals are compared at, and the last comparison. */
export interface CompareState {
  criteria: CriterionName[];
  ratio: number;
  result: CriteriaComparison | null;
}

/** One group's scan curves under each compared criterion (asked for again after a reload: the engine caches scans). */
export interface CompareCurves {
  /** What they were asked for: the group, the criteria and the settings (see curvesKey). */
  key: string;
  group: number;
  metric: string;
  ratios: number[];
  series: { criterion: CriterionName; target: ScanTargetResult }[];
}

/** What survives a window reload (VS Code keeps it for the webview). */
export interface Persisted {
  model?: ModelRef;
  tab: PanelTab;
  selected: number | null;
  target: { kind: 'macs' | 'params' | 'latency'; keep: number };
  strategy: StrategyName;
  /** The panel's criterion (scan, plan, estimate, prune); null: the setting prunelens.criterion. */
  criterion: CriterionName | null;
  /** Recovery after pruning; null: the setting prunelens.prune.recover. */
  recover: RecoveryMethod[] | null;
  /** Prune in this many steps of prune → recover (1: one shot). */
  steps: number;
  compare: CompareState;
  /** The ratio editor's kept channels per group. */
  keep: Keep | null;
  /** The last plan (or loaded recipe): the editor's rows, warnings and settings. */
  plan: Recipe | null;
  /** The keep map differs from the plan's: pruning then chooses channels by the criterion, not the plan's lists. */
  edited: boolean;
  /** A scan was shown: it is asked for again after a reload (from the engine's cache). */
  scanned: boolean;
  history: History<Keep>;
  graphView: { expanded: string[]; ghosts: boolean; view?: { x: number; y: number; k: number } };
  /** The last pruned variant (held by the engine until saved) and what it was made from (see pruneKey). */
  pruned?: PruneResult & { fromKey: string };
  /** The last variant saved, and what it was made from (see pruneKey; absent in states saved before it was kept). */
  saved?: SavedVariant & { fromKey?: string };
  /** Weight sparsity: the choice offered (a SPARSITIES value) and the method (sparse/intents.ts). */
  sparse: { choice: string; method: SparsityMethod };
  /** The last sparsified copy written, with the engine's report. */
  sparsified?: SparsifiedModel;
}

export interface State extends Persisted {
  settings?: ResolvedSettings;
  summary?: OpenResult;
  scan?: ScanResult;
  estimate?: Estimate;
  /** Round trips of the estimates while editing, in ms (the latest last). */
  estimateMs: number[];
  graph?: ModelGraph;
  /** Groups asked for one at a time (the selected one's members and couplings). */
  groupInfo: Record<number, GroupInfo>;
  tasks: Partial<Record<TaskName, Task>>;
  compareCurves?: CompareCurves;
}

export function initialState(p?: Partial<Persisted>): State {
  return {
    tab: 'ratios',
    selected: null,
    target: { kind: 'macs', keep: 0.5 },
    strategy: 'sensitivity',
    criterion: null,
    recover: null,
    steps: 1,
    compare: { criteria: [], ratio: 0.5, result: null },
    keep: null,
    plan: null,
    edited: false,
    scanned: false,
    history: { past: [], future: [] },
    graphView: { expanded: [], ghosts: true },
    sparse: { choice: '0.5', method: 'magnitude' },
    ...p,
    estimateMs: [],
    groupInfo: {},
    tasks: {},
  };
}

export function persisted(s: State): Persisted {
  return {
    model: s.model, tab: s.tab, selected: s.selected, target: s.target, strategy: s.strategy, criterion: s.criterion, recover: s.recover, steps: s.steps, compare: s.compare, keep: s.keep,
    plan: s.plan, edited: s.edited, scanned: s.scanned, history: s.history, graphView: s.graphView, pruned: s.pruned, saved: s.saved,
    sparse: s.sparse, sparsified: s.sparsified,
  };
}

/** The criterion this panel uses: its own choice, else the setting. */
export function criterionOf(s: Pick<State, 'criterion' | 'settings'>): CriterionName {
  return s.criterion ?? s.settings?.criterion ?? 'l1';
}

/** The recovery this panel prunes with: its own choice, else the setting. */
export function recoverOf(s: Pick<State, 'recover' | 'settings'>): RecoveryMethod[] {
  return s.recover ?? s.settings?.recover ?? [];
}

/** What a pruned variant depends on besides the model: the kept channels, the criterion, recovery and steps. */
export function pruneKey(s: Pick<State, 'keep' | 'criterion' | 'recover' | 'steps' | 'settings'>): string {
  return JSON.stringify({ keep: s.keep, criterion: criterionOf(s), recover: recoverOf(s), steps: s.steps });
}

type Listener = (s: State, prev: State) => void;

export class Store {
  private listeners = new Set<Listener>();
  constructor(private state: State, private readonly persist: (p: Persisted) => void) {}

  get(): State {
    return this.state;
  }

  set(patch: Partial<State> | ((s: State) => Partial<State>)): void {
    const prev = this.state;
    const p = typeof patch === 'function' ? patch(prev) : patch;
    this.state = { ...prev, ...p };
    this.persist(persisted(this.state));
    for (const l of this.listeners) l(this.state, prev);
  }

  task(name: TaskName, t: Task | undefined): void {
    this.set((s) => ({ tasks: { ...s.tasks, [name]: t } }));
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
