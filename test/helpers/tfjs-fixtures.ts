/**
 * Small TF.js layers models built with @tensorflow/tfjs-layers, seeded, with non-trivial BatchNormalization
 * statistics, saved as model.json + weights.bin the way tf.io's file handlers write them (optionally quantised, and
 * optionally without the `format` field, as older converters wrote them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { tfjs } from '../../src/core/runtime/tfjs.js';

export type Tf = Awaited<ReturnType<typeof tfjs>>['tf'];

export async function tf(): Promise<Tf> {
  return (await tfjs()).tf;
}

export type Fixture = 'sequential' | 'functional' | 'nested-shared';

/** Builds a fixture model with seeded weights. */
export async function buildFixture(kind: Fixture): Promise<TF.LayersModel> {
  const t = await tf();
  const L = t.layers;
  let seed = 1;
  const init = () => t.initializers.glorotUniform({ seed: seed++ });
  let model: TF.LayersModel;
  if (kind === 'sequential') {
    // conv → BN → relu → pool → conv → flatten (a 4×4 map) → dense → dense: Dense after Flatten
    model = t.sequential({
      layers: [
        L.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(), name: 'c1' }),
        L.batchNormalization({ name: 'bn1' }),
        L.reLU({ name: 'r1' }),
        L.maxPooling2d({ poolSize: 2, name: 'p1' }),
        L.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(), biasInitializer: 'glorotUniform', name: 'c2' }),
        L.flatten({ name: 'flat' }),
        L.dense({ units: 16, activation: 'relu', kernelInitializer: init(), name: 'd1' }),
        L.dropout({ rate: 0.5, name: 'drop' }),
        L.dense({ units: 5, activation: 'softmax', kernelInitializer: init(), name: 'out' }),
      ],
    });
  } else if (kind === 'functional') {
    // stem → residual block (Add) → depthwise branch and conv branch joined by Concatenate → GAP → Dense
    const x = L.input({ shape: [16, 16, 3], name: 'image' });
    const stem = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(), name: 'stem' }).apply(x) as TF.SymbolicTensor;
    const sb = L.batchNormalization({ name: 'stem_bn' }).apply(stem) as TF.SymbolicTensor;
    const s = L.activation({ activation: 'relu6', name: 'stem_relu' }).apply(sb) as TF.SymbolicTensor;
    const a = L.conv2d({ filters: 16, kernelSize: 1, kernelInitializer: init(), name: 'expand' }).apply(s) as TF.SymbolicTensor;
    const ab = L.batchNormalization({ name: 'expand_bn' }).apply(a) as TF.SymbolicTensor;
    const dw = L.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(), name: 'dw' }).apply(ab) as TF.SymbolicTensor;
    const dwb = L.batchNormalization({ name: 'dw_bn' }).apply(dw) as TF.SymbolicTensor;
    const p = L.conv2d({ filters: 8, kernelSize: 1, kernelInitializer: init(), name: 'project' }).apply(dwb) as TF.SymbolicTensor;
    const res = L.add({ name: 'residual' }).apply([s, p]) as TF.SymbolicTensor;
    const b1 = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'branch_a' }).apply(res) as TF.SymbolicTensor;
    const b2 = L.conv2d({ filters: 10, kernelSize: 1, activation: 'relu', kernelInitializer: init(), name: 'branch_b' }).apply(res) as TF.SymbolicTensor;
    const cat = L.concatenate({ name: 'join' }).apply([b1, b2]) as TF.SymbolicTensor;
    const pad = L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad' }).apply(cat) as TF.SymbolicTensor;
    const pool = L.averagePooling2d({ poolSize: 2, strides: 2, name: 'avg' }).apply(pad) as TF.SymbolicTensor;
    const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(pool) as TF.SymbolicTensor;
    const out = L.dense({ units: 4, activation: 'softmax', kernelInitializer: init(), name: 'probs' }).apply(gap) as TF.SymbolicTensor;
    model = t.model({ inputs: x, outputs: out, name: 'functional_fixture' });
  } else {
    // a nested Sequential used as a layer, and one Conv2D called on two branches (a shared layer)
    const inner = t.sequential({
      name: 'inner',
      layers: [
        L.conv2d({ inputShape: [8, 8, 8], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'inner_conv' }),
        L.batchNormalization({ name: 'inner_bn' }),
      ],
    });
    const x = L.input({ shape: [8, 8, 3], name: 'x' });
    const stem = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'stem' }).apply(x) as TF.SymbolicTensor;
    const shared = L.conv2d({ filters: 8, kernelSize: 1, kernelInitializer: init(), name: 'shared' });
    const up = shared.apply(stem) as TF.SymbolicTensor;
    const n = inner.apply(stem) as TF.SymbolicTensor;
    const down = shared.apply(n) as TF.SymbolicTensor;
    const sum = L.add({ name: 'sum' }).apply([up, down]) as TF.SymbolicTensor;
    const head = L.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'head' }).apply(sum) as TF.SymbolicTensor;
    const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(head) as TF.SymbolicTensor;
    const out = L.dense({ units: 3, kernelInitializer: init(), name: 'logits' }).apply(gap) as TF.SymbolicTensor;
    model = t.model({ inputs: x, outputs: out, name: 'nested_shared' });
  }
  // BatchNormalization with non-trivial statistics, so that zeroed channels and permutations show
  let k = 1000;
  for (const layer of allLayers(model)) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    layer.setWeights(ws.map((w, i) => {
      const n = w.size;
      const v = Float32Array.from({ length: n }, (_, j) => {
        const r = Math.sin(++k * 12.9898 + j) * 43758.5453;
        const u = r - Math.floor(r);
        return i === 3 ? 0.5 + u : i === 0 ? 0.5 + u : u - 0.5; // variance and gamma positive
      });
      return t.tensor(v, w.shape);
    }));
  }
  return model;
}

