// CSV and NDJSON through the core's encoder (crates/text, src/formats/text-core.ts)
// write the bytes the JS writers write. Every case is written both ways (the JS
// writers alone with `encoder.core = false`) and compared byte for byte, with a count
// of the parts the core really encoded (a case the core silently declined would prove
// nothing); then independent readers (csv-parse, pyarrow) and a JSON.stringify-based
// reference under fast-check.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { aw, scratch } from './helpers.js';
import { hasPython, nasty, python } from './formats-helpers.js';

const require = createRequire(import.meta.url);
const { encoder } = require('../dist/formats/text-core.js') as { encoder: { core: boolean } };
const { csv, tsv } = require('../dist/formats/csv.js');
const { ndjson } = require('../dist/formats/ndjson.js');

// Counts the parts the core encodes (the binding's own function, called through).
const binding = require('../dist/binding/native.js').native() as { encodeText: (...args: unknown[]) => Promise<Buffer> };
const encodeText = binding.encodeText;
let coreParts = 0;
binding.encodeText = (...args: unknown[]) => {
  coreParts++;
  return encodeText(...args);
};
afterAll(() => {
  binding.encodeText = encodeText;
});

/** Writes `make()` to `file` through the core and through the JS writers alone. */
async function bothWays(make: () => unknown, file: string, options?: Record<string, unknown>): Promise<{ core: Buffer; js: Buffer; parts: number }> {
  const before = coreParts;
  await aw.write(make(), file, options);
  const core = readFileSync(file);
  const parts = coreParts - before;
  encoder.core = false;
  try {
    await aw.write(make(), file, options);
  } finally {
    encoder.core = true;
  }
  return { core, js: readFileSync(file), parts };
}

/** A format's serializer into memory (no file, no sync: for many small cases). */
async function serialize(format: { serialize: (d: unknown, s: object, o: object) => Promise<unknown> }, data: unknown, options: object = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = {
    bytesWritten: 0,
    async write(c: string | Uint8Array) {
      chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
    },
  };
  await format.serialize(data, sink, options);
  return Buffer.concat(chunks);
}

const NUMBERS = [0, -0, 1, -1.5, 0.1 + 0.2, 1e21, -1e21, 1e20, 123456789012345680000, 5e-7, 1e-6, 1.5e-7, -1e-7, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 1 / 3, 4.35, 1e100, 0.000001234, 255];
const STRINGS = [
  ...nasty,
  '\uD83D', // lone high surrogate
  '\uDE00', // lone low surrogate
  'a\uD83D', // a pair split across two cells: each is lone
  '\uDE00b',
  'x;y',
  'a.b',
  'e',
  'a::b',
  '\u0000\u0001\u001f\u007f',
  '\\back\\slash/',
  '\b\f\t',
  'x'.repeat(1 << 20),
  'ü😀'.repeat(50_000),
];
const MIXED = [1, 'a', true, false, null, { a: [1, { b: 'x"y' }] }, [1, 'two', null], 3n, new Date(Date.UTC(2024, 1, 29, 1, 2, 3, 4)), new Date(NaN), undefined, -0, NaN];

/** What UTF-8 makes of a string: each lone surrogate is U+FFFD. */
const wellFormed = (s: string): string => Buffer.from(s).toString();

const SHORT = STRINGS.filter((s) => s.length < 1000);

/**
 * Records of every hard case; `plain` leaves out what only the JS writer takes for
 * ndjson (BigInts, Dates), `short` the long strings (for many rows).
 */
function records(n: number, plain = false, short = false): Record<string, unknown>[] {
  const mixed = plain ? MIXED.filter((v) => typeof v !== 'bigint' && !(v instanceof Date)) : MIXED;
  const strings = short ? SHORT : STRINGS;
  return Array.from({ length: n }, (_, i) => ({
    num: NUMBERS[i % NUMBERS.length],
    str: strings[i % strings.length],
    maybe: i % 3 === 0 ? null : i % 3 === 1 ? undefined : `v${i}`,
    int: i,
    mixed: mixed[i % mixed.length],
    flag: i % 2 === 0,
    // A string or a number in the first rows, then an empty cell: the general reading after the fast one.
    lateNull: i % 7 === 6 ? null : `s${i},`,
    lateUndefined: i % 9 === 8 ? undefined : i / 4,
  }));
}

