// `parquet` through the core's encoder (`crates/parquet`, the Rust `parquet` crate's
// low-level writer): each row group goes to Rust as raw column buffers (a TypedArray's
// bytes as they are, strings as one UTF-8 buffer plus offsets, nulls as a bitmap), is
// encoded on the core's threads and written straight into the staged temp, so memory is
// bounded by the row group, not the file. Compression: snappy (default), zstd, gzip,
// none. nodejs-polars DataFrames are written by polars itself into the staged temp.

import { invalidArgType, outOfRange } from '../binding/errors';
import { parseBoolean, parseInteger } from '../args/validate';
import { native, type NativeHandle } from '../binding/native';
import type { ParquetColumn, ParquetEncoder, ParquetOutput } from '../../native/binding';
import type { Format, FormatOptions } from './registry';
import { FileSink, type ByteSink } from './sink';
import { arrowColumn, checkColumns, checkKinds, checkTabular, columnsOf, inferKind, isDataFrame, parts, type Kind, type Part, dataFrameRows } from './tabular';

const COMPRESSIONS = ['snappy', 'zstd', 'gzip', 'none', 'uncompressed'] as const;
type Compression = (typeof COMPRESSIONS)[number];

// --- options -------------------------------------------------------------------------

interface ParquetOptions {
  compression: Compression;
  rowGroupSize: number;
  statistics: boolean;
  columns?: string[];
}

function checkOptions(options: FormatOptions): ParquetOptions {
  const { compression = 'snappy', rowGroupSize = 100_000, statistics = true } = options;
  if (typeof compression !== 'string' || !(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw invalidArgType('options.compression', `one of ${COMPRESSIONS.join(', ')}`, compression);
  }
  return { compression: compression as Compression, rowGroupSize: parseInteger(rowGroupSize, 'options.rowGroupSize', 100_000, 1, 1e8), statistics: parseBoolean(statistics, 'options.statistics', true), columns: checkColumns(options.columns) };
}

// --- column kinds ----------------------------------------------------------------------

/** The encoder's kind for a column: `Kind`, narrowed by the TypedArray it came in. */
function encoderKind(kind: Kind, sample: ArrayLike<unknown> | undefined): string {
  if (kind === 'int32') {
    if (sample instanceof Int8Array) return 'int8';
    if (sample instanceof Int16Array) return 'int16';
    if (sample instanceof Uint8Array || sample instanceof Uint8ClampedArray) return 'uint8';
    if (sample instanceof Uint16Array) return 'uint16';
    return 'int32';
  }
  // All-null columns are strings with no values.
  return kind === 'null' ? 'string' : kind;
}

/** Bytes per row in the values buffer of fixed-width kinds. */
const WIDTH: Record<string, number> = { boolean: 1, int8: 4, int16: 4, int32: 4, uint8: 4, uint16: 4, uint32: 4, float32: 4, int64: 8, uint64: 8, float64: 8, timestamp: 8, date: 8 };

// --- columns to buffers --------------------------------------------------------------

function bytesOf(view: ArrayBufferView, length = view.byteLength): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, length);
}

/** Validity bitmap (LSB first, Arrow's layout), made on the first null only. */
class Nulls {
  bits: Uint8Array | undefined;
  constructor(readonly rows: number) {}
  mark(row: number): void {
    this.bits ??= new Uint8Array((this.rows + 7) >> 3).fill(0xff);
    this.bits[row >> 3] &= ~(1 << (row & 7));
  }
  column(values: Buffer, offsets?: Buffer): ParquetColumn {
    return { values, offsets, validity: this.bits && bytesOf(this.bits), validityOffset: 0 };
  }
}

const INT32_CTORS: Record<string, Int32ArrayConstructor | Uint32ArrayConstructor> = { int8: Int32Array, int16: Int32Array, int32: Int32Array, uint8: Int32Array, uint16: Int32Array, uint32: Uint32Array };

function numberColumn(values: ArrayLike<unknown>, n: number, kind: string, name: string): ParquetColumn {
  const nulls = new Nulls(n);
  const int = kind in INT32_CTORS;
  const out = int ? new INT32_CTORS[kind](n) : kind === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls.mark(i);
    else if (int && !Number.isInteger(v)) throw invalidArgType(`row ${i}, column "${name}"`, `an integer (an ${kind} column)`, v);
    else out[i] = v as number;
  }
  return nulls.column(bytesOf(out));
}

function bigintColumn(values: ArrayLike<unknown>, n: number, kind: string, name: string): ParquetColumn {
  const nulls = new Nulls(n);
  const out = kind === 'uint64' ? new BigUint64Array(n) : new BigInt64Array(n);
  const fit = kind === 'uint64' ? (v: bigint) => BigInt.asUintN(64, v) === v : (v: bigint) => BigInt.asIntN(64, v) === v;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nulls.mark(i);
      continue;
    }
    const big = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
    if (typeof big !== 'bigint') throw invalidArgType(`row ${i}, column "${name}"`, `an integer (an ${kind} column)`, v);
    if (!fit(big)) throw outOfRange(`row ${i}, column "${name}"`, `within the range of ${kind}`, v);
    out[i] = big;
  }
  return nulls.column(bytesOf(out));
}

