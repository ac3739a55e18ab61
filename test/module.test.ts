// How the package loads, checked in fresh Node processes started in the package root
// (so `atomicwriter` resolves to this package by its name, as users import it).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastJson, runNode, scratch } from './helpers.js';

async function cjs<T>(script: string): Promise<T> {
  const result = await runNode(['-e', script]);
  expect(result.status, result.stderr).toBe(0);
  return lastJson<T>(result);
}

async function esm<T>(script: string): Promise<T> {
  const result = await runNode(['--input-type=module', '-e', script]);
  expect(result.status, result.stderr).toBe(0);
  return lastJson<T>(result);
}

// The named API that issue 3 defines; later capabilities add more names.
const NAMED = ['sync', 'writeFile', 'writeFileSync', 'openAtomic', 'openAtomicSync', 'atomicWrite', 'AtomicFile', 'sweep'];

describe('CommonJS', () => {
  it("require('atomicwriter') is the write function, with .sync and the named exports", async () => {
    const dir = scratch();
    const out = await cjs<{ type: string; types: Record<string, string>; self: boolean; wrote: string }>(`
      const aw = require('atomicwriter');
      const types = {};
      for (const name of ${JSON.stringify(NAMED)}) types[name] = typeof aw[name];
      (async () => {
        await aw(${JSON.stringify(join(dir, 'f'))}, 'via require');
        const wrote = require('node:fs').readFileSync(${JSON.stringify(join(dir, 'f'))}, 'utf8');
        console.log(JSON.stringify({ type: typeof aw, types, self: aw.default === aw && typeof aw.sync === 'function' && aw.sync !== aw.writeFileSync, wrote }));
      })();
    `);
    expect(out.type).toBe('function');
    expect(out.types).toEqual(Object.fromEntries(NAMED.map((n) => [n, 'function'])));
    expect(out.self).toBe(true);
    expect(out.wrote).toBe('via require');
  });
});

describe('ESM', () => {
  it("import writeFileAtomic, { writeFile } from 'atomicwriter' works and is the CommonJS object", async () => {
    const dir = scratch();
    const out = await esm<{ same: boolean; sameNamed: boolean; missing: string[]; wrote: string[] }>(`
      import writeFileAtomic, { writeFile, sync } from 'atomicwriter';
      import * as ns from 'atomicwriter';
      import { createRequire } from 'node:module';
      import { readFileSync } from 'node:fs';
      const cjs = createRequire(process.cwd() + '/')('atomicwriter');
      await writeFileAtomic(${JSON.stringify(join(dir, 'a'))}, 'default');
      await writeFile(${JSON.stringify(join(dir, 'b'))}, 'named');
      sync(${JSON.stringify(join(dir, 'c'))}, 'sync');
      // Every name on the CommonJS object must be importable by name too.
      const missing = Object.keys(cjs).filter((k) => !(k in ns));
      console.log(JSON.stringify({
        same: writeFileAtomic === cjs && ns.default === cjs,
        sameNamed: writeFile === cjs.writeFile && sync === cjs.sync && ns.AtomicFile === cjs.AtomicFile,
        missing,
        wrote: ['a', 'b', 'c'].map((n) => readFileSync(${JSON.stringify(dir)} + '/' + n, 'utf8')),
      }));
    `);
    expect(out.same).toBe(true);
    expect(out.sameNamed).toBe(true);
    expect(out.missing).toEqual([]);
    expect(out.wrote).toEqual(['default', 'named', 'sync']);
  });
});

describe('loading stays light', () => {
  it('the native addon loads on first use, not on require', async () => {
    const dir = scratch();
    const out = await cjs<{ afterRequire: string[]; afterWrite: string[] }>(`
      const { readFileSync } = require('node:fs');
      // Anything mapped from a .node file, and any .node module required.
      const addons = () => [
        ...readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node')).map((l) => l.split(/\\s+/).pop()),
        ...Object.keys(require.cache).filter((k) => k.endsWith('.node')),
      ];
      const aw = require('atomicwriter');
      const afterRequire = addons();
      aw.sync(${JSON.stringify(join(dir, 'f'))}, 'x');
      console.log(JSON.stringify({ afterRequire, afterWrite: addons() }));
    `);
    expect(out.afterRequire).toEqual([]);
    // The probe does see the addon once a write has run.
    expect(out.afterWrite.some((p) => /atomicwriter.*\.node$/.test(p))).toBe(true);
  });

  it("require loads fewer modules than write-file-atomic's (built-in and files, counted)", async () => {
    const count = (pkg: string) =>
      cjs<{ builtin: string[]; files: string[] }>(`
        const builtin = process.moduleLoadList.length;
        const files = new Set(Object.keys(require.cache));
        require(${JSON.stringify(pkg)});
        console.log(JSON.stringify({
          builtin: process.moduleLoadList.slice(builtin),
          files: Object.keys(require.cache).filter((f) => !files.has(f)),
        }));
      `);
    const ours = await count('atomicwriter');
    const theirs = await count('write-file-atomic');
    const total = (m: { builtin: string[]; files: string[] }) => m.builtin.length + m.files.length;
    console.log(`modules loaded by require: atomicwriter ${ours.builtin.length} built-in + ${ours.files.length} files, write-file-atomic ${theirs.builtin.length} + ${theirs.files.length}`);
    // No dependency (apache-arrow, parquet, the S3 SDK...) and no heavy built-in at require time.
    expect(ours.files.filter((f) => f.includes('/node_modules/'))).toEqual([]);
    if (process.versions.bun) {
      // Bun keeps process.moduleLoadList empty: the built-ins a require loads cannot be
      // counted there (write-file-atomic's 47 under Node are most of its total), so
      // the comparison is made under Node only.
      expect([ours.builtin, theirs.builtin]).toEqual([[], []]);
      return;
    }
    const heavy = ours.builtin.filter((m) => /^NativeModule (crypto|zlib|http|https|net|worker_threads)$/.test(m));
    expect(heavy, 'heavy built-ins loaded eagerly').toEqual([]);
    expect(total(ours), `atomicwriter loads:\n${ours.files.join('\n')}`).toBeLessThan(total(theirs));
  });
});
