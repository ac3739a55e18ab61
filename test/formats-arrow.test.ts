import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Bool, Float64, Int32, Int64, RecordBatch, Table, TimestampMillisecond, Utf8,
  makeVector, tableFromIPC, vectorFromArray, RecordBatchReader,
} from 'apache-arrow';
import { aw, entries, scratch, scratchFile } from './helpers.js';
import { PY_ROWS, hasPython, nasty, python, numberedColumns } from './formats-helpers.js';

function sampleTable(n = nasty.length): Table {
  const strings = Array.from({ length: n }, (_, i) => (i % 4 === 3 ? null : nasty[i % nasty.length]));
  return new Table({
    i32: makeVector(Int32Array.from({ length: n }, (_, i) => (i % 2 ? -2147483648 : 2147483647))),
    f64: vectorFromArray(Array.from({ length: n }, (_, i) => [NaN, Infinity, -Infinity, 0.1, null][i % 5]), new Float64()),
    i64: vectorFromArray(Array.from({ length: n }, (_, i) => [9223372036854775807n, -9223372036854775808n, null][i % 3]), new Int64()),
    s: vectorFromArray(strings, new Utf8()),
    b: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 === 2 ? null : i % 2 === 0)), new Bool()),
    t: vectorFromArray(Array.from({ length: n }, (_, i) => Date.UTC(2024, 1, 29, 0, 0, i)), new TimestampMillisecond()),
  });
}

function rowsOf(table: Table): unknown[] {
  return table.toArray().map((r) => r.toJSON());
}

