import cliProgress from 'cli-progress';
import type { ProgressFn } from '../core/api.js';
import type { ProgressEvent } from '../shared/types.js';

/** How long a job runs before progress shows: 1 s, or PRUNELENS_PROGRESS_AFTER_MS (scripts and tests: 0 = at once). */
function progressAfterMs(): number {
  const v = Number(process.env.PRUNELENS_PROGRESS_AFTER_MS);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
}

/** Between two progress lines when stderr is not a terminal (a log, CI). */
const LINE_EVERY_MS = 5000;

/**
 * A stderr progress reporter that stays silent for quick jobs: once the work has taken more than `delayMs`, a bar on
 * a terminal, or else a line at each new phase and every few seconds, and a closing line with the time taken.
 * Announcements (phase 'announce', e.g. the scan a plan runs) are printed at once.
 */
export function stderrProgress(delayMs = progressAfterMs()): { onProgress: ProgressFn; stop: (ok: boolean) => void } {
  const start = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  let lastLine = 0;
  let shown = false;
  const tty = process.stderr.isTTY;
  const line = (e: ProgressEvent) => {
    const share = e.total > 0 ? ` ${e.done}/${e.total} (${Math.floor((100 * e.done) / e.total)}%)` : '';
    const eta = e.eta !== undefined && e.done > 0 ? `, about ${Math.ceil(e.eta)} s left` : '';
    process.stderr.write(`prunelens: ${e.message ?? e.phase}${e.message && share ? ';' : ''}${share}${eta}\n`);
  };
  const onProgress = (e: ProgressEvent) => {
    if (e.phase === 'announce') {
      bar?.stop();
      bar = undefined;
      phase = '';
      process.stderr.write(`prunelens: ${e.message}\n`);
      return;
    }
    const now = Date.now();
    if (now - start < delayMs) return;
    shown = true;
    if (!tty) {
      if (e.phase !== phase || now - lastLine >= LINE_EVERY_MS) {
        line(e);
        lastLine = now;
      }
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
  const stop = (ok: boolean) => {
    bar?.stop();
    if (shown && !tty && ok) process.stderr.write(`prunelens: done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  };
  return { onProgress, stop };
}

/** Runs an engine call with the stderr progress reporter, stopping the bar whatever happens. */
export async function withProgress<T>(run: (onProgress: ProgressFn) => Promise<T>): Promise<T> {
  const progress = stderrProgress();
  let ok = false;
  try {
    const r = await run(progress.onProgress);
    ok = true;
    return r;
  } finally {
    progress.stop(ok);
  }
}
