/**
 * One webview's link to the engine and to VS Code: routes each `call` to the engine (with the model's id and the
 * settings' defaults filled in) or to a host method (dialogs, files), streams progress, honours `cancel`, and turns
 * failures into one sentence. It holds no model data and does no maths.
 */
import * as vscode from 'vscode';
import type { EngineMethods, ProgressValue } from '../shared/protocol.js';
import type { CallError, CallMethod, HostMethods, InitMessage, ModelRef, PanelAction, PanelTab, ResolvedSettings, SidebarGroup, ToHost, ToWebview, WebviewEngineMethod } from '../shared/webview.js';
import { EngineError, type RequestOptions } from './engine-client.js';
import { HostActions } from './host-actions.js';
import type { ModelStore } from './models.js';
import { calibrationOf, resolveSettings, settingFor } from './settings.js';

export interface BridgeDeps {
  models: ModelStore;
  actions: HostActions;
  /** Where scans are cached between sessions (the extension's global storage). */
  cacheDir: string;
  /** The panel reported its groups (for the Layer Sensitivity view). */
  onSidebar?: (model: ModelRef, groups: SidebarGroup[], scanned: boolean) => void;
  onSelected?: (model: ModelRef, group: number | null) => void;
  log: (line: string) => void;
}

export function modelRef(uri: vscode.Uri): ModelRef {
  return { uri: uri.toString(), path: uri.fsPath, name: uri.path.split('/').pop() ?? uri.fsPath };
}

export class WebviewBridge implements vscode.Disposable {
  readonly model: ModelRef;
  private readonly inflight = new Map<number, AbortController>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private ready = false;
  private queued: ToWebview[] = [];
  private init?: InitMessage;

  constructor(
    private readonly webview: vscode.Webview,
    readonly uri: vscode.Uri,
    private readonly mode: InitMessage['mode'],
    private readonly deps: BridgeDeps,
  ) {
    this.model = modelRef(uri);
    this.subscriptions.push(
      webview.onDidReceiveMessage((m: ToHost) => this.receive(m)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('prunelens', uri)) this.post({ type: 'settings', settings: this.settings() });
      }),
    );
  }

  /** (Re)starts the view: sent when the webview says it is ready. */
  start(action?: PanelAction, tab?: PanelTab): void {
    this.init = { type: 'init', mode: this.mode, model: this.model, settings: this.settings(), ...(action ? { action } : {}), ...(tab ? { tab } : {}) };
    if (this.ready) this.post(this.init);
  }

  post(msg: ToWebview): void {
    if (!this.ready && msg.type !== 'init') {
      // answers belong to the webview that asked, which is gone; anything else waits for the next one
      if (msg.type !== 'result' && msg.type !== 'error' && msg.type !== 'progress') this.queued.push(msg);
      return;
    }
    void this.webview.postMessage(msg);
  }

  /** The webview was hidden: VS Code discards its content (no retainContextWhenHidden) until it is shown again. */
  hidden(): void {
    this.ready = false;
  }

  dispose(): void {
    for (const c of this.inflight.values()) c.abort();
    this.inflight.clear();
    for (const s of this.subscriptions) s.dispose();
  }

  settings(): ResolvedSettings {
    return resolveSettings(this.uri);
  }

  private receive(m: ToHost): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (this.init) {
          this.post(this.init);
          // a webview that is shown again (it was discarded while hidden) restores its own state: the command
          // that opened it must not run again
          const { action: _a, tab: _t, ...rest } = this.init;
          this.init = rest;
        }
        for (const q of this.queued.splice(0)) this.post(q);
        return;
      case 'call':
        void this.call(m.id, m.method, m.params, m.progress === true);
        return;
      case 'cancel':
        this.inflight.get(m.id)?.abort();
        return;
      case 'sidebar':
        this.deps.onSidebar?.(this.model, m.groups, m.scanned);
        return;
      case 'selected':
        this.deps.onSelected?.(this.model, m.group);
        return;
      case 'log':
        this.deps.log(`[webview] ${m.message}`);
        return;
    }
  }

  private async call(id: number, method: CallMethod, params: unknown, progress: boolean): Promise<void> {
    const controller = new AbortController();
    this.inflight.set(id, controller);
    try {
      const onProgress = progress ? (value: ProgressValue) => this.post({ type: 'progress', id, value }) : undefined;
      // a host method that runs the engine (host.sparsify) streams progress and is cancelled like an engine call
      const result = method.startsWith('host.')
        ? await this.deps.actions.run(method as keyof HostMethods, params as never, this, { signal: controller.signal, onProgress })
        : await this.engine(method as WebviewEngineMethod, params, controller.signal, onProgress);
      this.post({ type: 'result', id, result });
    } catch (e) {
      this.post({ type: 'error', id, error: toCallError(e) });
    } finally {
      this.inflight.delete(id);
    }
  }

  private async engine(method: WebviewEngineMethod, params: unknown, signal: AbortSignal, onProgress?: RequestOptions['onProgress']): Promise<unknown> {
    const file = this.model.path;
    const p = (params ?? {}) as Record<string, unknown>;
    if (method === 'open') return this.deps.models.summary(file, { signal, onProgress });
    const s = this.settings();
    const scanSettings = {
      ...calibrationOf(s), samples: s.samples, ratios: s.ratios, criterion: s.criterion, ...(s.threads > 0 ? { threads: s.threads } : {}), cacheDir: this.deps.cacheDir,
    };
    const defaults: Partial<Record<WebviewEngineMethod, Record<string, unknown>>> = {
      scan: scanSettings,
      plan: { target: s.target, strategy: s.strategy, maxRatio: s.maxRatio, roundTo: s.roundTo, criterion: s.criterion, scanSettings },
      prune: {
        criterion: s.criterion, ...calibrationOf(s),
        ...(!s.latency ? { latencyRuns: 0 } : s.latencyRuns > 0 ? { latencyRuns: s.latencyRuns } : { latency: true }),
        // a recipe made with recovery replays it (on the data it was fitted on) unless the call says otherwise
        ...(s.recover.length && !(p.recipe as { settings?: { recovery?: unknown } } | undefined)?.settings?.recovery ? { recover: s.recover } : {}),
        ...(s.threads > 0 ? { threads: s.threads } : {}),
      },
      estimate: { criterion: s.criterion },
      compareCriteria: { ...calibrationOf(s), samples: s.samples },
    };
    const merged = { ...defaults[method], ...p };
    // the panel's criterion (it overrides the setting) also ranks the channels of the scan a plan runs
    if (method === 'plan' && p.criterion && !p.scanSettings) merged.scanSettings = { ...scanSettings, criterion: p.criterion };
    return this.deps.models.call(file, method as Exclude<WebviewEngineMethod, 'open'>, merged as Omit<EngineMethods[typeof method]['params'], 'modelId'>, { signal, onProgress });
  }
}

export function toCallError(e: unknown): CallError {
  if (e instanceof EngineError) {
    const setting = settingFor(e.error.option);
    return { ...e.error, ...(setting ? { setting } : {}) };
  }
  return { message: e instanceof Error ? e.message : String(e), code: 'internal' };
}