describe('arrow (IPC file) and arrows (IPC stream)', () => {
  it('a Table round-trips through apache-arrow readers', async () => {
    const dir = scratch();
    const table = sampleTable();
    for (const name of ['t.arrow', 't.arrows']) {
      const result = await aw.write(table, join(dir, name));
      expect(result.rows).toBe(table.numRows);
      const back = tableFromIPC(readFileSync(join(dir, name)));
      expect(back.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(table.schema.fields.map((f) => `${f.name}:${f.type}`));
      expect(rowsOf(back)).toEqual(rowsOf(table));
    }
    // The file format really is the file format (footer, magic at both ends).
    const file = readFileSync(join(dir, 't.arrow'));
    expect(file.subarray(0, 6).toString()).toBe('ARROW1');
    expect(file.subarray(-6).toString()).toBe('ARROW1');
    expect(readFileSync(join(dir, 't.arrows')).subarray(0, 6).toString()).not.toBe('ARROW1');
  });

  it.skipIf(!hasPython('pyarrow'))('pyarrow reads both (int64 limits, NaN/Infinity, nulls, unicode)', async () => {
    const dir = scratch();
    await aw.write(sampleTable(), join(dir, 'p.arrow'));
    await aw.write(sampleTable(), join(dir, 'p.arrows'));
    const f = python<{ schema: string[]; rows: Record<string, unknown>[] }>(`${PY_ROWS}\nimport pyarrow as pa, sys\ndump(pa.ipc.open_file(sys.argv[1]).read_all())`, join(dir, 'p.arrow'));
    const s = python<{ rows: unknown[] }>(`${PY_ROWS}\nimport pyarrow as pa, sys\ndump(pa.ipc.open_stream(sys.argv[1]).read_all())`, join(dir, 'p.arrows'));
    expect(s.rows).toEqual(f.rows);
    expect(f.schema).toEqual(['i32:int32', 'f64:double', 'i64:int64', 's:string', 'b:bool', 't:timestamp[ms]']);
    expect(f.rows[0]).toMatchObject({ i32: '2147483647', f64: 'nan', i64: '9223372036854775807', s: 'plain', b: true });
    expect(f.rows[1]).toMatchObject({ i32: '-2147483648', f64: 'inf', i64: '-9223372036854775808', s: '' });
    expect(f.rows[2]).toMatchObject({ f64: '-inf', i64: null, b: null });
    expect(f.rows[3]).toMatchObject({ s: null });
    expect(f.rows.map((r) => r.s)).toEqual(nasty.map((v, i) => (i % 4 === 3 ? null : v)));
  });

  it('records and column objects become typed batches; many batches in one stream', async () => {
    const dir = scratch();
    const n = 150_000; // three batches of at most 65,536 rows
    async function* records() {
      for (let i = 0; i < n; i++) yield { id: i, name: `n${i % 7}`, big: BigInt(i) * 1_000_000_000_000n, ok: i % 2 === 0, when: new Date(i), note: i === 7 ? null : 'x' };
    }
    await aw.write(records(), join(dir, 'r.arrows'));
    const back = tableFromIPC(readFileSync(join(dir, 'r.arrows')));
    expect(back.numRows).toBe(n);
    expect(back.batches.length).toBe(3);
    expect(back.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['id:Float64', 'name:Utf8', 'big:Int64', 'ok:Bool', 'when:Timestamp<MILLISECOND>', 'note:Utf8']);
    expect(back.get(149_999)?.toJSON()).toEqual({ id: 149_999, name: 'n3', big: 149_999_000_000_000_000n, ok: false, when: 149_999, note: 'x' });
    expect(back.get(7)?.toJSON().note).toBeNull();

    await aw.write({ a: new Int32Array([1, 2]), b: ['x', null] }, join(dir, 'c.arrow'));
    const cols = tableFromIPC(readFileSync(join(dir, 'c.arrow')));
    expect(cols.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['a:Int32', 'b:Utf8']);
    expect(rowsOf(cols)).toEqual([{ a: 1, b: 'x' }, { a: 2, b: null }]);
  });

  it('an async iterable of RecordBatches is written batch by batch', async () => {
    const dir = scratch();
    const batches = [0, 1, 2].map((k) => new Table({ k: makeVector(new Int32Array([k, k])), s: vectorFromArray([`a${k}`, `b${k}`], new Utf8()) }).batches[0] as RecordBatch);
    async function* gen() {
      yield* batches;
    }
    await aw.write(gen(), join(dir, 'b.arrow'));
    const reader = RecordBatchReader.from(readFileSync(join(dir, 'b.arrow')));
    const read = [...reader];
    expect(read).toHaveLength(3);
    expect(read.map((b) => b.getChild('s')?.toArray())).toEqual([['a0', 'b0'], ['a1', 'b1'], ['a2', 'b2']]);
  });

  it('1,000,000 rows of (int32, float64, utf8)', async () => {
    const dir = scratch();
    const n = 1_000_000;
    const cols = numberedColumns(n, (k) => k / 3, (k) => `s${k}`);
    await aw.write(cols, join(dir, 'm.arrow'));
    const back = tableFromIPC(readFileSync(join(dir, 'm.arrow')));
    expect(back.numRows).toBe(n);
    expect(back.get(n - 1)?.toJSON()).toEqual({ i: n - 1, f: (n - 1) / 3, s: `s${n - 1}` });
  });

  it('empty tables keep their schema', async () => {
    const dir = scratch();
    const empty = new Table({ a: makeVector(new Int32Array(0)), s: vectorFromArray([], new Utf8()) });
    await aw.write(empty, join(dir, 'e.arrow'));
    const back = tableFromIPC(readFileSync(join(dir, 'e.arrow')));
    expect(back.numRows).toBe(0);
    expect(back.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['a:Int32', 's:Utf8']);
  });

  it('a row of the wrong type halfway fails the write: old file kept, no temp', async () => {
    const { dir, file } = scratchFile('x.arrow', 'old');
    function* rows() {
      for (let i = 0; i < 100_000; i++) yield { a: i };
      yield { a: 'not a number' };
    }
    await expect(aw.write(rows(), file)).rejects.toThrow(/row 100000, column "a"/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['x.arrow']);
  });

  it('Int32 typed column keeps its type through records of a column object', async () => {
    const dir = scratch();
    await aw.write({ v: new Int32Array([7]) }, join(dir, 'i.arrows'));
    expect(String(tableFromIPC(readFileSync(join(dir, 'i.arrows'))).schema.fields[0].type)).toBe(String(new Int32()));
  });
});
