// writeJson / readJson / updateJson, with real processes for the no-lost-update claims.
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type atomicwriter from '../index.js';
import { aw, entries, fixture, lastJson, runNode, scratch, scratchFile } from './helpers.js';

describe('writeJson', () => {
  it('writes JSON.stringify output and a newline, creating parent directories', async () => {
    const dir = scratch();
    const file = join(dir, 'a/b/c.json');
    await aw.writeJson(file, { x: [1, 2], y: 'z' });
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify({ x: [1, 2], y: 'z' }, null, 2)}\n`);
    await aw.writeJson(file, { x: 1, secret: 2 }, { indent: 0, replacer: ['x'] });
    expect(readFileSync(file, 'utf8')).toBe('{"x":1}\n');
    expect(entries(join(dir, 'a/b'))).toEqual(['c.json']);
  });

  it('circular structures and async iterables inside are a TypeError and touch nothing; BigInts are exact', async () => {
    const dir = scratch();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => aw.writeJson(join(dir, 'new/x.json'), circular)).toThrow(TypeError);
    expect(() => aw.writeJson(join(dir, 'new/x.json'), { n: (async function* () {})() })).toThrow(TypeError);
    expect(() => aw.writeJson(join(dir, 'new/x.json'), undefined)).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
    writeFileSync(join(dir, 'old.json'), '{"old":true}\n');
    expect(() => aw.writeJson(join(dir, 'old.json'), { n: (async function* () {})() })).toThrow(/old\.json.*async iterable/);
    expect(readFileSync(join(dir, 'old.json'), 'utf8')).toBe('{"old":true}\n');
    expect(entries(dir)).toEqual(['old.json']);
    // One JSON rule with the json format: BigInts are exact numbers.
    await aw.writeJson(join(dir, 'old.json'), { n: 12345678901234567890n }, { indent: 0 });
    expect(readFileSync(join(dir, 'old.json'), 'utf8')).toBe('{"n":12345678901234567890}\n');
  });
});

describe('readJson', () => {
  it('reads, and gives the default for a missing file only when one is given', async () => {
    const { dir, file } = scratchFile('a.json', '\ufeff{"a": 1}');
    expect(await aw.readJson(file)).toEqual({ a: 1 });
    expect(await aw.readJson(join(dir, 'missing.json'), { default: null })).toBeNull();
    expect(await aw.readJson(join(dir, 'missing.json'), { default: { d: 1 } })).toEqual({ d: 1 });
    await expect(aw.readJson(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'ENOENT', path: join(dir, 'missing.json') });
  });

  it('invalid JSON names the path, line, column and position', async () => {
    const { file } = scratchFile('bad.json', '{\n  "a": 1,\n  "b": }\n');
    const err = (await aw.readJson(file).catch((e: unknown) => e)) as atomicwriter.JsonParseError;
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err).toMatchObject({ code: 'EJSONPARSE', path: file, line: 3, column: 8, position: 19 });
    expect(err.message).toContain(file);
    expect(err.message).toContain('line 3, column 8');
    for (const [text, position] of [
      ['', 0],
      ['[1, 2', 5],
      ['{"a": 1,}', 8],
      ['nul', 3],
      ['[1] x', 4],
      ['{"a" 1}', 5],
      ['"\\q"', 2],
    ] as const) {
      writeFileSync(file, text);
      await expect(aw.readJson(file)).rejects.toMatchObject({ code: 'EJSONPARSE', position });
    }
    // The default is for a missing file, never for a broken one.
    await expect(aw.readJson(file, { default: {} })).rejects.toMatchObject({ code: 'EJSONPARSE' });
  });
});

describe('updateJson', () => {
  it('reads (default when missing), writes the result, resolves to it; the lock file stays', async () => {
    const dir = scratch();
    const file = join(dir, 'sub/c.json');
    const defaultData = { n: 0, list: [] as number[] };
    const first = await aw.updateJson(file, (d: typeof defaultData) => {
      d.n++;
      d.list.push(d.n);
      return d;
    }, { defaultData });
    expect(first).toEqual({ n: 1, list: [1] });
    // The default handed to fn was a copy: mutating it changed nothing here.
    expect(defaultData).toEqual({ n: 0, list: [] });
    const second = await aw.updateJson(file, (d: typeof defaultData) => ({ ...d, n: d.n + 1 }));
    expect(second).toEqual({ n: 2, list: [1] });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ n: 2, list: [1] });
    expect(entries(join(dir, 'sub'))).toEqual(['c.json', 'c.json.lock']);
  });

  it('undefined leaves the file unchanged; a throw writes nothing and releases the lock', async () => {
    const { dir, file } = scratchFile('u.json', '{"v": 1}\n');
    const before = statSync(file);
    expect(await aw.updateJson(file, () => undefined)).toEqual({ v: 1 });
    const after = statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    await expect(
      aw.updateJson(file, () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await expect(aw.updateJson(file, () => ({ stream: (async function* () {})() }))).rejects.toThrow(TypeError);
    expect(readFileSync(file, 'utf8')).toBe('{"v": 1}\n');
    expect(statSync(file).ino).toBe(before.ino);
    const free = await aw.tryLock(`${file}.lock`);
    expect(free).not.toBeNull();
    free!.release();
    expect(entries(dir)).toEqual(['u.json', 'u.json.lock']);
  });

  it('unreadable JSON is an error, never silently replaced by the default', async () => {
    const { file } = scratchFile('broken.json', '{"half": ');
    await expect(aw.updateJson(file, () => ({ replaced: true }), { defaultData: { replaced: false } })).rejects.toMatchObject({ code: 'EJSONPARSE', path: file });
    expect(readFileSync(file, 'utf8')).toBe('{"half": ');
    const free = await aw.tryLock(`${file}.lock`);
    expect(free).not.toBeNull();
    free!.release();
  });

  it('a symlinked path shares the lock beside the real file', async () => {
    const dir = scratch();
    const real = join(dir, 'real.json');
    writeFileSync(real, '{"n": 0}');
    symlinkSync(real, join(dir, 'link.json'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        aw.updateJson(join(dir, i % 2 ? 'link.json' : 'real.json'), async (d: { n: number }) => {
          await new Promise((r) => setImmediate(r));
          return { n: d.n + 1 };
        }),
      ),
    );
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual({ n: 20 });
    expect(entries(dir)).toEqual(['link.json', 'real.json', 'real.json.lock']);
  });

  it('8 async callers in one process: no lost update', async () => {
    const file = join(scratch(), 'count.json');
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 25; i++) {
          await aw.updateJson(file, async (d: { n: number }) => {
            // Yield inside the critical section, so an unlocked version would interleave.
            await new Promise((r) => setImmediate(r));
            return { n: d.n + 1 };
          }, { defaultData: { n: 0 } });
        }
      }),
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ n: 200 });
  });

  it('4 processes x 250 increments end at exactly 1000, each value written once', async () => {
    const dir = scratch();
    const file = join(dir, 'count.json');
    const results = await Promise.all(Array.from({ length: 4 }, () => runNode([fixture('lock-counter.mjs'), file, '250'])));
    const seen = results.flatMap((r) => lastJson<{ ok: boolean; seen: number[] }>(r).seen);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ n: 1000 });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(entries(dir)).toEqual(['count.json', 'count.json.lock']);
  }, 120_000);

  it('nested updateJson of the same file fails at once (EDEADLK) instead of waiting', async () => {
    const file = join(scratch(), 'n.json');
    const err = await aw.updateJson(file, () => aw.updateJson(file, () => 1, { lockTimeout: 60_000 }), { defaultData: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(aw.FileLockError);
    expect(err).toMatchObject({ code: 'EDEADLK' });
    expect(existsSync(file)).toBe(false);
  });

  it('lockTimeout: FileLockTimeoutError when another holder keeps the lock', async () => {
    const file = join(scratch(), 't.json');
    const held = await aw.lock(`${file}.lock`);
    const err = await aw.updateJson(file, () => 1, { lockTimeout: 100 }).catch((e: unknown) => e);
    held.release();
    expect(err).toBeInstanceOf(aw.FileLockTimeoutError);
    expect(existsSync(file)).toBe(false);
  });

  it('bad input throws synchronously and creates nothing on disk', () => {
    const dir = scratch();
    const file = join(dir, 'sub/x.json');
    expect(() => aw.updateJson(file, 'nope' as never)).toThrow(TypeError);
    expect(() => aw.updateJson(file, () => 1, { lockTimeout: -1 })).toThrow(RangeError);
    expect(() => aw.updateJson(file, () => 1, { lockTimeout: NaN })).toThrow(RangeError);
    expect(() => aw.updateJson(file, () => 1, { defaultData: { stream: (async function* () {})() } as never })).toThrow(TypeError);
    expect(() => aw.updateJson(file, () => 1, { mode: 'rw' as never })).toThrow(TypeError);
    expect(() => aw.writeJson(file, {}, { indent: {} as never })).toThrow(TypeError);
    expect(() => aw.readJson(file, { reviver: 1 as never })).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
  });
});
