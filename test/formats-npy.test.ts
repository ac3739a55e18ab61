import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import npyjs from 'npyjs';
import { aw, entries, scratch, scratchFile } from './helpers.js';
import { arrayBufferOf, hasPython, python } from './formats-helpers.js';

const arrays: [string, NodeJS.TypedArray, string][] = [
  ['i1', Int8Array.of(-128, 0, 127), 'int8'],
  ['u1', Uint8Array.of(0, 255, 7), 'uint8'],
  ['c1', Uint8ClampedArray.of(0, 255, 9), 'uint8'],
  ['i2', Int16Array.of(-32768, 32767, 1), 'int16'],
  ['u2', Uint16Array.of(65535, 0, 2), 'uint16'],
  ['i4', Int32Array.of(-2147483648, 2147483647, 3), 'int32'],
  ['u4', Uint32Array.of(4294967295, 0, 4), 'uint32'],
  ['i8', BigInt64Array.of(-9223372036854775808n, 9223372036854775807n, 5n), 'int64'],
  ['u8', BigUint64Array.of(18446744073709551615n, 0n, 6n), 'uint64'],
  ['f4', Float32Array.of(0.5, -Infinity, NaN), 'float32'],
  ['f8', Float64Array.of(Math.PI, Infinity, -0), 'float64'],
];

describe('npy', () => {
  it.skipIf(!hasPython('numpy'))('numpy loads every TypedArray kind with its dtype, shape and values', async () => {
    const dir = scratch();
    for (const [name, data] of arrays) await aw.write(data, join(dir, `${name}.npy`));
    await aw.write({ data: Float64Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4] }, join(dir, 'cube.npy'));
    await aw.write({ data: new Int32Array([42]), shape: [] }, join(dir, 'scalar.npy'));
    await aw.write(new Float32Array(0), join(dir, 'empty.npy'));
    const out = python<Record<string, { dtype: string; shape: number[]; values: string[] }>>(
      `import numpy as np, json, sys, os
res = {}
for f in sorted(os.listdir(sys.argv[1])):
    a = np.load(os.path.join(sys.argv[1], f))
    res[f[:-4]] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": [repr(x) for x in a.flatten().tolist()], "c": bool(a.flags.c_contiguous)}
print(json.dumps(res))`,
      dir,
    );
    for (const [name, data, dtype] of arrays) {
      expect(out[name].dtype, name).toBe(dtype);
      expect(out[name].shape).toEqual([3]);
      const expected = Array.from(data as ArrayLike<number | bigint>, (v) => {
        if (typeof v === 'bigint') return v.toString();
        if (dtype.startsWith('float')) return Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.0' : String(v).includes('.') ? String(v) : `${v}.0`;
        return String(v);
      });
      expect(out[name].values, name).toEqual(dtype === 'float64' ? ['3.141592653589793', 'inf', '-0.0'] : expected);
    }
    expect(out.cube).toMatchObject({ dtype: 'float64', shape: [2, 3, 4] });
    expect(out.cube.values[23]).toBe('23.0');
    expect(out.scalar).toMatchObject({ dtype: 'int32', shape: [], values: ['42'] });
    expect(out.empty).toMatchObject({ dtype: 'float32', shape: [0] });
  });

  it('npyjs parses it too (header padded to 64 bytes, version 1.0)', async () => {
    const dir = scratch();
    const file = join(dir, 'm.npy');
    await aw.write({ data: Int16Array.from({ length: 6 }, (_, i) => i - 3), shape: [2, 3] }, file);
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    const headerEnd = 10 + bytes.readUInt16LE(8);
    expect(headerEnd % 64).toBe(0);
    expect(bytes[headerEnd - 1]).toBe(0x0a);
    const parsed = new npyjs().parse(arrayBufferOf(file));
    expect(parsed.shape).toEqual([2, 3]);
    expect(parsed.dtype).toBe('i2'); // npyjs reports the dtype without the byte order
    expect(Array.from(parsed.data as Int16Array)).toEqual([-3, -2, -1, 0, 1, 2]);
  });

  it('a header too long for version 1.0 switches to 2.0', async () => {
    const dir = scratch();
    const file = join(dir, 'wide.npy');
    const shape = Array.from({ length: 30_000 }, () => 1) // '1, ' x 30,000 > 65,535 bytes;
    await aw.write({ data: new Uint8Array([9]), shape }, file);
    const bytes = readFileSync(file);
    expect([bytes[6], bytes[7]]).toEqual([2, 0]);
    const headerEnd = 12 + bytes.readUInt32LE(8);
    expect(headerEnd % 64).toBe(0);
    expect(bytes.subarray(12, 40).toString('latin1')).toBe("{'descr': '|u1', 'fortran_or");
    expect(bytes.length).toBe(headerEnd + 1);
    expect(bytes[headerEnd]).toBe(9);
  });

  it('wrong input throws before the disk is touched; the old file stays', () => {
    const { dir, file } = scratchFile('x.npy', 'old');
    expect(() => aw.write({ data: new Float64Array(6), shape: [4, 2] }, file)).toThrow(/product/);
    expect(() => aw.write(new DataView(new ArrayBuffer(8)), file)).toThrow(TypeError);
    expect(() => aw.write([1, 2, 3], file)).toThrow(TypeError);
    expect(() => aw.write({ data: new Int8Array(2), shape: [-2, -1] }, file)).toThrow(TypeError);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['x.npy']);
  });
});
