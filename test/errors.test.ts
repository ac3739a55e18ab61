// Failures are Node-style errors with nothing lost, and bad arguments throw before the
// disk is touched.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch, scratchFile } from './helpers.js';

interface Expected {
  code: string;
  errno: number;
  syscall: string | string[];
  path: string;
}

/** Runs `fn` (sync or async), expecting it to fail with a Node-style error. */
async function failure(fn: () => unknown): Promise<NodeJS.ErrnoException> {
  try {
    await fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a failure');
}

function expectNodeError(err: NodeJS.ErrnoException, want: Expected): void {
  expect(err).toBeInstanceOf(Error);
  expect(err.code).toBe(want.code);
  expect(typeof err.errno).toBe('number');
  expect(err.errno).toBe(want.errno);
  expect([want.syscall].flat()).toContain(err.syscall);
  expect(err.path).toBe(want.path);
  // Like fs: "ENOENT: no such file or directory, open '/x'".
  expect(err.message.startsWith(`${want.code}: `)).toBe(true);
}

const modes = [
  ['async', (p: string, d: string, o?: object) => aw(p, d, o)],
  ['sync', (p: string, d: string, o?: object) => aw.sync(p, d, o)],
] as const;

describe.each(modes)('%s', (_mode, write) => {
  describe('exclusive', () => {
    // Both temp kinds: O_TMPFILE publishes with linkat, a named temp with renameat2.
    for (const named of [false, true]) {
      const temp = named ? 'named temp' : 'default temp';
      it(`${temp}: EEXIST on an existing file, old content untouched, no temp`, async () => {
        const { dir, file } = scratchFile('f', 'old');
        const options = { exclusive: true, ...(named ? { tmpfileCreated: () => {} } : {}) };
        const err = await failure(() => write(file, 'new', options));
        expectNodeError(err, { code: 'EEXIST', errno: -17, syscall: ['rename', 'link'], path: file });
        expect(readFileSync(file, 'utf8')).toBe('old');
        expect(entries(dir)).toEqual(['f']);
      });

      it(`${temp}: creates the file when it is missing`, async () => {
        const dir = scratch();
        const file = join(dir, 'f');
        await write(file, 'new', { exclusive: true, mode: 0o640, ...(named ? { tmpfileCreated: () => {} } : {}) });
        expect(readFileSync(file, 'utf8')).toBe('new');
        expect(statSync(file).mode & 0o777).toBe(0o640);
        expect(entries(dir)).toEqual(['f']);
      });
    }
  });

  it('a missing parent is ENOENT with code, errno, syscall and path, and a hint', async () => {
    const dir = scratch();
    const file = join(dir, 'no', 'such', 'f');
    const err = await failure(() => write(file, 'x'));
    expectNodeError(err, { code: 'ENOENT', errno: -2, syscall: 'open', path: file });
    expect(err.message).toMatch(/mkdir: true/);
    expect(entries(dir)).toEqual([]);
  });

  it('mkdir: true creates the missing parents', async () => {
    const dir = scratch();
    const file = join(dir, 'a', 'b', 'c', 'f');
    await write(file, 'deep', { mkdir: true });
    expect(readFileSync(file, 'utf8')).toBe('deep');
    expect(entries(join(dir, 'a', 'b', 'c'))).toEqual(['f']);
  });

  it('a directory target is EISDIR, and the directory is untouched', async () => {
    const dir = scratch();
    const target = join(dir, 'd');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'kept');
    const err = await failure(() => write(target, 'x'));
    expectNodeError(err, { code: 'EISDIR', errno: -21, syscall: 'open', path: target });
    expect(statSync(target).isDirectory()).toBe(true);
    expect(entries(target)).toEqual(['inside']);
    expect(entries(dir)).toEqual(['d']);
  });
});

