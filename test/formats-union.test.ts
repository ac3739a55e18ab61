// Columns of records in the tabular formats (csv, tsv, parquet, arrow): the union of
// the keys the writer sees before the header is fixed (every record of an array; the
// first part of a stream), never the first record's keys alone; a later key outside
// them fails the write (ERR_UNKNOWN_COLUMN, naming the key and the row) instead of
// being dropped. Outputs are read back by independent readers: csv-parse,
// apache-arrow, hyparquet, and pyarrow where AW_PYTHON has it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { tableFromIPC } from 'apache-arrow';
import { parquetReadObjects, parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';
import { PY_ROWS, arrayBufferOf, hasPython, python } from './formats-helpers.js';

type Row = Record<string, unknown>;

const HETERO: Row[] = [{ id: 1 }, { id: 2, email: 'x@example.com' }, { name: 'c', id: 3 }];
const COLUMNS = ['id', 'email', 'name'];
const EXPECTED: Row[] = [
  { id: 1, email: null, name: null },
  { id: 2, email: 'x@example.com', name: null },
  { id: 3, email: null, name: 'c' },
];

/** Every tabular format's file, read back as column names and rows of plain values. */
async function readBack(path: string): Promise<{ names: string[]; rows: Row[] }> {
  if (path.endsWith('.csv') || path.endsWith('.tsv')) {
    const rows = parseCsv(readFileSync(path), { columns: true, delimiter: path.endsWith('.tsv') ? '\t' : ',', cast: (v) => (v === '' ? null : /^\d+$/.test(v) ? Number(v) : v) }) as Row[];
    const header = readFileSync(path, 'utf8').split('\n')[0]!.split(path.endsWith('.tsv') ? '\t' : ',');
    return { names: header, rows };
  }
  if (path.endsWith('.arrow')) {
    const table = tableFromIPC(readFileSync(path));
    return { names: table.schema.fields.map((f) => f.name), rows: table.toArray().map((r) => ({ ...r.toJSON() })) };
  }
  const meta = parquetMetadata(arrayBufferOf(path));
  const rows = await parquetReadObjects({ file: arrayBufferOf(path) });
  return { names: meta.schema.slice(1).map((e) => e.name), rows };
}

function pyarrowRead(path: string): { schema: string[]; rows: Row[] } {
  const reader = path.endsWith('.parquet') ? 'import pyarrow.parquet as pq\ndump(pq.read_table(sys.argv[1]))' : 'import pyarrow as pa\ndump(pa.ipc.open_file(sys.argv[1]).read_all())';
  return python(`${PY_ROWS}\nimport sys\n${reader}`, path);
}

async function* generate<T>(n: number, row: (i: number) => T): AsyncGenerator<T> {
  for (let i = 0; i < n; i++) yield row(i);
}

describe('tabular formats: the columns are the union of the keys', () => {
  it.each(['csv', 'tsv', 'parquet', 'arrow'])('an array of records with different keys: %s keeps every key, in first-seen order', async (ext) => {
    const dir = scratch();
    const file = join(dir, `t.${ext}`);
    await aw.write(HETERO, file);
    const back = await readBack(file);
    expect(back.names).toEqual(COLUMNS);
    expect(back.rows).toEqual(EXPECTED);
  });

  it.skipIf(!hasPython('pyarrow'))('pyarrow reads the union too (parquet and arrow)', async () => {
    const dir = scratch();
    for (const ext of ['parquet', 'arrow']) {
      const file = join(dir, `t.${ext}`);
      await aw.write(HETERO, file);
      const py = pyarrowRead(file);
      expect(py.schema.map((s) => s.split(':')[0])).toEqual(COLUMNS);
      // JS numbers are float64 columns.
      expect(py.schema).toEqual(['id:double', 'email:string', 'name:string']);
      expect(py.rows).toEqual(EXPECTED);
    }
  });

  it('a key seen only in the last record of a large array is a column too', async () => {
    const dir = scratch();
    const rows: Row[] = Array.from({ length: 100_000 }, (_, i) => ({ id: i }));
    rows[rows.length - 1] = { id: rows.length - 1, late: 'yes' };
    for (const ext of ['csv', 'parquet']) {
      const file = join(dir, `big.${ext}`);
      await aw.write(rows, file, ext === 'parquet' ? { rowGroupSize: 30_000 } : {});
      const back = await readBack(file);
      expect(back.names).toEqual(['id', 'late']);
      expect(back.rows[0]).toEqual({ id: 0, late: null });
      expect(back.rows.at(-1)).toEqual({ id: rows.length - 1, late: 'yes' });
    }
  });

  it('arrays as rows: as wide as the widest; a short row gets empty fields (csv) and nulls (parquet, arrow)', async () => {
    const dir = scratch();
    const rows = [[1], [2, 'b', true], [3, 'c']];
    await aw.write(rows, join(dir, 'r.csv'));
    expect(readFileSync(join(dir, 'r.csv'), 'utf8')).toBe('1,,\n2,b,true\n3,c,\n');
    await aw.write(rows, join(dir, 'r.parquet'));
    expect(await readBack(join(dir, 'r.parquet'))).toEqual({
      names: ['0', '1', '2'],
      rows: [
        { 0: 1, 1: null, 2: null },
        { 0: 2, 1: 'b', 2: true },
        { 0: 3, 1: 'c', 2: null },
      ],
    });
    await aw.write(rows, join(dir, 'r.arrow'));
    expect((await readBack(join(dir, 'r.arrow'))).names).toEqual(['0', '1', '2']);
  });

  it('a stream: keys anywhere in the first part (the look-ahead window) are columns', async () => {
    const dir = scratch();
    // csv, tsv and arrow fix their columns after 65,536 records; parquet after its first row group.
    const n = 65_536;
    const late = (i: number): Row => (i === n - 1 ? { id: i, late: 'x' } : { id: i });
    for (const ext of ['csv', 'tsv', 'arrow']) {
      const file = join(dir, `w.${ext}`);
      await aw.write(generate(n + 10, late), file);
      const back = await readBack(file);
      expect(back.names).toEqual(['id', 'late']);
      expect(back.rows[n - 1]).toEqual({ id: n - 1, late: 'x' });
      expect(back.rows).toHaveLength(n + 10);
    }
    await aw.write(generate(100, (i) => (i === 9 ? { id: i, late: 'x' } : { id: i })), join(dir, 'w.parquet'), { rowGroupSize: 10 });
    expect((await readBack(join(dir, 'w.parquet'))).names).toEqual(['id', 'late']);
  });

  it.each([
    ['csv', 65_536, {}],
    ['tsv', 65_536, {}],
    ['arrow', 65_536, {}],
    ['parquet', 10, { rowGroupSize: 10 }],
  ] as const)('a stream: a new key after the window fails the %s write with ERR_UNKNOWN_COLUMN naming key and row; the old file stays', async (ext, window, options) => {
    const dir = scratch();
    const file = join(dir, `late.${ext}`);
    writeFileSync(file, 'old');
    const err = await aw.write(generate(window + 5, (i) => (i === window + 2 ? { id: i, surprise: 1 } : { id: i })), file, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'ERR_UNKNOWN_COLUMN', column: 'surprise', row: window + 2 });
    expect((err as Error).message).toContain('"surprise"');
    expect((err as Error).message).toContain(`Row ${window + 2}`);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual([`late.${ext}`]);
  });

  it('a stream of arrays: a later row wider than the columns is the same error (its index as the key)', async () => {
    const dir = scratch();
    const err = await aw.write(generate(20, (i) => (i === 15 ? [i, 'x', 'extra'] : [i, 'x'])), join(dir, 'a.parquet'), { rowGroupSize: 10 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_UNKNOWN_COLUMN', column: '2', row: 15 });
    expect(entries(dir)).toEqual([]);
  });

  it('options.columns selects: exactly those columns, other keys are not written and are no error', async () => {
    const dir = scratch();
    await aw.write(generate(5, (i) => ({ id: i, secret: 's', name: `n${i}` })), join(dir, 's.csv'), { columns: ['name', 'id'] });
    expect(readFileSync(join(dir, 's.csv'), 'utf8')).toBe('name,id\nn0,0\nn1,1\nn2,2\nn3,3\nn4,4\n');
    await aw.write(HETERO, join(dir, 's.parquet'), { columns: ['id'] });
    expect(await readBack(join(dir, 's.parquet'))).toEqual({ names: ['id'], rows: [{ id: 1 }, { id: 2 }, { id: 3 }] });
  });

  it('a dataset part gets the same columns and the same error', async () => {
    const dir = scratch();
    const ds = join(dir, 'ds');
    await aw.writeDataset(ds, (stage) => stage.write('p.csv', HETERO));
    expect((await readBack(join(ds, 'p.csv'))).names).toEqual(COLUMNS);
    const failed = aw.writeDataset(join(dir, 'ds2'), (stage) => stage.write('p.parquet', generate(30, (i) => (i === 25 ? { id: i, z: 1 } : { id: i })), { rowGroupSize: 10 }));
    await expect(failed).rejects.toMatchObject({ code: 'ERR_UNKNOWN_COLUMN', column: 'z', row: 25 });
    expect(entries(dir)).toEqual(['ds']);
  });

  it('json and ndjson write each record as it is: no columns, no error for new keys', async () => {
    const dir = scratch();
    const rows = generate(70_000, (i) => (i === 69_999 ? { id: i, late: true } : { id: i }));
    await aw.write(rows, join(dir, 'r.ndjson'));
    const lines = readFileSync(join(dir, 'r.ndjson'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ id: 69_999, late: true });
    await aw.write(generate(3, (i) => (i === 2 ? { id: i, late: true } : { id: i })), join(dir, 'r.json'));
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'))).toEqual([{ id: 0 }, { id: 1 }, { id: 2, late: true }]);
  });

  it('a row that is bytes or text (not a record) is refused with a hint to the raw formats', async () => {
    const dir = scratch();
    await expect(aw.write(generate(2, () => Buffer.from('a,b\n')), join(dir, 'x.csv'))).rejects.toThrow(/format: "bytes"/);
    await expect(aw.write(['a,b\n'], join(dir, 'y.parquet'))).rejects.toThrow(/row 0/);
    expect(entries(dir)).toEqual([]);
  });
});
