/**
 * Import this first (statically), then import the extension's modules dynamically: from then on `import 'vscode'`
 * resolves to test/helpers/vscode-stub.ts.
 */
import { register } from 'node:module';

register('./vscode-loader.js', import.meta.url);
