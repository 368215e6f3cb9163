// Bundles the CLI (and later the extension and webview) with esbuild. onnxruntime-node stays external: it
// loads a native binary from its own package folder.
import * as esbuild from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

await esbuild.build({
  entryPoints: ['src/cli/index.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: ['onnxruntime-node'],
  // CommonJS dependencies inside an ES module bundle need `require`.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  define: { PRUNELENS_VERSION: JSON.stringify(version) },
});
chmodSync('dist/cli.js', 0o755);