describe('bad arguments throw before the disk is touched', () => {
  // write-file-atomic accepts these (see compat-parity.test.ts): the compatible
  // default export does too; the named API refuses them.
  const looseInCompat = new Set(['a number as options', 'true as options', 'an unknown encoding as options', "fsync: 'yes'", "encoding: 'nope'", 'encoding: 5']);
  const badOptions: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['a number as options', 42, TypeError],
    ['true as options', true, TypeError],
    ['an unknown encoding as options', 'nope', TypeError],
    ['mode: -1', { mode: -1 }, RangeError],
    ['mode: 1.5', { mode: 1.5 }, RangeError],
    ['mode: 0o1000000', { mode: 0o1000000 }, RangeError],
    ["mode: 'abc'", { mode: 'abc' }, TypeError],
    ["mode: '0o644' (not plain octal digits)", { mode: '0o644' }, TypeError],
    ['mode: {}', { mode: {} }, TypeError],
    ["chown: { uid: 'x' }", { chown: { uid: 'x', gid: 0 } }, TypeError],
    ['chown without gid', { chown: { uid: 0 } }, TypeError],
    // -1 is fs.chown's "leave it unchanged" (compat-parity.test.ts); below it is out of range.
    ['chown: { uid: -2 }', { chown: { uid: -2, gid: 0 } }, RangeError],
    ["chown: 'root'", { chown: 'root' }, TypeError],
    ["fsync: 'yes'", { fsync: 'yes' }, TypeError],
    ['tmpfileCreated: 5', { tmpfileCreated: 5 }, TypeError],
    ["encoding: 'nope'", { encoding: 'nope' }, TypeError],
    ['encoding: 5', { encoding: 5 }, TypeError],
    ["exclusive: 'yes'", { exclusive: 'yes' }, TypeError],
    ['mkdir: 1', { mkdir: 1 }, TypeError],
    ['signal: {}', { signal: {} }, TypeError],
  ];
  const badPaths: [string, unknown][] = [
    ['a number as path', 123],
    ['an empty string', ''],
    ['null', null],
    ['an object', { path: 'x' }],
    ['a path with a NUL byte', 'a\0b'],
    ['an empty Buffer', Buffer.alloc(0)],
  ];
  // Every entry point a caller can reach with these arguments, called as a user would.
  const entryPoints: [string, (path: unknown, options: unknown) => unknown][] = [
    ['writeFileAtomic', (p, o) => aw(p as string, 'x', o as object)],
    ['writeFileAtomic with a callback', (p, o) => aw(p as string, 'x', o as object, () => {})],
    ['writeFileAtomic.sync', (p, o) => aw.sync(p as string, 'x', o as object)],
    ['writeFile', (p, o) => aw.writeFile(p as string, 'x', o as object)],
    ['writeFileSync', (p, o) => aw.writeFileSync(p as string, 'x', o as object)],
    ['openAtomic', (p, o) => aw.openAtomic(p as string, o as object)],
    ['openAtomicSync', (p, o) => aw.openAtomicSync(p as string, o as object)],
  ];

  describe.each(entryPoints)('%s', (name, call) => {
    const cases = name.startsWith('writeFileAtomic') ? badOptions.filter(([c]) => !looseInCompat.has(c)) : badOptions;
    it.each(cases)('%s', (_case, options, Kind) => {
      const dir = scratch();
      // Synchronously: a thrown error, not a rejected promise.
      expect(() => call(join(dir, 'f'), options)).toThrow(Kind);
      expect(entries(dir)).toEqual([]);
    });

    it.each(badPaths)('%s', (_case, path) => {
      const dir = scratch();
      expect(() => call(path, undefined)).toThrow(TypeError);
      expect(entries(dir)).toEqual([]);
    });
  });

  it('errors say what was wrong and carry a Node code', () => {
    const dir = scratch();
    let err: (RangeError & { code?: string }) | undefined;
    try {
      aw.sync(join(dir, 'f'), 'x', { mode: -1 });
    } catch (e) {
      err = e as RangeError;
    }
    expect(err).toBeInstanceOf(RangeError);
    expect(err!.code).toBe('ERR_OUT_OF_RANGE');
    expect(err!.message).toMatch(/options\.mode/);
    expect(() => aw.sync(123 as unknown as string, 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('atomicWrite throws the TypeError synchronously, like the rest, and touches nothing', () => {
    const dir = scratch();
    expect(() => aw.atomicWrite(join(dir, 'f'), async () => {}, { mode: 'abc' })).toThrow(TypeError);
    expect(() => aw.atomicWrite(join(dir, 'f'), 'not a function' as unknown as () => void)).toThrow(TypeError);
    expect(() => aw.atomicWrite(123 as unknown as string, async () => {})).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
  });
});
