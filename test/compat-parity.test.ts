// The default export side by side with write-file-atomic 8 (the `write-file-atomic-8`
// devDependency): each call shape runs against both, into fresh directories, and the
// outcomes must be the same: the file's bytes and mode, what else is left in the
// directory, the callback's arguments, and whether it threw or rejected. The
// differences the README's compatibility table declares are checked on their own.
import { chownSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, isRoot, OTHER_UID, scratch } from './helpers.js';

const require = createRequire(import.meta.url);
type Wfa = ((path: string, data: unknown, options?: unknown, cb?: (...args: unknown[]) => void) => Promise<void>) & { sync: (path: string, data: unknown, options?: unknown) => void };
const wfa8 = require('write-file-atomic-8') as Wfa;
const ours = aw as unknown as Wfa;

interface Outcome {
  threw?: string;
  rejected?: string;
  callback?: string[];
  content: string | null;
  mode?: number;
  left: string[];
}

function describeArg(a: unknown): string {
  if (a === undefined) return 'undefined';
  if (a === null) return 'null';
  if (a instanceof Error) return `${a.name} ${(a as Error & { code?: string }).code ?? ''}`.trim();
  return typeof a;
}

function describeError(err: unknown): string {
  return err instanceof Error ? describeArg(err) : String(err);
}

function outcome(dir: string, base: Omit<Outcome, 'content' | 'left'>): Outcome {
  const file = join(dir, 'f');
  let content: string | null = null;
  let mode: number | undefined;
  try {
    content = readFileSync(file).toString('hex');
    mode = statSync(file).mode & 0o7777;
  } catch {
    // no file
  }
  return { ...base, content, mode, left: readdirSync(dir).filter((n) => n !== 'f') };
}

type Shape = 'callback' | 'promise' | 'sync';

async function run(lib: Wfa, shape: Shape, data: () => unknown, options: () => unknown): Promise<Outcome> {
  const dir = scratch('aw-parity-');
  const file = join(dir, 'f');
  if (shape === 'sync') {
    try {
      lib.sync(file, data(), options());
      return outcome(dir, {});
    } catch (err) {
      return outcome(dir, { threw: describeError(err) });
    }
  }
  if (shape === 'promise') {
    try {
      await lib(file, data(), options());
      return outcome(dir, {});
    } catch (err) {
      return outcome(dir, { rejected: describeError(err) });
    }
  }
  let threw: string | undefined;
  const args = await new Promise<unknown[]>((resolve) => {
    try {
      void lib(file, data(), options(), (...a: unknown[]) => resolve(a));
    } catch (err) {
      threw = describeError(err);
      resolve([]);
    }
  });
  return outcome(dir, threw ? { threw } : { callback: args.map(describeArg) });
}

