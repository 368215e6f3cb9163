/**
 * A real VS Code for the end-to-end test: code-server from the npm registry (installed once, outside the clone, by
 * .ci/install-code-server.sh), with the packaged .vsix installed into a fresh, throw-away profile, serving a
 * workspace on loopback only. Driven by Playwright with Debian's Chromium (see ../shared/e2e/ for the recipe).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_DIR = process.env.PRUNELENS_CODE_SERVER ?? path.join(os.homedir(), '.cache/prunelens-e2e');
export const ENTRY = path.join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/entry.js');
export const hasCodeServer = () => fs.existsSync(ENTRY);

export interface Profile {
  extensions: string;
  userData: string;
  config: string;
}

export function freshProfile(dir: string, userSettings: Record<string, unknown>): Profile {
  const p = { extensions: path.join(dir, 'extensions'), userData: path.join(dir, 'user-data'), config: path.join(dir, 'config.yaml') };
  fs.mkdirSync(path.join(p.userData, 'User'), { recursive: true });
  fs.mkdirSync(p.extensions, { recursive: true });
  fs.writeFileSync(p.config, 'auth: none\n');
  writeUserSettings(p, userSettings);
  return p;
}

export function writeUserSettings(p: Profile, settings: Record<string, unknown>): void {
  fs.writeFileSync(path.join(p.userData, 'User/settings.json'), JSON.stringify(settings, null, 2));
}

const common = (p: Profile) => ['--config', p.config, '--extensions-dir', p.extensions, '--user-data-dir', p.userData];

export function installVsix(p: Profile, vsix: string): string {
  const r = spawnSync(process.execPath, [ENTRY, ...common(p), '--install-extension', vsix], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`installing ${vsix} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Server {
  url: string;
  child: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export async function startServer(p: Profile, workspace: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [
    ENTRY, ...common(p), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', workspace,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PASSWORD: undefined } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!/HTTP server listening/.test(out)) {
    if (child.exitCode !== null) throw new Error(`code-server exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`code-server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`,
    child,
    log: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
