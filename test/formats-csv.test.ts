import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { tableFromArrays, vectorFromArray, Table, Int64, Utf8, makeVector } from 'apache-arrow';
import { aw, entries, scratch, scratchFile } from './helpers.js';
import { writeTrickyRecords } from './formats-helpers.js';

// csv-stringify with the casts our writer documents (ISO dates, exact BigInts, true/false).
const cast = {
  boolean: (v: boolean) => String(v),
  date: (v: Date) => v.toISOString(),
  bigint: (v: bigint) => v.toString(),
  object: (v: object) => JSON.stringify(v),
};

describe('csv / tsv', () => {
  it('writes what csv-stringify writes, and csv-parse reads it back', async () => {
    const { rows, file } = await writeTrickyRecords('out.csv', 'csv');
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(stringify(rows, { header: true, cast }));

    const back = parse(text, { columns: true }) as Record<string, string>[];
    expect(back).toHaveLength(rows.length);
    back.forEach((row, i) => {
      const r = rows[i];
      expect(row.text).toBe(r.text);
      expect(row.maybe).toBe(r.maybe ?? '');
      expect(row.float).toBe(String(r.float));
      expect(BigInt(row.big)).toBe(r.big);
      expect(row.when).toBe((r.when as Date).toISOString());
    });
  });

  it('tsv: tab delimiter, CRLF, no header, chosen columns in order, arrays as rows', async () => {
    const dir = scratch();
    const file = join(dir, 'out.tsv');
    const rows = [
      { b: 'x\ty', a: 1, ignored: 'no' },
      { a: 2, b: 'lone\rcr' },
      { a: 3 },
    ];
    await aw.write(rows, file, { eol: '\r\n', columns: ['a', 'b'] });
    const text = readFileSync(file, 'utf8');
    expect(text).toBe('a\tb\r\n1\t"x\ty"\r\n2\t"lone\rcr"\r\n3\t\r\n');
    expect(parse(text, { delimiter: '\t', columns: true, record_delimiter: '\r\n' })).toEqual([
      { a: '1', b: 'x\ty' },
      { a: '2', b: 'lone\rcr' },
      { a: '3', b: '' },
    ]);

    await aw.write([[1, 'a;b', null], [2, 'c', true]], join(dir, 'rows.csv'), { delimiter: ';', header: false });
    expect(readFileSync(join(dir, 'rows.csv'), 'utf8')).toBe('1;"a;b";\n2;c;true\n');
  });

  it('writes apache-arrow Tables and column objects (int64 exact, timestamps ISO)', async () => {
    const dir = scratch();
    const table = new Table({
      id: makeVector(new Int32Array([1, 2, 3])),
      big: vectorFromArray([9223372036854775807n, null, -9223372036854775808n], new Int64()),
      name: vectorFromArray(['a,b', null, 'ü'], new Utf8()),
    });
    await aw.write(table, join(dir, 't.csv'));
    expect(readFileSync(join(dir, 't.csv'), 'utf8')).toBe('id,big,name\n1,9223372036854775807,"a,b"\n2,,\n3,-9223372036854775808,ü\n');

    const stamped = tableFromArrays({ t: [new Date(Date.UTC(2020, 1, 3, 4, 5, 6, 7))] });
    await aw.write(stamped, join(dir, 's.csv'));
    expect(readFileSync(join(dir, 's.csv'), 'utf8')).toBe('t\n2020-02-03T04:05:06.007Z\n');

    await aw.write({ x: new Float64Array([0.5, NaN]), y: ['p', 'q'] }, join(dir, 'c.csv'));
    expect(readFileSync(join(dir, 'c.csv'), 'utf8')).toBe('x,y\n0.5,p\nNaN,q\n');
  });

  it('empty input: an empty file, or just the header when columns are given', async () => {
    const dir = scratch();
    await aw.write([], join(dir, 'e.csv'));
    expect(readFileSync(join(dir, 'e.csv'), 'utf8')).toBe('');
    await aw.write([], join(dir, 'h.csv'), { columns: ['a', 'b'] });
    expect(readFileSync(join(dir, 'h.csv'), 'utf8')).toBe('a,b\n');
  });

  it('1,000,000 rows from an async generator, parsed back whole', async () => {
    const dir = scratch();
    const file = join(dir, 'big.csv');
    async function* rows() {
      for (let i = 0; i < 1_000_000; i++) yield { i, x: i * 0.25, s: i % 1000 === 0 ? `q"${i}",` : `s${i}` };
    }
    const result = await aw.write(rows(), file);
    expect(result.rows).toBe(1_000_000);
    const back = parse(readFileSync(file), { columns: true }) as Record<string, string>[];
    expect(back).toHaveLength(1_000_000);
    expect(back[999_999]).toEqual({ i: '999999', x: String(999_999 * 0.25), s: 's999999' });
    expect(back[5000]).toEqual({ i: '5000', x: '1250', s: 'q"5000",' });
  });

  it('a bad row halfway fails the write: old file kept, no temp', async () => {
    const { dir, file } = scratchFile('keep.csv', 'old\n');
    function* rows() {
      for (let i = 0; i < 300_000; i++) yield { i };
      yield 42; // not a record
    }
    await expect(aw.write(rows(), file)).rejects.toThrow(TypeError);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(entries(dir)).toEqual(['keep.csv']);
  });

  it('bad options throw before the disk is touched', () => {
    const dir = join(scratch(), 'never');
    expect(() => aw.write([{ a: 1 }], join(dir, 'x.csv'), { delimiter: '"' })).toThrow(TypeError);
    expect(() => aw.write([{ a: 1 }], join(dir, 'x.csv'), { eol: '\r' as never })).toThrow(TypeError);
    expect(() => aw.write('a,b', join(dir, 'x.csv'))).toThrow(/rows for the csv format/);
    expect(() => readFileSync(dir)).toThrow(/ENOENT/);
  });
});
