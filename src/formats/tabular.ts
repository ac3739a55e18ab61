// Row data in every shape `write` takes, cut into parts of bounded size: arrays or
// (async) iterables of records (objects or arrays), objects of columns, apache-arrow
// Tables and RecordBatches (or iterables of them). Arrow and nodejs-polars objects are
// recognized by shape, so neither library is loaded here.

import { invalidArgType } from '../binding/errors';

/** What a column holds, as far as the typed formats (parquet, arrow) care. */
export type Kind = 'boolean' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'string' | 'binary' | 'timestamp' | 'date' | 'json' | 'null';

/** A slice of rows: as records (`rows`) or as one array per column (`columns`). */
export interface Part {
  names: string[];
  length: number;
  rows?: readonly unknown[];
  columns?: ArrayLike<unknown>[];
  /** Known for columnar input (arrow, typed arrays); inferred by `columnsOf` otherwise. */
  kinds?: Kind[];
  /** The RecordBatch itself when the input is apache-arrow. */
  batch?: ArrowBatchLike;
}

export interface ArrowField {
  name: string;
  type: { typeId: number; bitWidth?: number; isSigned?: boolean; precision?: number; unit?: number; dictionary?: { typeId: number } };
}
export interface ArrowVectorLike {
  length: number;
  nullCount: number;
  get(i: number): unknown;
  toArray(): ArrayLike<unknown>;
}
export interface ArrowBatchLike {
  schema: { fields: ArrowField[] };
  numRows: number;
  getChildAt(i: number): ArrowVectorLike | null;
}
export interface ArrowTableLike {
  schema: { fields: ArrowField[] };
  numRows: number;
  batches: ArrowBatchLike[];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

export function isArrowTable(x: unknown): x is ArrowTableLike {
  return isObject(x) && Array.isArray(x.batches) && isObject(x.schema) && Array.isArray(x.schema.fields) && typeof x.numRows === 'number';
}

export function isArrowBatch(x: unknown): x is ArrowBatchLike {
  return isObject(x) && !Array.isArray(x.batches) && isObject(x.schema) && Array.isArray(x.schema.fields) && typeof x.getChildAt === 'function';
}

/** A nodejs-polars DataFrame (or anything with its writers). */
export interface DataFrameLike {
  columns: string[];
  writeParquet(dest: string, options?: object): void;
  writeCSV(dest: string, options?: object): void;
  writeIPC(dest: string, options?: object): void;
  writeIPCStream?(dest: string, options?: object): void;
  writeJSON(dest: string, options?: object): void;
}

/** Rows of a DataFrame, for the write's result and the marker. */
export function dataFrameRows(df: unknown): number | undefined {
  const height = (df as { height?: unknown }).height;
  return typeof height === 'number' ? height : undefined;
}

export function isDataFrame(x: unknown): x is DataFrameLike {
  return isObject(x) && typeof x.writeParquet === 'function' && typeof x.writeCSV === 'function' && typeof x.writeIPC === 'function' && typeof x.writeJSON === 'function';
}

export function isIterable(x: unknown): x is Iterable<unknown> {
  return isObject(x) && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

export function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return isObject(x) && typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (!isObject(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

type ColumnArray = unknown[] | NodeJS.TypedArray;

function isColumnArray(x: unknown): x is ColumnArray {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/** `{ a: [1, 2], b: Float64Array }`: a plain object whose values are equal-length arrays. */
export function isColumnObject(x: unknown): x is Record<string, ColumnArray> {
  if (!isPlainObject(x)) return false;
  const values = Object.values(x);
  if (values.length === 0 || !values.every(isColumnArray)) return false;
  const n = (values[0] as ColumnArray).length;
  return values.every((v) => (v as ColumnArray).length === n);
}

/** Tabular inputs every row format takes (polars DataFrames are handled by each format). */
export function isTabular(x: unknown): boolean {
  return isArrowTable(x) || isArrowBatch(x) || isColumnObject(x) || isIterable(x) || isAsyncIterable(x);
}

export function checkTabular(format: string, data: unknown): void {
  if (typeof data === 'string' || Buffer.isBuffer(data) || ArrayBuffer.isView(data) || !isTabular(data)) {
    throw invalidArgType(
      'data',
      `rows for the ${format} format: an array or (async) iterable of records, an object of columns, an apache-arrow Table or RecordBatch, or a nodejs-polars DataFrame`,
      data,
    );
  }
}

export interface PartOptions {
  /**
   * Column names (and order): exactly these columns, other keys of a record are not
   * written (a selection). Default: the union of the records' keys (see `parts`).
   */
  columns?: string[];
  /** Rows per part. */
  rows: number;
}

export function checkColumns(columns: unknown): string[] | undefined {
  if (columns === undefined) return undefined;
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) {
    throw invalidArgType('options.columns', 'an array of column names', columns);
  }
  return columns as string[];
}

// --- arrow ---------------------------------------------------------------------------

// apache-arrow's Type ids (stable across versions: they are the IPC format's).
const T = { Null: 1, Int: 2, Float: 3, Binary: 4, Utf8: 5, Bool: 6, Date: 8, Timestamp: 10, LargeBinary: 19, LargeUtf8: 20, Utf8View: 24, BinaryView: 23, Dictionary: -1 } as const;

function arrowKind(type: ArrowField['type']): Kind {
  switch (type.typeId) {
    case T.Null:
      return 'null';
    case T.Int:
      if (type.bitWidth === 64) return type.isSigned ? 'int64' : 'uint64';
      if (type.bitWidth === 32 && !type.isSigned) return 'uint32';
      return 'int32';
    case T.Float:
      return type.precision === 2 ? 'float64' : 'float32';
    case T.Utf8:
    case T.LargeUtf8:
    case T.Utf8View:
      return 'string';
    case T.Binary:
    case T.LargeBinary:
    case T.BinaryView:
      return 'binary';
    case T.Bool:
      return 'boolean';
    case T.Date:
      return 'date';
    case T.Timestamp:
      return 'timestamp';
    case T.Dictionary:
      return type.dictionary ? arrowKind(type.dictionary as ArrowField['type']) : 'json';
    default:
      return 'json';
  }
}

/** One column of a RecordBatch as plain values (`null` where null); typed arrays when dense. */
export function arrowColumn(vector: ArrowVectorLike, kind: Kind): ArrayLike<unknown> {
  const dense = vector.nullCount === 0;
  if (dense && (kind === 'int32' || kind === 'uint32' || kind === 'int64' || kind === 'uint64' || kind === 'float64' || kind === 'float32')) {
    const values = vector.toArray();
    // Float16 and narrow ints come back in their own typed arrays: fine for every writer.
    if (ArrayBuffer.isView(values) && !(values instanceof Uint16Array && kind === 'float32')) return values;
  }
  const n = vector.length;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = vector.get(i);
  if (kind === 'json') {
    for (let i = 0; i < n; i++) {
      const v = out[i] as { toJSON?: () => unknown } | null;
      if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') out[i] = v.toJSON();
    }
  }
  return out;
}

export function arrowPart(batch: ArrowBatchLike): Part {
  const fields = batch.schema.fields;
  const kinds = fields.map((f) => arrowKind(f.type));
  let columns: ArrayLike<unknown>[] | undefined;
  // Values are pulled out only for formats that need them: the arrow format writes the
  // batch as it is, and reading a million strings out of it would cost more than that.
  return {
    names: fields.map((f) => f.name),
    length: batch.numRows,
    kinds,
    batch,
    get columns() {
      columns ??= fields.map((_, i) => {
        const child = batch.getChildAt(i);
        return child ? arrowColumn(child, kinds[i]) : new Array(batch.numRows).fill(null);
      });
      return columns;
    },
  };
}

// --- inference -----------------------------------------------------------------------

export function kindOf(value: unknown): Kind {
  switch (typeof value) {
    case 'number':
      return 'float64';
    case 'bigint':
      return 'int64';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (value === null) return 'null';
      if (value instanceof Date) return 'timestamp';
      if (value instanceof Uint8Array) return 'binary';
      return 'json';
    default:
      return 'null';
  }
}

function typedArrayKind(values: NodeJS.TypedArray): Kind {
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof BigInt64Array) return 'int64';
  if (values instanceof BigUint64Array) return 'uint64';
  if (values instanceof Uint32Array) return 'uint32';
  return 'int32';
}

/** The kind of a column of JS values: that of its first non-null value. */
export function inferKind(values: ArrayLike<unknown>): Kind {
  if (ArrayBuffer.isView(values)) return typedArrayKind(values as NodeJS.TypedArray);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) return kindOf(v);
  }
  return 'null';
}

function sameKind(expected: Kind, value: unknown): boolean {
  const actual = kindOf(value);
  if (actual === 'null' || actual === expected) return true;
  // Numbers fill any numeric column; narrowing is checked by the writer.
  return actual === 'float64' && (expected === 'int32' || expected === 'uint32' || expected === 'float32' || expected === 'int64' || expected === 'uint64');
}

/** Raises the TypeError a bad row deserves (it fails the write; the old file stays). */
export function checkKinds(part: Part, columns: ArrayLike<unknown>[], kinds: Kind[], firstRow: number): void {
  for (let c = 0; c < columns.length; c++) {
    const kind = kinds[c];
    const values = columns[c];
    if (ArrayBuffer.isView(values) || kind === 'json' || kind === 'null') continue;
    for (let i = 0; i < values.length; i++) {
      if (!sameKind(kind, values[i])) {
        const v = values[i];
        throw invalidArgType(`row ${firstRow + i}, column "${part.names[c]}"`, `a ${kind} value like the rows before it (or null)`, v);
      }
    }
  }
}

/** The columns of a part (records are transposed). */
export function columnsOf(part: Part): ArrayLike<unknown>[] {
  if (part.columns) return part.columns;
  const { names, length } = part;
  const rows = part.rows as unknown[];
  const columns = names.map(() => new Array<unknown>(length));
  for (let r = 0; r < length; r++) {
    const row = rows[r];
    // A missing key (or a short array row) is a null, as a null value is: apache-arrow
    // would write `undefined` in a string column as "".
    if (Array.isArray(row)) {
      for (let c = 0; c < names.length; c++) columns[c][r] = row[c] ?? null;
    } else if (isObject(row)) {
      for (let c = 0; c < names.length; c++) columns[c][r] = row[names[c]] ?? null;
    } else {
      throw invalidArgType('row', 'an object or an array', row);
    }
  }
  return columns;
}

// --- parts ---------------------------------------------------------------------------

// Columns of records. Without `options.columns` they are the union of the keys of every
// record the writer sees before the header is written, in first-seen order: all of an
// array's records, and the first part of an (async) iterable (its first `options.rows`
// records, which are buffered anyway: 65,536 for csv, tsv and arrow, `rowGroupSize` for
// parquet). A later record with a key outside them (or an array row longer than the
// columns) fails the write with ERR_UNKNOWN_COLUMN: it is never dropped in silence.
// Arrays as rows are positional; their columns are "0", "1", ... as wide as the widest.

function isRecord(x: unknown): x is Record<string, unknown> {
  return isObject(x) && !ArrayBuffer.isView(x) && !(x instanceof ArrayBuffer);
}

/** A row that is neither a record nor an array (bytes and strings get a hint). */
export function badRow(row: unknown, index: number): TypeError {
  const chunk = typeof row === 'string' || ArrayBuffer.isView(row) || row instanceof ArrayBuffer;
  const hint = chunk ? ' (to write bytes or text as they are, pass { format: "bytes" } or { format: "text" })' : '';
  return invalidArgType(`row ${index}`, `an object or an array${hint}`, row);
}

export interface UnknownColumnError extends TypeError {
  code: 'ERR_UNKNOWN_COLUMN';
  /** The key (or, for an array row, the index) that is not a column. */
  column: string;
  /** The row's index in the input (0-based). */
  row: number;
}

function unknownColumn(column: string, row: number, names: readonly string[], window: number): UnknownColumnError {
  const shown = names.length > 10 ? `${names.slice(0, 10).map((n) => JSON.stringify(n)).join(', ')}, ...` : names.map((n) => JSON.stringify(n)).join(', ');
  const error = new TypeError(
    `Row ${row} has the key ${JSON.stringify(column)}, which is not one of the columns (${shown || 'none'}); the columns are the keys of the first ${window} rows. Pass options.columns to name every column`,
  ) as UnknownColumnError;
  error.code = 'ERR_UNKNOWN_COLUMN';
  error.column = column;
  error.row = row;
  return error;
}

/**
 * True when `row`'s keys are exactly `keys`, in order. A for-in loop, not Object.keys:
 * records of one shape share V8's enumeration cache, so this allocates nothing (about
 * 5x faster on a million records). Inherited enumerable keys make it false, and the
 * caller then looks at Object.keys.
 */
export function hasKeys(row: object, keys: readonly string[]): boolean {
  let j = 0;
  for (const key in row) {
    if (j >= keys.length || keys[j] !== key) return false;
    j++;
  }
  return j === keys.length;
}

/** The columns fixed for a table of records, and the check of every later row. */
class Columns {
  readonly names: string[];
  readonly #known: Set<string>;
  readonly #window: number;
  /** The keys of the last record checked, all known. */
  #last: string[] | undefined;