// [name, data, options]: fresh values for each run (write-file-atomic changes its options).
const SAME: Array<[string, () => unknown, () => unknown]> = [
  // 23: fsync is "anything but false syncs" in write-file-atomic.
  ['fsync: null', () => 'x', () => ({ fsync: null })],
  ['fsync: 0', () => 'x', () => ({ fsync: 0 })],
  ['fsync: ""', () => 'x', () => ({ fsync: '' })],
  ['fsync: "no"', () => 'x', () => ({ fsync: 'no' })],
  ['fsync: 1', () => 'x', () => ({ fsync: 1 })],
  ['fsync: false', () => 'x', () => ({ fsync: false })],
  // 24: encoding is ignored for buffers.
  ['Buffer, encoding ""', () => Buffer.from('b\u00e9'), () => ({ encoding: '' })],
  ['Buffer, encoding "buffer"', () => Buffer.from('b\u00e9'), () => ({ encoding: 'buffer' })],
  ['Buffer, encoding "bogus"', () => Buffer.from('b\u00e9'), () => ({ encoding: 'bogus' })],
  ['Buffer, encoding 5', () => Buffer.from('b\u00e9'), () => ({ encoding: 5 })],
  ['Buffer, encoding null', () => Buffer.from('b\u00e9'), () => ({ encoding: null })],
  ['Buffer, options "bogus"', () => Buffer.from('b\u00e9'), () => 'bogus'],
  ['Uint8Array, encoding "hex"', () => new Uint8Array([1, 2, 250]), () => ({ encoding: 'hex' })],
  // ... and for strings an empty or unknown name is utf8, as fs.writeSync makes it.
  ['string, encoding ""', () => '\u00e9\u20ac', () => ({ encoding: '' })],
  ['string, encoding "bogus"', () => '\u00e9\u20ac', () => ({ encoding: 'bogus' })],
  ['string, encoding "buffer"', () => '\u00e9\u20ac', () => ({ encoding: 'buffer' })],
  ['string, encoding 5', () => '\u00e9\u20ac', () => ({ encoding: 5 })],
  ['string, encoding null', () => '\u00e9\u20ac', () => ({ encoding: null })],
  ['string, encoding "latin1"', () => '\u00e9\u20ac', () => ({ encoding: 'latin1' })],
  ['string, encoding "Utf-8"', () => '\u00e9\u20ac', () => ({ encoding: 'Utf-8' })],
  ['string, options "ucs2"', () => '\u00e9\u20ac', () => 'ucs2'],
  ['string, options "bogus"', () => '\u00e9\u20ac', () => 'bogus'],
  // 25: whatever is not a buffer (nor a stream) is String(data).
  ['a Map', () => new Map([[1, 2]]), () => undefined],
  ['a Set', () => new Set([1]), () => undefined],
  ['a plain object', () => ({ a: 1 }), () => undefined],
  ['an object with toString', () => ({ toString: () => 'custom' }), () => undefined],
  ['a Date', () => new Date(0), () => undefined],
  ['a number', () => 42, () => undefined],
  ['a BigInt', () => 10n, () => undefined],
  ['a boolean', () => true, () => undefined],
  ['a function', () => function source() {}, () => undefined],
  ['a Symbol', () => Symbol('s'), () => undefined],
  ['an array of numbers', () => [1, 2], () => undefined],
  ['an array of strings', () => ['a', 'b'], () => undefined],
  ['a String object', () => new String('so'), () => undefined],
  ['a generator', () => (function* () { yield 'a'; })(), () => undefined],
  ['null', () => null, () => undefined],
  ['undefined', () => undefined, () => undefined],
  // 26 (and the rest): options write-file-atomic ignores or reads loosely.
  ['a string', () => 'plain', () => undefined],
  ['options a number', () => 'x', () => 5],
  ['options true', () => 'x', () => true],
  ['unknown option names', () => 'x', () => ({ fsyn: false, flag: 'wx' })],
  ['tmpfileCreated: null', () => 'x', () => ({ tmpfileCreated: null })],
  ['tmpfileCreated: false', () => 'x', () => ({ tmpfileCreated: false })],
  ['chown: null', () => 'x', () => ({ chown: null })],
  ['chown: false', () => 'x', () => ({ chown: false })],
  // -1 is "leave it unchanged" for fchown, and both pass it through.
  ['chown: {uid: -1, gid: -1}', () => 'x', () => ({ chown: { uid: -1, gid: -1 } })],
  ['mode 0o640', () => 'x', () => ({ mode: 0o640 })],
  ['mode "640"', () => 'x', () => ({ mode: '640' })],
  ['mode null', () => 'x', () => ({ mode: null })],
];

// Under Bun, write-file-atomic itself behaves differently for these: Bun's fs.write and
// fs.writeSync reject an encoding name they do not know (TypeError ERR_INVALID_ARG_VALUE)
// where Node's write the string as UTF-8 (oven-sh/bun#43435, open). atomicwriter decodes
// the string itself and writes UTF-8 on both runtimes, as write-file-atomic does on Node.
const BUN_REJECTS_ENCODING = new Set(['string, encoding "bogus"', 'string, encoding 5', 'string, options "bogus"']);

function bunRejection(shape: Shape): Outcome {
  const err = 'TypeError ERR_INVALID_ARG_VALUE';
  const base = shape === 'callback' ? { callback: [err] } : shape === 'promise' ? { rejected: err } : { threw: err };
  return { ...base, content: null, left: [] };
}

