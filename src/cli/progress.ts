import cliProgress from 'cli-progress';
import type { ProgressFn } from '../core/api.js';
import type { ProgressEvent } from '../shared/types.js';

/**
 * A stderr progress reporter that stays silent for quick jobs: it shows a bar (or, off a terminal, one line per
 * phase) only once the work has taken more than `delayMs`.
 */
export function stderrProgress(delayMs = 1000): { onProgress: ProgressFn; stop: () => void } {
  const start = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  const tty = process.stderr.isTTY;
  const onProgress = (e: ProgressEvent) => {
    if (Date.now() - start < delayMs) return;
    if (!tty) {
      if (e.phase !== phase) process.stderr.write(`prunelens: ${e.message ?? e.phase}…\n`);
      phase = e.phase;
      return;
    }
    if (e.phase !== phase) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${e.phase.padEnd(10)} [{bar}] {percentage}% | {value}/{total} {eta_formatted}`, stream: process.stderr, clearOnComplete: true, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(e.total, 1), e.done);
      phase = e.phase;
    } else {
      bar?.setTotal(Math.max(e.total, 1));
      bar?.update(e.done);
    }
  };
  return { onProgress, stop: () => bar?.stop() };
}

/** Runs an engine call with the stderr progress reporter, stopping the bar whatever happens. */
export async function withProgress<T>(run: (onProgress: ProgressFn) => Promise<T>): Promise<T> {
  const progress = stderrProgress();
  try {
    return await run(progress.onProgress);
  } finally {
    progress.stop();
  }
}
