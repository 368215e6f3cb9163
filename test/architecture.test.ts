/** The house rules, checked on the sources: one front door, data flowing one way, no import circles. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers/env.js';

const SRC = path.join(ROOT, 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

/** Relative imports of a file, resolved to source paths. */
function imports(file: string): { spec: string; target?: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)].map((m) => {
    const spec = m[2];
    const target = spec.startsWith('.') ? path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')) : undefined;
    return { spec, target, typeOnly: !!m[1] };
  });
}

describe('architecture', () => {
  const all = sources(SRC);
  const core = all.filter((f) => f.startsWith(path.join(SRC, 'core')));
  const api = path.join(SRC, 'core/api.ts');

  it('the engine never imports vscode, and nothing inside it imports the front door', () => {
    for (const f of core) {
      for (const i of imports(f)) {
        assert.notEqual(i.spec, 'vscode', `${path.relative(ROOT, f)} imports vscode`);
        if (f !== api) assert.notEqual(i.target, api, `${path.relative(ROOT, f)} imports api.ts`);
      }
    }
  });

  it('the CLI reaches the engine through api.ts only', () => {
    for (const f of all.filter((x) => x.startsWith(path.join(SRC, 'cli')))) {
      for (const i of imports(f)) {
        if (i.target?.startsWith(path.join(SRC, 'core'))) assert.equal(i.target, api, `${path.relative(ROOT, f)} imports ${i.spec}`);
      }
    }
  });

  it('runtime/ reads no data sets, and criteria/ and data/ take randomness from util/', () => {
    const under = (d: string) => core.filter((f) => f.startsWith(path.join(SRC, 'core', d)));
    for (const f of under('runtime')) for (const i of imports(f)) assert.ok(!i.target?.includes('/core/data/'), `${path.relative(ROOT, f)} imports ${i.spec}`);
    for (const f of [...under('criteria'), ...under('data')]) {
      const text = fs.readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /import \{[^}]*\b(rng|gaussian)\b[^}]*\} from '[^']*runtime\//, `${path.relative(ROOT, f)} takes its RNG from runtime/`);
    }
  });

  it('the shared result types are types only (the webview imports them)', () => {
    const text = fs.readFileSync(path.join(SRC, 'shared/types.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
      assert.doesNotMatch(line, /^(export\s+)?(const|let|var|function|class|enum)\b/, `runtime code in types.ts: ${line}`);
    }
  });

  it('no import circles among the sources', () => {
    const graph = new Map(all.map((f) => [f, imports(f).map((i) => i.target).filter((t): t is string => !!t && all.includes(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      assert.notEqual(state.get(f), 'open', `circle: ${[...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(SRC, x)).join(' → ')}`);
      state.set(f, 'open');
      for (const t of graph.get(f)!) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
  });

  it('one way to copy a model', () => {
    for (const f of core) {
      const text = fs.readFileSync(f, 'utf8');
      if (!f.endsWith('formats/index.ts')) assert.doesNotMatch(text, /decodeOnnx\(encodeOnnx\(/, `${path.relative(ROOT, f)} copies a model by hand: use cloneModel`);
    }
  });
});
