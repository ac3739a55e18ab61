// Platform options and the runtime: `busyTimeout` (the Windows publish retry, see
// crates/core/src/sys/windows.rs and its Wine-run tests) is validated on every
// platform before the disk is touched and has no effect where renames cannot be
// refused by a reader. The Node version line tells which runtime ran the suite
// (.ci/node-versions runs it under 20, 22 and 24 against one native build).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aw, entries, scratch } from './helpers.js';

describe('busyTimeout', () => {
  it('rejects what is not a non-negative integer of ms, before touching the disk', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const bad: [unknown, string, string][] = [
      ['100', 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [null, 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      [-1, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [1.5, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [Number.NaN, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [Number.POSITIVE_INFINITY, 'RangeError', 'ERR_OUT_OF_RANGE'],
      [2 ** 32, 'RangeError', 'ERR_OUT_OF_RANGE'],
    ];
    for (const [value, name, code] of bad) {
      const options = { busyTimeout: value } as never;
      // Bad arguments throw synchronously, as the other options do.
      expect(() => aw.writeFile(file, 'x', options), String(value)).toThrow(expect.objectContaining({ name, code }));
      expect(() => aw.writeFileSync(file, 'x', options), String(value)).toThrow(expect.objectContaining({ name, code }));
      expect(() => aw.sync(file, 'x', options)).toThrow(expect.objectContaining({ code }));
    }
    // Every other write surface takes it through the same validation.
    const options = { busyTimeout: -1 } as never;
    for (const call of [
      () => aw.writeJson(join(dir, 'j.json'), {}, options),
      () => aw.updateJson(join(dir, 'u.json'), (x) => x, options),
      () => aw.write({ a: 1 }, join(dir, 'w.json'), options),
      () => aw.openAtomic(file, options),
      () => aw.createWriteStream(file, options),
      () => aw.atomicWrite(file, () => {}, options),
    ]) {
      // Thrown at the call or (atomicWrite) the returned promise rejects: either way
      // before anything is created.
      let failure: unknown;
      try {
        await call();
      } catch (e) {
        failure = e;
      }
      expect(failure, String(call)).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    }
    expect(entries(dir)).toEqual([]);
  });

  it('is accepted by every write surface and changes nothing where renames cannot be refused', async () => {
    const dir = scratch();
    await aw.writeFile(join(dir, 'a'), 'a', { busyTimeout: 0 });
    aw.writeFileSync(join(dir, 'b'), 'b', { busyTimeout: 250 });
    await aw(join(dir, 'c'), 'c', { busyTimeout: 2 ** 32 - 1 });
    await aw.writeJson(join(dir, 'd.json'), { d: 1 }, { busyTimeout: 10 });
    const file = await aw.openAtomic(join(dir, 'e'), { busyTimeout: 0 });
    await file.write('e');
    await file.commit();
    expect(['a', 'b', 'c', 'e'].map((n) => readFileSync(join(dir, n), 'utf8'))).toEqual(['a', 'b', 'c', 'e']);
    expect(JSON.parse(readFileSync(join(dir, 'd.json'), 'utf8'))).toEqual({ d: 1 });
    expect(entries(dir)).toEqual(['a', 'b', 'c', 'd.json', 'e']);
  });
});

describe('runtime', () => {
  it('runs on a Node with the N-API level the addon needs', () => {
    // napi8 is what crates/node asks for; Node 20, 22 and 24 all provide 9 or more.
    console.log(`Node ${process.version}, N-API ${process.versions.napi}, ${process.platform}-${process.arch}`);
    expect(Number(process.versions.napi)).toBeGreaterThanOrEqual(8);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
  });
});