describe('csv through the core: the bytes of the JS writer', () => {
  it('records of every hard case, with every delimiter rule, CRLF and no header', async () => {
    const dir = scratch();
    const rows = records(200);
    for (const [ext, options] of [
      ['csv', {}],
      ['csv', { delimiter: ';', eol: '\r\n' }],
      ['csv', { delimiter: '.', header: false }], // numbers hold the delimiter
      ['csv', { delimiter: 'e' }],
      ['csv', { delimiter: '::' }],
      ['csv', { delimiter: 'ü' }],
      ['tsv', { columns: ['str', 'num', 'absent'] }],
    ] as const) {
      const { core, js, parts } = await bothWays(() => rows, join(dir, `out.${ext}`), options);
      expect(parts, JSON.stringify(options)).toBe(1);
      expect(core.equals(js), JSON.stringify(options)).toBe(true);
    }
    // A delimiter with a surrogate is left to the JS writer.
    const { core, js, parts } = await bothWays(() => rows, join(dir, 'emoji.csv'), { delimiter: '😀' });
    expect(parts).toBe(0);
    expect(core.equals(js)).toBe(true);
  });

  it('array rows, arrays among records, column objects of every TypedArray, an arrow Table, a stream', async () => {
    const dir = scratch();
    const n = 300;
    const typed = {
      i8: Int8Array.from({ length: n }, (_, i) => i - 128),
      u8: Uint8Array.from({ length: n }, (_, i) => i),
      i16: Int16Array.from({ length: n }, (_, i) => -i * 99),
      u32: Uint32Array.from({ length: n }, (_, i) => 2 ** 32 - 1 - i),
      f32: Float32Array.from({ length: n }, (_, i) => i / 7),
      f64: Float64Array.from({ length: n }, (_, i) => NUMBERS[i % NUMBERS.length]),
      i64: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -(2n ** 60n)),
      u64: BigUint64Array.from({ length: n }, (_, i) => 2n ** 64n - 1n - BigInt(i)),
      strings: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : STRINGS[i % STRINGS.length])),
    };
    const table = tableFromArrays({ id: Int32Array.from({ length: n }, (_, i) => i), when: Array.from({ length: n }, (_, i) => new Date(Date.UTC(2020, 0, 1) + i * 3.6e6)), s: typed.strings });
    async function* stream() {
      yield* records(n);
    }
    const cases: [string, () => unknown][] = [
      ['arrays', () => records(n).map((r) => Object.values(r))],
      ['mixed rows', () => records(n).map((r, i) => (i % 2 ? Object.values(r) : r))],
      ['typed columns', () => typed],
      ['arrow', () => table],
      ['stream', () => stream()],
      ['set', () => new Set(records(n))],
    ];
    for (const [name, make] of cases) {
      const { core, js, parts } = await bothWays(make, join(dir, 'out.csv'));
      expect(parts, name).toBe(1);
      expect(core.toString('latin1'), name).toBe(js.toString('latin1'));
    }
  });

  it('more than one part: rows 65,536 and on are a second part, in order', async () => {
    const dir = scratch();
    const rows = records(65_536 + 1000, false, true);
    const { core, js, parts } = await bothWays(() => rows, join(dir, 'out.csv'));
    expect(parts).toBe(2);
    expect(core.equals(js)).toBe(true);
    expect(parse(core, { columns: true })).toHaveLength(65_536 + 1000);
  });

  it('csv-parse reads back every string and number as String() wrote it', async () => {
    const dir = scratch();
    const rows = records(400);
    const file = join(dir, 'out.csv');
    await aw.write(rows, file);
    const back = parse(readFileSync(file, 'utf8'), { columns: true, relax_column_count: false }) as Record<string, string>[];
    expect(back).toHaveLength(rows.length);
    back.forEach((row, i) => {
      const r = rows[i];
      // Buffer writes a lone surrogate as U+FFFD.
      expect(row.str).toBe(wellFormed(r.str as string));
      expect(row.num).toBe(String(r.num));
      expect(row.maybe).toBe(r.maybe == null ? '' : r.maybe);
      expect(row.int).toBe(String(i));
    });
  });

  it('pyarrow reads the same values', async () => {
    expect(hasPython('pyarrow')).toBe(true);
    const dir = scratch();
    const rows = records(300).map((r) => ({ num: r.num, str: r.str, int: r.int }));
    const file = join(dir, 'out.csv');
    await aw.write(rows, file);
    const read = python<{ num: (number | string)[]; str: string[]; int: number[] }>(
      `import pyarrow.csv as pc, sys, json, math
t = pc.read_csv(sys.argv[1], parse_options=pc.ParseOptions(newlines_in_values=True), convert_options=pc.ConvertOptions(column_types={"str": "string", "num": "string"}, strings_can_be_null=False, quoted_strings_can_be_null=False))
print(json.dumps({k: t.column(k).to_pylist() for k in ["num", "str", "int"]}))`,
      file,
    );
    expect(read.int).toEqual(rows.map((r) => r.int));
    expect(read.str).toEqual(rows.map((r) => wellFormed(r.str as string)));
    expect(read.num).toEqual(rows.map((r) => String(r.num)));
  });
});

