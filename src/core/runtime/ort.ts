import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PruneLensError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { decodeOnnx } from '../formats/onnx/load.js';
import { encodeOnnx } from '../formats/onnx/save.js';
import { readRegular } from '../util/files.js';

export { ort };

// ONNX Runtime's native log goes straight to stderr: failures reach the user as our one-line errors instead.
ort.env.logLevel = 'fatal';

export interface SessionOptions {
  /** Intra-op threads; 0 lets ONNX Runtime decide. */
  threads?: number;
  /** Graph optimisations: 'all' for timing real latency, 'basic' for probing intermediate values. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  externalDataDir?: string;
  /** How messages name the model when it is given as bytes. */
  label?: string;
}

export type Feeds = Record<string, ort.Tensor>;

let activityListener: ((what: string) => void) | undefined;
let lastActivity = '';

/**
 * Tells `fn` what ONNX Runtime is about to do, whenever that changes ("running m.onnx with inputs x=1x3x224x224"):
 * its calls block the JavaScript thread, so a supervising process can name what was running if it has to stop it.
 */
export function onRuntimeActivity(fn: (what: string) => void): void {
  activityListener = fn;
}

function activity(what: string): void {
  if (!activityListener || what === lastActivity) return;
  lastActivity = what;
  activityListener(what);
}

const describeFeeds = (feeds: Feeds) => Object.entries(feeds).map(([k, t]) => `${k}=${t.dims.length ? t.dims.join('x') : 'scalar'}`).join(', ');

/**
 * An ONNX Runtime session whose failures are PruneLensErrors: one line naming the node, the inputs it was fed (shapes,
 * and values of scalar or integer inputs) and the option that changes them.
 */
export class Session {
  constructor(private readonly inner: ort.InferenceSession, private readonly label: string) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Feeds, fetches?: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
    activity(`ONNX Runtime was running ${this.label} with inputs ${describeFeeds(feeds)}`);
    try {
      return await (fetches ? this.inner.run(feeds, fetches) : this.inner.run(feeds));
    } catch (e) {
      throw runFailure(e, this.label, feeds);
    }
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}

/**
 * Creates a session from an IR model (serialised in memory), bytes or a file path. External data resolves against
 * the model's own folder.
 */
export async function createSession(source: Model | Uint8Array | string, opts: SessionOptions = {}): Promise<Session> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.optimization ?? 'all',
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 4,
  };
  let dir = opts.externalDataDir;
  let input: Uint8Array;
  let label: string;
  if (typeof source === 'string') {
    // through our loader, never straight to ONNX Runtime: its external data is checked (inside the model's folder, a
    // regular file, sizes that match) before ONNX Runtime reads a byte of it
    const model = decodeOnnx(readRegular(source, { what: 'model file', code: 'bad-model' }), source);
    input = encodeOnnx(model);
    label = path.basename(source);
    dir ??= path.dirname(path.resolve(source));
  } else if (source instanceof Uint8Array) {
    input = source;
    label = opts.label ?? 'the model';
  } else {
    input = encodeOnnx(source);
    label = source.path ? path.basename(source.path) : 'the model';
    if (!dir && source.path) dir = path.dirname(source.path);
  }
  if (dir) options.extra = { session: { model_external_initializers_file_folder_path: dir } };
  activity(`ONNX Runtime was loading ${label}`);
  try {
    const s = await ort.InferenceSession.create(input, options);
    return new Session(s, label);
  } catch (e) {
    throw new PruneLensError(`ONNX Runtime cannot load ${label}: ${firstLine(e)}`, { code: 'runtime-failed', cause: e });
  }
}

/**
 * ONNX Runtime's message as one short line: its first line, without the wrappers ("Load model from … failed:",
 * "[ONNXRuntimeError] : 1 : FAIL :"), the C++ source locations and function signatures, and cut after the sentence
 * that says what is wrong.
 */
export function firstLine(e: unknown): string {
  let msg = String((e as Error)?.message ?? e).split('\n')[0].trim();
  for (let before = ''; before !== msg; ) {
    before = msg;
    msg = msg
      .replace(/^Load model from .*? failed:\s*/, '')
      .replace(/^Exception during initialization:\s*/, '')
      .replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '')
      .trim();
    msg = stripSourceLocation(msg);
  }
  return shorten(msg);
}

/** `path/file.cc:123 ns::Function(const T&, …) message` → `message`. */
function stripSourceLocation(msg: string): string {
  const m = /^[\w/.~-]+\.(?:cc|cpp|h|hpp):\d+\s+/.exec(msg);
  if (!m) return msg;
  let rest = msg.slice(m[0].length);
  // the function: a name up to its parameter list, whose parentheses are balanced
  const open = rest.indexOf('(');
  if (open >= 0 && /^[\w:<>~*&, ]*$/.test(rest.slice(0, open))) {
    let depth = 0;
    for (let i = open; i < rest.length; i++) {
      if (rest[i] === '(') depth++;
      else if (rest[i] === ')' && --depth === 0) {
        rest = rest.slice(i + 1).replace(/^\s*(const\s*)?/, '');
        break;
      }
    }
  } else {
    rest = rest.replace(/^[\w:<>~]+\s+/, '');
  }
  return rest.trim();
}

/** Whole sentences up to about 200 characters. */
function shorten(msg: string): string {
  if (msg.length <= 240) return msg;
  const sentences = msg.match(/[^.!?]+[.!?]+(\s|$)/g) ?? [msg];
  let out = '';
  for (const s of sentences) {
    if (out && out.length + s.length > 200) break;
    out += s;
  }
  return out.trim() || `${msg.slice(0, 200)}…`;
}

/** What the failing node and the feeds were, as one line. */
function runFailure(e: unknown, label: string, feeds: Feeds): PruneLensError {
  const raw = String((e as Error)?.message ?? e);
  // a node inside an If branch fails inside the If: name the innermost one
  const nodes = [...raw.matchAll(/running (\w+) node\. Name:'([^']*)'/g)];
  const node = nodes[nodes.length - 1];
  const statuses = [...raw.matchAll(/Status Message:\s*([^\n]*)/g)];
  let status = statuses.length ? statuses[statuses.length - 1][1] : firstLine(e);
  status = status.replace(/^Non-zero status code returned while running.*?Status Message:\s*/, '');
  status = firstLine(status);
  const fed = Object.entries(feeds).map(([k, t]) => {
    const dims = t.dims.length ? t.dims.join('x') : 'scalar';
    const scalar = t.size === 1 && t.type !== 'float32' && t.type !== 'float16' ? ` = ${String((t.data as ArrayLike<unknown>)[0])}` : '';
    return `${k}=${dims}${scalar}`;
  });
  const integerInputs = Object.values(feeds).some((t) => t.size === 1 && t.type !== 'float32' && t.type !== 'float16');
  const aboutShapes = /shape|dim|size|broadcast/i.test(status);
  return new PruneLensError(
    `ONNX Runtime failed running ${node ? `${node[1]} '${node[2]}'` : label} with inputs ${fed.join(', ')}: ${status.trim()}`,
    { code: 'runtime-failed', option: integerInputs && !aboutShapes ? 'inputValues' : 'inputShapes', cause: e },
  );
}