describe('the default export behaves as write-file-atomic 8', () => {
  for (const shape of ['callback', 'promise', 'sync'] as const) {
    it(`${shape}: the same file, mode, leftovers and ${shape === 'callback' ? 'callback arguments' : 'outcome'} for ${SAME.length} call shapes`, async () => {
      const differences: string[] = [];
      for (const [name, data, options] of SAME) {
        let theirs = await run(wfa8, shape, data, options);
        const mine = await run(ours, shape, data, options);
        if (process.versions.bun && BUN_REJECTS_ENCODING.has(name)) {
          expect(theirs, name).toEqual(bunRejection(shape));
          // Node's outcome: the same as for an empty encoding name, which is UTF-8 on both.
          theirs = await run(wfa8, shape, data, () => ({ encoding: '' }));
        }
        try {
          expect(mine).toEqual(theirs);
        } catch {
          differences.push(`${name}:\n  write-file-atomic ${JSON.stringify(theirs)}\n  atomicwriter      ${JSON.stringify(mine)}`);
        }
      }
      expect(differences.join('\n')).toBe('');
    });
  }

  it('23: chown -1 leaves that id unchanged (the writer\'s), the file written, as write-file-atomic 8 and fs.chown do', async () => {
    const owners: Record<string, string> = {};
    for (const [name, lib] of [['write-file-atomic', wfa8], ['atomicwriter', ours]] as const) {
      const dir = scratch();
      const file = join(dir, 'f');
      const cases: Array<[string, (done: (err?: unknown) => void) => void]> = [
        ['callback', (done) => void lib(file, 'c', { chown: { uid: -1, gid: -1 } }, (err) => done(err))],
        ['sync', (done) => done(lib.sync(file, 's', { chown: { uid: -1, gid: -1 } }))],
      ];
      for (const [shape, call] of cases) {
        // An existing file of another owner: -1 means the writer's id, not the old file's.
        writeFileSync(file, 'old');
        if (isRoot) chownSync(file, OTHER_UID, OTHER_UID);
        const err = await new Promise((resolve) => call(resolve));
        const st = statSync(file);
        owners[`${name} ${shape}`] = `${String(err)} ${readFileSync(file, 'utf8')} ${st.uid}:${st.gid}`;
      }
    }
    const me = `${process.geteuid?.()}:${process.getegid?.()}`;
    expect(owners).toEqual({
      'write-file-atomic callback': `undefined c ${me}`,
      'write-file-atomic sync': `undefined s ${me}`,
      'atomicwriter callback': `undefined c ${me}`,
      'atomicwriter sync': `undefined s ${me}`,
    });
    // The named API takes it too; another id beside -1 still applies.
    const dir = scratch();
    await aw.writeFile(join(dir, 'n'), 'n', { chown: { uid: -1, gid: -1 } });
    expect(readFileSync(join(dir, 'n'), 'utf8')).toBe('n');
    if (isRoot) {
      await aw.writeFile(join(dir, 'm'), 'm', { chown: { uid: OTHER_UID, gid: -1 } });
      expect([statSync(join(dir, 'm')).uid, statSync(join(dir, 'm')).gid]).toEqual([OTHER_UID, process.getegid?.()]);
    }
    expect(() => ours(join(dir, 'x'), 'x', { chown: { uid: -2, gid: -1 } })).toThrow(RangeError);
  });

  it('26: the success callback gets exactly one argument, undefined, as in write-file-atomic 8', async () => {
    for (const lib of [wfa8, ours]) {
      const dir = scratch();
      const args = await new Promise<unknown[]>((resolve) => void lib(join(dir, 'f'), 'x', {}, (...a: unknown[]) => resolve(a)));
      expect(args).toEqual([undefined]);
      expect(args.length).toBe(1);
    }
  });

  it('does not change the caller\'s options (write-file-atomic does: a declared difference)', async () => {
    const dir = scratch();
    const options = { fsync: null, encoding: 'bogus' };
    await ours(join(dir, 'f'), Buffer.from('x'), options);
    ours.sync(join(dir, 'g'), 'y', options);
    expect(options).toEqual({ fsync: null, encoding: 'bogus' });
  });
});

describe('the differences the compatibility table declares', () => {
  it('typed arrays are written by bytes, ArrayBuffers by their bytes', async () => {
    const dir = scratch();
    await ours(join(dir, 'u16'), new Uint16Array([0x4141, 0x4242]));
    await ours(join(dir, 'ab'), new Uint8Array([1, 2]).buffer);
    expect(readFileSync(join(dir, 'u16'), 'latin1')).toBe('AABB');
    expect([...readFileSync(join(dir, 'ab'))]).toEqual([1, 2]);
  });

  it('streams (Readable, async iterables) are consumed; sync iterables stay String(data)', async () => {
    const dir = scratch();
    const { Readable } = await import('node:stream');
    await ours(join(dir, 'r'), Readable.from(['a', 'b']));
    await ours(join(dir, 'g'), (async function* () { yield 'c'; })());
    await ours(join(dir, 's'), new Set(['x']));
    expect(readFileSync(join(dir, 'r'), 'utf8')).toBe('ab');
    expect(readFileSync(join(dir, 'g'), 'utf8')).toBe('c');
    expect(readFileSync(join(dir, 's'), 'utf8')).toBe('[object Set]');
    expect(entries(dir)).toEqual(['g', 'r', 's']);
  });

  it('mode: 0 is mode 0 in sync mode too (write-file-atomic\'s sync takes 0 as absent)', async () => {
    const dir = scratch();
    await ours(join(dir, 'a'), 'x', { mode: 0 });
    ours.sync(join(dir, 's'), 'x', { mode: 0 });
    expect(statSync(join(dir, 'a')).mode & 0o7777).toBe(0);
    expect(statSync(join(dir, 's')).mode & 0o7777).toBe(0);
  });

  it('invalid option values throw synchronously, before the disk is touched', () => {
    const dir = scratch();
    expect(() => ours(join(dir, 'f'), 'x', { mode: 'abc' })).toThrow(TypeError);
    expect(() => ours(join(dir, 'f'), 'x', { mode: -1 })).toThrow(RangeError);
    expect(() => ours(join(dir, 'f'), 'x', { tmpfileCreated: 5 })).toThrow(TypeError);
    expect(() => ours(join(dir, 'f'), 'x', { chown: 5 })).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
  });
});
