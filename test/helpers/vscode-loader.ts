/** Module resolution hook: `import 'vscode'` gets the stub (Node's module.register). */
export async function resolve(
  specifier: string,
  context: unknown,
  next: (specifier: string, context: unknown) => Promise<{ url: string }>,
): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'vscode') return { url: new URL('./vscode-stub.js', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
