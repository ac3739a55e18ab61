// `stage.write(name, data)` goes through the dispatch `write()` uses: every input
// `write()` accepts (Arrow tables, async iterables and object-mode Readables of
// records, Sets) is accepted for a part and serialized to the same bytes, locally and
// on s3:// (the README's S3 dataset example). Bytes, strings and byte streams are still
// written as they are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Table, tableFromArrays, tableFromIPC } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';
import { arrayBufferOf } from './formats-helpers.js';
import { haveMoto } from './s3-server.js';
import { useMotoBucket } from './s3-bucket.js';

const RECORDS = [
  { id: 1, name: 'a' },
  { id: 2, name: 'b' },
  { id: 3, name: 'c' },
];

async function* recordStream(): AsyncGenerator<Record<string, unknown>> {
  yield* RECORDS;
}

function table(): Table {
  return tableFromArrays({ id: Int32Array.from([1, 2, 3]), name: ['a', 'b', 'c'] });
}

interface Case {
  name: string;
  data: () => unknown;
}

// One Table for both writes: apache-arrow numbers dictionaries per table it builds.
const TABLE = table();

// Each input, under a name whose extension picks the format.
const CASES: Case[] = [
  { name: 'table.parquet', data: () => TABLE },
  { name: 'table.arrow', data: () => TABLE },
  { name: 'table.csv', data: () => TABLE },
  { name: 'gen.parquet', data: recordStream },
  { name: 'gen.csv', data: recordStream },
  { name: 'readable.arrow', data: () => Readable.from(RECORDS) },
  { name: 'set.ndjson', data: () => new Set(RECORDS) },
  { name: 'set.csv', data: () => new Set(RECORDS) },
  { name: 'gen.json', data: recordStream },
];

describe('stage.write takes what write() takes, and writes the same bytes', () => {
  it.each(CASES)('$name', async ({ name, data }) => {
    const dir = scratch();
    const alone = join(dir, name);
    const wrote = await aw.write(data(), alone);
    const result = await aw.writeDataset(join(dir, 'ds'), (stage) => stage.write(name, data()));
    expect(readFileSync(join(dir, 'ds', name)).equals(readFileSync(alone))).toBe(true);
    expect(result.files).toEqual([expect.objectContaining({ name, format: wrote.format, rows: 3 })]);
    expect((await aw.verify(join(dir, 'ds'))).ok).toBe(true);
  });

  it('the parts read back with independent readers', async () => {
    const dir = scratch();
    const ds = join(dir, 'ds');
    await aw.writeDataset(ds, async (stage) => {
      await stage.write('t.parquet', table());
      await stage.write('g.arrow', recordStream());
    });
    expect(await parquetReadObjects({ file: arrayBufferOf(join(ds, 't.parquet')) })).toEqual(RECORDS);
    expect(tableFromIPC(readFileSync(join(ds, 'g.arrow'))).toArray().map((r) => r.toJSON())).toEqual(RECORDS);
  });

  it('bytes, strings and byte streams are still written as they are', async () => {
    const dir = scratch();
    const ds = join(dir, 'ds');
    await aw.writeDataset(ds, async (stage) => {
      await stage.write('text.csv', 'already,csv\n');
      await stage.write('bytes.parquet', Buffer.from('PAR1 not really'));
      await stage.write('piped.csv', Readable.from([Buffer.from('a,b\n'), Buffer.from('1,2\n')], { objectMode: false }));
      await stage.write('chunks.csv', ['x,y\n', Buffer.from('3,4\n')]);
      await stage.write('noext', (async function* () {
        yield 'no ';
        yield 'format';
      })());
      await stage.write('strings.txt', Readable.from(['te', 'xt']));
    });
    expect(readFileSync(join(ds, 'text.csv'), 'utf8')).toBe('already,csv\n');
    expect(readFileSync(join(ds, 'bytes.parquet'), 'utf8')).toBe('PAR1 not really');
    expect(readFileSync(join(ds, 'piped.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(readFileSync(join(ds, 'chunks.csv'), 'utf8')).toBe('x,y\n3,4\n');
    expect(readFileSync(join(ds, 'noext'), 'utf8')).toBe('no format');
    expect(readFileSync(join(ds, 'strings.txt'), 'utf8')).toBe('text');
  });

  it('what write() refuses synchronously, stage.write refuses synchronously too (nothing published)', async () => {
    const dir = scratch();
    const sync: unknown[] = [];
    await aw
      .writeDataset(join(dir, 'ds'), (stage) => {
        for (const [name, data, options] of [
          ['x.csv', 42, {}],
          ['x.parquet', 'rows?', { format: 'parquet' }],
          ['x.csv', RECORDS, { delimiter: '' }],
          ['x.unknown', { a: 1 }, {}],
        ] as const) {
          try {
            void stage.write(name, data, options);
          } catch (err) {
            sync.push((err as { code?: string }).code);
          }
        }
        throw new Error('done');
      })
      .catch(() => {});
    expect(sync).toEqual(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_UNKNOWN_FORMAT']);
    expect(entries(dir)).toEqual([]);
  });
});

const suite = haveMoto ? describe : describe.skip;

suite('s3:// datasets use the same dispatch', () => {
  const BUCKET = 'aw-dispatch';
  useMotoBucket(BUCKET);

  it("the README's example: Arrow tables as parquet parts, then a record stream and a Set", async () => {
    const prefix = `s3://${BUCKET}/tables/day=2026-11-23/`;
    const result = await aw.writeDataset(prefix, async (stage) => {
      await stage.write('part-0.parquet', table());
      await stage.write('part-1.parquet', table());
      await stage.write('part-2.csv', recordStream());
      await stage.write('part-3.ndjson', new Set(RECORDS));
    });
    expect(result.files.map((f) => [f.name, f.format, f.rows])).toEqual([
      ['part-0.parquet', 'parquet', 3],
      ['part-1.parquet', 'parquet', 3],
      ['part-2.csv', 'csv', 3],
      ['part-3.ndjson', 'ndjson', 3],
    ]);
    expect((await aw.verify(prefix)).ok).toBe(true);
  });
});
