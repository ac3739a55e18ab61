// A misspelt option name (`fsyn`, `delimter`) is a TypeError naming it on every entry
// point of the named API, thrown before the disk is touched; a format's own options
// are known by its declared list; a plugin that declares none takes any name; and the
// write-file-atomic compatible default export still ignores unknown names.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

function refused(name: string): Record<string, unknown> {
  return { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`"options.${name}"`) };
}

/** The error a call gives, thrown synchronously or as a rejection. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  return undefined;
}

function datasetDir(): string {
  const dir = scratch('aw-names-');
  mkdirSync(join(dir, 'ds'));
  writeFileSync(join(dir, 'ds', '_SUCCESS'), '');
  return dir;
}

describe('unknown option names', () => {
  it('sweep, verify and isComplete refuse them, synchronously', async () => {
    const dir = datasetDir();
    expect(() => aw.sweep(dir, { olderthan: 0, dryrun: true } as never)).toThrow(expect.objectContaining(refused('olderthan')));
    expect(() => aw.verify(join(dir, 'ds'), { checksum: false } as never)).toThrow(expect.objectContaining(refused('checksum')));
    // A local isComplete takes no options (its type says so too).
    const isComplete = aw.isComplete as (path: string, options: unknown) => Promise<boolean>;
    expect(() => isComplete(join(dir, 'ds'), { bogus: 1 })).toThrow(expect.objectContaining(refused('bogus')));
    // The right names still work.
    expect(await aw.sweep(dir, { olderThan: 0, dryRun: true })).toEqual([]);
    expect((await aw.verify(join(dir, 'ds'), { checksums: false })).ok).toBe(true);
    expect(await aw.isComplete(join(dir, 'ds'))).toBe(true);
  });

  it('writeDataset refuses them before anything is created', async () => {
    const dir = scratch('aw-names-');
    let called = false;
    const fn = (): void => {
      called = true;
    };
    expect(() => aw.writeDataset(join(dir, 'ds'), fn, { replce: 'any', fsyn: false } as never)).toThrow(expect.objectContaining(refused('replce')));
    expect(called).toBe(false);
    expect(entries(dir)).toEqual([]);
  });

  it('stage.write and stage.createWriteStream refuse them: raw content and formatted parts, and the dataset is not published', async () => {
    const dir = scratch('aw-names-');
    const cases: Array<[string, (stage: import('../index.js').DatasetStage) => unknown]> = [
      ['fsyn', (s) => s.write('a.txt', 'x', { fsyn: false })],
      ['fsync', (s) => s.write('b.bin', Buffer.from('x'), { fsync: false })],
      ['delimter', (s) => s.write('c.csv', [{ a: 1 }], { delimter: ';' })],
      ['indnt', (s) => s.write('d.json', { a: 1 }, { indnt: 2 })],
      ['highWaterMrk', (s) => s.createWriteStream('e.txt', { highWaterMrk: 1 }).end()],
    ];
    for (const [name, body] of cases) {
      const err = await failure(() => aw.writeDataset(join(dir, 'ds'), body));
      expect(err, name).toMatchObject(refused(name));
    }
    expect(entries(dir)).toEqual([]);
    // The part's and the format's own names still work.
    await aw.writeDataset(join(dir, 'ds'), async (s) => {
      await s.write('a.txt', 'x', { encoding: 'utf8', mode: 0o600, rows: 1 });
      await s.write('c.csv', [{ a: 1, b: 2 }], { delimiter: ';', header: false });
      s.createWriteStream('e.txt', { highWaterMark: 1 }).end('e');
    });
    expect(readFileSync(join(dir, 'ds', 'c.csv'), 'utf8')).toBe('1;2\n');
  });

  it('write() refuses a name that neither it nor the chosen format reads, before the disk is touched', async () => {
    const dir = scratch('aw-names-');
    const cases: Array<[string, string, unknown, Record<string, unknown>]> = [
      ['delimter', 'x.csv', [{ a: 1, b: 2 }], { fsync: false, delimter: ';' }],
      ['fsyn', 'x.csv', [{ a: 1 }], { fsyn: false }],
      ['indnt', 'x.json', { a: 1 }, { indnt: 2 }],
      // An option of another format: json does not read `delimiter`.
      ['delimiter', 'x.json', { a: 1 }, { delimiter: ';' }],
      ['compresion', 'x.parquet', [{ a: 1 }], { compresion: 'zstd' }],
      ['colums', 'x.arrow', [{ a: 1 }], { colums: ['a'] }],
      ['shape', 'x.npy', new Float32Array(4), { shape: [2, 2] }],
      ['eol', 'x.ndjson', [{ a: 1 }], { eol: '\r\n' }],
      ['enconding', 'x.txt', 'x', { enconding: 'latin1' }],
      ['tmpfilecreated', 'x.bin', Buffer.from('x'), { tmpfilecreated: () => {} }],
    ];
    for (const [name, file, data, options] of cases) {
      expect(() => aw.write(data, join(dir, file), options), name).toThrow(expect.objectContaining(refused(name)));
    }
    expect(entries(dir)).toEqual([]);
    // Its own names, and the format's, still work: the delimiter is the one given.
    await aw.write([{ a: 1, b: 2 }], join(dir, 'x.csv'), { fsync: false, delimiter: ';', marker: true, format: 'csv' });
    expect(readFileSync(join(dir, 'x.csv'), 'utf8')).toBe('a;b\n1;2\n');
    await aw.write({ a: 1 }, join(dir, 'x.json'), { indent: 0, mode: 0o600 });
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('{"a":1}\n');
  });

  it('a plugin that declares its options gets typos refused; one that declares none takes any name', async () => {
    const dir = scratch('aw-names-');
    const seen: unknown[] = [];
    aw.registerFormat({
      name: 'names-declared',
      extensions: ['.namesdecl'],
      options: ['sortKeys'],
      async serialize(data, sink, options) {
        seen.push(options.sortKeys);
        await sink.write(String(data));
      },
    });
    aw.registerFormat({
      name: 'names-open',
      extensions: ['.namesopen'],
      async serialize(data, sink, options) {
        seen.push(options.anything);
        await sink.write(String(data));
      },
    });
    expect(() => aw.write('d', join(dir, 'a.namesdecl'), { sortkeys: true })).toThrow(expect.objectContaining(refused('sortkeys')));
    await aw.write('d', join(dir, 'a.namesdecl'), { sortKeys: true });
    await aw.write('o', join(dir, 'a.namesopen'), { anything: 42 });
    await aw.writeDataset(join(dir, 'ds'), async (s) => {
      // A string is written as it is unless a format is asked for.
      await s.write('p.namesopen', 'p', { format: 'names-open', anything: 7 });
      await expect(failure(() => s.write('q.namesdecl', 'q', { format: 'names-declared', sortkeys: true }))).resolves.toMatchObject(refused('sortkeys'));
    });
    expect(seen).toEqual([true, 42, 7]);
    expect(readdirSync(join(dir, 'ds')).sort()).toEqual(['_SUCCESS', 'p.namesopen']);
    expect(() => aw.registerFormat({ name: 'names-bad', options: 'sortKeys' as never, serialize() {} })).toThrow(TypeError);
  });

  it('s3:// targets refuse them too, before any request or staging directory', () => {
    const staging = scratch('aw-names-staging-');
    const s3 = { stagingDir: staging, s3: { send: () => Promise.reject(new Error('no request expected')) } };
    const url = 's3://bucket/dir/x.csv';
    expect(() => aw.write([{ a: 1 }], url, { ...s3, delimter: ';' } as never)).toThrow(expect.objectContaining(refused('delimter')));
    expect(() => aw.write([{ a: 1 }], url, { ...s3, partsize: 5 } as never)).toThrow(expect.objectContaining(refused('partsize')));
    expect(() => aw.writeDataset('s3://bucket/ds/', () => {}, { ...s3, replce: 'any' } as never)).toThrow(expect.objectContaining(refused('replce')));
    expect(() => aw.verify('s3://bucket/ds/', { ...s3, checksum: false } as never)).toThrow(expect.objectContaining(refused('checksum')));
    expect(() => aw.isComplete('s3://bucket/ds/', { ...s3, bogus: 1 } as never)).toThrow(expect.objectContaining(refused('bogus')));
    expect(() => aw.createWriteStream('s3://bucket/x.txt', { ...s3, fsyn: false } as never)).toThrow(expect.objectContaining(refused('fsyn')));
    expect(() => aw.readJson('s3://bucket/x.json', { ...s3, defualt: {} } as never)).toThrow(expect.objectContaining(refused('defualt')));
    expect(entries(staging)).toEqual([]);
  });

  it('the default export still ignores unknown names, as write-file-atomic does', async () => {
    const dir = scratch('aw-names-');
    await aw(join(dir, 'a'), 'a', { fsyn: false, delimter: ';' } as never);
    aw.sync(join(dir, 's'), 's', { fsyn: false } as never);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('a');
    expect(readFileSync(join(dir, 's'), 'utf8')).toBe('s');
  });
});
