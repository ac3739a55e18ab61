// `json`: one JSON value, indented (default 2) with a trailing newline. Arrays,
// iterables and tables are written element by element (row data is never one string
// in memory); other values are stringified before the temp is created, so a circular
// or unserializable value throws before the disk is touched. BigInts are written as
// exact JSON numbers.

import { invalidArgType, outOfRange } from '../binding/errors';
import type { Format } from './registry';
import { stringify } from './stringify';
import type { ByteSink } from './sink';
import { arrowPart, isArrowBatch, isArrowTable, isAsyncIterable, isColumnObject, isDataFrame, isIterable, parts, type Part, dataFrameRows } from './tabular';

const FLUSH_AT = 1 << 18;

export function checkIndent(indent: unknown): string | number {
  if (indent === undefined) return 2;
  if (typeof indent === 'number') {
    if (!Number.isInteger(indent) || indent < 0 || indent > 10) throw outOfRange('options.indent', 'an integer >= 0 and <= 10', indent);
    return indent;
  }
  if (typeof indent === 'string' && indent.length <= 10 && /^\s*$/.test(indent)) return indent;
  throw invalidArgType('options.indent', 'a number of spaces (0 to 10) or a whitespace string', indent);
}

/** Rows of a part as objects (tables and column objects become records). */
export function* recordsOf(part: Part): Generator<unknown> {
  if (part.rows) {
    yield* part.rows;
    return;
  }
  const { names, length } = part;
  const columns = part.columns as ArrayLike<unknown>[];
  for (let r = 0; r < length; r++) {
    const record: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) record[names[c]] = columns[c][r];
    yield record;
  }
}

/** Values a JSON array element may be; JSON.stringify writes `null` for the others. */
function element(value: unknown, indent: string | number, pad: string): string {
  const text = stringify(value, indent);
  if (text === undefined) return 'null';
  return pad && text.includes('\n') ? text.replace(/\n/g, `\n${pad}`) : text;
}

/**
 * Inputs written as a JSON array, element by element: arrays, every other (async)
 * iterable (a Set, a generator, a stream, a TypedArray), and tables. A Map is an
 * iterable of its `[key, value]` entries, so it becomes an array of entries (what
 * `[...map]` gives, and `new Map(JSON.parse(text))` reads back). A value with its own
 * `toJSON` (a Buffer, a Date) is written by it.
 */
function isStreamed(data: unknown): boolean {
  if (typeof data === 'string' || data === null || typeof data !== 'object') return false;
  if (isArrowTable(data) || isArrowBatch(data)) return true;
  if (typeof (data as { toJSON?: unknown }).toJSON === 'function') return false;
  return Array.isArray(data) || isIterable(data) || isAsyncIterable(data);
}

/**
 * The values of an input written as an array (json) or as lines (ndjson): tables and
 * objects of columns as records; RecordBatches inside an iterable as their records;
 * anything else an iterable yields as it is, primitives included.
 */
export async function* jsonValues(data: unknown): AsyncGenerator<unknown> {
  if (isArrowTable(data) || isArrowBatch(data) || isColumnObject(data)) {
    for await (const part of parts(data, { rows: 65536 })) yield* recordsOf(part);
    return;
  }
  for await (const value of data as AsyncIterable<unknown>) {
    if (isArrowBatch(value)) yield* recordsOf(arrowPart(value));
    else yield value;
  }
}

interface Prepared {
  text?: string;
}

async function serializeArray(data: unknown, sink: ByteSink, indent: string | number): Promise<number> {
  const pad = typeof indent === 'number' ? ' '.repeat(indent) : indent;
  const open = pad ? `[\n${pad}` : '[';
  const separator = pad ? `,\n${pad}` : ',';
  let out = '';
  let count = 0;
  const values = Array.isArray(data) ? data : jsonValues(data);
  for await (const value of values) {
    out += (count++ === 0 ? open : separator) + element(value, indent, pad);
    if (out.length >= FLUSH_AT) {
      await sink.write(out);
      out = '';
    }
  }
  out += count === 0 ? '[]\n' : pad ? '\n]\n' : ']\n';
  await sink.write(out);
  return count;
}

export const json: Format = {
  name: 'json',
  options: ['indent'],
  validate(data, options) {
    checkIndent(options.indent);
    if (data === undefined || typeof data === 'function' || typeof data === 'symbol') {
      throw invalidArgType('data', 'a JSON-serializable value', data);
    }
  },
  usesPath: isDataFrame,
  prepare(data, options): unknown {
    if (isDataFrame(data) || isStreamed(data)) return data;
    const text = stringify(data, checkIndent(options.indent));
    if (text === undefined) throw invalidArgType('data', 'a JSON-serializable value', data);
    return { text: `${text}\n` } satisfies Prepared;
  },
  async serialize(data, sink, options) {
    if (isStreamed(data)) return serializeArray(data, sink, checkIndent(options.indent));
    await sink.write((data as Prepared).text as string);
    return undefined;
  },
  writeTo(tmpPath, data) {
    (data as { writeJSON(dest: string, o: object): void }).writeJSON(tmpPath, { format: 'json' });
    return dataFrameRows(data);
  },
};
