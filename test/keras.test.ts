import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inspect, openModel, pruneModel } from '../src/core/api.js';
import { ortRunner } from '../src/core/runtime/backend.js';
import { dumpKeras, hasH5py, kerasWeights, writeKeras, type Dump } from './helpers/keras-fixtures.js';
import { buildFixture, inputFor, tf, type Fixture } from './helpers/tfjs-fixtures.js';
import { tmpdir } from './helpers/env.js';

const FIXTURES: { kind: Fixture; shape: number[]; groups: number; prunable: number }[] = [
  { kind: 'sequential', shape: [2, 16, 16, 3], groups: 4, prunable: 3 },
  { kind: 'functional', shape: [2, 16, 16, 3], groups: 4, prunable: 3 },
  { kind: 'nested-shared', shape: [2, 8, 8, 3], groups: 5, prunable: 2 },
];

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
};

/** The IR of a file in ONNX Runtime on a seeded input. */
async function runIr(file: string, shape: number[], seed: number): Promise<Float32Array> {
  const s = await openModel(file);
  const r = await ortRunner(s.analysis.model);
  try {
    return (await r.run({ [r.inputNames[0]]: { dims: shape, data: inputFor(shape, seed) } }))[r.outputNames[0]].data as Float32Array;
  } finally {
    await r.release();
  }
}

type Json = Record<string, unknown>;

/** Every layer config in a (Keras 2 or 3) model config, nested models' included. */
function layerConfigs(model: Json): Json[] {
  const c = model.config as Json;
  const layers = (Array.isArray(c) ? c : c.layers) as Json[];
  return layers.flatMap((l) => (l.class_name === 'Sequential' || l.class_name === 'Functional' ? [l, ...layerConfigs(l)] : [l]));
}

/** The structure is kept as read: same groups, datasets (dtypes), attributes (their HDF5 string kinds and values). */
function sameStructure(before: Dump, after: Dump, changedAttrs: string[]): void {
  const dropped = (k: string) => k.startsWith('optimizer');
  assert.deepEqual(Object.keys(after.h5).sort(), Object.keys(before.h5).filter((k) => !dropped(k)).sort());
  for (const [k, a] of Object.entries(after.h5)) {
    const b = before.h5[k];
    assert.equal(a.type, b.type, k);
    assert.equal(a.dtype, b.dtype, k);
    assert.equal(a.shape?.length, b.shape?.length, k);
    assert.deepEqual(Object.keys(a.attrs).sort(), Object.keys(b.attrs).sort(), k);
    for (const [n, v] of Object.entries(a.attrs)) {
      assert.equal(v.kind, b.attrs[n].kind, `${k} @${n}`);
      if (!changedAttrs.includes(n)) assert.deepEqual(v.value, b.attrs[n].value, `${k} @${n}`);
    }
  }
}

