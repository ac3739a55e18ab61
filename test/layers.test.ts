// The object-store seam's layering (issue 17/18): outside src/store/, only the router
// (src/route.ts) and what sits above it (index.ts, cli.ts) may know object-store URLs;
// the local modules below never import the store, and the store never imports upward.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

const src = join(repoRoot, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Module specifiers imported or required by a file, resolved relative to src/. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(src, join(file, '..', s)));
}

// Above the store: src/index.ts, the router and the CLI.
const isUpper = (name: string): boolean => name === 'index.ts' || name.startsWith('route/') || name.startsWith('cli/');

describe('layers', () => {
  const all = files(src).map((f) => ({ file: f, name: relative(src, f) }));

  it('only route/ (and index.ts, cli/ above it) import the store or ask for URL schemes', () => {
    const offenders = all
      .filter(({ name }) => !isUpper(name) && !name.startsWith('store/'))
      .filter(({ file }) => imports(file).some((i) => i === 'store' || i.startsWith('store/')) || /isS3Url|isRemoteUrl|remoteScheme/.test(readFileSync(file, 'utf8')));
    expect(offenders.map((o) => o.name)).toEqual([]);
  });

  it('the store never imports the router or the entry points', () => {
    const upward = all.filter(({ name }) => name.startsWith('store/')).filter(({ file }) => imports(file).some((i) => i === 'index' || isUpper(`${i}/`)));
    expect(upward.map((o) => o.name)).toEqual([]);
  });

  it('index.ts takes every path-taking entry point from route.ts', () => {
    const index = readFileSync(join(src, 'index.ts'), 'utf8');
    for (const local of ['./file/write-file', './json', './file/stream', './dataset', './manifest', './formats/write', './file/sweep']) expect(index).not.toContain(`from '${local}'`);
    expect(index).toContain("from './route'");
  });
});
