/**
 * TF.js execution (the only module that imports TF.js). `@tensorflow/tfjs-node` is used when it is installed (its
 * install downloads libtensorflow, so it is optional); otherwise the wasm backend, which on a CPU is about 25×
 * faster than TF.js's pure-JavaScript one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PruneLensError } from '../errors.js';
import type { TfjsArtifacts } from '../formats/foreign.js';
import type { HostData, HostTensor, Runner, TfjsOptions } from './backend.js';

type Tf = typeof import('@tensorflow/tfjs');
let loading: Promise<{ tf: Tf; backend: string }> | undefined;

/** TF.js with its backend chosen once per process. */
export function tfjs(threads = 0): Promise<{ tf: Tf; backend: string }> {
  loading ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    // TF.js prints a banner about tfjs-node on first use; the engine's stdout belongs to its protocol
    tf.env().set('IS_TEST', true);
    try {
      const node = '@tensorflow/tfjs-node';
      await import(node);
      if (await tf.setBackend('tensorflow')) return { tf, backend: 'tfjs-node' };
    } catch {
      // not installed: wasm
    }
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // bundled (dist/cli.js), the backend's .wasm files sit beside the bundle rather than in its package
    const here = path.dirname(fileURLToPath(import.meta.url));
    if (fs.existsSync(path.join(here, 'tfjs-backend-wasm.wasm'))) wasm.setWasmPaths(`${here}${path.sep}`);
    if (threads > 0) wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new PruneLensError('TF.js could not start its wasm backend', { code: 'runtime-failed' });
    await tf.ready();
    return { tf, backend: `tfjs wasm, ${wasm.getThreadsCount()} thread${wasm.getThreadsCount() === 1 ? '' : 's'}` };
  })();
  return loading;
}

export async function loadTfjsRunner(a: TfjsArtifacts, opts: TfjsOptions): Promise<Runner> {
  const { tf, backend } = await tfjs(opts.threads);
  const handler = tf.io.fromMemory({
    modelTopology: a.modelTopology as object, weightSpecs: a.weightSpecs as never, weightData: a.weightData,
    ...(a.format ? { format: a.format } : {}), ...(a.signature ? { signature: a.signature as object } : {}),
    ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata as object } : {}),
    ...(a.modelInitializer ? { modelInitializer: a.modelInitializer as object } : {}),
  });
  const toTensor = (t: HostTensor) => tf.tensor(t.data as Float32Array, t.dims, t.data instanceof Int32Array ? 'int32' : 'float32');
  const fromTensor = async (t: import('@tensorflow/tfjs').Tensor): Promise<HostTensor> => ({ dims: [...t.shape], data: (await t.data()) as HostData });
  try {
    if (a.kind === 'layers') {
      const m = await tf.loadLayersModel(handler, { strict: true });
      return {
        backend, inputNames: opts.inputNames, outputNames: opts.outputNames,
        run: guard(async (feeds) => {
          const xs = opts.inputNames.map((n) => toTensor(feeds[n]));
          const ys = m.predict(xs.length === 1 ? xs[0] : xs) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
          const list = Array.isArray(ys) ? ys : [ys];
          try {
            const out = await Promise.all(list.map(fromTensor));
            return Object.fromEntries(opts.outputNames.map((n, i) => [n, out[i]]));
          } finally {
            tf.dispose([...xs, ...list]);
          }
        }),
        async release() {
          m.dispose();
        },
      };
    }
    const m = await tf.loadGraphModel(handler);
    let sync = true;
    return {
      backend, inputNames: opts.inputNames, outputNames: opts.outputNames,
      run: guard(async (feeds) => {
        // graph models name their tensors by node, as the IR does
        const named = Object.fromEntries(opts.inputNames.map((n) => [n, toTensor(feeds[n])]));
        // execute() when the graph has no control flow (executeAsync() then only warns); executeAsync() otherwise
        let ys: import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
        if (sync) {
          try {
            ys = m.execute(named, [...opts.outputNames]);
          } catch {
            sync = false;
          }
        }
        if (!sync) ys = (await m.executeAsync(named, [...opts.outputNames])) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
        const list = Array.isArray(ys!) ? ys! : [ys!];
        try {
          const out = await Promise.all(list.map(fromTensor));
          return Object.fromEntries(opts.outputNames.map((n, i) => [n, out[i]]));
        } finally {
          tf.dispose([...Object.values(named), ...list]);
        }
      }),
      async release() {
        m.dispose();
      },
    };
  } catch (e) {
    throw failure(e, 'load');
  }
}

function failure(e: unknown, what: string): PruneLensError {
  if (e instanceof PruneLensError) return e;
  return new PruneLensError(`TF.js cannot ${what} the model: ${String((e as Error)?.message ?? e).split('\n')[0]}`, { code: 'runtime-failed', cause: e });
}

/** TF.js failures during a run as one-line errors. */
function guard<A, R>(f: (a: A) => Promise<R>): (a: A) => Promise<R> {
  return async (a) => {
    try {
      return await f(a);
    } catch (e) {
      throw failure(e, 'run');
    }
  };
}
