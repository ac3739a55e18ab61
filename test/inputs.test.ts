// Every input kind lands on disk byte-exact: typed arrays by their bytes (not their
// elements), views from their offset, strings in the asked encoding, paths as string,
// URL or raw Buffer. Read back with `fs`.
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

type Write = (path: string | Buffer | URL, data: unknown, options?: object) => Promise<void> | void;
const writers: [string, Write][] = [
  ['async', (p, d, o) => aw(p, d as string, o)],
  ['sync', (p, d, o) => aw.sync(p, d as string, o)],
];

describe.each(writers)('%s', (_name, write) => {
  it('strings in utf8, latin1, base64 and hex', async () => {
    const dir = scratch();
    const cases: [BufferEncoding, string][] = [
      ['utf8', 'plain, ünïcödé, 漢字, emoji 🎉, nul \u0000 end'],
      ['latin1', Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('')],
      ['base64', randomBytes(300).toString('base64')],
      ['hex', randomBytes(300).toString('hex')],
    ];
    for (const [encoding, text] of cases) {
      const file = join(dir, encoding);
      await write(file, text, { encoding });
      expect(readFileSync(file)).toEqual(Buffer.from(text, encoding));
    }
  });

  it('a Buffer, and a Buffer slice of a bigger pool', async () => {
    const dir = scratch();
    const bytes = randomBytes(4096);
    await write(join(dir, 'b'), bytes);
    const slice = bytes.subarray(100, 200);
    await write(join(dir, 's'), slice);
    expect(readFileSync(join(dir, 'b'))).toEqual(bytes);
    expect(readFileSync(join(dir, 's'))).toEqual(Buffer.from(slice));
  });

  it('every TypedArray kind, by bytes', async () => {
    const dir = scratch();
    const raw = randomBytes(64);
    const kinds = [
      Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
      Float32Array, Float64Array, BigInt64Array, BigUint64Array,
    ];
    for (const Kind of kinds) {
      const ab = new ArrayBuffer(64);
      new Uint8Array(ab).set(raw);
      const view = new Kind(ab);
      const file = join(dir, Kind.name);
      await write(file, view);
      // Written element by element, a Float64Array of 8 elements would be 8 bytes.
      expect(readFileSync(file), Kind.name).toEqual(raw);
    }
    expect(entries(dir)).toHaveLength(kinds.length);
  });

  it('views with a byteOffset: subarrays and DataView', async () => {
    const dir = scratch();
    const raw = randomBytes(64);
    const ab = new ArrayBuffer(64);
    new Uint8Array(ab).set(raw);
    await write(join(dir, 'u32'), new Uint32Array(ab, 8, 4));
    await write(join(dir, 'f64'), new Float64Array(ab).subarray(2, 5));
    await write(join(dir, 'dv'), new DataView(ab, 3, 10));
    expect(readFileSync(join(dir, 'u32'))).toEqual(raw.subarray(8, 24));
    expect(readFileSync(join(dir, 'f64'))).toEqual(raw.subarray(16, 40));
    expect(readFileSync(join(dir, 'dv'))).toEqual(raw.subarray(3, 13));
  });

  it('an ArrayBuffer and a SharedArrayBuffer', async () => {
    const dir = scratch();
    const raw = randomBytes(100);
    const ab = new ArrayBuffer(100);
    new Uint8Array(ab).set(raw);
    const sab = new SharedArrayBuffer(100);
    new Uint8Array(sab).set(raw);
    await write(join(dir, 'ab'), ab);
    await write(join(dir, 'sab'), sab);
    expect(readFileSync(join(dir, 'ab'))).toEqual(raw);
    expect(readFileSync(join(dir, 'sab'))).toEqual(raw);
  });

  it('paths as a file: URL and as a Buffer, including a name that is not UTF-8', async () => {
    const dir = scratch();
    await write(pathToFileURL(join(dir, 'url file')), 'by url');
    expect(readFileSync(join(dir, 'url file'), 'utf8')).toBe('by url');
    await write(Buffer.from(join(dir, 'buffer-path')), 'by buffer');
    expect(readFileSync(join(dir, 'buffer-path'), 'utf8')).toBe('by buffer');
    // A raw byte that no string can carry: the name must arrive exactly.
    const rawName = Buffer.concat([Buffer.from(`${dir}/raw-`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]);
    await write(rawName, 'by raw bytes');
    expect(readFileSync(rawName, 'utf8')).toBe('by raw bytes');
    const names = readdirSync(dir, { encoding: 'buffer' });
    expect(names.some((n) => n.equals(Buffer.concat([Buffer.from('raw-'), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')])))).toBe(true);
    expect(names).toHaveLength(3);
  });
});

describe('buffers of 2 GiB and more', () => {
  it('writes 2 GiB + 1 byte whole, async and sync', async () => {
    const dir = scratch();
    const file = join(dir, 'big');
    const size = 2 ** 31 + 1;
    // Positions around the 2 GiB line, where a 32-bit length would wrap or truncate;
    // the last byte is the one past 2 GiB.
    const marks = [0, 1, 2 ** 30, 2 ** 31 - 1, size - 1];
    let big: Buffer | null = Buffer.alloc(size);
    const check = (salt: number) => {
      expect(statSync(file).size).toBe(size);
      const fd = openSync(file, 'r');
      try {
        const one = Buffer.alloc(1);
        for (const [i, pos] of marks.entries()) {
          readSync(fd, one, 0, 1, pos);
          expect(one[0], `byte at ${pos}`).toBe((salt + i * 17) & 0xff);
        }
        // An unmarked byte stays zero (the marks did not smear).
        readSync(fd, one, 0, 1, 2 ** 31 - 2);
        expect(one[0]).toBe(0);
      } finally {
        closeSync(fd);
      }
    };
    try {
      for (const [i, pos] of marks.entries()) big[pos] = (1 + i * 17) & 0xff;
      await aw(file, big);
      check(1);
      for (const [i, pos] of marks.entries()) big[pos] = (2 + i * 17) & 0xff;
      aw.sync(file, big);
      check(2);
      expect(entries(dir)).toEqual(['big']);
    } finally {
      // eslint-disable-next-line no-useless-assignment -- drops the 2 GiB buffer before the next test
      big = null;
      rmSync(file, { force: true });
    }
  }, 180_000);
});
