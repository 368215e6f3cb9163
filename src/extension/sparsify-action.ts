/**
 * "Sparsify…" from the pruning panel: the user picks where the copy with zeroed weights goes (in the model's format,
 * never replacing a file without asking), then the engine's `sparsify` writes it, fitting Wanda or OBS on the
 * calibration data of the settings. Nothing is opened afterwards: the engine writes no report for a sparsified
 * copy, and the panel shows its result.
 */
import type * as vscode from 'vscode';
import type { HostMethods, ModelRef, ResolvedSettings, SparsifiedModel } from '../shared/webview.js';
import type { RequestOptions } from './engine-client.js';
import type { ModelStore } from './models.js';
import { basename, chooseTarget } from './save-target.js';
import { calibrationOf } from './settings.js';

export interface SparsifyCaller {
  readonly uri: vscode.Uri;
  readonly model: ModelRef;
  settings(): ResolvedSettings;
}

export async function sparsifyTo(
  models: Pick<ModelStore, 'call'>, p: HostMethods['host.sparsify']['params'], caller: SparsifyCaller, opts: RequestOptions = {},
): Promise<SparsifiedModel | null> {
  const chosen = await chooseTarget(caller.uri, {
    title: 'Save sparsified model',
    saveLabel: 'Sparsify',
    defaultName: p.defaultName,
    notTheModel: 'A sparsified copy cannot replace the model it was made from: choose another name.',
    replace: (name) => `${name} already exists. Replace it?`,
  });
  if (!chosen) return null;
  const s = caller.settings();
  // the settings' samples bound what Wanda and OBS fit on and what the result is judged on, as for scans
  const report = await models.call(caller.model.path, 'sparsify', {
    path: chosen.target.fsPath, sparsity: p.sparsity, method: p.method, ...calibrationOf(s), samples: s.samples, overwrite: chosen.overwrite,
  }, opts);
  return { ...report, name: basename(chosen.target) };
}
