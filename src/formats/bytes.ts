// `bytes`: raw bytes as given (Buffer, TypedArray, DataView, ArrayBuffer, string), or
// an (async) iterable of them: a Readable, a web ReadableStream, a generator.

import { toBuffer } from '../args/bytes';
import { invalidArgType } from '../binding/errors';
import type { Format } from './registry';
import type { ByteSink } from './sink';
import { isAsyncIterable, isIterable } from './tabular';

export function isChunk(data: unknown): boolean {
  return typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer || data instanceof SharedArrayBuffer;
}

export function checkChunks(format: string, data: unknown): void {
  if (!isChunk(data) && !isIterable(data) && !isAsyncIterable(data)) {
    throw invalidArgType('data', `for the ${format} format a string, Buffer, TypedArray, ArrayBuffer, or an (async) iterable or stream of them`, data);
  }
}

/** Writes one chunk or each chunk of a source; strings in `encoding`. Resolves to the byte count. */
export async function writeChunks(data: unknown, sink: ByteSink, encoding: BufferEncoding): Promise<void> {
  if (isChunk(data)) {
    await sink.write(toBuffer(data, encoding));
    return;
  }
  for await (const chunk of data as AsyncIterable<unknown>) {
    if (!isChunk(chunk)) throw invalidArgType('chunk', 'a string, Buffer, TypedArray or ArrayBuffer', chunk);
    await sink.write(typeof chunk === 'string' && encoding === 'utf8' ? chunk : toBuffer(chunk, encoding));
  }
}

export function encodingOf(options: Record<string, unknown>): BufferEncoding {
  const encoding = options.encoding ?? 'utf8';
  if (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)) throw invalidArgType('options.encoding', 'a Buffer encoding such as "utf8"', encoding);
  return encoding;
}

export const bytes: Format = {
  name: 'bytes',
  options: [], // `encoding` is a write option
  validate(data) {
    checkChunks('bytes', data);
  },
  serialize(data, sink, options) {
    return writeChunks(data, sink, encodingOf(options));
  },
};