describe('Keras models (.h5 and .keras)', { skip: !hasH5py() && !process.env.CI && 'Debian python3-h5py not installed' }, () => {
  const dir = tmpdir('prunelens-keras-');
  for (const ext of ['h5', 'keras'] as const) {
    for (const f of FIXTURES) {
      it(`${f.kind}.${ext}: converts exactly, groups, prune → a file laid out as Keras lays it out, read back alike`, async () => {
        const model = await buildFixture(f.kind);
        const file = writeKeras(model, path.join(dir, `${f.kind}.${ext}`), { optimizer: true });
        const t = await tf();
        const want = (model.predict(t.tensor(inputFor(f.shape, 4), f.shape)) as import('@tensorflow/tfjs').Tensor).dataSync();
        assert.ok(rel(await runIr(file, f.shape, 4), want) < 1e-5, 'the IR computes what the model computes in TF.js');
        const info = await inspect(file);
        assert.equal(info.format, ext === 'h5' ? 'keras-h5' : 'keras');
        assert.equal(info.groups!.length, f.groups);
        assert.equal(info.groups!.filter((g) => g.prunable).length, f.prunable);
        const out = path.join(dir, `${f.kind}-pruned.${ext}`);
        const r = await pruneModel(file, out, { ratio: 0.5, overwrite: true, latencyRuns: 2 });
        assert.ok(r.verification.passed && r.native!.passed && r.native!.conversion.passed);
        assert.match(r.latency!.backend!, /tfjs/);
        assert.deepEqual(r.native!.files, [path.basename(out)]);
        assert.ok(r.native!.notes.some((n) => /optimizer/.test(n)), 'the stale optimizer state is dropped, and the report says so');
        assert.equal(r.after.bytes, fs.statSync(out).size);

        // h5py reads what was written: the original's structure, the pruned shapes
        const before = dumpKeras(file);
        const after = dumpKeras(out);
        sameStructure(before, after, ['model_config']);
        const config = (ext === 'h5' ? JSON.parse(after.h5['/'].attrs.model_config.value as string) : after.config) as Json;
        if (ext === 'keras') {
          assert.deepEqual(after.zip, before.zip, 'the same entries, stored as Keras stores them');
          assert.deepEqual(after.metadata, before.metadata);
        } else {
          assert.deepEqual(after.h5['/'].attrs.training_config, before.h5['/'].attrs.training_config);
        }
        // every conv's filters and dense's units agree with its kernel; Keras 3's recorded input shapes with the model
        const shapes = Object.entries(after.h5).filter(([, v]) => v.type === 'dataset');
        for (const l of layerConfigs(config)) {
          const c = l.config as Json;
          const name = String(l.name ?? c.name);
          const kernel = ext === 'h5'
            ? shapes.find(([k]) => k.endsWith(`/${name}/kernel:0`))?.[1].shape
            : undefined;
          if (kernel && l.class_name === 'Conv2D') assert.equal(c.filters, kernel[3], name);
          if (kernel && l.class_name === 'Dense') assert.equal(c.units, kernel[1], name);
        }
        if (ext === 'keras') {
          const head = layerConfigs(config).find((l) => l.name === 'probs' || l.name === 'logits' || (l.config as Json).name === 'out') as Json;
          const k = head.build_config as { input_shape: number[] };
          const kernelRows = shapes.filter(([k2]) => /dense(_\d+)?\/vars\/0$/.test(k2)).map(([, v]) => v.shape![0]);
          assert.ok(kernelRows.includes(k.input_shape[k.input_shape.length - 1]) || f.kind === 'sequential', JSON.stringify(k));
        }
        // our reader reads it back; its IR computes what TF.js computes with the file
        const back = await openModel(out);
        assert.equal(back.analysis.cost.params, r.after.params);
        if (ext === 'h5') {
          // TF.js builds the model from the written model_config itself, with the weights h5py reads
          const m = await t.models.modelFromJSON({ modelTopology: { class_name: config.class_name === 'Functional' ? 'Model' : config.class_name, config: config.config } as never });
          const values = kerasWeights(out);
          const layers = (mm: import('@tensorflow/tfjs').LayersModel): import('@tensorflow/tfjs').layers.Layer[] => mm.layers.flatMap((l) => ('layers' in l ? layers(l as never) : [l]));
          for (const l of layers(m)) {
            if (!l.weights.length) continue;
            l.setWeights(l.weights.map((w) => {
              const key = Object.keys(values).find((k) => k.endsWith(`/${w.originalName}:0`));
              assert.ok(key, w.originalName);
              return t.tensor(values[key!], w.shape as number[]);
            }));
          }
          const y = (m.predict(t.tensor(inputFor(f.shape, 6), f.shape)) as import('@tensorflow/tfjs').Tensor).dataSync();
          assert.ok(rel(await runIr(out, f.shape, 6), y) < 1e-5);
        }
      });
    }
  }

  it('refuses files that are not Keras models, in one line', async () => {
    const JSZip = (await import('jszip')).default;
    const zip = new JSZip();
    zip.file('notes.txt', 'hello');
    const notKeras = path.join(dir, 'not.keras');
    fs.writeFileSync(notKeras, await zip.generateAsync({ type: 'uint8array' }));
    await assert.rejects(inspect(notKeras), /not a Keras model/);
    // an .h5 of weights only
    const model = await buildFixture('sequential');
    const h5 = writeKeras(model, path.join(dir, 'weights-only-src.h5'));
    const { execFileSync } = await import('node:child_process');
    const weightsOnly = path.join(dir, 'weights-only.h5');
    execFileSync('/usr/bin/python3', ['-c', `import h5py\nf=h5py.File('${h5}','r')\ng=h5py.File('${weightsOnly}','w')\nf.copy('model_weights', g, name='w')\nfor k,v in f['model_weights'].attrs.items(): g.attrs[k]=v\n`]);
    await assert.rejects(inspect(weightsOnly), /weights only/);
    // an unknown layer class
    const bad = path.join(dir, 'unknown-layer.h5');
    execFileSync('/usr/bin/python3', ['-c', `import h5py, shutil\nshutil.copy('${h5}','${bad}')\nf=h5py.File('${bad}','a')\nf.attrs['model_config']=f.attrs['model_config'].replace('"MaxPooling2D"', '"FancyPooling2D"').encode('utf8')\n`]);
    await assert.rejects(inspect(bad), /layer 'p1' is a FancyPooling2D, which PruneLens cannot convert/);
  });
});
