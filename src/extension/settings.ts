/**
 * The `prunelens.*` settings, resolved for one model: relative data paths are taken from the model's workspace
 * folder (else the model's folder). The host only reads and resolves them; the engine validates the values and
 * names the setting in its error (see settingFor).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CriterionName, OptionName, RecoveryMethod, StrategyName } from '../shared/types.js';
import type { ResolvedSettings } from '../shared/webview.js';

export const SECTION = 'prunelens';

export function resolveSettings(model: vscode.Uri): ResolvedSettings {
  const c = vscode.workspace.getConfiguration(SECTION, model);
  const base = vscode.workspace.getWorkspaceFolder(model)?.uri.fsPath ?? path.dirname(model.fsPath);
  const file = (key: string): string | undefined => {
    const v = c.get<string>(key)?.trim();
    return v ? path.resolve(base, v) : undefined;
  };
  const preprocess = c.get<string>('calibration.preprocess')?.trim();
  return {
    data: file('calibration.data'),
    labels: file('calibration.labels'),
    ...(preprocess ? { preprocess } : {}),
    samples: c.get<number>('calibration.samples', 64),
    criterion: c.get<CriterionName>('criterion', 'l1'),
    ratios: c.get<number[]>('scan.ratios', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
    threads: c.get<number>('threads', 0),
    target: { kind: c.get<'macs' | 'params' | 'latency'>('plan.target', 'macs'), keep: c.get<number>('plan.keep', 0.5) },
    strategy: c.get<StrategyName>('plan.strategy', 'sensitivity'),
    maxRatio: c.get<number>('plan.maxRatio', 0.8),
    roundTo: c.get<number>('plan.roundTo', 1),
    latency: c.get<boolean>('prune.latency', true),
    latencyRuns: c.get<number>('prune.latencyRuns', 0),
    recover: c.get<RecoveryMethod[]>('prune.recover', []),
  };
}

/** The calibration data of the settings, as engine parameters (absent when unset: the engine then says so). */
export function calibrationOf(s: ResolvedSettings): { data?: string; labels?: string; preprocess?: string } {
  return { ...(s.data ? { data: s.data } : {}), ...(s.labels ? { labels: s.labels } : {}), ...(s.preprocess ? { preprocess: s.preprocess } : {}) };
}

/** The setting behind an engine option, so an error can say what to change. */
export function settingFor(option: OptionName | undefined): string | undefined {
  const map: Partial<Record<OptionName, string>> = {
    data: 'calibration.data', labels: 'calibration.labels', preprocess: 'calibration.preprocess', samples: 'calibration.samples',
    criterion: 'criterion', ratios: 'scan.ratios', threads: 'threads', target: 'plan.target', strategy: 'plan.strategy',
    maxRatio: 'plan.maxRatio', roundTo: 'plan.roundTo', latencyRuns: 'prune.latencyRuns', recover: 'prune.recover',
  };
  const key = option && map[option];
  return key ? `${SECTION}.${key}` : undefined;
}
