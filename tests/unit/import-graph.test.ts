/**
 * The import graph between top-level folders (root README, "Repository"): tiers never reach into
 * another tier's internals, nothing below tests/ and tools/ imports them, shared layers are entered
 * through their public modules, and the folders form no cycle. Reads the sources with one regular
 * expression (static and dynamic imports, re-exports; statements start a line, so examples in doc
 * comments do not count), well under a second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIERS = ['widget', 'gateway', 'evaluator', 'party', 'demo'] as const;
const SHARED = ['protocol', 'model', 'fhe'] as const;
/** Above everything: tools reuse the tests' fixtures and the tests test the tools. */
const ABOVE = ['tests', 'tools'] as const;
const FOLDERS: readonly string[] = [...TIERS, ...SHARED, ...ABOVE];

/**
 * What a folder offers the others (tests/ excepted: they test internals). Tiers: their entry
 * points; fhe/: its index (Node) and the browser-safe key-generation entry; protocol/ and model/:
 * every module at their top level (each one a public module; model/artifacts/ holds the shipped
 * model).
 */
const PUBLIC: Readonly<Record<string, (path: string) => boolean>> = {
  widget: (p) => p === 'widget/src/blind-score.ts',
  gateway: (p) => p === 'gateway/src/index.ts',
  evaluator: (p) => ['evaluator/circuit/index.ts', 'evaluator/service/build.ts'].includes(p) || /^evaluator\/bench\/[^/]+\.ts$/.test(p),
  party: (p) => p === 'party/index.ts',
  demo: () => false,
  fhe: (p) => p === 'fhe/index.ts' || p === 'fhe/keygen/index.ts',
  protocol: (p) => /^protocol\/[^/]+\.ts$/.test(p),
  model: (p) => /^model\/[^/]+\.ts$/.test(p) || p.startsWith('model/artifacts/'),
};

const SKIP_DIRS = new Set(['node_modules', 'dist', '.cache', '.tsbuild']);
const SOURCE = /\.(?:ts|tsx|mts|js|mjs)$/;
const IMPORT = /^\s*(?:import|export)\s+(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) return [];
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

interface Edge {
  from: string;
  to: string;
}

/** Every relative import that crosses a top-level folder, as repo-relative paths. */
function crossFolderImports(files: readonly string[], read: (path: string) => string): Edge[] {
  return files.flatMap((from) =>
    [...read(from).matchAll(IMPORT)]
      .map((match) => match[1] ?? match[2] ?? '')
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({
        from,
        to: relative(ROOT, join(ROOT, dirname(from), spec))
          .split(sep)
          .join('/'),
      }))
      .filter((edge) => top(edge.from) !== top(edge.to)),
  );
}

const top = (path: string) => path.split('/')[0] ?? path;
const isTier = (folder: string) => (TIERS as readonly string[]).includes(folder);
const isAbove = (folder: string) => (ABOVE as readonly string[]).includes(folder);
/** tests/ and tools/ count as one node for cycles: each may use the other. */
const node = (folder: string) => (isAbove(folder) ? 'tests+tools' : folder);

/** Human-readable breaches of the rules above, empty when the graph is clean. */
function violations(edges: readonly Edge[]): string[] {
  const found: string[] = [];
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const [a, b] = [top(from), top(to)];
    if (!FOLDERS.includes(b)) continue;
    if (isAbove(b) && !isAbove(a)) found.push(`${from} imports ${to}: only tests/ and tools/ may use tests/ or tools/`);
    else if (isTier(b) && !isAbove(a) && !isTier(a)) found.push(`${from} imports ${to}: a shared layer imports a tier`);
    else if (a !== 'tests' && !isAbove(b) && !PUBLIC[b]?.(to)) found.push(`${from} imports ${to}: not a public module of ${b}/`);
    if (node(a) !== node(b)) graph.set(node(a), (graph.get(node(a)) ?? new Set()).add(node(b)));
  }
  // Depth-first search for a back edge between folders.
  const state = new Map<string, 'open' | 'done'>();
  const visit = (folder: string, path: string[]): void => {
    state.set(folder, 'open');
    for (const next of graph.get(folder) ?? []) {
      const stack = [...path, folder];
      if (state.get(next) === 'open') found.push(`import cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' -> ')}`);
      else if (!state.has(next)) visit(next, stack);
    }
    state.set(folder, 'done');
  };
  for (const folder of graph.keys()) if (!state.has(folder)) visit(folder, []);
  return found;
}

describe('import graph between top-level folders', () => {
  const files = FOLDERS.flatMap(sourceFiles);
  const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

  it('reads the sources of every folder', () => {
    for (const folder of FOLDERS) expect(files.some((f) => top(f) === folder)).toBe(true);
  });

  it('has no import into another tier’s internals, into tests/ or tools/ from below, and no cycle', () => {
    expect(violations(crossFolderImports(files, read))).toEqual([]);
  });

  it('reports each kind of breach', () => {
    const bad = [
      { from: 'gateway/src/app.ts', to: 'evaluator/service/config.ts' },
      { from: 'widget/src/a.ts', to: 'tests/support/tfhe-keys.ts' },
      { from: 'evaluator/circuit/a.ts', to: 'tools/model/train.ts' },
      { from: 'model/infer.ts', to: 'party/index.ts' },
      { from: 'tools/bench/x.ts', to: 'fhe/wasm/kernels.ts' },
      { from: 'protocol/a.ts', to: 'fhe/index.ts' },
    ];
    const found = violations(bad);
    expect(found.filter((v) => v.includes('not a public module'))).toHaveLength(2);
    expect(found.filter((v) => v.includes('only tests/ and tools/'))).toHaveLength(2);
    expect(found.filter((v) => v.includes('a shared layer imports a tier'))).toHaveLength(1);
    // fhe -> protocol is real; protocol -> fhe closes a cycle.
    const real = crossFolderImports(files, read);
    expect(violations([...real, bad[5] as Edge]).some((v) => v.startsWith('import cycle:'))).toBe(true);
  });
});
