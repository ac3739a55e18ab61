// `npy` (NumPy format 1.0, 2.0 when the header needs it): a TypedArray, or
// `{ data, shape }` in C order. The dtype follows the TypedArray; the bytes are written
// as they are in memory (byte order marked from the machine's).

import { endianness } from 'node:os';
import { invalidArgType } from '../binding/errors';
import type { Format } from './registry';

const ORDER = endianness() === 'LE' ? '<' : '>';

function dtypeOf(data: unknown): string | undefined {
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return '|u1';
  if (data instanceof Int16Array) return `${ORDER}i2`;
  if (data instanceof Uint16Array) return `${ORDER}u2`;
  if (data instanceof Int32Array) return `${ORDER}i4`;
  if (data instanceof Uint32Array) return `${ORDER}u4`;
  if (data instanceof BigInt64Array) return `${ORDER}i8`;
  if (data instanceof BigUint64Array) return `${ORDER}u8`;
  if (data instanceof Float32Array) return `${ORDER}f4`;
  if (data instanceof Float64Array) return `${ORDER}f8`;
  const float16 = (globalThis as { Float16Array?: new () => unknown }).Float16Array;
  if (float16 && data instanceof float16) return `${ORDER}f2`;
  return undefined;
}

interface Prepared {
  header: Buffer;
  bytes: Buffer;
}

function shapeOf(length: number, shape: unknown): number[] {
  if (shape === undefined) return [length];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidArgType('data.shape', 'an array of non-negative integers', shape);
  }
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (size !== length) throw invalidArgType('data.shape', `dimensions whose product is the data's length (${length})`, shape);
  return shape as number[];
}

/** The header: magic, version, length, then a Python dict literal padded to 64 bytes. */
export function npyHeader(descr: string, shape: number[]): Buffer {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const header = Buffer.alloc(total, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = version;
  header[7] = 0;
  if (version === 1) header.writeUInt16LE(total - prefix, 8);
  else header.writeUInt32LE(total - prefix, 8);
  header.write(dict, prefix, 'latin1');
  header[total - 1] = 0x0a;
  return header;
}

export const npy: Format = {
  name: 'npy',
  options: [], // the shape comes with the data: { data, shape }
  prepare(data): Prepared {
    const wrapped = typeof data === 'object' && data !== null && !ArrayBuffer.isView(data) && 'data' in data;
    const array = wrapped ? (data as { data: unknown }).data : data;
    const descr = dtypeOf(array);
    if (!descr) throw invalidArgType('data', 'for the npy format a TypedArray or { data: TypedArray, shape }', array);
    const typed = array as NodeJS.TypedArray;
    const shape = shapeOf(typed.length, wrapped ? (data as { shape?: unknown }).shape : undefined);
    return { header: npyHeader(descr, shape), bytes: Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength) };
  },
  async serialize(data, sink) {
    const { header, bytes } = data as Prepared;
    await sink.write(header);
    await sink.write(bytes);
  },
};
