/** Numbers as the panel writes them: counts with SI suffixes, bytes, percentages, milliseconds. */

export function count(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (a >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function pct(x: number, digits = 0): string {
  return `${(100 * x).toFixed(digits)} %`;
}

export function ms(x: number): string {
  return x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(2)} ms`;
}

export function shape(dims: readonly (number | string | null)[] | null | undefined): string {
  return dims ? `[${dims.map((d) => d ?? '?').join(', ')}]` : '?';
}
