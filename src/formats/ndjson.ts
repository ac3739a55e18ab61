// `ndjson` / `jsonl`: one JSON value per line, from an array or (async) iterable of
// values, a table, or an object of columns (as records). Values are taken in parts of
// 65,536: plain records of one shape go to the core's encoder (text-core.ts), which
// writes what stringify() writes, faster; other parts are stringified here, a line at
// a time, and the lines joined into large strings before they reach the sink.

import { invalidArgType } from '../binding/errors';
import { stringify } from './stringify';
import type { Format } from './registry';
import type { ByteSink } from './sink';
import { recordsOf } from './json';
import { arrowPart, checkTabular, isArrowBatch, isArrowTable, isAsyncIterable, isColumnObject, isDataFrame, isIterable, parts, dataFrameRows, type Part } from './tabular';
import { InOrder, ndjsonPart } from './text-core';

const FLUSH_AT = 1 << 18;
const PART_ROWS = 65536;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The values of the input in parts: tables and objects of columns as columns (their
 * records), RecordBatches inside an iterable as theirs, any other value as it is,
 * primitives included. A sync iterable is read without a promise per value, except
 * that a promise in it is awaited, as `for await` would.
 */
async function* valueParts(data: unknown): AsyncGenerator<Part> {
  if (isArrowTable(data) || isArrowBatch(data) || isColumnObject(data)) {
    yield* parts(data, { rows: PART_ROWS });
    return;
  }
  let rows: unknown[] = [];
  // What `item` completes, if anything: the rows so far when it is a batch (then the
  // batch itself), or when they are enough. Plain code, no generator per value: in an
  // async generator each `yield*` of one costs promises.
  const take = (item: unknown): Part[] | undefined => {
    const batch = isArrowBatch(item);
    if (!batch && rows.length < PART_ROWS) {
      rows.push(item);
      return undefined;
    }
    const done: Part[] = rows.length > 0 ? [{ names: [], length: rows.length, rows }] : [];
    rows = [];
    if (batch) done.push(arrowPart(item));
    else rows.push(item);
    return done;
  };
  // `for await` prefers the async iterator, as before.
  if (isIterable(data) && !isAsyncIterable(data)) {
    for (let item of data) {
      if (isThenable(item)) item = await item;
      const done = take(item);
      if (done) for (const part of done) yield part;
    }
  } else {
    for await (const item of data as AsyncIterable<unknown>) {
      const done = take(item);
      if (done) for (const part of done) yield part;
    }
  }
  if (rows.length > 0) yield { names: [], length: rows.length, rows };
}

/** One part by the JS writer, a line at a time; `count` is the index of its first value. */
async function writePart(part: Part, sink: ByteSink, count: number): Promise<void> {
  let out = '';
  let index = count;
  for (const value of recordsOf(part)) {
    const line = stringify(value);
    if (line === undefined) throw invalidArgType(`row ${index}`, 'a JSON-serializable value', value);
    out += `${line}\n`;
    index++;
    if (out.length >= FLUSH_AT) {
      await sink.write(out);
      out = '';
    }
  }
  await sink.write(out);
}

export const ndjson: Format = {
  name: 'ndjson',
  options: [],
  validate(data) {
    if (!isDataFrame(data)) checkTabular('ndjson', data);
  },
  usesPath: isDataFrame,
  async serialize(data, sink) {
    const queue = new InOrder(sink);
    let count = 0;
    for await (const part of valueParts(data)) {
      const at = count;
      await queue.write(
        () => ndjsonPart(part),
        () => writePart(part, sink, at),
      );
      count += part.length;
    }
    await queue.drain();
    return count;
  },
  writeTo(tmpPath, data) {
    (data as { writeJSON(dest: string, o: object): void }).writeJSON(tmpPath, { format: 'lines' });
    return dataFrameRows(data);
  },
};
