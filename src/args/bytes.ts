// Every in-memory input becomes a Buffer view of the same bytes, without copying:
// typed arrays and DataViews are written by bytes, not by elements. One check of the
// data for every entry point of the named API (writeFile, writeFileSync,
// AtomicFile.write, atomicWrite's callers, formats' byte chunks): what fs.writeFile
// takes, nothing else.

import { invalidArgType } from '../binding/errors';

export type BufferData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

const EMPTY = Buffer.alloc(0);

function bytesOf(data: unknown, encoding: BufferEncoding): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data, encoding);
  // null/undefined: an empty file, as the public WriteData type promises.
  if (data === null || data === undefined) return EMPTY;
  return undefined;
}

/** True for what is written by its bytes, whatever the encoding says. */
export function isBinary(data: unknown): boolean {
  return ArrayBuffer.isView(data) || data instanceof ArrayBuffer || data instanceof SharedArrayBuffer;
}

/**
 * The bytes of `data`; anything else (a number, an object, a function) is a TypeError,
 * as fs.writeFile gives, before anything touches the disk.
 */
export function toBuffer(data: unknown, encoding: BufferEncoding, name = 'data'): Buffer {
  const bytes = bytesOf(data, encoding);
  if (bytes === undefined) throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer', data);
  return bytes;
}

/** write-file-atomic's coercion, for its compatible default export only: `String(data)` for everything else. */
export function toBufferLoose(data: unknown, encoding: BufferEncoding): Buffer {
  return bytesOf(data, encoding) ?? Buffer.from(String(data), encoding);
}
