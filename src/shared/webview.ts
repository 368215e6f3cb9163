/**
 * The messages between the extension host and its webviews (the model overview and the pruning panel). Type-only,
 * like types.ts: the host and the webview bundle both import it, so what crosses postMessage is declared here.
 *
 * The webview asks for what it shows: `call` runs an engine method on the view's model (the host adds `modelId` and
 * the settings' defaults) or a host method (dialogs, files); answers come back as `result`/`error`, long calls
 * stream `progress`, and `cancel` stops one. The host never pushes model data the webview did not ask for.
 */
import type { EngineMethods, ProgressValue } from './protocol.js';
import type { CriterionName, ErrorCode, OptionName, PlanTarget, Recipe, RecoveryMethod, SaveResult, Sparsity, SparsityMethod, SparsityReport, StrategyName } from './types.js';

/** What the user's settings resolve to (paths absolute); the panel shows them beside the results they produced. */
export interface ResolvedSettings {
  data?: string;
  labels?: string;
  preprocess?: string;
  samples: number;
  criterion: CriterionName;
  ratios: number[];
  /** 0: ONNX Runtime's default. */
  threads: number;
  target: Extract<PlanTarget, { keep: number }>;
  strategy: StrategyName;
  maxRatio: number;
  roundTo: number;
  /** Measure the original's and the variant's latency when pruning. */
  latency: boolean;
  /** Exactly this many timed runs (0: as many as fill a second, at least 20). */
  latencyRuns: number;
  /** Recovery without training after pruning (none: the variant as cut). */
  recover: RecoveryMethod[];
}

export type PanelTab = 'sensitivity' | 'ratios' | 'graph' | 'summary' | 'criteria';
/** What the command that opened the panel asked for. */
export type PanelAction = 'prune' | 'scan';

export interface ModelRef {
  /** The file's URI (as a string) and its local path (the engine runs beside the workspace). */
  uri: string;
  path: string;
  name: string;
}

export interface InitMessage {
  type: 'init';
  mode: 'overview' | 'panel';
  model: ModelRef;
  settings: ResolvedSettings;
  /** Set when a command opened (or revealed) the panel. */
  action?: PanelAction;
  tab?: PanelTab;
}

/** Engine methods a webview may call: the host fills in `modelId` (and `path` for open). */
export type WebviewEngineMethod = Exclude<keyof EngineMethods, 'close'>;
export type EngineCallParams<M extends WebviewEngineMethod> = Omit<EngineMethods[M]['params'], 'modelId' | 'workDoneToken' | 'path'>;

export interface SavedVariant extends SaveResult {
  name: string;
}

/** A sparsified copy written where the user chose: the engine's report and the file's name. */
export interface SparsifiedModel extends SparsityReport {
  name: string;
}

/** Methods the host answers itself: everything that needs VS Code (dialogs, editors, files in the workspace). */
export interface HostMethods {
  /** Save dialog in the model's folder, confirmation before replacing a file, then the engine's `save`. */
  'host.saveVariant': { params: { variantId: string; defaultName: string }; result: SavedVariant | null };
  /** Save dialog in the model's folder, confirmation before replacing a file, then the engine's `sparsify` with the
   * calibration settings (it writes the file itself). Streams progress and can be cancelled like engine calls. */
  'host.sparsify': { params: { sparsity: Sparsity; method: SparsityMethod; defaultName: string }; result: SparsifiedModel | null };
  /** Writes a recipe where the user chooses (workspace.fs). */
  'host.saveRecipe': { params: { recipe: Recipe; defaultName: string }; result: string | null };
  /** Opens a recipe file the user picks (workspace.fs) and returns it parsed. */
  'host.loadRecipe': { params: Record<string, never>; result: Recipe | null };
  /** A modal question; true when the user chose `action`. */
  'host.confirm': { params: { message: string; detail?: string; action: string }; result: boolean };
  /** Opens a file (a report: as a Markdown preview). */
  'host.open': { params: { path: string }; result: null };
  /** Runs a PruneLens command on this view's model (the overview's buttons). */
  'host.command': { params: { command: 'prune' | 'scan' | 'inspect' }; result: null };
}

export type CallMethod = WebviewEngineMethod | keyof HostMethods;
export type CallParams<M extends CallMethod> = M extends WebviewEngineMethod ? EngineCallParams<M> : M extends keyof HostMethods ? HostMethods[M]['params'] : never;
export type CallResult<M extends CallMethod> = M extends WebviewEngineMethod ? EngineMethods[M]['result'] : M extends keyof HostMethods ? HostMethods[M]['result'] : never;

/** A failed call, as the webview shows it: one sentence, never a stack trace. */
export interface CallError {
  message: string;
  code?: ErrorCode | 'engine-stopped';
  option?: OptionName;
  /** The setting the option corresponds to, when there is one. */
  setting?: string;
  cancelled?: boolean;
}

/** One row of the Layer Sensitivity view, as the panel sees it (the tree only renders these). */
export interface SidebarGroup {
  id: number;
  label: string;
  channels: number;
  prunable: boolean;
  reason?: string;
  sensitivity?: number;
  /** Planned fraction of channels removed. */
  planned?: number;
  risk: 'none' | 'low' | 'medium' | 'high' | 'collapse' | 'unprunable';
  /** Why the risk is what it is (a warning's message). */
  note?: string;
  layers: string[];
}

export type ToHost =
  | { type: 'ready' }
  | { type: 'call'; id: number; method: CallMethod; params: unknown; progress?: boolean }
  | { type: 'cancel'; id: number }
  /** The user selected a group (or none): the sidebar follows. */
  | { type: 'selected'; group: number | null }
  /** The groups as the sidebar should list them (sorted), after a scan, plan or edit. */
  | { type: 'sidebar'; groups: SidebarGroup[]; scanned: boolean }
  /** Something the webview saw go wrong that the host should log (e.g. a worker failure). */
  | { type: 'log'; message: string };

export type ToWebview =
  | InitMessage
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: CallError }
  | { type: 'progress'; id: number; value: ProgressValue }
  /** Select a group (from the sidebar). */
  | { type: 'select'; group: number }
  /** The settings changed. */
  | { type: 'settings'; settings: ResolvedSettings }
  /** The engine process was restarted: held variants are gone, data can be asked for again. */
  | { type: 'engine-restarted'; reason: string }
  /** A command asked an open panel to do something (Analyze Sensitivity on a model whose panel is open). */
  | { type: 'action'; action: PanelAction };
