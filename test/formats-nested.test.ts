// Item 20 (issue 13): a Set, Map or other iterable INSIDE a value is written as an array
// (a Map as its [key, value] entries), the same rule as for the whole value, in the json
// format, ndjson and writeJson/updateJson; never the `{}` JSON.stringify writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

const nested = () => ({
  tags: new Set(['a', 'b']),
  m: new Map<unknown, unknown>([['k', 1], [2, new Set([3])]]),
  list: [new Set([1]), new Map([['x', [new Set(['deep'])]]])],
  typed: new Uint8Array([7, 8]),
  gen: (function* () {
    yield 1;
    yield 2n;
  })(),
  big: 12345678901234567890n,
  when: new Date(0),
  buf: Buffer.from('hi'),
});
const expected = {
  tags: ['a', 'b'],
  m: [['k', 1], [2, [3]]],
  list: [[1], [['x', [['deep']]]]],
  typed: [7, 8],
  gen: [1, 2],
  big: Number(12345678901234567890n), // written exact, read back by JSON.parse as a double
  when: new Date(0).toISOString(),
  buf: { type: 'Buffer', data: [104, 105] },
};

describe('nested iterables in JSON', () => {
  it('json format: inside an object, inside an array, inside a streamed iterable', async () => {
    const dir = scratch();
    await aw.write(nested(), join(dir, 'o.json'), { indent: 0 });
    const text = readFileSync(join(dir, 'o.json'), 'utf8');
    expect(JSON.parse(text)).toEqual(expected);
    expect(text).toContain('"big":12345678901234567890');
    await aw.write({ tags: new Set(['a', 'b']) }, join(dir, 'x.json'), { indent: 0 });
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('{"tags":["a","b"]}\n');
    await aw.write([new Set([1])], join(dir, 'a.json'), { indent: 0 });
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('[[1]]\n');
    await aw.write({ m: new Map([['k', 1]]) }, join(dir, 'm.json'), { indent: 0 });
    expect(readFileSync(join(dir, 'm.json'), 'utf8')).toBe('{"m":[["k",1]]}\n');
    // A Map read back: new Map(JSON.parse(text)).
    expect(new Map(JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')).m)).toEqual(new Map([['k', 1]]));
    async function* rows() {
      yield { tags: new Set(['x']) };
      yield new Map([['a', 1]]);
    }
    await aw.write(rows(), join(dir, 'g.json'), { indent: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'g.json'), 'utf8'))).toEqual([{ tags: ['x'] }, [['a', 1]]]);
    // Plain data is written exactly as JSON.stringify writes it.
    const plain = { a: [1, { b: 'c', u: undefined }], n: null, s: 'ü' };
    await aw.write(plain, join(dir, 'p.json'));
    expect(readFileSync(join(dir, 'p.json'), 'utf8')).toBe(`${JSON.stringify(plain, null, 2)}\n`);
  });

  it('ndjson: a record with a Set or Map field keeps it', async () => {
    const dir = scratch();
    await aw.write([{ tags: new Set(['a']) }, nested()], join(dir, 'r.ndjson'));
    const lines = readFileSync(join(dir, 'r.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ tags: ['a'] }, expected]);
  });

  it('writeJson and updateJson follow the same rule (a replacer runs first)', async () => {
    const dir = scratch();
    const file = join(dir, 'w.json');
    await aw.writeJson(file, nested());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(expected);
    await aw.writeJson(file, { s: new Set([1, 2]), drop: 1 }, { replacer: (k: string, v: unknown) => (k === 'drop' ? undefined : v), indent: 0 });
    expect(readFileSync(file, 'utf8')).toBe('{"s":[1,2]}\n');
    // A key list, as JSON.stringify applies it: only those keys, in that order.
    await aw.writeJson(file, { b: new Set([1]), a: { b: 2, c: 3 }, c: 4 }, { replacer: ['a', 'b'], indent: 0 });
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify({ b: [1], a: { b: 2, c: 3 }, c: 4 }, ['a', 'b'])}\n`);
    await aw.updateJson(file, () => ({ set: new Set(['u']), map: new Map([['k', 'v']]) }));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ set: ['u'], map: [['k', 'v']] });
  });

  it('an async iterable inside a value is refused before the disk is touched', async () => {
    const dir = scratch();
    async function* gen() {
      yield 1;
    }
    expect(() => aw.write({ a: gen() }, join(dir, 'x.json'))).toThrow(TypeError);
    await expect(aw.write([{ a: gen() }], join(dir, 'x.ndjson'))).rejects.toThrow(/async iterable/);
    expect(() => aw.writeJson(join(dir, 'w.json'), { a: gen() })).toThrow(/async iterable/);
    expect(entries(dir)).toEqual([]);
  });
});
