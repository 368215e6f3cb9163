// Bundles with esbuild: the CLI and engine process (dist/cli.js), the extension host glue (dist/extension.cjs) and
// the webview UI (dist/webview.js + dist/webview.css). onnxruntime-node and sharp stay external in the CLI: they load
// native binaries from their own package folders. TF.js and h5wasm are bundled (h5wasm carries its wasm inline; TF.js's
// .wasm files are copied beside the bundle). Run as a script, or import `build` (the webview tests do).
import * as esbuild from 'esbuild';
import { chmodSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** The engine: the `prunelens` command and `prunelens serve`. */
export async function buildCli(outdir = path.join(root, 'dist')) {
  await esbuild.build({
    entryPoints: [path.join(root, 'src/cli/index.ts')],
    outfile: path.join(outdir, 'cli.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    // tfjs-node is optional (loaded only when installed); TF.js and h5wasm are bundled, TF.js's .wasm files copied
    external: ['onnxruntime-node', '@tensorflow/tfjs-node'],
    // CommonJS dependencies inside an ES module bundle need `require`.
    // (and __dirname, which TF.js's wasm backend locates its binaries by)
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; " +
        'const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);',
    },
    logLevel: 'warning',
    define: { PRUNELENS_VERSION: JSON.stringify(version) },
  });
  chmodSync(path.join(outdir, 'cli.js'), 0o755);
  // TF.js's wasm backend loads its binaries from beside the bundle (src/core/runtime/tfjs.ts points it there)
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDir, f), path.join(outdir, f));
}

/** The extension host glue: CommonJS, because VS Code loads extensions with require(). */
export async function buildExtension(outdir = path.join(root, 'dist')) {
  await esbuild.build({
    entryPoints: [path.join(root, 'src/extension/extension.ts')],
    outfile: path.join(outdir, 'extension.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['vscode'],
    logLevel: 'warning',
  });
}

/**
 * The webview: one script and one stylesheet. ELK's worker script is embedded as text and started from a blob URL,
 * because a webview cannot load a worker by URL (and the CSP allows only `worker-src blob:`).
 */
export async function buildWebview(outdir = path.join(root, 'dist'), { minify = true } = {}) {
  await esbuild.build({
    entryPoints: { webview: path.join(root, 'webview/main.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    target: 'chrome114',
    format: 'iife',
    minify,
    sourcemap: !minify,
    plugins: [elkWorkerAsText],
    logLevel: 'warning',
  });
}

/** `import workerSource from 'elk-worker-source'` gives ELK's worker script as a string. */
const elkWorkerAsText = {
  name: 'elk-worker-text',
  setup(b) {
    b.onResolve({ filter: /^elk-worker-source$/ }, () => ({ path: path.join(root, 'node_modules/elkjs/lib/elk-worker.min.js'), namespace: 'elk-text' }));
    b.onLoad({ filter: /.*/, namespace: 'elk-text' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
  },
};

export async function build() {
  await Promise.all([buildCli(), buildExtension(), buildWebview()]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await build();