function booleanColumn(values: ArrayLike<unknown>, n: number): ParquetColumn {
  const nulls = new Nulls(n);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls.mark(i);
    else out[i] = v ? 1 : 0;
  }
  return nulls.column(bytesOf(out));
}

/** Dates and timestamps: milliseconds since the epoch as float64 (Rust floors them). */
function timeColumn(values: ArrayLike<unknown>, n: number): ParquetColumn {
  const nulls = new Nulls(n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : NaN;
    if (Number.isNaN(ms)) nulls.mark(i);
    else out[i] = ms;
  }
  return nulls.column(bytesOf(out));
}

/**
 * Strings as one UTF-8 buffer and offsets: joining and encoding once is far cheaper
 * than encoding a million small strings one by one.
 */
function textColumn(values: ArrayLike<unknown>, n: number, json: boolean): ParquetColumn {
  const nulls = new Nulls(n);
  const texts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const text = v === null || v === undefined ? undefined : json ? JSON.stringify(v) : (v as string);
    if (text === undefined) {
      nulls.mark(i);
      texts[i] = '';
    } else texts[i] = text;
  }
  const joined = texts.join('');
  let bytes = Buffer.from(joined, 'utf8');
  const offsets = new Int32Array(n + 1);
  let at = 0;
  if (bytes.length === joined.length) {
    // ASCII only: a string's UTF-8 length is its length.
    for (let i = 0; i < n; i++) {
      offsets[i] = at;
      at += texts[i].length;
    }
  } else {
    for (let i = 0; i < n; i++) {
      offsets[i] = at;
      at += Buffer.byteLength(texts[i], 'utf8');
    }
    // A surrogate pair split across two strings encodes differently joined: encode each.
    if (at !== bytes.length) bytes = Buffer.concat(texts.map((t) => Buffer.from(t, 'utf8')));
  }
  offsets[n] = at;
  if (at > 0x7fffffff) throw outOfRange('options.rowGroupSize', 'small enough that a row group holds less than 2 GiB of text', n);
  return nulls.column(bytes, bytesOf(offsets));
}

function binaryColumn(values: ArrayLike<unknown>, n: number, name: string): ParquetColumn {
  const nulls = new Nulls(n);
  const chunks: Uint8Array[] = [];
  const offsets = new Int32Array(n + 1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = at;
    const v = values[i];
    if (v === null || v === undefined) nulls.mark(i);
    else if (v instanceof Uint8Array) {
      chunks.push(v);
      at += v.byteLength;
    } else throw invalidArgType(`row ${i}, column "${name}"`, 'a Uint8Array (a binary column)', v);
  }
  offsets[n] = at;
  return nulls.column(Buffer.concat(chunks, at), bytesOf(offsets));
}

/** Rows `start..end` of a column of JS values (or a TypedArray). */
function valuesColumn(values: ArrayLike<unknown>, kind: string, start: number, end: number, name: string): ParquetColumn {
  const n = end - start;
  if (ArrayBuffer.isView(values)) {
    const typed = values as unknown as NodeJS.TypedArray;
    const slice = typed.subarray(start, end);
    // Narrow integers widen to int32; every other TypedArray goes as it is.
    if (WIDTH[kind] === typed.BYTES_PER_ELEMENT && kind !== 'boolean') return { values: bytesOf(slice) };
    if (kind in INT32_CTORS) return { values: bytesOf(Int32Array.from(slice as Int8Array)) };
  }
  const slice = start === 0 && end === values.length ? values : Array.prototype.slice.call(values, start, end);
  switch (kind) {
    case 'boolean':
      return booleanColumn(slice, n);
    case 'int64':
    case 'uint64':
      return bigintColumn(slice, n, kind, name);
    case 'timestamp':
    case 'date':
      return timeColumn(slice, n);
    case 'string':
      return textColumn(slice, n, false);
    case 'json':
      return textColumn(slice, n, true);
    case 'binary':
      return binaryColumn(slice, n, name);
    default:
      return numberColumn(slice, n, kind, name);
  }
}

// --- apache-arrow: the batch's own buffers -------------------------------------------

interface ArrowData {
  offset: number;
  length: number;
  nullCount: number;
  values?: ArrayBufferView;
  valueOffsets?: ArrayBufferView;
  nullBitmap?: Uint8Array;
}

/**
 * Rows `start..end` of an Arrow column straight from its buffers (no per-value work),
 * where its layout is the encoder's; `undefined` otherwise.
 */
