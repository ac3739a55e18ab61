// The named API checks its arguments as fs does, the same way in every entry point:
// data that is not bytes or a string is a TypeError (ERR_INVALID_ARG_TYPE) thrown
// synchronously with nothing written, and an option name it does not know (a typo) is
// a TypeError naming it. Only the write-file-atomic compatible default export keeps
// `String(data)` and ignores unknown names.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

const NOT_DATA: Array<[string, unknown]> = [
  ['a number', 42],
  ['a BigInt', 10n],
  ['a boolean', true],
  ['a function', function source() {}],
  ['a Symbol', Symbol('s')],
  ['a plain object', { a: 1 }],
  ['an object with toString', { toString: () => 'custom' }],
  ['a Date', new Date(0)],
  ['a String object', new String('so')],
];

function expectInvalidData(fn: () => unknown): void {
  let thrown: unknown;
  try {
    const result = fn();
    // A promise returned instead of a throw is a failure of this check too.
    if (result instanceof Promise) result.catch(() => {});
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
}

describe('item 19: one data check for every entry point of the named API', () => {
  for (const [name, data] of NOT_DATA) {
    it(`${name}: writeFile, writeFileSync, AtomicFile.write/writeSync, createWriteStream throw; nothing is written`, async () => {
      const dir = scratch();
      const file = join(dir, 'f');
      expectInvalidData(() => aw.writeFile(file, data as string));
      expectInvalidData(() => aw.writeFileSync(file, data as string));
      const atomic = await aw.openAtomic(file, { namedTemp: true });
      expectInvalidData(() => atomic.write(data as string));
      expectInvalidData(() => atomic.writeSync(data as string));
      atomic.abort();
      await aw.atomicWrite(file, async () => {
        const inner = aw.openAtomicSync(join(dir, 'g'));
        expectInvalidData(() => inner.writeSync(data as string));
        inner.abort();
        throw new Error('stop');
      }).catch(() => {});
      const stream = aw.createWriteStream(file);
      stream.on('error', () => {});
      expectInvalidData(() => stream.write(data as string));
      stream.destroy();
      await stream.committed.catch(() => {});
      expect(entries(dir)).toEqual([]);
    });
  }

  it('the default export still writes String(data), async and sync', async () => {
    const dir = scratch();
    for (const [i, [, data]] of NOT_DATA.entries()) {
      await aw(join(dir, `a${i}`), data as string);
      aw.sync(join(dir, `s${i}`), data as string);
    }
    expect(entries(dir).length).toBe(2 * NOT_DATA.length);
  });

  it('null and undefined stay an empty file (the documented WriteData type)', async () => {
    const dir = scratch();
    await aw.writeFile(join(dir, 'n'), null);
    aw.writeFileSync(join(dir, 'u'), undefined);
    expect(entries(dir)).toEqual(['n', 'u']);
  });

  it('atomicWrite(path, 42) throws synchronously, like the rest', () => {
    const dir = scratch();
    expect(() => aw.atomicWrite(join(dir, 'f'), 42 as never)).toThrow(TypeError);
    expect(() => aw.atomicWrite(join(dir, 'f'), () => {}, 'utf8' as never)).toThrow(TypeError);
    expect(() => aw.atomicWrite(join(dir, 'f'), () => {}, { mode: 'x' } as never)).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
  });
});

describe('unknown option names', () => {
  const calls: Array<[string, (file: string, options: object) => unknown]> = [
    ['writeFile', (file, options) => aw.writeFile(file, 'x', options as never)],
    ['writeFileSync', (file, options) => aw.writeFileSync(file, 'x', options as never)],
    ['openAtomic', (file, options) => aw.openAtomic(file, options as never)],
    ['openAtomicSync', (file, options) => aw.openAtomicSync(file, options as never)],
    ['atomicWrite', (file, options) => aw.atomicWrite(file, () => {}, options as never)],
    ['writeJson', (file, options) => aw.writeJson(file, {}, options as never)],
    ['updateJson', (file, options) => aw.updateJson(file, () => 1, options as never)],
    ['createWriteStream', (file, options) => aw.createWriteStream(file, options as never)],
    ['readJson', (file, options) => aw.readJson(file, options as never)],
    ['lock', (file, options) => aw.lock(file, options as never)],
    ['tryLock', (file, options) => aw.tryLock(file, options as never)],
    ['withLock', (file, options) => aw.withLock(file, () => {}, options as never)],
  ];
  for (const [name, call] of calls) {
    it(`${name}: a typo is a TypeError naming the option, nothing touched`, () => {
      const dir = scratch();
      let thrown: unknown;
      try {
        call(join(dir, 'sub', 'f'), { fsyn: false, mkdir: true });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as { code?: string }).code).toBe('ERR_INVALID_ARG_VALUE');
      expect((thrown as Error).message).toContain('"options.fsyn"');
      expect(entries(dir)).toEqual([]);
    });
  }

  it('the options each call documents are accepted', async () => {
    const dir = scratch();
    const signal = new AbortController().signal;
    const json = { mode: 0o600, chown: null, fsync: false, signal, exclusive: false, mkdir: false, busyTimeout: 0 } as const;
    const common = { ...json, encoding: 'utf8' } as const;
    await aw.writeFile(join(dir, 'a'), 'x', { ...common, onProgress: () => {}, totalBytes: 1, tmpfileCreated: () => {} });
    aw.writeFileSync(join(dir, 'b'), 'x', common);
    (await aw.openAtomic(join(dir, 'c'), { ...common, namedTemp: true })).abort();
    await aw.atomicWrite(join(dir, 'd'), () => {}, common);
    await aw.writeJson(join(dir, 'e'), {}, { ...json, indent: 0, replacer: null });
    await aw.updateJson(join(dir, 'g'), () => 1, { ...json, defaultData: 0, lockTimeout: 100 });
    const stream = aw.createWriteStream(join(dir, 'h'), { ...common, highWaterMark: 16, onProgress: () => {}, totalBytes: 1 });
    stream.end('x');
    await stream.committed;
    expect(await aw.readJson(join(dir, 'e'), { default: 0, reviver: (_k: string, v: unknown) => v })).toEqual({});
    (await aw.lock(join(dir, 'l'), { timeout: 100, shared: true, range: { offset: 0, length: 1 }, signal, mkdir: false })).release();
    expect(entries(dir)).toEqual(['a', 'b', 'd', 'e', 'g', 'g.lock', 'h', 'l']);
  });

  it('the default export ignores unknown names, as write-file-atomic does', async () => {
    const dir = scratch();
    await aw(join(dir, 'a'), 'x', { fsyn: false } as never);
    aw.sync(join(dir, 'b'), 'x', { fsyn: false } as never);
    expect(entries(dir)).toEqual(['a', 'b']);
  });
});

