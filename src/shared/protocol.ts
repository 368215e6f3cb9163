/**
 * The engine process's JSON-RPC 2.0 protocol (`prunelens serve`), as the extension host, tests and any other client
 * see it. Transport: stdio with LSP's Content-Length framing (vscode-jsonrpc). Conventions from the Language Server
 * Protocol: a request that carries `workDoneToken` gets `$/progress` notifications for that token; `$/cancelRequest`
 * cancels a request, which then answers with error code -32800 (RequestCancelled).
 *
 * Every method takes one named-parameter object; `modelId` comes from `open` and names a loaded model (a session
 * that keeps the model, its shapes, dependency groups and cost model, so no request loads or analyses it again).
 */
import type {
  CriteriaComparison, CriterionName, EngineErrorData, Estimate, GroupInfo, InputShapes, InspectResult, ModelGraph, ModelSummary, PlanSettingsInput,
  ProgressEvent, PruneResult, PruneSettingsInput, Recipe, SaveResult, ScanResult, ScanSettingsInput, Sparsity, SparsityMethod, SparsityReport, WithinGroup,
} from './types.js';

export const PROTOCOL_VERSION = 1;

/** LSP's WorkDoneProgressParams: a token the client made, echoed in `$/progress`. */
export interface WithProgress {
  workDoneToken?: string | number;
}

export interface ModelRef {
  modelId: string;
}

export interface OpenParams {
  path: string;
  /** Concrete shapes for dynamic inputs, e.g. {"x": [1, 3, 224, 224]}; others come from the file or defaults. */
  inputShapes?: InputShapes;
  /** Values for scalar or integer inputs (e.g. a branch selector); others are chosen from the model's constants. */
  inputValues?: Record<string, number>;
}
export interface OpenResult extends ModelSummary {
  modelId: string;
  /** The engine's protocol version. */
  protocol: number;
}

export interface InspectParams extends ModelRef {
  /** Include per-layer rows (default true). */
  layers?: boolean;
  /** Include dependency groups (default true). */
  groups?: boolean;
}

export interface GroupsParams extends ModelRef {
  /** Only these groups (the panel asks for what it shows). */
  ids?: number[];
}

export interface EstimateParams extends ModelRef {
  /** Channels kept per group id; a group not named keeps all its channels. */
  keep: Record<string, number>;
  /** How channels are chosen inside the groups (it decides which layers lose them). */
  criterion?: CriterionName;
  withinGroup?: WithinGroup;
}

export interface ScanParams extends ModelRef, WithProgress, ScanSettingsInput {}

export interface PlanParams extends ModelRef, WithProgress, PlanSettingsInput {
  /** A scan of this model (its result, or a scan JSON path); else the session's scan with `scanSettings`. */
  scan?: ScanResult | string;
}

export interface PruneParams extends ModelRef, WithProgress, PruneSettingsInput {}

export interface SparsifyParams extends ModelRef, WithProgress {
  /** Where to write the model with zeroed weights. */
  path: string;
  sparsity: Sparsity;
  /** magnitude (default), or from `data`: wanda, obs. */
  method?: SparsityMethod;
  data?: string;
  labels?: string;
  preprocess?: ScanSettingsInput['preprocess'];
  /** At most this many samples of `data` (3/4 fitted on, 1/4 judged on; default all, up to 512). */
  samples?: number;
  seed?: number;
  overwrite?: boolean;
}

export interface CompareCriteriaParams extends ModelRef, WithProgress {
  /** Two or more criteria. */
  criteria: CriterionName[];
  /** The ratio the removal overlaps are taken at (default 0.5). */
  ratio?: number;
  /** Calibration data for the data criteria (default: synthetic samples, said so in the result). */
  data?: string;
  labels?: string;
  preprocess?: ScanSettingsInput['preprocess'];
  samples?: number;
  seed?: number;
}

export interface SaveParams extends ModelRef {
  variantId: string;
  path: string;
  overwrite?: boolean;
  /** Write `<name>.report.json` and `<name>.report.md` beside it (default true). */
  reports?: boolean;
  /** Write the recipe as `<name>.recipe.json` beside it (default true). */
  recipe?: boolean;
}

/** Method name → parameters and result. */
export interface EngineMethods {
  open: { params: OpenParams; result: OpenResult };
  inspect: { params: InspectParams; result: InspectResult };
  groups: { params: GroupsParams; result: GroupInfo[] };
  graph: { params: ModelRef; result: ModelGraph };
  estimate: { params: EstimateParams; result: Estimate };
  scan: { params: ScanParams; result: ScanResult };
  plan: { params: PlanParams; result: Recipe };
  prune: { params: PruneParams; result: PruneResult };
  save: { params: SaveParams; result: SaveResult };
  sparsify: { params: SparsifyParams; result: SparsityReport };
  compareCriteria: { params: CompareCriteriaParams; result: CriteriaComparison };
  close: { params: ModelRef; result: null };
}

export type EngineMethod = keyof EngineMethods;
export const ENGINE_METHODS: EngineMethod[] = ['open', 'inspect', 'groups', 'graph', 'estimate', 'scan', 'plan', 'prune', 'save', 'sparsify', 'compareCriteria', 'close'];

/** The `value` of a `$/progress` notification: LSP's work-done progress, with the engine's own fields added. */
export type ProgressValue =
  | { kind: 'begin'; title: string; cancellable: true; message?: string; percentage?: number }
  | ({ kind: 'report'; message?: string; percentage?: number } & ProgressEvent)
  | { kind: 'end'; message?: string };

export interface ProgressParams {
  token: string | number;
  value: ProgressValue;
}

/** JSON-RPC error codes the engine answers with. */
export const ErrorCodes = {
  /** A parameter is missing or of the wrong type, or names an unknown model (`data.code` says which). */
  InvalidParams: -32602,
  MethodNotFound: -32601,
  /** LSP's RequestCancelled: the request was cancelled with `$/cancelRequest`. */
  RequestCancelled: -32800,
  /** LSP's RequestFailed: the request was valid but the engine refused it or failed; `data` is EngineErrorData. */
  RequestFailed: -32803,
  InternalError: -32603,
} as const;

/** The `data` of every error response. */
export type ErrorResponseData = EngineErrorData;
