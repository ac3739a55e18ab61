// `arrow` (IPC file) and `arrows` (IPC stream) through apache-arrow (an optional peer
// dependency, loaded on first use). Tables and RecordBatches are written batch by batch;
// records and column objects become batches of 65,536 rows whose types are fixed by
// the first one. The bytes of each batch go to the sink before the next is built.

import type * as Arrow from 'apache-arrow';
import { invalidArgType } from '../binding/errors';
import { importFile, optionalRequire } from './deps';
import type { Format } from './registry';
import type { ByteSink } from './sink';
import { checkColumns, checkKinds, checkTabular, columnsOf, inferKind, isDataFrame, parts, dataFrameRows, type Kind, type Part } from './tabular';

type ArrowModule = typeof Arrow;

export function loadArrow(format: string): ArrowModule {
  return optionalRequire<ArrowModule>('apache-arrow', format);
}

let esm: Promise<ArrowModule | undefined> | undefined;

/**
 * apache-arrow ships a CommonJS and an ES module build: a Table made by `import` is no
 * instance of the classes `require` gives, and its writer would take such a batch for
 * an iterable of rows. Batches are written by the instance that made them; from any
 * other copy they are rebuilt from their values.
 */
async function moduleOf(batch: unknown, format: string): Promise<ArrowModule | undefined> {
  const cjs = loadArrow(format);
  if (madeBy(cjs, batch)) return cjs;
  esm ??= (async () => {
    // The ES build sits beside the CommonJS main (Arrow.node.js -> Arrow.node.mjs).
    const main = require.resolve('apache-arrow');
    return importFile<ArrowModule>(main.replace(/\.js$/, '.mjs')).catch(() => undefined);
  })();
  const other = await esm;
  return other && madeBy(other, batch) ? other : undefined;
}

/** A plain prototype check: apache-arrow's own `instanceof` also accepts other copies' batches. */
function madeBy(A: ArrowModule, batch: unknown): boolean {
  return (Function.prototype[Symbol.hasInstance] as (this: unknown, v: unknown) => boolean).call(A.RecordBatch, batch);
}

function arrowType(A: ArrowModule, kind: Kind, sample: ArrayLike<unknown>): Arrow.DataType {
  switch (kind) {
    case 'float64':
      return new A.Float64();
    case 'float32':
      return new A.Float32();
    case 'int32':
      if (sample instanceof Int8Array) return new A.Int8();
      if (sample instanceof Int16Array) return new A.Int16();
      if (sample instanceof Uint8Array || sample instanceof Uint8ClampedArray) return new A.Uint8();
      if (sample instanceof Uint16Array) return new A.Uint16();
      return new A.Int32();
    case 'uint32':
      return new A.Uint32();
    case 'int64':
      return new A.Int64();
    case 'uint64':
      return new A.Uint64();
    case 'boolean':
      return new A.Bool();
    case 'timestamp':
    case 'date':
      return new A.TimestampMillisecond();
    case 'binary':
      return new A.Binary();
    default:
      // Strings, JSON values (as JSON text) and all-null columns.
      return new A.Utf8();
  }
}

function toValues(kind: Kind, values: ArrayLike<unknown>): ArrayLike<unknown> {
  if (kind === 'json') return Array.from(values, (v) => (v === null || v === undefined ? null : JSON.stringify(v)));
  if (kind === 'timestamp' || kind === 'date') return Array.from(values, (v) => (v instanceof Date ? v.getTime() : (v ?? null)));
  return values;
}

/** Builds RecordBatches of one schema from parts that are not arrow already. */
class BatchBuilder {
  #A: ArrowModule;
  #schema?: Arrow.Schema;
  #kinds: Kind[] = [];
  #row = 0;

  constructor(A: ArrowModule) {
    this.#A = A;
  }

  /** A part as values only (batches from another apache-arrow copy are rebuilt). */
  plain(part: Part): Part {
    return part.batch ? { names: part.names, length: part.length, columns: part.columns, kinds: part.kinds } : part;
  }

