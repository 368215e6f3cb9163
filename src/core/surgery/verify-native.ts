/**
 * Verification of a TF.js or Keras variant as its users will run it: the files written in the model's own format are
 * read back (our reader), loaded by TF.js and compared with the masked original written the same way, with
 * verify.ts's tolerance (16× the masked original's own float32 noise, measured in TF.js by moving every weight one
 * rounding step). The masked original also runs in ONNX Runtime, to show the converted graph the engine analysed,
 * scanned and verified computes what the file computes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeVerification } from '../../shared/types.js';
import type { ForeignSource, NativeFiles, Quantize } from '../formats/foreign.js';
import type { Model } from '../ir/graph.js';
import { ortRunner, tfjsRunner, type HostFeeds, type HostTensor, type Runner } from '../runtime/backend.js';
import { runtimeInputs } from '../shapes/inputs.js';
import { NOISE_FACTOR, REL_FLOOR, ABS_FLOOR, perturbed } from './verify.js';

/**
 * ONNX Runtime and TF.js sum in different orders and TF.js's wasm kernels use other algorithms (Winograd, fused
 * activations): on the nsfwjs models their outputs differed by at most ~1e-5 of the output's scale. A converted
 * graph that is wrong (a misplaced padding, a kernel read in the wrong order) is off by orders of magnitude more.
 */
export const CONVERSION_TOLERANCE = 1e-3;

/** The model's files as read from disk, named relative to the model file's folder. */
export function readNative(source: ForeignSource): NativeFiles {
  const [main, ...rest] = source.files;
  const dir = path.dirname(main);
  const files = new Map<string, Uint8Array>();
  for (const f of [main, ...rest]) files.set(path.relative(dir, f), new Uint8Array(fs.readFileSync(f)));
  return { main: path.basename(main), files, notes: [] };
}

/** Names of the IR's inputs and outputs: the names the TF.js runner maps feeds and results by. */
export function ioNames(model: Model): { inputNames: string[]; outputNames: string[] } {
  return { inputNames: runtimeInputs(model).map((i) => i.name), outputNames: model.graph.outputs.map((o) => o.name) };
}

export async function verifyNative(
  source: ForeignSource,
  format: string,
  pruned: NativeFiles,
  twin: Model,
  feeds: HostFeeds[],
  opts: { quantize: Quantize; threads?: number; against?: NativeVerification['against'] },
): Promise<NativeVerification> {
  const names = ioNames(twin);
  const float = { quantize: 'none' as const };
  const runners: Runner[] = [];
  try {
    const open = async (files: NativeFiles) => {
      const r = await tfjsRunner(await source.tfjs(files), { ...names, threads: opts.threads });
      runners.push(r);
      return r;
    };
    const [p, t, z] = [await open(pruned), await open(await source.write(twin, pruned.main, float)), await open(await source.write(perturbed(twin), pruned.main, { ...float, firstReader: true }))];
    const ort = await ortRunner(twin, { optimization: 'basic' });
    runners.push(ort);
    const worst = new Map<string, { absError: number; scale: number; noise: number; conversion: number }>();
    for (const f of feeds) {
      const [a, b, c, o] = [await p.run(f), await t.run(f), await z.run(f), await ort.run(f)];
      for (const name of names.outputNames) {
        const w = worst.get(name) ?? { absError: 0, scale: 0, noise: 0, conversion: 0 };
        const m = compare(a[name], b[name]);
        w.absError = Math.max(w.absError, m.diff);
        w.scale = Math.max(w.scale, m.scale);
        w.noise = Math.max(w.noise, compare(c[name], b[name]).diff);
        w.conversion = Math.max(w.conversion, compare(o[name], b[name]).diff);
        worst.set(name, w);
      }
    }
    const outputs = [...worst].map(([name, w]) => ({
      name, absError: w.absError, scale: w.scale, noise: w.noise,
      tolerance: Math.max(NOISE_FACTOR * w.noise, REL_FLOOR * w.scale + ABS_FLOOR), conversion: w.conversion / Math.max(w.scale, 1e-12),
    }));
    const conversion = Math.max(0, ...outputs.map((o) => o.conversion));
    return {
      format, backend: p.backend, files: [...pruned.files.keys()], quantization: opts.quantize, against: opts.against ?? 'masked-original',
      passed: outputs.every((o) => o.absError <= o.tolerance),
      maxAbsError: Math.max(0, ...outputs.map((o) => o.absError)),
      maxRelError: Math.max(0, ...outputs.map((o) => o.absError / Math.max(o.scale, 1e-12))),
      outputs: outputs.map(({ conversion: _c, ...o }) => o),
      conversion: { maxRelError: conversion, tolerance: CONVERSION_TOLERANCE, passed: conversion <= CONVERSION_TOLERANCE },
      notes: pruned.notes,
    };
  } finally {
    for (const r of runners) await r.release();
  }
}

/** Largest |x − y| and |y| (Infinity when the shapes differ or a value is NaN). */
function compare(x: HostTensor | undefined, y: HostTensor | undefined): { diff: number; scale: number } {
  if (!x || !y || x.data.length !== y.data.length) return { diff: Infinity, scale: 0 };
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.data.length; i++) {
    const b = Number(y.data[i]);
    const d = Math.abs(Number(x.data[i]) - b);
    diff = d > diff || Number.isNaN(d) ? (Number.isNaN(d) ? Infinity : d) : diff;
    scale = Math.max(scale, Math.abs(b));
  }
  return { diff, scale };
}
