// `parquet` through hyparquet-writer (pure JS, a dependency, loaded on first use):
// one row group at a time, each handed to the sink before the next is encoded, so
// memory is bounded by the row group, not the file. Compression: snappy (default),
// zstd (Node's zlib where it has zstd, else the optional `zstd-codec`), gzip, none.
// nodejs-polars DataFrames are written by polars itself into the staged temp.

import { createRequire } from 'node:module';
import { invalidArgType, outOfRange } from '../errors';
import { importFile, optionalRequire } from './deps';
import type { Format, FormatOptions } from './registry';
import type { ByteSink } from './sink';
import { checkColumns, checkKinds, checkTabular, columnsOf, inferKind, isDataFrame, parts, type Kind, dataFrameRows } from './tabular';

// The parts of hyparquet-writer used here (its own types need ESM resolution).
interface SchemaElement {
  name: string;
  type?: string;
  converted_type?: string;
  repetition_type?: 'REQUIRED' | 'OPTIONAL';
  num_children?: number;
}
interface ByteWriterLike {
  buffer: ArrayBuffer;
  view: DataView;
  index: number;
  offset: number;
  flush?(): void | Promise<void>;
  finish(): void | Promise<void>;
}
type Compressor = (input: Uint8Array) => Uint8Array;
interface HyparquetWriter {
  ByteWriter: new (initialSize?: number) => ByteWriterLike;
  ParquetWriter: new (options: { writer: ByteWriterLike; schema: SchemaElement[]; codec: string; compressors: Record<string, Compressor>; statistics: boolean; createdBy: string }) => {
    write(options: { columnData: { name: string; data: ArrayLike<unknown> }[]; rowGroupSize: number }): void | Promise<void>;
    finish(): void | Promise<void>;
  };
}

const PACKAGE = 'hyparquet-writer';
// Required when a write compresses, not at `require('atomicwriter')`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zlib = (): typeof import('node:zlib') => require('node:zlib') as typeof import('node:zlib');
const localRequire = createRequire(__filename);
let loading: Promise<HyparquetWriter> | undefined;

function resolveWriter(): string {
  try {
    return localRequire.resolve(PACKAGE);
  } catch (err) {
    // Reported the same way as any missing encoder.
    optionalRequire(PACKAGE, 'parquet');
    throw err;
  }
}

// hyparquet-writer is ESM only: imported (not required) so any Node >= 20 loads it.
function loadWriter(): Promise<HyparquetWriter> {
  loading ??= importFile<HyparquetWriter>(resolveWriter());
  return loading;
}

// --- compression ---------------------------------------------------------------------

const CODECS = { snappy: 'SNAPPY', zstd: 'ZSTD', gzip: 'GZIP', none: 'UNCOMPRESSED', uncompressed: 'UNCOMPRESSED' } as const;
type Compression = keyof typeof CODECS;

interface ZstdCodec {
  ZstdCodec: { run(fn: (zstd: { Simple: new () => { compress(data: Uint8Array, level?: number): Uint8Array } }) => void): void };
}

let zstdCompressor: Promise<Compressor> | undefined;

function loadZstd(): Promise<Compressor> {
  const native = (zlib() as unknown as { zstdCompressSync?: (input: Uint8Array) => Buffer }).zstdCompressSync;
  if (native) return Promise.resolve((input) => native(input));
  zstdCompressor ??= new Promise((resolve) => {
    optionalRequire<ZstdCodec>('zstd-codec', 'parquet format with zstd compression (this Node has no zlib zstd)').ZstdCodec.run((zstd) => {
      const simple = new zstd.Simple();
      resolve((input) => simple.compress(input, 3));
    });
  });
  return zstdCompressor;
}

function checkZstd(): void {
  if (!('zstdCompressSync' in zlib())) optionalRequire('zstd-codec', 'parquet format with zstd compression (this Node has no zlib zstd)');
}

// --- options -------------------------------------------------------------------------

interface ParquetOptions {
  compression: Compression;
  rowGroupSize: number;
  statistics: boolean;
  columns?: string[];
}

function checkOptions(options: FormatOptions): ParquetOptions {
  const { compression = 'snappy', rowGroupSize = 100_000, statistics = true } = options;
  if (typeof compression !== 'string' || !(compression in CODECS)) {
    throw invalidArgType('options.compression', `one of ${Object.keys(CODECS).join(', ')}`, compression);
  }
  if (typeof rowGroupSize !== 'number' || !Number.isInteger(rowGroupSize) || rowGroupSize < 1 || rowGroupSize > 1e8) {
    throw outOfRange('options.rowGroupSize', 'an integer >= 1 and <= 100000000', rowGroupSize);
  }
  if (typeof statistics !== 'boolean') throw invalidArgType('options.statistics', 'of type boolean', statistics);
  return { compression: compression as Compression, rowGroupSize, statistics, columns: checkColumns(options.columns) };
}

// --- schema --------------------------------------------------------------------------

