/** ELK's worker script as text (scripts/build.mjs resolves it), started from a blob URL. */
declare module 'elk-worker-source' {
  const source: string;
  export default source;
}

/** Stylesheets are bundled into dist/webview.css. */
declare module '*.css';