  build(part: Part): Arrow.RecordBatch {
    const A = this.#A;
    const columns = columnsOf(part);
    if (!this.#schema) {
      this.#kinds = part.kinds ?? columns.map((values) => inferKind(values));
      const fields = part.names.map((name, i) => new A.Field(name, arrowType(A, this.#kinds[i], columns[i]), true));
      this.#schema = new A.Schema(fields);
    }
    const schema = this.#schema;
    checkKinds(part, columns, this.#kinds, this.#row);
    this.#row += part.length;
    const children = schema.fields.map((field, i) => {
      const values = toValues(this.#kinds[i], columns[i]);
      const vector = ArrayBuffer.isView(values) && field.type.ArrayType === values.constructor ? A.makeVector(values as Int32Array) : A.vectorFromArray(values as unknown[], field.type);
      // One part makes one chunk; a second would mean apache-arrow changed how it builds.
      if (vector.data.length !== 1) throw new Error(`apache-arrow built ${vector.data.length} chunks for column "${field.name}"; expected one`);
      return vector.data[0];
    });
    const data = A.makeData({ type: new A.Struct(schema.fields), length: part.length, nullCount: 0, children });
    return new A.RecordBatch(schema, data);
  }
}

/**
 * Streams IPC bytes: apache-arrow's writers queue their output for an async reader;
 * ours takes the queued bytes after each batch instead, so memory stays one batch deep.
 */
async function writeIpc(data: unknown, sink: ByteSink, options: Record<string, unknown>, file: boolean, format: string): Promise<number> {
  const queued: Uint8Array[] = [];
  let capture = false;
  let writer: Arrow.RecordBatchWriter | undefined;
  let builder: BatchBuilder | undefined;
  const drain = async (): Promise<void> => {
    for (const chunk of queued.splice(0)) await sink.write(chunk);
  };
  let rows = 0;
  for await (const part of parts(data, { rows: 65536, columns: checkColumns(options.columns) })) {
    if (!writer) {
      // The first part picks the apache-arrow instance (and so the schema's classes).
      const native = part.batch ? await moduleOf(part.batch, format) : undefined;
      const A = native ?? loadArrow(format);
      if (!native) builder = new BatchBuilder(A);
      writer = file ? new A.RecordBatchFileWriter() : new A.RecordBatchStreamWriter();
      const internal = writer as unknown as { _sink?: unknown };
      capture = typeof internal._sink === 'object' && internal._sink !== null;
      if (capture) internal._sink = { write: (chunk: Uint8Array) => void queued.push(chunk), close() {}, abort() {} };
    }
    writer.write(builder ? builder.build(builder.plain(part)) : (part.batch as unknown as Arrow.RecordBatch));
    rows += part.length;
    if (capture) await drain();
  }
  if (!writer) return 0;
  writer.finish();
  if (capture) await drain();
  // Another apache-arrow internals: take the whole output (memory-bound, still correct).
  else await sink.write(await writer.toUint8Array());
  return rows;
}

function arrowFormat(name: string, file: boolean): Format {
  return {
    name,
    options: ['columns'],
    validate(data, options) {
      checkColumns(options.columns);
      if (isDataFrame(data)) return;
      checkTabular(name, data);
      loadArrow(name);
    },
    usesPath: isDataFrame,
    serialize(data, sink, options) {
      return writeIpc(data, sink, options, file, name);
    },
    writeTo(tmpPath, data) {
      const df = data as { writeIPC(dest: string): void; writeIPCStream?(dest: string): void };
      if (file) df.writeIPC(tmpPath);
      else if (typeof df.writeIPCStream === 'function') df.writeIPCStream(tmpPath);
      else throw invalidArgType('data', 'a DataFrame with writeIPCStream (nodejs-polars >= 0.9)', data);
      return dataFrameRows(data);
    },
  };
}

export const arrow = arrowFormat('arrow', true);
export const arrows = arrowFormat('arrows', false);
