/**
 * A graph's weights and wiring, to go back to: recovery tries a method and keeps it only if the held-out samples
 * say it helped. Methods write tensors with `replace` (a new source, the old bytes untouched) and may give a layer
 * its own copy of a shared weight (new initializer, rewired input), so both are restored.
 */
import type { Graph } from '../ir/graph.js';

export function checkpoint(g: Graph): () => void {
  const nodes = g.nodes.map((n) => ({ n, inputs: [...n.inputs] }));
  const initializers = new Map(g.initializers);
  const tensors = [...new Set(g.constantTable().values())].map((t) => ({ t, dims: [...t.dims], bytes: t.bytes() }));
  return () => {
    g.nodes = nodes.map(({ n, inputs }) => {
      n.inputs = inputs;
      return n;
    });
    g.initializers.clear();
    for (const [name, t] of initializers) g.initializers.set(name, t);
    // only tensors the method replaced; they stay marked modified, since encoding may have synced the method's values
    // into the tensor's serialised form meanwhile
    for (const s of tensors) if (s.t.bytes() !== s.bytes || s.t.dims.join() !== s.dims.join()) s.t.replaceBytes(s.dims, s.bytes);
    g.invalidate();
  };
}
