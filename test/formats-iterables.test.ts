// The json format writes every iterable as an array, as documented: Sets, generators
// and async generators of any values (primitives included), TypedArrays; a Map as an
// array of its [key, value] entries. ndjson takes the same inputs, a value per line.
// Read back with JSON.parse and compared with what JSON.stringify gives for the array.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

function* numbers(): Generator<number | string | null | boolean> {
  yield 1;
  yield 'two';
  yield null;
  yield true;
}

async function* primitives(): AsyncGenerator<unknown> {
  yield 1;
  yield 'x';
  yield 10n ** 20n;
  yield undefined; // as in an array: null
  yield [1, 2];
}

describe('json: iterables are arrays', () => {
  it.each([
    ['a Set', () => new Set([1, 'a', null, { k: 1 }]), [1, 'a', null, { k: 1 }]],
    ['a generator of primitives', numbers, [1, 'two', null, true]],
    ['an object-mode Readable of numbers', () => Readable.from([3, 2, 1]), [3, 2, 1]],
    ['a Uint8Array', () => new Uint8Array([1, 2, 255]), [1, 2, 255]],
    ['an empty Set', () => new Set(), []],
  ])('%s', async (_what, make, expected) => {
    const dir = scratch();
    const file = join(dir, 'v.json');
    const result = await aw.write(make(), file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(expected);
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(result.rows).toBe(expected.length);
  });

  it('an async generator of primitives (a BigInt exact, undefined as null)', async () => {
    const dir = scratch();
    const file = join(dir, 'a.json');
    await aw.write(primitives(), file, { indent: 0 });
    expect(readFileSync(file, 'utf8')).toBe('[1,"x",100000000000000000000,null,[1,2]]\n');
  });

  it('a Map is an array of [key, value] entries (new Map(JSON.parse(text)) reads it back)', async () => {
    const dir = scratch();
    const file = join(dir, 'm.json');
    const map = new Map<unknown, unknown>([
      ['a', 1],
      ['b', { nested: true }],
      [3, null],
    ]);
    await aw.write(map, file);
    const back = JSON.parse(readFileSync(file, 'utf8')) as [unknown, unknown][];
    expect(back).toEqual([
      ['a', 1],
      ['b', { nested: true }],
      [3, null],
    ]);
    expect(new Map(back)).toEqual(map);
  });

  it('values with their own toJSON are written by it (a Buffer, a Date), not iterated', async () => {
    const dir = scratch();
    await aw.write(Buffer.from('hi'), join(dir, 'b.json'));
    expect(JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'))).toEqual({ type: 'Buffer', data: [104, 105] });
    await aw.write(new Date(0), join(dir, 'd.json'));
    expect(JSON.parse(readFileSync(join(dir, 'd.json'), 'utf8'))).toBe('1970-01-01T00:00:00.000Z');
  });

  it('ndjson: a Set, a Map and an async generator of primitives, one value per line', async () => {
    const dir = scratch();
    await aw.write(new Set(['a', 2]), join(dir, 's.ndjson'));
    expect(readFileSync(join(dir, 's.ndjson'), 'utf8')).toBe('"a"\n2\n');
    await aw.write(new Map([['k', 1]]), join(dir, 'm.ndjson'));
    expect(readFileSync(join(dir, 'm.ndjson'), 'utf8')).toBe('["k",1]\n');
    await aw.write(numbers(), join(dir, 'g.ndjson'));
    expect(readFileSync(join(dir, 'g.ndjson'), 'utf8')).toBe('1\n"two"\nnull\ntrue\n');
    expect(entries(dir)).toEqual(['g.ndjson', 'm.ndjson', 's.ndjson']);
  });

  it('a dataset part in json takes the same iterables', async () => {
    const dir = scratch();
    await aw.writeDataset(join(dir, 'ds'), async (stage) => {
      await stage.write('set.json', new Set([1, 2]));
      await stage.write('gen.json', primitives());
    });
    expect(JSON.parse(readFileSync(join(dir, 'ds', 'set.json'), 'utf8'))).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(dir, 'ds', 'gen.json'), 'utf8'))).toEqual([1, 'x', 100000000000000000000, null, [1, 2]]);
  });
});
