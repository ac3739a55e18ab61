// The package as published: what `npm pack` ships, that its types resolve for every
// module kind and resolution mode (arethetypeswrong, publint), and that the packed
// tarball, installed into a fresh project, works through `require` and `import`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, run, scratch } from './helpers.js';

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

let packDir: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  // Not scratch(): that is emptied after each test, the tarball serves them all.
  packDir = mkdtempSync(join(tmpdir(), 'aw-pack-'));
  // --ignore-scripts: `prepare` would rebuild the addon under the other test files.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir]);
  expect(packed.status, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(packDir, info.filename);
  files = info.files.map((f) => f.path).sort();
}, 120_000);

afterAll(() => {
  if (packDir) rmSync(packDir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the runtime, the types, the loader and the docs, and nothing else', () => {
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'index.mjs', 'index.d.ts', 'index.d.mts', 'dist/index.js', 'native/binding.js', 'native/napi-binding.js', 'native/targets.js', 'bin/atomicwriter.js']) {
      expect(files, needed).toContain(needed);
    }
    const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|index\.mjs|index\.d\.ts|index\.d\.mts|native\/(napi-binding|binding|targets)\.js|bin\/[\w-]+\.js|dist\/[\w/.-]+\.js)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    // Binaries come from the per-platform packages (napi.targets), never the main one.
    expect(files.filter((f) => f.endsWith('.node'))).toEqual([]);
  });

  it('ships no stale build output: every dist file has its source', () => {
    const stale = files
      .filter((f) => f.startsWith('dist/'))
      .filter((f) => !existsSync(join(repoRoot, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    expect(stale).toEqual([]);
  });

  it('declares the platforms, the engines and both module kinds', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.napi.targets).toEqual(
      expect.arrayContaining(['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-gnu', 'x86_64-unknown-linux-musl', 'aarch64-unknown-linux-musl', 'x86_64-apple-darwin', 'aarch64-apple-darwin', 'x86_64-pc-windows-msvc']),
    );
    expect(pkg.exports['.'].import).toEqual({ types: './index.d.mts', default: './index.mjs' });
    expect(pkg.exports['.'].require).toEqual({ types: './index.d.ts', default: './dist/index.js' });
  });
});

describe('types', () => {
  it('index.d.mts is up to date with index.d.ts and index.mjs', async () => {
    const check = await run('node', ['scripts/esm-types.mjs', '--check']);
    expect(check.status, check.stderr).toBe(0);
  });

  it('index.d.mts declares exactly the named exports index.mjs has', async () => {
    const esm = await import('../index.mjs');
    const runtime = Object.keys(esm).filter((k) => k !== 'default').sort();
    const text = readFileSync(join(repoRoot, 'index.d.mts'), 'utf8');
    const declared = [...text.matchAll(/^export declare const (\w+):/gm)].map((m) => m[1]).sort();
    expect(declared).toEqual(runtime);
  });

  it('resolve for node10, node16 (CJS and ESM) and bundler: arethetypeswrong', async () => {
    const attw = await run(bin('attw'), [tarball, '--format', 'json']);
    const report = JSON.parse(attw.stdout);
    expect(report.analysis?.problems ?? report.problems ?? [], attw.stderr).toEqual([]);
    expect(attw.status).toBe(0);
  }, 120_000);

  it('pass publint --strict', async () => {
    const lint = await run(bin('publint'), ['run', tarball, '--strict']);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).not.toMatch(/Errors?:|Warnings?:/);
  }, 120_000);
});

describe('the packed tarball, installed', () => {
  it('works through require and import (with the binary a platform package would bring)', async () => {
    const project = scratch('aw-install-');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    const install = await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', tarball], { cwd: project });
    expect(install.status, install.stderr).toBe(0);
    const nativeDir = join(repoRoot, 'native');
    const binary = readdirSync(nativeDir).find((f) => f.endsWith('.node'));
    expect(binary, 'npm run build made the addon').toBeDefined();
    // The loader's documented override stands in for the platform package.
    const env = { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: join(nativeDir, binary!) };
    mkdirSync(join(project, 'out'));
    const cjs = await run('node', ['-e', "const aw = require('atomicwriter'); aw.sync('out/a.txt', 'cjs'); aw.writeFile('out/b.txt', 'named').then(() => console.log(typeof aw.lock))"], { cwd: project, env });
    expect(cjs.status, cjs.stderr).toBe(0);
    expect(cjs.stdout.trim()).toBe('function');
    const esm = await run('node', ['--input-type=module', '-e', "import aw, { writeJson, FileLockError } from 'atomicwriter'; await aw('out/c.txt', 'esm'); await writeJson('out/d.json', { ok: true }); console.log(typeof FileLockError)"], { cwd: project, env });
    expect(esm.status, esm.stderr).toBe(0);
    expect(esm.stdout.trim()).toBe('function');
    expect(readFileSync(join(project, 'out/a.txt'), 'utf8')).toBe('cjs');
    expect(readFileSync(join(project, 'out/b.txt'), 'utf8')).toBe('named');
    expect(readFileSync(join(project, 'out/c.txt'), 'utf8')).toBe('esm');
    expect(JSON.parse(readFileSync(join(project, 'out/d.json'), 'utf8'))).toEqual({ ok: true });
    // The installed copy is the packed one, not a link back to the repository.
    expect(existsSync(join(project, 'node_modules/atomicwriter/src'))).toBe(false);
  }, 120_000);
});
