import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { Float64, Int64, Table, Utf8, makeVector, vectorFromArray } from 'apache-arrow';
import { aw, entries, scratch, scratchFile } from './helpers.js';
import { PY_ROWS, arrayBufferOf, hasPython, nasty, python, trickyRecords, numberedColumns, writeTrickyRecords } from './formats-helpers.js';

const require = createRequire(import.meta.url);

async function readRows(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: arrayBufferOf(path), compressors });
}

function codecs(path: string): string[] {
  const meta = parquetMetadata(arrayBufferOf(path));
  return [...new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data!.codec)))];
}

describe('parquet', () => {
  it('records with every hard case read back by hyparquet', async () => {
    const { rows, file } = await writeTrickyRecords('r.parquet', 'parquet');
    const back = await readRows(file);
    expect(back).toHaveLength(rows.length);
    back.forEach((row, i) => {
      const r = rows[i];
      expect(row.id).toBe(r.id);
      // hyparquet decodes with a TextDecoder that drops a leading BOM; pyarrow keeps it (below).
      expect(row.text).toBe((r.text as string).replace(/^\uFEFF/, ''));
      expect(row.maybe).toBe(r.maybe);
      expect(Object.is(row.float, r.float) || (Number.isNaN(row.float) && Number.isNaN(r.float))).toBe(true);
      expect(row.big).toBe(r.big);
      expect(row.flag).toBe(r.flag);
      expect((row.when as Date).getTime()).toBe((r.when as Date).getTime());
    });
    expect(codecs(file)).toEqual(['SNAPPY']);
  });

  it.skipIf(!hasPython('pyarrow'))('pyarrow reads it with the right types (int64 limits, NaN, nulls, unicode)', async () => {
    const dir = scratch();
    const file = join(dir, 'p.parquet');
    await aw.write(trickyRecords(), file);
    const { schema, rows } = python<{ schema: string[]; rows: Record<string, unknown>[] }>(`${PY_ROWS}\nimport pyarrow.parquet as pq, sys\ndump(pq.read_table(sys.argv[1]))`, file);
    expect(schema).toEqual(['id:double', 'text:string', 'maybe:string', 'float:double', 'big:int64', 'flag:bool', 'when:timestamp[ms, tz=UTC]']);
    expect(rows.map((r) => r.text)).toEqual(nasty);
    expect(rows[0]).toMatchObject({ big: '9223372036854775807', maybe: null, flag: true, when: '2024-01-01T12:30:15.250000+00:00' });
    expect(rows[1]).toMatchObject({ big: '-9223372036854775808', maybe: 'v1', flag: false });
    expect(rows.slice(0, 5).map((r) => r.float)).toEqual([1.5, -0, 'nan', 'inf', '-inf']);
  });

  it('compression: snappy, zstd, gzip, none; rowGroupSize is honoured', async () => {
    const dir = scratch();
    const rows = Array.from({ length: 25_000 }, (_, i) => ({ i, s: `row ${i % 100}` }));
    for (const [compression, codec] of [['snappy', 'SNAPPY'], ['zstd', 'ZSTD'], ['gzip', 'GZIP'], ['none', 'UNCOMPRESSED']] as const) {
      const file = join(dir, `${compression}.parquet`);
      await aw.write(rows, file, { compression, rowGroupSize: 10_000 });
      expect(codecs(file)).toEqual([codec]);
      expect(parquetMetadata(arrayBufferOf(file)).row_groups.map((g) => Number(g.num_rows))).toEqual([10_000, 10_000, 5_000]);
      const back = await readRows(file);
      expect(back).toHaveLength(rows.length);
      expect(back[24_999]).toEqual({ i: 24_999, s: 'row 99' });
      if (hasPython('pyarrow')) {
        const n = python<number>('import pyarrow.parquet as pq, sys; print(pq.read_table(sys.argv[1]).num_rows)', file);
        expect(n).toBe(rows.length);
      }
    }
    expect(() => aw.write(rows, join(dir, 'x.parquet'), { compression: 'lz77' as never })).toThrow(TypeError);
    expect(() => aw.write(rows, join(dir, 'x.parquet'), { rowGroupSize: 0 })).toThrow(RangeError);
  });

  it('apache-arrow Tables (ESM and CommonJS builds) and typed column objects keep their types', async () => {
    const dir = scratch();
    const table = new Table({
      i32: makeVector(new Int32Array([2147483647, -2147483648, 0])),
      i64: vectorFromArray([9223372036854775807n, null, -9223372036854775808n], new Int64()),
      f: vectorFromArray([NaN, -Infinity, null], new Float64()),
      s: vectorFromArray(['ü', null, ''], new Utf8()),
    });
    await aw.write(table, join(dir, 't.parquet'));
    expect(await readRows(join(dir, 't.parquet'))).toEqual([
      { i32: 2147483647, i64: 9223372036854775807n, f: NaN, s: 'ü' },
      { i32: -2147483648, i64: null, f: -Infinity, s: null },
      { i32: 0, i64: -9223372036854775808n, f: null, s: '' },
    ]);
    const cjs = require('apache-arrow') as typeof import('apache-arrow');
    await aw.write(new cjs.Table({ a: cjs.makeVector(new Int16Array([-5, 5])) }), join(dir, 'c.parquet'));
    expect(await readRows(join(dir, 'c.parquet'))).toEqual([{ a: -5 }, { a: 5 }]);

    await aw.write({ u8: new Uint8Array([255]), u32: new Uint32Array([4294967295]), b: new BigUint64Array([18446744073709551615n]), f32: new Float32Array([0.5]) }, join(dir, 'u.parquet'));
    expect(await readRows(join(dir, 'u.parquet'))).toEqual([{ u8: 255, u32: 4294967295, b: 18446744073709551615n, f32: 0.5 }]);
    if (hasPython('pyarrow')) {
      const { schema } = python<{ schema: string[] }>(`${PY_ROWS}\nimport pyarrow.parquet as pq, sys\ndump(pq.read_table(sys.argv[1]))`, join(dir, 't.parquet'));
      expect(schema).toEqual(['i32:int32', 'i64:int64', 'f:double', 's:string']);
      const u = python<{ schema: string[]; rows: unknown[] }>(`${PY_ROWS}\nimport pyarrow.parquet as pq, sys\ndump(pq.read_table(sys.argv[1]))`, join(dir, 'u.parquet'));
      expect(u.schema).toEqual(['u8:uint8', 'u32:uint32', 'b:uint64', 'f32:float']);
      expect(u.rows).toEqual([{ u8: '255', u32: '4294967295', b: '18446744073709551615', f32: 0.5 }]);
    }
  });

  it('empty tables keep their schema', async () => {
    const dir = scratch();
    const empty = new Table({ a: makeVector(new Int32Array(0)), s: vectorFromArray([], new Utf8()) });
    await aw.write(empty, join(dir, 'e.parquet'));
    const meta = parquetMetadata(arrayBufferOf(join(dir, 'e.parquet')));
    expect(Number(meta.num_rows)).toBe(0);
    expect(meta.schema.slice(1).map((e) => [e.name, e.type])).toEqual([['a', 'INT32'], ['s', 'BYTE_ARRAY']]);
    await aw.write([], join(dir, 'none.parquet'));
    expect(Number(parquetMetadata(arrayBufferOf(join(dir, 'none.parquet'))).num_rows)).toBe(0);
  });

  it('1,000,000 rows x (int32, float64, utf8)', async () => {
    const dir = scratch();
    const n = 1_000_000;
    const cols = numberedColumns(n, (k) => k * 0.5, (k) => `name-${k}`);
    const file = join(dir, 'm.parquet');
    await aw.write(cols, file);
    const meta = parquetMetadata(arrayBufferOf(file));
    expect(Number(meta.num_rows)).toBe(n);
    const tail = await parquetReadObjects({ file: arrayBufferOf(file), rowStart: n - 2, rowEnd: n, compressors });
    expect(tail).toEqual([
      { i: n - 2, f: (n - 2) * 0.5, s: `name-${n - 2}` },
      { i: n - 1, f: (n - 1) * 0.5, s: `name-${n - 1}` },
    ]);
    if (hasPython('pyarrow')) {
      const sums = python<number[]>('import pyarrow.parquet as pq, pyarrow.compute as pc, sys, json; t = pq.read_table(sys.argv[1]); print(json.dumps([t.num_rows, pc.sum(t["i"]).as_py(), pc.sum(t["f"]).as_py(), pc.count_distinct(t["s"]).as_py()]))', file);
      expect(sums).toEqual([n, (n * (n - 1)) / 2, ((n * (n - 1)) / 2) * 0.5, n]);
    }
  });

  it('a nodejs-polars DataFrame is written by polars into the staged temp (duck-typed)', async () => {
    const pl = require('nodejs-polars') as typeof import('nodejs-polars');
    const dir = scratch();
    const df = pl.DataFrame({ a: [1, 2, 3], s: ['x', 'ü', null] });
    const file = join(dir, 'df.parquet');
    const result = await aw.write(df, file, { compression: 'zstd' });
    expect(result.rows).toBe(3);
    expect(await readRows(file)).toEqual([
      { a: 1, s: 'x' },
      { a: 2, s: 'ü' },
      { a: 3, s: null },
    ]);
    expect(codecs(file)).toEqual(['ZSTD']);
    expect(entries(dir)).toEqual(['df.parquet']);
    // A throwing DataFrame writer leaves the old file and no temp.
    const broken = Object.assign(Object.create(df), { writeParquet: () => { throw new Error('polars failed'); } });
    await expect(aw.write(broken, file)).rejects.toThrow('polars failed');
    expect(await readRows(file)).toHaveLength(3);
    expect(entries(dir)).toEqual(['df.parquet']);
  });

  it('a bad row halfway fails the write: old file kept, no temp', async () => {
    const { dir, file } = scratchFile('x.parquet', 'old');
    async function* rows() {
      for (let i = 0; i < 250_000; i++) yield { a: i, s: 'ok' };
      yield { a: 'oops', s: 'bad' };
    }
    await expect(aw.write(rows(), file)).rejects.toThrow(/row 250000, column "a"/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['x.parquet']);
  });
});
