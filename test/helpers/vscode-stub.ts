/**
 * A stand-in for the `vscode` module, enough for the extension's glue to run under Node's test runner: URIs,
 * events, configuration, workspace.fs on the real disk, dialogs and messages answered from `stub`, commands, tree
 * views and webviews recorded for assertions. test/helpers/use-vscode-stub.ts maps `import 'vscode'` here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the tests control and observe. */
export const stub = {
  config: {} as Record<string, unknown>,
  messages: [] as { kind: 'error' | 'warning' | 'info'; message: string; items: string[] }[],
  /** The answer the next message box gives (an item's title), in order; undefined = dismissed. */
  answers: [] as (string | undefined)[],
  saveDialog: [] as (Uri | undefined)[],
  /** The options of every save dialog shown. */
  saveDialogOptions: [] as { defaultUri?: Uri; filters?: Record<string, string[]> }[],
  openDialog: [] as (Uri[] | undefined)[],
  executed: [] as { command: string; args: unknown[] }[],
  output: [] as string[],
  workspaceFolder: undefined as string | undefined,
  configListeners: new Set<(e: { affectsConfiguration: (s: string) => boolean }) => void>(),
  reset(): void {
    this.config = {};
    this.messages = [];
    this.answers = [];
    this.saveDialog = [];
    this.saveDialogOptions = [];
    this.openDialog = [];
    this.executed = [];
    this.output = [];
  },
};

export class Uri {
  private constructor(readonly scheme: string, readonly path: string) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p).replace(/\\/g, '/'));
  }
  static parse(s: string): Uri {
    const m = /^([a-z-]+):\/\/(.*)$/.exec(s);
    return m ? new Uri(m[1], decodeURIComponent(m[2])) : Uri.file(s);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.posix.normalize(path.posix.join(base.path, ...parts)));
  }
  get fsPath(): string {
    return this.path;
  }
  with(change: { path?: string }): Uri {
    return new Uri(this.scheme, change.path ?? this.path);
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...ds: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<(e: T) => void>();
  event = (fn: (e: T) => void): Disposable => {
    this.listeners.add(fn);
    return new Disposable(() => this.listeners.delete(fn));
  };
  fire(e: T): void {
    for (const fn of [...this.listeners]) fn(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}
export class ThemeIcon {
  constructor(readonly id: string, readonly color?: ThemeColor) {}
}
export class MarkdownString {
  constructor(public value = '') {}
  appendMarkdown(s: string): this {
    this.value += s;
    return this;
  }
}
export enum TreeItemCollapsibleState { None = 0, Collapsed = 1, Expanded = 2 }
export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  command?: { command: string; title: string; arguments?: unknown[] };
  contextValue?: string;
  resourceUri?: Uri;
  constructor(public label: string, public collapsibleState = TreeItemCollapsibleState.None) {}
}
export enum FileType { Unknown = 0, File = 1, Directory = 2, SymbolicLink = 64 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }

class FileSystemError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export const workspace = {
  getConfiguration(section?: string) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const full = section ? `${section}.${key}` : key;
        return (full in stub.config ? stub.config[full] : fallback) as T | undefined;
      },
    };
  },
  getWorkspaceFolder(uri: Uri) {
    const f = stub.workspaceFolder;
    return f && uri.fsPath.startsWith(f) ? { uri: Uri.file(f), name: path.basename(f), index: 0 } : undefined;
  },
  onDidChangeConfiguration(fn: (e: { affectsConfiguration: (s: string) => boolean }) => void): Disposable {
    stub.configListeners.add(fn);
    return new Disposable(() => stub.configListeners.delete(fn));
  },
  fs: {
    async stat(uri: Uri) {
      try {
        const s = fs.statSync(uri.fsPath);
        return { type: s.isDirectory() ? FileType.Directory : FileType.File, size: s.size, mtime: s.mtimeMs, ctime: s.ctimeMs };
      } catch {
        throw new FileSystemError('FileNotFound', `${uri.fsPath} not found`);
      }
    },
    async readFile(uri: Uri): Promise<Uint8Array> {
      return new Uint8Array(fs.readFileSync(uri.fsPath));
    },
    async writeFile(uri: Uri, data: Uint8Array): Promise<void> {
      fs.writeFileSync(uri.fsPath, data);
    },
    async readDirectory(uri: Uri): Promise<[string, FileType][]> {
      return fs.readdirSync(uri.fsPath, { withFileTypes: true }).map((d) => [d.name, d.isDirectory() ? FileType.Directory : FileType.File]);
    },
  },
};

function message(kind: 'error' | 'warning' | 'info') {
  return async (msg: string, ...rest: unknown[]): Promise<string | undefined> => {
    const items = rest.filter((r): r is string => typeof r === 'string');
    stub.messages.push({ kind, message: msg, items });
    return stub.answers.shift();
  };
}

export const window = {
  showErrorMessage: message('error'),
  showWarningMessage: message('warning'),
  showInformationMessage: message('info'),
  async showSaveDialog(options: { defaultUri?: Uri; filters?: Record<string, string[]> } = {}): Promise<Uri | undefined> {
    stub.saveDialogOptions.push(options);
    return stub.saveDialog.shift();
  },
  async showOpenDialog(): Promise<Uri[] | undefined> {
    return stub.openDialog.shift();
  },
  async showTextDocument(uri: Uri): Promise<void> {
    stub.executed.push({ command: 'showTextDocument', args: [uri] });
  },
  createOutputChannel(name: string) {
    return {
      name,
      info: (line: string) => stub.output.push(line),
      appendLine: (line: string) => stub.output.push(line),
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  createTreeView(_id: string, opts: { treeDataProvider: unknown }) {
    return { ...opts, visible: true, description: undefined as string | undefined, message: undefined as string | undefined, reveal: async () => undefined, dispose: () => undefined };
  },
  activeTextEditor: undefined as undefined | { document: { uri: Uri } },
};

const registry = new Map<string, (...args: unknown[]) => unknown>();
export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown): Disposable {
    registry.set(id, fn);
    return new Disposable(() => registry.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    stub.executed.push({ command: id, args });
    return registry.get(id)?.(...args);
  },
};

/** A webview whose two sides the test drives: `posted` is what the host sent, `receive` plays the webview. */
export class FakeWebview {
  readonly posted: unknown[] = [];
  private readonly incoming = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.incoming.event;
  cspSource = 'https://webview.test';
  options: unknown = {};
  html = '';
  private waiters: { match: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  async postMessage(m: unknown): Promise<boolean> {
    this.posted.push(m);
    this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
    return true;
  }
  asWebviewUri(uri: Uri): Uri {
    return Uri.parse(`https://webview.test${uri.path}`);
  }
  receive(m: unknown): void {
    this.incoming.fire(m);
  }
  /** The next message the host posts that matches. */
  next<T>(match: (m: T) => boolean): Promise<T> {
    const seen = this.posted.find((m) => match(m as T));
    if (seen) return Promise.resolve(seen as T);
    return new Promise((resolve) => this.waiters.push({ match: match as (m: unknown) => boolean, resolve: resolve as (m: unknown) => void }));
  }
}
