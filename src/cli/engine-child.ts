/**
 * The engine side of the supervisor (supervise.ts): tells it which temporary files are open and what ONNX Runtime is
 * doing, and turns its "cancel" (sent on Ctrl-C, or when it goes away) into the command's AbortSignal.
 */
import { onRuntimeActivity, onTempFile } from '../core/api.js';
import { ENGINE_ENV, type ChildMessage, type ParentMessage } from './supervise.js';

const supervised = () => process.env[ENGINE_ENV] === '1' && typeof process.send === 'function';

function send(m: ChildMessage): void {
  try {
    if (process.connected) process.send!(m);
  } catch { /* the supervisor is gone */ }
}

/**
 * Connects to the supervisor, if there is one; the IPC channel does not keep the process alive. SIGTERM and SIGHUP
 * (the supervisor's, or a client's stopping `serve`) end the process through process.exit, so the temporary files it
 * has open are removed on the way out.
 */
export function connectToSupervisor(): void {
  process.once('SIGTERM', () => process.exit(143));
  process.once('SIGHUP', () => process.exit(129));
  if (!supervised()) return;
  process.channel?.unref();
  onTempFile((file, done) => send({ kind: 'temp', file, done }));
  onRuntimeActivity((what) => send({ kind: 'activity', what }));
}

/** Calls `fn` when the supervisor asks to stop, or disappears. */
export function onSupervisorCancel(fn: () => void): void {
  if (!supervised()) return;
  process.on('message', (m: ParentMessage) => {
    if (m?.kind === 'cancel') fn();
  });
  process.once('disconnect', fn);
}