describe('ndjson through the core: the bytes of the JS writer', () => {
  it('plain records of every hard case: by the core, byte for byte', async () => {
    const dir = scratch();
    const rows = records(400, true);
    const { core, js, parts } = await bothWays(() => rows, join(dir, 'out.ndjson'));
    expect(parts).toBe(1);
    expect(core.equals(js)).toBe(true);
    expect(core.toString()).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  });

  it('records with BigInts and Dates, other shapes, functions and symbols: the same bytes, by whichever writer takes them', async () => {
    const dir = scratch();
    const plain = records(100, true);
    const cases: [string, () => unknown, number][] = [
      ['bigints and dates (the JS writer)', () => records(100), 0],
      ['keys in another order (the JS writer)', () => [...plain, { flag: true, num: 1 }], 0],
      ['functions and symbols are left out', () => plain.map((r, i) => ({ ...r, f: i % 2 ? () => 1 : Symbol('s') })), 1],
      ['null-prototype records', () => plain.map((r) => Object.assign(Object.create(null), r)), 1],
      ['integer-like keys', () => plain.map((r, i) => ({ b: i, 10: 'ten', 2: 'two', a: r.str })), 1],
      ['a toJSON key (the JS writer)', () => [{ toJSON: 5, a: 1 }], 0],
      ['an array with its own toJSON (the JS writer)', () => [{ a: Object.assign([1], { toJSON: () => 'x' }) }], 0],
      ['primitives (the JS writer)', () => [1, 'two', null, true], 0],
      ['promises in an array are awaited', () => [Promise.resolve({ a: 1 }), { a: 2 }], 1],
      ['column object of typed arrays', () => ({ i: Int16Array.from([1, -2, 3]), f: Float64Array.from([NaN, -0, 1e21]), s: ['a', null, undefined] }), 1],
      ['column object with a BigInt64Array (the JS writer)', () => ({ i: BigInt64Array.from([1n, 2n]) }), 0],
      ['arrow table', () => tableFromArrays({ id: Int32Array.from([1, 2, 3]), s: ['x', null, '"y"'] }), 1],
    ];
    for (const [name, make, expected] of cases) {
      const { core, js, parts } = await bothWays(make, join(dir, 'out.ndjson'));
      expect(parts, name).toBe(expected);
      expect(core.toString('latin1'), name).toBe(js.toString('latin1'));
    }
  });

  it('a stream whose second part the JS writer takes: parts stay in order', async () => {
    const dir = scratch();
    async function* values() {
      yield* records(65_536, true, true);
      yield { other: 'shape', n: 1n };
      yield* records(10, true, true);
    }
    const { core, js, parts } = await bothWays(values, join(dir, 'out.ndjson'));
    expect(parts).toBe(1);
    expect(core.equals(js)).toBe(true);
    expect(core.toString().split('\n')).toHaveLength(65_536 + 1 + 10 + 1);
  });

  it('pyarrow reads the same values', async () => {
    expect(hasPython('pyarrow')).toBe(true);
    const dir = scratch();
    // pyarrow's JSON reader wants well-formed text and one type a column.
    const rows = records(300, true).map((r) => ({ num: Number.isFinite(r.num) ? r.num : null, str: wellFormed(r.str as string), int: r.int, flag: r.flag }));
    const file = join(dir, 'out.ndjson');
    await aw.write(rows, file);
    const read = python<Record<string, unknown>[]>(`import pyarrow.json as pj, sys, json\nprint(json.dumps(pj.read_json(sys.argv[1]).to_pylist()))`, file);
    expect(read).toEqual(rows.map((r) => ({ ...r, num: Object.is(r.num, -0) ? 0 : r.num })));
  });
});

// fast-check: random records against references built on JSON.stringify and String().
const cell = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', 'a', '\\', '\u0001', '\uD800', '\uDC00', 'é', ';'), maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const KEYS = ['a', 'b', 'c'] as const;
const rowsArb = fc.array(fc.record({ a: cell, b: cell, c: cell }), { minLength: 1, maxLength: 40 });

/** RFC 4180 as csv.ts documents it, written here from scratch. */
function csvReference(rows: Record<string, unknown>[]): string {
  const field = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${KEYS.join(',')}\n${rows.map((r) => KEYS.map((k) => field(r[k])).join(',')).join('\n')}\n`;
}

describe('fast-check: random records', () => {
  it('csv: the reference, byte for byte (lone surrogates as U+FFFD)', async () => {
    const before = coreParts;
    await fc.assert(
      fc.asyncProperty(rowsArb, async (rows) => {
        expect((await serialize(csv, rows)).equals(Buffer.from(csvReference(rows)))).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(coreParts - before).toBe(300);
  });

  it('ndjson: JSON.stringify of each record, byte for byte', async () => {
    const before = coreParts;
    await fc.assert(
      fc.asyncProperty(rowsArb, async (rows) => {
        const expected = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
        expect((await serialize(ndjson, rows)).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(coreParts - before).toBe(300);
  });

  it('doubles of every exponent: String(n) in csv, JSON.stringify(n) in ndjson', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double(), { minLength: 1, maxLength: 200 }), async (values) => {
        const columns = { v: Float64Array.from(values) };
        expect((await serialize(tsv, columns, { header: false })).toString()).toBe(values.map((v) => `${String(v)}\n`).join(''));
        expect((await serialize(ndjson, columns)).toString()).toBe(values.map((v) => `${JSON.stringify({ v })}\n`).join(''));
      }),
      { numRuns: 500 },
    );
  });
});
