// The layers of src/ (ARCHITECTURE.md): a module imports only from its own folder or from
// a folder in a lower layer, and no imports form a cycle. Every import counts: static
// imports, `export … from`, type-only imports, `typeof import(…)`, and the lazy
// `require(…)`s that keep `require('atomicwriter')` cheap (a lazy require is still a
// dependency; it only runs later).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

/**
 * The layers, lowest first. A folder may import from itself and from any folder above it
 * in this list, never from one below it. `.` is src/index.ts, the public object.
 */
export const LAYERS: readonly string[] = [
  'async', // the bounded worker pool; imports nothing of ours
  'binding', // the native module, the Node-style errors it raises, descriptor back-off
  'args', // path arguments and resolution, byte conversion
  'file', // one atomic file: options, call order, staged writes, streams, sweep
  'lock', // file locks
  'manifest', // the _SUCCESS format, markers, verify
  'formats', // format registry, serializers, write(data, path)
  'json', // writeJson, readJson, updateJson
  'dataset', // writeDataset and its stages
  'store', // object stores: the seam and its s3, gcs and azure adapters
  'route', // the one module that knows URL schemes: local or object store, per entry point
  'cli', // the atomicwriter command
  '.', // src/index.ts
];

/**
 * Imports that break a rule today, each named with its reason, so that the rules can be
 * tightened by deleting rows (a row that matches no import any more fails the test). The
 * edges here are left out of both checks, upward imports and cycles. None today: the
 * s3:// dispatch that seven local modules did (a cycle through ten modules) moved into
 * route/, above the store.
 */
export const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [];

/** The only module that loads the native addon itself; everything else goes through `native()`. */
const BINDING_LOADER = 'binding/native.ts';

export interface Edge {
  from: string;
  to: string;
  /** Erased at compile time (`import type`, `typeof import(…)`). */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier in a file, with whether only types use it. */
export function specifiers(text: string, fileName = 'x.ts'): { spec: string; typeOnly: boolean }[] {
  const found: { spec: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      found.push({ spec: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ spec: node.argument.literal.text, typeOnly: true });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      if ((ts.isIdentifier(callee) && callee.text === 'require') || callee.kind === ts.SyntaxKind.ImportKeyword) {
        found.push({ spec: node.arguments[0].text, typeOnly: false });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  return found;
}

/** The import graph of `srcDir`: edges between its modules (paths relative to it), and imports that leave it. */
export function importGraph(srcDir: string): { modules: string[]; edges: Edge[]; outside: { from: string; spec: string; typeOnly: boolean }[] } {
  const files = sourceFiles(srcDir);
  const modules = files.map((f) => relative(srcDir, f).split('\\').join('/'));
  const known = new Set(modules);
  const edges: Edge[] = [];
  const outside: { from: string; spec: string; typeOnly: boolean }[] = [];
  for (const file of files) {
    const from = relative(srcDir, file).split('\\').join('/');
    for (const { spec, typeOnly } of specifiers(readFileSync(file, 'utf8'), file)) {
      if (!spec.startsWith('.')) continue; // packages and node: builtins
      const base = relative(srcDir, resolve(dirname(file), spec)).split('\\').join('/').replace(/\.js$/, '');
      const to = [`${base}.ts`, `${base}/index.ts`].find((c) => known.has(c));
      if (to) edges.push({ from, to, typeOnly });
      else outside.push({ from, spec, typeOnly });
    }
  }
  return { modules, edges, outside };
}

export function layerOf(module: string): string {
  return module.includes('/') ? module.slice(0, module.indexOf('/')) : '.';
}

/** Edges that point to a later layer (or a sibling folder of no known layer). */
export function upwardEdges(edges: readonly Edge[], layers: readonly string[]): Edge[] {
  return edges.filter((e) => {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === to) return false;
    const a = layers.indexOf(from);
    const b = layers.indexOf(to);
    return a < 0 || b < 0 || b > a;
  });
}

/** The strongly connected components with more than one module, or a module importing itself (Tarjan). */
export function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    next.get(e.from)!.push(e.to);
    if (!next.has(e.to)) next.set(e.to, []);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return found;
}

const srcDir = join(repoRoot, 'src');
const graph = importGraph(srcDir);
const allowed = (e: Edge): boolean => EXCEPTIONS.some((a) => a.from === e.from && a.to === e.to);
const show = (e: Edge): string => `${e.from} -> ${e.to}`;

describe('the import graph of src/', () => {
  it('is read whole: every folder has a layer, and lazy requires and type imports are edges', () => {
    const folders = new Set(graph.modules.map(layerOf));
    expect([...folders].filter((f) => !LAYERS.includes(f))).toEqual([]);
    // route/ loads stream lazily and takes its types by `import type`: both are seen.
    expect(graph.edges).toContainEqual({ from: 'route/index.ts', to: 'file/stream.ts', typeOnly: false });
    expect(graph.edges).toContainEqual({ from: 'route/index.ts', to: 'file/stream.ts', typeOnly: true });
    expect(graph.edges.length).toBeGreaterThan(100);
  });

  it('imports only downward: from its own folder or a lower layer', () => {
    expect(upwardEdges(graph.edges, LAYERS).filter((e) => !allowed(e)).map(show)).toEqual([]);
  });

  it('every exception is still needed (a row no import matches fails, so the rules tighten)', () => {
    expect(EXCEPTIONS.filter((a) => !graph.edges.some((e) => e.from === a.from && e.to === a.to))).toEqual([]);
  });

  it('has no cycle, lazy requires included (the allowed exceptions aside)', () => {
    expect(cycles(graph.edges.filter((e) => !allowed(e)))).toEqual([]);
  });

  it('loads the native addon in one place only (other modules take its types)', () => {
    const loads = graph.outside.filter((o) => /(^|\/)native\/binding(\.js)?$/.test(o.spec) && !o.typeOnly);
    expect(loads.map((o) => o.from)).toEqual([BINDING_LOADER]);
  });

  it('reaches outside src/ only for the addon and package.json', () => {
    const other = graph.outside.filter((o) => !/(^|\/)native\/binding(\.js)?$/.test(o.spec) && !/(^|\/)package\.json$/.test(o.spec));
    expect(other).toEqual([]);
  });
});

describe('the checker itself', () => {
  const edge = (from: string, to: string): Edge => ({ from, to, typeOnly: false });

  it('reports an upward import, and not a downward or same-folder one', () => {
    const edges = [edge('file/a.ts', 'lock/index.ts'), edge('lock/index.ts', 'file/a.ts'), edge('file/a.ts', 'file/b.ts'), edge('x/y.ts', 'file/a.ts')];
    expect(upwardEdges(edges, LAYERS).map(show)).toEqual(['file/a.ts -> lock/index.ts', 'x/y.ts -> file/a.ts']);
  });

  it('reports a cycle through several modules, and a module importing itself', () => {
    const found = cycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts'), edge('e.ts', 'e.ts')]);
    expect(found).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
    expect(cycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts')])).toEqual([]);
  });

  it('sees lazy requires, dynamic imports, type imports and re-exports', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from './b';",
      "import { type C } from './c';",
      "export { d } from './d';",
      "const e = () => require('./e') as typeof import('./f');",
      "const g = import('./g');",
    ].join('\n');
    expect(specifiers(text)).toEqual([
      { spec: './a', typeOnly: false },
      { spec: './b', typeOnly: true },
      { spec: './c', typeOnly: true },
      { spec: './d', typeOnly: false },
      { spec: './e', typeOnly: false },
      { spec: './f', typeOnly: true },
      { spec: './g', typeOnly: false },
    ]);
  });
});
