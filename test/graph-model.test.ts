/**
 * What the dependency graph view shows before drawing (webview/graph/model.ts, pure): clusters from name scopes or
 * chains, the first view within its budget on DenseNet-121 and PP-OCRv4, and every node reachable by expanding.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openModel } from '../src/core/api.js';
import type { ModelGraph } from '../src/shared/types.js';
import { ancestors, buildHierarchy, constantOnly, initialExpanded, representative, ROOT, search, visibleGraph } from '../webview/graph/model.js';
import { EXAMPLE, OCR_MODELS, ROOT as REPO } from './helpers/env.js';

const DENSENET = path.join(REPO, '.cache/models/densenet121.onnx');
const graphOf = async (file: string): Promise<ModelGraph> => (await openModel(file)).graph();

function checkReachable(g: ModelGraph, expanded: Set<string>) {
  const h = buildHierarchy(g);
  for (const n of g.nodes) {
    if (h.hidden.has(n.id)) continue;
    const all = new Set([...expanded, ...ancestors(h, n.id)]);
    assert.equal(representative(h, all, n.id), `n:${n.id}`, `${n.name} is shown once its clusters are open`);
  }
}

describe('graph view model', () => {
  it('shows a small model whole, clustered by its name scopes', async () => {
    const g = await graphOf(EXAMPLE);
    const h = buildHierarchy(g);
    assert.equal(h.how, 'scopes');
    const open = initialExpanded(h, g);
    const v = visibleGraph(g, h, open);
    const nodes = [...v.items.values()].filter((i) => i.kind === 'node');
    assert.equal(nodes.length, g.nodes.length - h.hidden.size, 'every layer visible');
    assert.ok([...v.items.values()].some((i) => i.kind === 'expanded' && i.id.includes('res')), 'the residual block is a cluster');
    // the residual Add reads the block's input: an edge crosses into the cluster
    assert.ok(v.edges.length >= nodes.length - 1);
    assert.deepEqual(search(g, h, 'conv2.0').map((n) => n.name), ['/res/conv2/conv2.0/Conv']);
  });

  it('hides weight-only nodes and opens DenseNet-121 within its budget', { skip: !fs.existsSync(DENSENET) && 'run the bench or prune-real tests to export DenseNet-121' }, async () => {
    const g = await graphOf(DENSENET);
    const h = buildHierarchy(g);
    assert.equal(h.hidden.size, constantOnly(g).size);
    assert.ok(h.hidden.size > 200, 'Identity nodes on weights are hidden');
    const open = initialExpanded(h, g);
    const v = visibleGraph(g, h, open);
    assert.ok(v.items.size <= 60 && v.edges.length <= 80, `${v.items.size} items, ${v.edges.length} edges`);
    assert.ok(g.nodes.length > 600);
    checkReachable(g, open);
    assert.ok([...h.clusters.values()].some((c) => c.label === 'denseblock3'));
    assert.ok(h.clusters.get(ROOT)!.size === g.nodes.length - h.hidden.size);
  });

  it('clusters a model with flat names (PP-OCRv4 recogniser) into chains and blocks', { skip: !fs.existsSync(OCR_MODELS[1]) && 'no PP-OCR models' }, async () => {
    const g = await graphOf(OCR_MODELS[1]);
    const h = buildHierarchy(g);
    assert.equal(h.how, 'chains');
    const open = initialExpanded(h, g);
    const v = visibleGraph(g, h, open);
    assert.ok(v.items.size <= 60, `${v.items.size} items`);
    assert.ok([...h.clusters.values()].some((c) => c.id.startsWith('b:')) && [...h.clusters.values()].some((c) => c.id.startsWith('c:')));
    checkReachable(g, open);
  });
});
