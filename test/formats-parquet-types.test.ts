// The core's Parquet encoder, column kind by column kind, nulls everywhere, read back by
// independent readers (hyparquet; pyarrow where present), plus its failure paths.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { Binary, Bool, DateDay, Float32, Float64, Int32, Int64, Int8, Table, TimestampMillisecond, Uint32, Utf8, vectorFromArray } from 'apache-arrow';
import { aw, entries, isRoot, scratch, scratchFile, tmpfsForSuite } from './helpers.js';
import { PY_ROWS, arrayBufferOf, hasPython, python } from './formats-helpers.js';

const require = createRequire(import.meta.url);

// utf8: false, so un-annotated BYTE_ARRAY (binary) columns come back as bytes.
async function readRows(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: arrayBufferOf(path), compressors, utf8: false });
}

function pyarrow(path: string): { schema: string[]; rows: Record<string, unknown>[] } {
  return python(`${PY_ROWS}\nimport pyarrow.parquet as pq, sys\ndump(pq.read_table(sys.argv[1]))`, path);
}

const day = (d: number) => new Date(Date.UTC(2024, 0, d));

describe('parquet: every column kind, with nulls', () => {
  it('records: boolean, number, bigint, string, binary, Date, JSON objects and all-null columns', async () => {
    const dir = scratch();
    const file = join(dir, 'kinds.parquet');
    const rows = [
      { b: true, n: 1.5, big: 2n ** 63n - 1n, s: 'é😀', bin: new Uint8Array([0, 255]), t: day(1), j: { a: [1, 'x'] }, none: null },
      { b: null, n: null, big: null, s: null, bin: null, t: null, j: null, none: undefined },
      { b: false, n: -0, big: -(2n ** 63n), s: '', bin: new Uint8Array(0), t: new Date(-1), j: [true], none: null },
    ];
    const result = await aw.write(rows, file);
    expect(result).toMatchObject({ rows: 3, format: 'parquet' });
    const back = await readRows(file);
    expect(back[0]).toEqual({ b: true, n: 1.5, big: 2n ** 63n - 1n, s: 'é😀', bin: new Uint8Array([0, 255]), t: day(1), j: { a: [1, 'x'] }, none: null });
    expect(back[1]).toEqual({ b: null, n: null, big: null, s: null, bin: null, t: null, j: null, none: null });
    expect(back[2]).toMatchObject({ b: false, big: -(2n ** 63n), s: '', bin: new Uint8Array(0), t: new Date(-1), j: [true] });
    expect(Object.is(back[2].n, -0)).toBe(true);
    if (hasPython('pyarrow')) {
      const py = pyarrow(file);
      expect(py.schema).toEqual(['b:bool', 'n:double', 'big:int64', 's:string', 'bin:binary', 't:timestamp[ms, tz=UTC]', 'j:extension<arrow.json>', 'none:string']);
      expect(py.rows[0]).toMatchObject({ s: 'é😀', bin: '00ff', t: '2024-01-01T00:00:00+00:00', j: '{"a":[1,"x"]}' });
      expect(Object.values(py.rows[1]).every((v) => v === null)).toBe(true);
    }
  });

  it('typed column objects: every TypedArray keeps its width and signedness', async () => {
    const dir = scratch();
    const file = join(dir, 'typed.parquet');
    const cols = {
      i8: new Int8Array([-128, 127]),
      i16: new Int16Array([-32768, 32767]),
      i32: new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      u8: new Uint8Array([0, 255]),
      u16: new Uint16Array([0, 65535]),
      u32: new Uint32Array([0, 2 ** 32 - 1]),
      i64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      u64: new BigUint64Array([0n, 2n ** 64n - 1n]),
      f32: new Float32Array([0.5, -Infinity]),
      f64: new Float64Array([Number.MIN_VALUE, NaN]),
    };
    await aw.write(cols, file, { compression: 'zstd' });
    const back = await readRows(file);
    expect(back[1]).toEqual({ i8: 127, i16: 32767, i32: 2 ** 31 - 1, u8: 255, u16: 65535, u32: 2 ** 32 - 1, i64: 2n ** 63n - 1n, u64: 2n ** 64n - 1n, f32: -Infinity, f64: NaN });
    expect(back[0]).toMatchObject({ i8: -128, i16: -32768, i32: -(2 ** 31), u32: 0, i64: -(2n ** 63n), f64: Number.MIN_VALUE });
    if (hasPython('pyarrow')) {
      const py = pyarrow(file);
      expect(py.schema).toEqual(['i8:int8', 'i16:int16', 'i32:int32', 'u8:uint8', 'u16:uint16', 'u32:uint32', 'i64:int64', 'u64:uint64', 'f32:float', 'f64:double']);
      expect(py.rows[1]).toMatchObject({ u32: '4294967295', u64: '18446744073709551615', i64: '9223372036854775807' });
    }
  });

  it('apache-arrow columns with nulls, sliced batches and batches longer than a row group', async () => {
    const dir = scratch();
    const n = 1000;
    const valid = (i: number) => i % 7 !== 3;
    const pick = <T>(f: (i: number) => T) => Array.from({ length: n }, (_, i) => (valid(i) ? f(i) : null));
    const table = new Table({
      i8: vectorFromArray(pick((i) => (i % 200) - 100), new Int8()),
      i32: vectorFromArray(pick((i) => i * 1000), new Int32()),
      u32: vectorFromArray(pick((i) => 2 ** 32 - 1 - i), new Uint32()),
      i64: vectorFromArray(pick((i) => BigInt(i) * 10n ** 15n), new Int64()),
      f32: vectorFromArray(pick((i) => i / 4), new Float32()),
      f64: vectorFromArray(pick((i) => i / 3), new Float64()),
      s: vectorFromArray(pick((i) => `ü-${i}`), new Utf8()),
      bin: vectorFromArray(pick((i) => new Uint8Array([i & 255, 7])), new Binary()),
      bool: vectorFromArray(pick((i) => i % 2 === 0), new Bool()),
      d: vectorFromArray(pick((i) => day(1 + (i % 30))), new DateDay()),
      ts: vectorFromArray(pick((i) => new Date(Date.UTC(2024, 0, 1) + i)), new TimestampMillisecond()),
    });
    // A slice starts its buffers mid-bitmap: the validity bits carry an offset.
    const sliced = table.slice(5, 905);
    const file = join(dir, 'arrow.parquet');
    await aw.write(sliced, file, { rowGroupSize: 256 });
    expect(parquetMetadata(arrayBufferOf(file)).row_groups.map((g) => Number(g.num_rows))).toEqual([256, 256, 256, 132]);
    const back = await readRows(file);
    expect(back).toHaveLength(900);
    back.forEach((row, k) => {
      const i = k + 5;
      if (!valid(i)) {
        expect(Object.values(row).every((v) => v === null)).toBe(true);
        return;
      }
      expect(row).toEqual({
        i8: (i % 200) - 100,
        i32: i * 1000,
        u32: 2 ** 32 - 1 - i,
        i64: BigInt(i) * 10n ** 15n,
        f32: i / 4,
        f64: i / 3,
        s: `ü-${i}`,
        bin: new Uint8Array([i & 255, 7]),
        bool: i % 2 === 0,
        d: day(1 + (i % 30)),
        ts: new Date(Date.UTC(2024, 0, 1) + i),
      });
    });
    if (hasPython('pyarrow')) {
      const py = pyarrow(file);
      expect(py.schema).toEqual(['i8:int8', 'i32:int32', 'u32:uint32', 'i64:int64', 'f32:float', 'f64:double', 's:string', 'bin:binary', 'bool:bool', 'd:date32[day]', 'ts:timestamp[ms, tz=UTC]']);
      expect(py.rows[0]).toMatchObject({ i8: '-95', u32: '4294967290', s: 'ü-5', d: '2024-01-06', ts: '2024-01-01T00:00:00.005000+00:00' });
    }
  });

  it('strings: non-ASCII, and surrogate halves split across values', async () => {
    const dir = scratch();
    const file = join(dir, 's.parquet');
    const s = ['plain', 'ñandú', '\uD83D', '\uDE00', '😀', null, 'a\u0000b'];
    await aw.write({ s }, file);
    expect((await readRows(file)).map((r) => r.s)).toEqual(['plain', 'ñandú', '\uFFFD', '\uFFFD', '😀', null, 'a\u0000b']);
  });

  it('bad values are refused before the file is replaced', async () => {
    const { dir, file } = scratchFile('x.parquet', 'old');
    await expect(aw.write([{ a: 1n }, { a: 2n ** 64n }], file)).rejects.toThrow(RangeError);
    await expect(aw.write([{ a: 1n }, { a: 1.5 }], file)).rejects.toThrow(/integer/);
    await expect(aw.write([{ a: new Uint8Array(1) }, { a: 'text' }], file)).rejects.toThrow(TypeError);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['x.parquet']);
  });

  it('statistics on by default (min/max per column chunk), off with statistics: false', async () => {
    const dir = scratch();
    await aw.write({ x: new Int32Array([5, -3, 9]) }, join(dir, 'on.parquet'));
    await aw.write({ x: new Int32Array([5, -3, 9]) }, join(dir, 'off.parquet'), { statistics: false });
    const stats = (f: string) => parquetMetadata(arrayBufferOf(join(dir, f))).row_groups[0].columns[0].meta_data?.statistics;
    expect(stats('on.parquet')).toMatchObject({ min_value: -3, max_value: 9 });
    expect(stats('off.parquet')).toBeUndefined();
  });

  it('into a sink that is not a file (a plugin wrapping the built-in): same bytes', async () => {
    const { parquet } = require('../dist/formats/parquet.js') as typeof import('../src/formats/parquet.js');
    const chunks: Buffer[] = [];
    const sink = { bytesWritten: 0, async write(c: Uint8Array) { chunks.push(Buffer.from(c)); } };
    const data = { i: new Int32Array([1, 2, 3]), s: ['a', null, 'c'] };
    const rows = await parquet.serialize!(data, sink, { rowGroupSize: 2 });
    expect(rows).toBe(3);
    const bytes = Buffer.concat(chunks);
    const dir = scratch();
    await aw.write(data, join(dir, 'f.parquet'), { rowGroupSize: 2 });
    expect(bytes.equals(readFileSync(join(dir, 'f.parquet')))).toBe(true);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(await parquetReadObjects({ file: ab })).toEqual([{ i: 1, s: 'a' }, { i: 2, s: null }, { i: 3, s: 'c' }]);
  });

  it('the marker checksums the bytes the encoder wrote', async () => {
    const dir = scratch();
    const file = join(dir, 'm.parquet');
    const result = await aw.write({ x: new Float64Array(50_000).map((_, i) => i) }, file, { marker: true });
    const size = readFileSync(file).length;
    expect(result.bytes).toBe(size);
    expect(await aw.verify(dir)).toMatchObject({ ok: true, problems: [] });
  });
});

describe.skipIf(!isRoot)('parquet on a full filesystem (needs root to mount a tmpfs)', () => {
  let mnt = '';
  tmpfsForSuite('aw-pq-enospc-', '1m', (mounted) => {
    mnt = mounted;
  });

  it('ENOSPC from the encoder\'s writes: Node-style error, old file intact, no temp', async () => {
    const dir = join(mnt, 'd');
    mkdirSync(dir);
    const file = join(dir, 'big.parquet');
    writeFileSync(file, 'old');
    // Incompressible doubles: ~4 MiB of output for a 1 MiB filesystem.
    const x = new Float64Array(500_000).map((_, i) => Math.sin(i) * 1e9);
    const error = await aw.write({ x }, file, { compression: 'none' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['big.parquet']);
  });
});