  constructor(names: string[], window: number) {
    this.names = names;
    this.#known = new Set(names);
    this.#window = window;
  }

  /** The union over `rows` (`first` is the index of rows[0] in the input). */
  static of(rows: readonly unknown[], first = 0): Columns {
    const union: string[] = [];
    const seen = new Set<string>();
    let width = 0;
    let positional: boolean | undefined;
    let mixed = false;
    let last: string[] | undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (Array.isArray(row)) {
        positional ??= true;
        mixed ||= !positional;
        if (row.length > width) width = row.length;
      } else if (isRecord(row)) {
        positional ??= false;
        mixed ||= positional;
        // Records of one shape are the common case: their keys are already known.
        if (last !== undefined && hasKeys(row, last)) continue;
        const keys = Object.keys(row);
        for (const key of keys) {
          if (!seen.has(key)) {
            seen.add(key);
            union.push(key);
          }
        }
        last = keys;
      } else {
        throw badRow(row, first + i);
      }
    }
    const columns = new Columns(positional ? Array.from({ length: width }, (_, i) => String(i)) : union, Math.max(rows.length, 1));
    // Arrays among records (or records among arrays) must fit the columns too.
    if (mixed) rows.forEach((row, i) => columns.check(row, first + i));
    return columns;
  }

  check(row: unknown, index: number): void {
    if (Array.isArray(row)) {
      if (row.length > this.names.length) throw unknownColumn(String(this.names.length), index, this.names, this.#window);
    } else if (isRecord(row)) {
      if (this.#last !== undefined && hasKeys(row, this.#last)) return;
      const keys = Object.keys(row);
      for (const key of keys) {
        if (!this.#known.has(key)) throw unknownColumn(key, index, this.names, this.#window);
      }
      this.#last = keys;
    } else {
      throw badRow(row, index);
    }
  }
}

function* columnObjectParts(data: Record<string, ColumnArray>, options: PartOptions): Generator<Part> {
  const names = options.columns ?? Object.keys(data);
  const all = names.map((name) => {
    const values = data[name];
    if (values === undefined) throw invalidArgType(`data.${name}`, 'a column (an array or a TypedArray)', values);
    return values;
  });
  const length = all.length ? all[0].length : 0;
  const kinds = all.map((values) => inferKind(values));
  let start = 0;
  do {
    const end = Math.min(length, start + options.rows);
    const columns = all.map((values) => (Array.isArray(values) ? values.slice(start, end) : values.subarray(start, end)));
    yield { names, length: end - start, columns, kinds };
    start = end;
  } while (start < length);
}

async function* recordParts(source: Iterable<unknown> | AsyncIterable<unknown>, options: PartOptions): AsyncGenerator<Part> {
  // Fixed when the first part is complete: the union over its rows (or options.columns).
  let columns: Columns | undefined;
  const given = options.columns;
  let records = false;
  let batches = false;
  let rows: unknown[] = [];
  let index = 0;
  const fix = (): string[] => {
    if (given) return given;
    columns ??= Columns.of(rows);
    return columns.names;
  };
  for await (const item of source as AsyncIterable<unknown>) {
    // An iterable of RecordBatches is written batch by batch.
    if (isArrowBatch(item)) {
      if (records) badMix(item);
      batches = true;
      yield arrowPart(item);
      continue;
    }
    if (batches) badMix(item);
    records = true;
    if (columns) columns.check(item, index);
    else if (given && !isRecord(item)) throw badRow(item, index);
    index++;
    rows.push(item);
    if (rows.length >= options.rows) {
      yield { names: fix(), length: rows.length, rows };
      rows = [];
    }
  }
  if (rows.length > 0 || (!records && !batches)) {
    yield { names: fix(), length: rows.length, rows };
  }
}

function* arrayParts(rows: readonly unknown[], options: PartOptions): Generator<Part> {
  // Every record is seen before the header is written: the columns are their union.
  const names = options.columns ?? Columns.of(rows).names;
  let start = 0;
  do {
    const end = Math.min(rows.length, start + options.rows);
    yield { names, length: end - start, rows: start === 0 && end === rows.length ? rows : rows.slice(start, end) };
    start = end;
  } while (start < rows.length);
}

/** Parts of at most `options.rows` rows; at least one part (maybe empty) so the header is known. */
export function parts(data: unknown, options: PartOptions): AsyncIterable<Part> | Iterable<Part> {
  if (isArrowTable(data)) {
    const batches = data.batches;
    if (batches.length === 0) return [{ names: data.schema.fields.map((f) => f.name), length: 0, columns: data.schema.fields.map(() => []), kinds: data.schema.fields.map((f) => arrowKind(f.type)) }];
    return batches.map(arrowPart);
  }
  if (isArrowBatch(data)) return [arrowPart(data)];
  if (isColumnObject(data)) return columnObjectParts(data, options);
  if (Array.isArray(data)) {
    if (data.length > 0 && isArrowBatch(data[0])) return data.map((b) => (isArrowBatch(b) ? arrowPart(b) : badMix(b)));
    return arrayParts(data, options);
  }
  if (isIterable(data) || isAsyncIterable(data)) return recordParts(data, options);
  throw invalidArgType('data', 'rows', data);
}

function badMix(item: unknown): never {
  throw invalidArgType('data', 'rows of one kind (records, or apache-arrow RecordBatches, not both)', item);
}
