import * as fs from 'node:fs';

declare const PRUNELENS_VERSION: string | undefined;

/** The package version: set by the bundler in dist/, read from package.json when run from out/. */
export function version(): string {
  if (typeof PRUNELENS_VERSION === 'string') return PRUNELENS_VERSION;
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
