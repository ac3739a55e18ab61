// CSV and NDJSON rows through the core's encoder (`crates/text`): formatting a
// million doubles with String() alone takes longer than nodejs-polars takes for the
// whole file, so the numbers and the quoting or escaping of strings are done in Rust,
// a part (65,536 rows) at a time, on a core thread while JS prepares the next part.
//
// JS hands each column as numbers (one Float64Array), as strings (joined once, as
// UTF-16 code units plus offsets: the rules apply to code units, as the JS writers
// apply them), or as cells it formatted itself with the JS writer's own function
// (Dates, objects, bigints, columns of mixed types), which Rust copies as they are.
// Every choice that could change a byte is made here by the JS rules; a part this
// module does not take (`undefined`) goes through the JS writer, byte for byte as before.

import { native } from '../binding/native';
import type { TextColumn, TextLayout } from '../../native/binding';
import { isPlain } from './stringify';
import type { ByteSink } from './sink';
import { hasKeys, type Kind, type Part } from './tabular';

// Cell states, as crates/text reads them.
const NULL = 1;
const ABSENT = 2;

/**
 * `core: false` sends every part through the JS writers: the tests write each case both
 * ways and compare the bytes. Nothing else changes it.
 */
export const encoder = { core: true };

/**
 * Above this many UTF-16 units in one column of a part, the part is left to the JS
 * writer: the offsets are u32, and a Buffer holds at most 4 GiB. Below it, the buffer
 * is twice the part's own strings, which are in memory anyway.
 */
const MAX_UNITS = 2 ** 30;

type Values = ArrayLike<unknown>;

/** Strings per String.prototype.concat call (an argument list, so not all 65,536 at once). */
const CONCAT = 8192;

function bytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Where a column's values are: a column (`key` undefined), or `key` of every row.
 * Read from the rows straight into a Float64Array, a number is never boxed.
 */
interface Source {
  rows: Values;
  key?: string | number;
}

function read(source: Source, r: number): unknown {
  return source.key === undefined ? source.rows[r] : (source.rows[r] as Record<string | number, unknown>)[source.key];
}

/** A column read once: only numbers, only strings (each maybe with empty cells), or more. */
interface Gathered {
  sort: 'numbers' | 'strings' | 'mixed';
  /** Numbers: the values (0 in empty cells). */
  numbers: Float64Array;
  /** Strings: the strings (anything in empty cells), their UTF-16 offsets (n + 1) and total (not wrapped at 2^32). */
  texts: Values;
  offsets: Uint32Array;
  units: number;
  /** The state of each cell (`emptyState` of the empty ones), when there is an empty one. */
  state?: Uint8Array;
}

/** One pass; `emptyState` is the state of a value neither number nor string (0: not an empty one, the column is mixed). */
function gather(source: Source, n: number, emptyState: (v: unknown) => number): Gathered {
  const { rows, key } = source;
  const column = key === undefined ? rows : undefined;
  const none = new Uint32Array(0);
  if (ArrayBuffer.isView(column)) {
    const mixed = column instanceof BigInt64Array || column instanceof BigUint64Array;
    const numbers = column instanceof Float64Array || mixed ? (column as Float64Array) : Float64Array.from(column as unknown as ArrayLike<number>);
    return { sort: mixed ? 'mixed' : 'numbers', numbers, texts: [], offsets: none, units: 0 };
  }
  // Records whose key holds a number in every row, or a string: a loop that does
  // nothing else (about twice as fast as the general one below), and only the arrays it fills.
  if (typeof key === 'string' && n > 0) {
    const first = (rows[0] as Record<string, unknown>)[key];
    if (typeof first === 'number') {
      const numbers = new Float64Array(n);
      if (keyedNumbers(rows, key, numbers, n)) return { sort: 'numbers', numbers, texts: [], offsets: none, units: 0 };
    } else if (typeof first === 'string') {
      const texts = new Array<unknown>(n);
      const offsets = new Uint32Array(n + 1);
      const units = keyedStrings(rows, key, texts, offsets, n);
      if (units >= 0) return { sort: 'strings', numbers: new Float64Array(0), texts, offsets, units };
    }
  }
  const numbers = new Float64Array(n);
  const offsets = new Uint32Array(n + 1);
  const texts = column ?? new Array<unknown>(n);
  const mixed: Gathered = { sort: 'mixed', numbers, texts, offsets, units: 0 };
  let state: Uint8Array | undefined;
  let strings = false;
  let counted = false;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const v = key === undefined ? rows[i] : (rows[i] as Record<string | number, unknown>)[key];
    offsets[i] = at;
    if (typeof v === 'number') {
      numbers[i] = v;
      counted = true;
    } else if (typeof v === 'string') {
      if (texts !== column) (texts as unknown[])[i] = v;
      at += v.length;
      strings = true;
    } else {
      const empty = emptyState(v);
      if (empty === 0) return mixed;
      (state ??= new Uint8Array(n))[i] = empty;
    }
  }
  offsets[n] = at;
  if (strings && counted) return mixed;
  return { sort: strings ? 'strings' : 'numbers', numbers, texts, offsets, units: at, state };
}

