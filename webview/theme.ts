/**
 * Colours for what CSS cannot style (canvas, chart libraries): read from VS Code's theme variables, and a
 * notification when the theme changes (VS Code swaps the body's class and variables).
 */
export type ThemeKind = 'light' | 'dark' | 'hc-dark' | 'hc-light';

export function themeKind(): ThemeKind {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'hc-light';
  if (c.contains('vscode-high-contrast')) return 'hc-dark';
  return c.contains('vscode-dark') ? 'dark' : 'light';
}

export function cssVar(name: string, fallback = ''): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export interface Colors {
  kind: ThemeKind;
  fg: string;
  muted: string;
  bg: string;
  border: string;
  grid: string;
  focus: string;
  selection: string;
  font: string;
  danger: string;
  warn: string;
}

export function colors(): Colors {
  const kind = themeKind();
  const hc = kind.startsWith('hc');
  return {
    kind,
    fg: cssVar('--vscode-editor-foreground', kind === 'light' || kind === 'hc-light' ? '#333' : '#ccc'),
    muted: cssVar('--vscode-descriptionForeground', '#888'),
    bg: cssVar('--vscode-editor-background', kind === 'light' ? '#fff' : '#1e1e1e'),
    border: hc ? cssVar('--vscode-contrastBorder', '#6fc3df') : cssVar('--vscode-panel-border', '#8884'),
    grid: hc ? cssVar('--vscode-contrastBorder', '#6fc3df') : cssVar('--vscode-editorWidget-border', '#8883'),
    focus: cssVar('--vscode-focusBorder', '#007fd4'),
    selection: cssVar('--vscode-charts-blue', '#3794ff'),
    font: `${cssVar('--vscode-font-size', '13px')} ${cssVar('--vscode-font-family', 'sans-serif')}`,
    danger: cssVar('--vscode-charts-red', '#f14c4c'),
    warn: cssVar('--vscode-charts-yellow', '#cca700'),
  };
}

/** A colour per dependency group: hues spread by the golden angle, lightness suited to the theme. */
export function groupColor(id: number, kind: ThemeKind, alpha = 1): string {
  const hue = (id * 137.508) % 360;
  const light = kind === 'light' || kind === 'hc-light';
  return `hsla(${hue.toFixed(1)}, ${light ? 62 : 70}%, ${light ? 42 : 62}%, ${alpha})`;
}

/** Distinct colours for a few series (criteria side by side): VS Code's chart colours, which every theme sets. */
export function seriesColors(): string[] {
  return [
    cssVar('--vscode-charts-blue', '#3794ff'),
    cssVar('--vscode-charts-orange', '#d18616'),
    cssVar('--vscode-charts-green', '#89d185'),
    cssVar('--vscode-charts-purple', '#b180d7'),
    cssVar('--vscode-charts-red', '#f14c4c'),
    cssVar('--vscode-charts-yellow', '#cca700'),
  ];
}

/** Calls `fn` when the theme changes (VS Code rewrites the body's class; only a change of kind or colours counts). */
export function onThemeChange(fn: () => void): void {
  let last = themeKey();
  new MutationObserver(() => {
    const key = themeKey();
    if (key === last) return;
    last = key;
    fn();
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
}

const themeKey = () => `${themeKind()} ${document.body.dataset.vscodeThemeId ?? ''} ${cssVar('--vscode-editor-background')}`;
