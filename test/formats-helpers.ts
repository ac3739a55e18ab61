// Independent readers for the format tests: Python (pyarrow, numpy) when importable,
// and a way to read a whole file as an ArrayBuffer for the JS readers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { aw, scratch } from './helpers.js';

/** CI points AW_PYTHON at a venv with pyarrow and numpy (.ci/run); else the system python3. */
const PYTHON = process.env.AW_PYTHON ?? 'python3';
const probed = new Map<string, boolean>();

/** True when `python -c "import <module>"` works here. */
export function hasPython(module: string): boolean {
  if (!probed.has(module)) {
    const r = spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
    probed.set(module, r.status === 0);
  }
  return probed.get(module)!;
}

/** Runs a Python snippet with `args` in sys.argv[1:]; returns its stdout parsed as JSON. */
export function python<T = unknown>(code: string, ...args: string[]): T {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function arrayBufferOf(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Strings that break naive writers: quotes, delimiters, line breaks, non-BMP, RTL, BOM. */
export const nasty = [
  'plain',
  '',
  'comma, inside',
  'tab\tinside',
  'say "hi"',
  '"',
  'line\nbreak',
  'crlf\r\nbreak',
  ' leading and trailing ',
  'ünïcödé ✓ — 日本語 🚀 𝄞',
  'שלום',
  '\uFEFFbom',
  '\u2028sep\u2029',
  'NULL',
  '=1+1',
];

/** Rows with every hard case: nulls, NaN/Infinity, int64 limits, Dates, unicode. */
export function trickyRecords(): Record<string, unknown>[] {
  const big = [9223372036854775807n, -9223372036854775808n, 0n, 1n, -1n];
  const floats = [1.5, -0, NaN, Infinity, -Infinity, 1e-300, 2 ** 53, 0.1 + 0.2];
  return nasty.map((s, i) => ({
    id: i,
    text: s,
    maybe: i % 3 === 0 ? null : `v${i}`,
    float: floats[i % floats.length],
    big: big[i % big.length],
    flag: i % 2 === 0,
    when: new Date(Date.UTC(2024, 0, 1 + i, 12, 30, 15, 250)),
  }));
}

/** Python: rows of an Arrow table as JSON-safe values (ints and non-finite floats as strings). */
export const PY_ROWS = `
import json, math, datetime
def safe(v):
    if isinstance(v, bool) or v is None or isinstance(v, str): return v
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return v if math.isfinite(v) else str(v)
    if isinstance(v, (datetime.datetime, datetime.date)): return v.isoformat()
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, list): return [safe(x) for x in v]
    if isinstance(v, dict): return {k: safe(x) for k, x in v.items()}
    return str(v)
def dump(table):
    print(json.dumps({"schema": [f"{f.name}:{f.type}" for f in table.schema], "rows": [safe(r) for r in table.to_pylist()]}))
`;

/** `n` rows as columns: an int32 `i` = k, a float64 `f` = f(k), a utf8 `s` = s(k). */
export function numberedColumns(n: number, f: (k: number) => number, s: (k: number) => string): { i: Int32Array; f: Float64Array; s: string[] } {
  const cols = { i: new Int32Array(n), f: new Float64Array(n), s: new Array<string>(n) };
  for (let k = 0; k < n; k++) {
    cols.i[k] = k;
    cols.f[k] = f(k);
    cols.s[k] = s(k);
  }
  return cols;
}

/** Writes `trickyRecords()` to `name` in a scratch directory; write() must report `format` and every row. */
export async function writeTrickyRecords(name: string, format: string): Promise<{ rows: Record<string, unknown>[]; file: string }> {
  const rows = trickyRecords();
  const file = join(scratch(), name);
  const result = await aw.write(rows, file);
  expect(result).toMatchObject({ format, rows: rows.length });
  return { rows, file };
}