function allLayers(m: TF.LayersModel): TF.layers.Layer[] {
  return m.layers.flatMap((l) => ('layers' in l ? allLayers(l as unknown as TF.LayersModel) : [l]));
}

export interface SaveFixtureOptions {
  /** Quantise every weight: uint8/uint16 (affine per tensor, as the TF.js converter does) or float16. */
  quantize?: 'uint8' | 'uint16' | 'float16';
  /** Leave out the `format` field. */
  noFormat?: boolean;
}

/** Saves a model as dir/model.json + dir/weights.bin; returns the model.json path. */
export async function saveFixture(model: TF.LayersModel, dir: string, opts: SaveFixtureOptions = {}): Promise<string> {
  const t = await tf();
  let artifacts: TF.io.ModelArtifacts | undefined;
  await model.save(t.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = artifacts!;
  let specs = a.weightSpecs as (TF.io.WeightsManifestEntry & { quantization?: Record<string, unknown> })[];
  let data = new Uint8Array(a.weightData as ArrayBuffer);
  if (opts.quantize) ({ specs, data } = quantize(specs, data, opts.quantize));
  fs.mkdirSync(dir, { recursive: true });
  const json: Record<string, unknown> = {
    ...(opts.noFormat ? {} : { format: a.format }), generatedBy: a.generatedBy, convertedBy: a.convertedBy,
    modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  fs.writeFileSync(path.join(dir, 'weights.bin'), data);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  return path.join(dir, 'model.json');
}

function quantize(specs: TF.io.WeightsManifestEntry[], data: Uint8Array, dtype: 'uint8' | 'uint16' | 'float16') {
  const out: Uint8Array[] = [];
  const newSpecs: (TF.io.WeightsManifestEntry & { quantization?: Record<string, unknown> })[] = [];
  let offset = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(data.slice(offset, offset + 4 * n).buffer);
    offset += 4 * n;
    if (dtype === 'float16') {
      const h = new Uint16Array(n);
      for (let i = 0; i < n; i++) h[i] = toHalf(v[i]);
      out.push(new Uint8Array(h.buffer));
      newSpecs.push({ ...s, quantization: { dtype: 'float16' } });
      continue;
    }
    const levels = dtype === 'uint8' ? 255 : 65535;
    let lo = Math.min(...v);
    const hi = Math.max(...v);
    const scale = hi > lo ? (hi - lo) / levels : 1;
    lo = hi > lo ? lo : lo;
    const q = dtype === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
    for (let i = 0; i < n; i++) q[i] = Math.round((v[i] - lo) / scale);
    out.push(new Uint8Array(q.buffer));
    newSpecs.push({ ...s, quantization: { dtype, scale, min: lo } });
  }
  const total = new Uint8Array(out.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of out) {
    total.set(b, o);
    o += b.length;
  }
  return { specs: newSpecs, data: total };
}

function toHalf(f: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  const x = buf.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign | ((mant | 0x800000) >> (1 - exp + 13));
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | Math.round(mant / 8192);
}

/** Loads a saved layers model from disk with TF.js (a file IO handler: the files read here, given from memory). */
export async function loadSaved(jsonPath: string): Promise<TF.LayersModel> {
  const t = await tf();
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const dir = path.dirname(jsonPath);
  const groups = json.weightsManifest as { paths: string[]; weights: TF.io.WeightsManifestEntry[] }[];
  const parts = groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const data = Buffer.concat(parts);
  return t.loadLayersModel(t.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: groups.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  }));
}

/** A seeded input batch for an NHWC model input. */
export function inputFor(shape: number[], seed = 3): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => {
    const r = Math.sin((i + 1) * 78.233 + seed * 12.9898) * 43758.5453;
    return (r - Math.floor(r)) * 2 - 1;
  });
}