// One set of option validators (src/args/validate.ts): a boolean option given something
// else is a TypeError "must be of type boolean", an integer option given a non-number a
// TypeError "of type number", one out of range (or not whole) a RangeError naming the
// bounds, whichever entry point read it; all before the disk is touched.
describe('one option validator set', () => {
  function thrown(fn: () => unknown): { ctor: unknown; code: unknown; message: string } {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch(() => {});
    } catch (err) {
      const e = err as Error & { code?: string };
      return { ctor: e.constructor, code: e.code, message: e.message };
    }
    throw new Error('nothing was thrown');
  }

  it('boolean options share one wording across writes, locks, sweep, verify, formats and datasets', () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const cases: Array<[string, () => unknown]> = [
      ['options.mkdir', () => aw.writeFile(file, 'x', { mkdir: 'yes' as unknown as boolean })],
      ['options.shared', () => aw.lock(file, { shared: 1 as unknown as boolean })],
      ['options.dryRun', () => aw.sweep(dir, { dryRun: 'no' as unknown as boolean })],
      ['options.checksums', () => aw.verify(dir, { checksums: 0 as unknown as boolean })],
      ['options.header', () => aw.write([{ a: 1 }], join(dir, 'x.csv'), { header: 'no' } as never)],
      ['options.marker', () => aw.write('x', file, { marker: 'yes' } as never)],
      ['options.fsync', () => aw.writeDataset(join(dir, 'd'), async () => {}, { fsync: 'no' as unknown as boolean })],
    ];
    for (const [name, fn] of cases) {
      const t = thrown(fn);
      expect(t.ctor, name).toBe(TypeError);
      expect(t.code, name).toBe('ERR_INVALID_ARG_TYPE');
      expect(t.message, name).toContain(`"${name}" argument must be of type boolean`);
    }
    expect(entries(dir)).toEqual([]);
  });

  it('integer options: a non-number is a TypeError, out of range or fractional a RangeError with the bounds', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const types: Array<[string, () => unknown]> = [
      ['options.totalBytes', () => aw.writeFile(file, ['x'], { totalBytes: '1' as unknown as number })],
      ['options.highWaterMark', () => aw.createWriteStream(file, { highWaterMark: '1' as unknown as number })],
      ['options.busyTimeout', () => aw.writeFile(file, 'x', { busyTimeout: '1' as unknown as number })],
    ];
    for (const [name, fn] of types) {
      const t = thrown(fn);
      expect(t.ctor, name).toBe(TypeError);
      expect(t.message, name).toContain(`"${name}" argument must be of type number`);
    }
    const ranges: Array<[string, string, () => unknown]> = [
      ['options.totalBytes', 'an integer >= 0', () => aw.writeFile(file, ['x'], { totalBytes: -1 })],
      ['options.highWaterMark', 'an integer >= 1', () => aw.createWriteStream(file, { highWaterMark: 0.5 })],
      ['options.rowGroupSize', 'an integer >= 1 and <= 100000000', () => aw.write([{ a: 1 }], join(dir, 'x.parquet'), { rowGroupSize: 0 } as never)],
    ];
    for (const [name, bounds, fn] of ranges) {
      const t = thrown(fn);
      expect(t.ctor, name).toBe(RangeError);
      expect(t.code, name).toBe('ERR_OUT_OF_RANGE');
      expect(t.message, name).toContain(bounds);
    }
    // A part's `rows` was a TypeError for -1 (its own check); now the shared RangeError.
    await expect(
      aw.writeDataset(join(dir, 'd'), async (stage) => {
        expect(() => stage.write('p.bin', 'x', { rows: -1 })).toThrow(RangeError);
      }),
    ).resolves.toBeDefined();
    expect(entries(dir)).toEqual(['d']);
  });
});
