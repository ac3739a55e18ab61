// Every in-memory input becomes a Buffer view of the same bytes, without copying:
// typed arrays and DataViews are written by bytes, not by elements.

export type BufferData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

const EMPTY = Buffer.alloc(0);

export function toBuffer(data: unknown, encoding: BufferEncoding): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data, encoding);
  // write-file-atomic writes nothing for null/undefined and String(data) otherwise.
  if (data === null || data === undefined) return EMPTY;
  return Buffer.from(String(data), encoding);
}