/** `key` of every row into `numbers`; false at the first row where it is not a number. */
function keyedNumbers(rows: Values, key: string, numbers: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = (rows[i] as Record<string, unknown>)[key];
    if (typeof v !== 'number') return false;
    numbers[i] = v;
  }
  return true;
}

/** `key` of every row into `texts`, with `offsets`: their total, or -1 at the first row where it is not a string. */
function keyedStrings(rows: Values, key: string, texts: unknown[], offsets: Uint32Array, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const v = (rows[i] as Record<string, unknown>)[key];
    if (typeof v !== 'string') return -1;
    offsets[i] = at;
    texts[i] = v;
    at += v.length;
  }
  offsets[n] = at;
  return at;
}

/**
 * Strings (empty cells as '') as one UTF-16LE buffer at `offsets`.
 * String.prototype.concat over a slice is about twice as fast as join('').
 */
function packTexts(texts: Values, n: number, offsets: Uint32Array, total: number, mode: TextColumn['mode'], state?: Uint8Array): TextColumn | undefined {
  if (total > MAX_UNITS) return undefined;
  const units = Buffer.allocUnsafe(total * 2);
  for (let i = 0; i < n; i += CONCAT) {
    const slice = Array.prototype.slice.call(texts, i, Math.min(n, i + CONCAT)) as string[];
    if (state) for (let j = 0; j < slice.length; j++) if (state[i + j] !== 0) slice[j] = '';
    units.write(String.prototype.concat.apply('', slice), offsets[i] * 2, 'utf16le');
  }
  return { units, offsets: bytes(offsets), mode, state: state && bytes(state) };
}

interface ColumnRules {
  mode: 'field' | 'json';
  /** See `gather`. */
  emptyState(v: unknown): number;
  /** A cell of a mixed column as the JS writer writes it, or `undefined` to leave the part to it. */
  format(v: unknown): string | undefined;
  /** Every cell goes through `format` (csv's dates). */
  allFormatted?: boolean;
}

/** One column for the core: numbers, strings, or cells formatted here; `undefined`: the JS writer's. */
function coreColumn(source: Source, n: number, rules: ColumnRules): TextColumn | undefined {
  const got = rules.allFormatted ? undefined : gather(source, n, rules.emptyState);
  if (got?.sort === 'numbers') return { numbers: bytes(got.numbers.subarray(0, n)), mode: rules.mode, state: got.state && bytes(got.state) };
  if (got?.sort === 'strings') return packTexts(got.texts, n, got.offsets, got.units, rules.mode, got.state);
  const texts = new Array<string>(n);
  const offsets = new Uint32Array(n + 1);
  let state: Uint8Array | undefined;
  let at = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = at;
    const v = read(source, i);
    const empty = rules.emptyState(v);
    if (empty !== 0) {
      (state ??= new Uint8Array(n))[i] = empty;
      texts[i] = '';
      continue;
    }
    const text = rules.format(v);
    if (text === undefined) return undefined;
    texts[i] = text;
    at += text.length;
  }
  offsets[n] = at;
  return packTexts(texts, n, offsets, at, 'verbatim', state);
}

// --- csv -------------------------------------------------------------------------------

const csvEmpty = (v: unknown): number => (v === null || v === undefined ? NULL : 0);

/** Where the part's columns are, as csv.ts reads them: `row[c]` for array rows, `row[name]` for records. */
function csvSources(part: Part): Source[] | undefined {
  if (part.columns) return part.columns.map((column) => ({ rows: column }));
  const { names, length } = part;
  const rows = part.rows as unknown[];
  let arrays = 0;
  for (let r = 0; r < length; r++) {
    const row = rows[r];
    // A bad row: the JS writer raises the error it always has.
    if (row === null || typeof row !== 'object') return undefined;
    if (Array.isArray(row)) arrays++;
  }
  if (arrays === 0) return names.map((key) => ({ rows, key }));
  if (arrays === length) return names.map((_, c) => ({ rows, key: c }));
  // Arrays among records: each row read by its own rule.
  return names.map((name, c) => {
    const column = new Array<unknown>(length);
    for (let r = 0; r < length; r++) {
      const row = rows[r] as Record<string, unknown> | unknown[];
      column[r] = Array.isArray(row) ? row[c] : row[name];
    }
    return { rows: column };
  });
}

export interface CsvRules {
  delimiter: string;
  eol: string;
  /** The delimiter may occur in a number ("." or "e"): numbers get the strings' quoting rule. */
  quoteNumbers: boolean;
  /** csv.ts's formatting of one field (used for the cells JS formats itself). */
  field(value: unknown, kind?: Kind): string;
}

