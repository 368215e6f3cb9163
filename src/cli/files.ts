/** Result files the CLI writes (scan JSON/CSV, recipes): checked before any work, then written together and atomically. */
import { checkOutputs, writeTextFiles } from '../core/api.js';

export interface ResultFiles {
  /** Where each result goes (unset ones are skipped). */
  outputs: (string | undefined)[];
  overwrite?: boolean;
  /** The command's input files, which are never overwritten. */
  inputs: (string | undefined)[];
}

/** Fails at once when an output cannot be written, exists (without --force) or is an input. */
export function checkResultFiles(f: ResultFiles): string[] {
  const outputs = f.outputs.filter((o): o is string => !!o);
  checkOutputs(outputs, { overwrite: f.overwrite, protect: f.inputs });
  return outputs;
}

/** Writes the results: all of them, or none. */
export function writeResultFiles(files: { path?: string; text: () => string }[], f: ResultFiles): void {
  writeTextFiles(files.filter((x) => x.path).map((x) => ({ path: x.path!, text: x.text() })), { overwrite: f.overwrite, protect: f.inputs });
}
