/** Human-readable numbers and plain-text tables for the terminal. */
export function si(n: number, digits = 2): string {
  const a = Math.abs(n);
  if (a >= 1e12) return `${(n / 1e12).toFixed(digits)}T`;
  if (a >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return String(n);
}

export function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

export function shape(d: readonly (number | string | null)[] | null | undefined): string {
  if (!d) return '?';
  return d.length === 0 ? 'scalar' : d.map((x) => (x === null ? '?' : String(x))).join('x');
}

/** Left-aligns text columns and right-aligns columns listed in `right`. */
export function table(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Prints a result as JSON (--json) or as the command's readable text. */
export function emit<T>(result: T, json: boolean | undefined, render: (r: T) => string): void {
  process.stdout.write((json ? JSON.stringify(result, null, 2) : render(result)) + '\n');
}

/** A speed ratio as people say it: "1.38× faster", "1.25× slower" (never "0.80× faster"). */
export function speed(ratio: number): string {
  if (!Number.isFinite(ratio) || ratio <= 0) return 'not measured';
  if (Math.abs(ratio - 1) < 0.005) return 'the same speed';
  return ratio > 1 ? `${ratio.toFixed(2)}× faster` : `${(1 / ratio).toFixed(2)}× slower`;
}