/** A part's rows as CSV by the core; `undefined` for the JS writer to do. */
export function csvPart(part: Part, rules: CsvRules): Promise<Buffer> | undefined {
  if (!encoder.core) return undefined;
  // A lone surrogate in the delimiter would be U+FFFD on the way to Rust.
  if (/[\uD800-\uDFFF]/.test(rules.delimiter)) return undefined;
  const sources = csvSources(part);
  if (!sources) return undefined;
  const n = part.length;
  const kinds = part.kinds ?? [];
  const columns: TextColumn[] = [];
  for (let c = 0; c < sources.length; c++) {
    const kind = kinds[c];
    const column = coreColumn(sources[c], n, {
      mode: 'field',
      emptyState: csvEmpty,
      format: (v) => rules.field(v, kind),
      // Numbers in a date or timestamp column are ISO dates.
      allFormatted: kind === 'timestamp' || kind === 'date',
    });
    if (!column) return undefined;
    columns.push(column);
  }
  const layout: TextLayout = { format: 'csv', delimiter: rules.delimiter, eol: rules.eol, quoteNumbers: rules.quoteNumbers };
  return native().encodeText(layout, n, columns);
}

// --- ndjson ----------------------------------------------------------------------------

/** Keys as JSON.stringify orders them for a record built by assigning `names` in turn. */
function keyOrder(names: readonly string[]): string[] | undefined {
  if (new Set(names).size !== names.length || names.includes('__proto__') || names.includes('toJSON')) return undefined;
  const probe: Record<string, number> = {};
  for (const name of names) probe[name] = 0;
  return Object.keys(probe);
}

/** Plain records of one shape: their keys (JSON.stringify's order), or `undefined`. */
function recordKeys(rows: readonly unknown[]): string[] | undefined {
  const first = rows[0];
  if (typeof first !== 'object' || first === null) return undefined;
  const keys = Object.keys(first);
  if (keys.includes('toJSON')) return undefined;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'object' || row === null) return undefined;
    const proto = Object.getPrototypeOf(row) as unknown;
    if ((proto !== Object.prototype && proto !== null) || !hasKeys(row, keys)) return undefined;
  }
  return keys;
}

/** Values JSON.stringify leaves out of an object (the key is not written), and null. */
const jsonEmpty = (v: unknown): number => (v === null ? NULL : v === undefined || typeof v === 'function' || typeof v === 'symbol' ? ABSENT : 0);

/**
 * A cell as it is inside its record, when JSON.stringify alone writes it so: plain
 * data only (anything stringify() converts, a toJSON, a BigInt, a Map, leaves the part
 * to the JS writer). isPlain lets arrays through without looking for a toJSON of their
 * own, which a record's stringify would call with the key (this one would get '').
 */
function plainJson(v: unknown): string | undefined {
  if (!isPlain(v, 1) || (Array.isArray(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function')) return undefined;
  return JSON.stringify(v);
}

const JSON_RULES: ColumnRules = { mode: 'json', emptyState: jsonEmpty, format: plainJson };

/**
 * Records (`rows`) or a table's columns as NDJSON lines by the core; `undefined` for
 * the JS writer to do (rows that are not plain records of one shape, or a cell that
 * is not plain JSON data).
 */
export function ndjsonPart(part: Part): Promise<Buffer> | undefined {
  if (!encoder.core) return undefined;
  const n = part.length;
  let keys: string[] | undefined;
  let sources: Source[];
  if (part.rows) {
    const rows = part.rows;
    keys = recordKeys(rows);
    if (!keys) return undefined;
    sources = keys.map((key) => ({ rows, key }));
  } else {
    keys = keyOrder(part.names);
    if (!keys) return undefined;
    const columns = part.columns as Values[];
    const at = new Map(part.names.map((name, c) => [name, c]));
    sources = keys.map((key) => ({ rows: columns[at.get(key) as number] }));
  }
  const columns: TextColumn[] = [];
  for (let c = 0; c < keys.length; c++) {
    const column = coreColumn(sources[c], n, JSON_RULES);
    if (!column) return undefined;
    column.key = `${JSON.stringify(keys[c])}:`;
    columns.push(column);
  }
  return native().encodeText({ format: 'ndjson' }, n, columns);
}

// --- writing in order ----------------------------------------------------------------

const ignore = (): void => {};

/**
 * The encoded parts to the sink in order, with one encoding in flight while the next
 * part is prepared (memory: two parts).
 */
export class InOrder {
  #sink: ByteSink;
  #pending: Promise<Buffer> | undefined;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /**
   * One part: by the core when `core` takes it (the encoding is queued and the one
   * before it written), else by `js` once everything before it is written. When
   * `core` throws (a cell JS cannot format: a circular object, a throwing getter),
   * `js` meets the cell again and raises its error, for the row it always has.
   */
  async write(core: () => Promise<Buffer> | undefined, js: () => Promise<void>): Promise<void> {
    let encoded: Promise<Buffer> | undefined;
    try {
      encoded = core();
    } catch {
      encoded = undefined;
    }
    if (!encoded) {
      await this.drain();
      await js();
      return;
    }
    // Its rejection is seen when it is written: not an unhandled one meanwhile.
    encoded.catch(ignore);
    const previous = this.#pending;
    this.#pending = encoded;
    if (previous) await this.#sink.write(await previous);
  }

  /** Writes what is queued (call it at the end). */
  async drain(): Promise<void> {
    const previous = this.#pending;
    this.#pending = undefined;
    if (previous) await this.#sink.write(await previous);
  }
}