function arrowBuffers(part: Part, c: number, kind: string, start: number, end: number): ParquetColumn | undefined {
  const vector = part.batch?.getChildAt(c) as { data?: ArrowData[] } | null | undefined;
  const data = vector?.data;
  if (!data || data.length !== 1) return undefined;
  const d = data[0];
  const validity = d.nullCount > 0 && d.nullBitmap && d.nullBitmap.byteLength > 0 ? { validity: bytesOf(d.nullBitmap), validityOffset: d.offset + start } : d.nullCount > 0 ? undefined : {};
  if (!validity || !d.values) return undefined;
  if (kind === 'string' || kind === 'binary') {
    // Int32 offsets only (not LargeUtf8's BigInt64 ones); they index `values` as they are.
    if (!(d.valueOffsets instanceof Int32Array)) return undefined;
    return { values: bytesOf(d.values), offsets: bytesOf(d.valueOffsets.subarray(start, end + 1)), ...validity };
  }
  const width = WIDTH[kind];
  const values = d.values as unknown as NodeJS.TypedArray;
  if (width === undefined || kind === 'boolean' || kind === 'timestamp' || kind === 'date') return undefined;
  if (values.BYTES_PER_ELEMENT === width) return { values: bytesOf(values.subarray(start, end)), ...validity };
  if (width === 4 && kind in INT32_CTORS) return { values: bytesOf(Int32Array.from((values as Int8Array).subarray(start, end))), ...validity };
  return undefined;
}

// --- writing -------------------------------------------------------------------------

async function serialize(data: unknown, sink: ByteSink, options: FormatOptions): Promise<number> {
  const { compression, rowGroupSize, statistics, columns } = checkOptions(options);
  // Into the staged temp directly; any other sink gets the bytes handed on.
  const handle: NativeHandle | undefined = sink instanceof FileSink ? await sink.nativeHandle() : undefined;
  const { ParquetEncoder } = native();
  const settings = { compression: compression === 'uncompressed' ? 'none' : compression, statistics, createdBy: 'atomicwriter (parquet-rs)' };
  let encoder: ParquetEncoder | undefined;
  let kinds: Kind[] = [];
  let types: string[] = [];
  let rows = 0;
  const handOn = async (out: ParquetOutput): Promise<void> => {
    if (out.data) await sink.write(out.data);
  };
  for await (const part of parts(data, { rows: rowGroupSize, columns })) {
    // Arrow parts know their kinds: their values are pulled out only where needed.
    const values = part.kinds && part.batch ? undefined : columnsOf(part);
    if (!encoder) {
      kinds = part.kinds ?? (values as ArrayLike<unknown>[]).map((v) => inferKind(v));
      types = kinds.map((kind, c) => encoderKind(kind, values ? values[c] : arrowSample(part, c)));
      const fields = part.names.map((name, c) => ({ name, kind: types[c] }));
      encoder = handle ? ParquetEncoder.toFile(handle, fields, settings) : ParquetEncoder.toMemory(fields, settings);
    }
    if (part.length === 0) continue;
    if (values) checkKinds(part, values, kinds, rows);
    // Arrow batches may be longer than a row group.
    for (let start = 0; start < part.length; start += rowGroupSize) {
      const end = Math.min(part.length, start + rowGroupSize);
      const cols = part.names.map((name, c) => {
        const fast = values ? undefined : arrowBuffers(part, c, types[c], start, end);
        if (fast) return fast;
        const column = values ? values[c] : arrowValues(part, c, kinds[c]);
        return valuesColumn(column, types[c], start, end, name);
      });
      await handOn(await encoder.writeRowGroup(end - start, cols));
    }
    rows += part.length;
  }
  const out = await (encoder as ParquetEncoder).finish();
  await handOn(out);
  if (handle) (sink as FileSink).countNative(out.bytes);
  return rows;
}

function arrowSample(part: Part, c: number): ArrayLike<unknown> | undefined {
  const vector = part.batch?.getChildAt(c) as { data?: ArrowData[] } | null | undefined;
  return vector?.data?.[0]?.values as ArrayLike<unknown> | undefined;
}

function arrowValues(part: Part, c: number, kind: Kind): ArrayLike<unknown> {
  const child = part.batch?.getChildAt(c);
  return child ? arrowColumn(child, kind) : new Array(part.length).fill(null);
}

export const parquet: Format = {
  name: 'parquet',
  options: ['compression', 'rowGroupSize', 'statistics', 'columns'],
  validate(data, options) {
    checkOptions(options);
    if (isDataFrame(data)) return;
    checkTabular('parquet', data);
    // Loads the addon now, so a broken install fails before the disk is touched.
    native();
  },
  usesPath: isDataFrame,
  serialize,
  writeTo(tmpPath, data, options) {
    const { compression } = checkOptions(options);
    (data as { writeParquet(dest: string, o: object): void }).writeParquet(tmpPath, { compression: compression === 'none' ? 'uncompressed' : compression });
    return dataFrameRows(data);
  },
};