function element(name: string, kind: Kind, sample: ArrayLike<unknown>): SchemaElement {
  const e: SchemaElement = { name, repetition_type: 'OPTIONAL' };
  switch (kind) {
    case 'boolean':
      return { ...e, type: 'BOOLEAN' };
    case 'int32':
      if (sample instanceof Int8Array) return { ...e, type: 'INT32', converted_type: 'INT_8' };
      if (sample instanceof Int16Array) return { ...e, type: 'INT32', converted_type: 'INT_16' };
      if (sample instanceof Uint8Array || sample instanceof Uint8ClampedArray) return { ...e, type: 'INT32', converted_type: 'UINT_8' };
      if (sample instanceof Uint16Array) return { ...e, type: 'INT32', converted_type: 'UINT_16' };
      return { ...e, type: 'INT32' };
    case 'uint32':
      return { ...e, type: 'INT32', converted_type: 'UINT_32' };
    case 'int64':
      return { ...e, type: 'INT64' };
    case 'uint64':
      return { ...e, type: 'INT64', converted_type: 'UINT_64' };
    case 'float32':
      return { ...e, type: 'FLOAT' };
    case 'float64':
      return { ...e, type: 'DOUBLE' };
    case 'binary':
      return { ...e, type: 'BYTE_ARRAY' };
    case 'timestamp':
      return { ...e, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' };
    case 'date':
      return { ...e, type: 'INT32', converted_type: 'DATE' };
    case 'json':
      return { ...e, type: 'BYTE_ARRAY', converted_type: 'JSON' };
    default:
      // Strings and all-null columns.
      return { ...e, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  }
}

const DAY = 86_400_000;

/** Values in the shape hyparquet-writer takes for each physical type. */
function physical(kind: Kind, values: ArrayLike<unknown>, name: string): ArrayLike<unknown> {
  switch (kind) {
    case 'int64':
    case 'uint64':
      if (values instanceof BigInt64Array || values instanceof BigUint64Array) return values;
      return Array.from(values, (v) => {
        if (typeof v === 'number') {
          if (!Number.isInteger(v)) throw invalidArgType(`column "${name}"`, 'integers (an int64 column)', v);
          return BigInt(v);
        }
        return v ?? null;
      });
    case 'int32':
    case 'uint32':
      // hyparquet-writer maps UINT_32 to the signed range only from plain arrays.
      if (ArrayBuffer.isView(values)) return kind === 'uint32' ? Array.from(values as Uint32Array) : values;
      return Array.from(values, (v) => {
        if (v !== null && v !== undefined && !Number.isInteger(v)) throw invalidArgType(`column "${name}"`, 'integers (an int32 column)', v);
        return v ?? null;
      });
    case 'date':
      return Array.from(values, (v) => (v instanceof Date ? Math.floor(v.getTime() / DAY) : typeof v === 'number' ? Math.floor(v / DAY) : null));
    case 'timestamp':
      return Array.from(values, (v) => (v instanceof Date ? v.getTime() : (v ?? null)));
    default:
      if (ArrayBuffer.isView(values)) return values;
      // undefined reads as null
      return Array.isArray(values) && !values.includes(undefined) ? values : Array.from(values, (v) => v ?? null);
  }
}

// --- writing -------------------------------------------------------------------------

/** A hyparquet ByteWriter whose bytes go to the sink after every row group. */
function sinkWriter(hw: HyparquetWriter, sink: ByteSink): ByteWriterLike {
  const writer = new hw.ByteWriter(1 << 20);
  const hand = (): Promise<void> => {
    const bytes = new Uint8Array(writer.buffer, 0, writer.index);
    // The sink may still hold these bytes after it resolves: give the writer a new buffer.
    writer.buffer = new ArrayBuffer(writer.buffer.byteLength);
    writer.view = new DataView(writer.buffer);
    writer.index = 0;
    return sink.write(bytes);
  };
  writer.flush = hand;
  writer.finish = hand;
  return writer;
}

async function serialize(data: unknown, sink: ByteSink, options: FormatOptions): Promise<number> {
  const { compression, rowGroupSize, statistics, columns } = checkOptions(options);
  const hw = await loadWriter();
  const codec = CODECS[compression];
  const compressors: Record<string, Compressor> = {};
  if (codec === 'ZSTD') compressors.ZSTD = await loadZstd();
  if (codec === 'GZIP') compressors.GZIP = (input) => zlib().gzipSync(input);
  const writer = sinkWriter(hw, sink);
  let pq: InstanceType<HyparquetWriter['ParquetWriter']> | undefined;
  let kinds: Kind[] = [];
  let rows = 0;
  for await (const part of parts(data, { rows: rowGroupSize, columns })) {
    const values = columnsOf(part);
    if (!pq) {
      kinds = part.kinds ?? values.map((v) => inferKind(v));
      const schema: SchemaElement[] = [{ name: 'root', num_children: part.names.length }, ...part.names.map((name, i) => element(name, kinds[i], values[i]))];
      pq = new hw.ParquetWriter({ writer, schema, codec, compressors, statistics, createdBy: 'atomicwriter (hyparquet-writer)' });
    }
    if (part.length === 0) continue;
    checkKinds(part, values, kinds, rows);
    const columnData = part.names.map((name, i) => ({ name, data: physical(kinds[i], values[i], name) }));
    await pq.write({ columnData, rowGroupSize });
    rows += part.length;
  }
  await pq?.finish();
  return rows;
}

export const parquet: Format = {
  name: 'parquet',
  validate(data, options) {
    const { compression } = checkOptions(options);
    if (isDataFrame(data)) return;
    checkTabular('parquet', data);
    resolveWriter();
    if (compression === 'zstd') checkZstd();
  },
  usesPath: isDataFrame,
  serialize,
  writeTo(tmpPath, data, options) {
    const { compression } = checkOptions(options);
    (data as { writeParquet(dest: string, o: object): void }).writeParquet(tmpPath, { compression: compression === 'none' ? 'uncompressed' : compression });
    return dataFrameRows(data);
  },
};
