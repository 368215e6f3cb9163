/**
 * The caps that keep a hostile or broken file from exhausting memory: every one is checked before the memory is
 * taken, and the README lists them. Two can be raised from the environment for machines and models that need more.
 */

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function fromEnv(name: string, fallbackBytes: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v * MiB : fallbackBytes;
}

/**
 * Memory one ONNX Runtime run may need by the static shapes: its inputs and its peak of live activations (the
 * shape probe, which exposes every value, counts them all). `PRUNELENS_MAX_RUN_MB` raises it.
 */
export function maxRunBytes(): number {
  return fromEnv('PRUNELENS_MAX_RUN_MB', 4 * GiB);
}

/** Samples held in memory as float32 (calibration and evaluation sets, synthetic samples). */
export const MAX_SAMPLE_BYTES = 2 * GiB;

/** A data file (.npy, IDX, an .npz archive, an image), and what a compressed one may inflate to. */
export const MAX_DATA_FILE_BYTES = 2 * GiB - 1;

/** JSON the user hands over: plans, recipes, scan results, preprocessing. */
export const MAX_JSON_FILE_BYTES = 64 * MiB;

/** The scan cache is trimmed to this size, least recently used entries first. */
export const MAX_CACHE_BYTES = 256 * MiB;

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'an unbounded amount';
  if (n >= 1e15) return `${n.toExponential(1)} bytes`;
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} bytes`;
}
