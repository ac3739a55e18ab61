import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch, scratchFile } from './helpers.js';
import { nasty, trickyRecords } from './formats-helpers.js';

describe('json', () => {
  it('indents by 2 with a trailing newline; reads back with JSON.parse', async () => {
    const dir = scratch();
    const value = { a: [1, { b: nasty }], c: null, d: 'ü🚀', e: { nested: { deep: [] } } };
    await aw.write(value, join(dir, 'v.json'));
    const text = readFileSync(join(dir, 'v.json'), 'utf8');
    expect(text).toBe(`${JSON.stringify(value, null, 2)}\n`);
    expect(JSON.parse(text)).toEqual(value);
    await aw.write(value, join(dir, 'flat.json'), { indent: 0 });
    expect(readFileSync(join(dir, 'flat.json'), 'utf8')).toBe(`${JSON.stringify(value)}\n`);
  });

  it('streams arrays element by element, byte-identical to JSON.stringify', async () => {
    const dir = scratch();
    const rows = Array.from({ length: 50_000 }, (_, i) => ({ i, s: nasty[i % nasty.length], o: { list: [i, null] }, u: undefined }));
    const withHoles = [1, undefined, () => 0, 'x', { toJSON: () => 'custom' }];
    for (const [name, value, indent] of [
      ['rows', rows, undefined],
      ['rows0', rows, 0],
      ['tab', rows.slice(0, 10), '\t'],
      ['holes', withHoles, undefined],
      ['empty', [], undefined],
    ] as const) {
      await aw.write(value, join(dir, `${name}.json`), indent === undefined ? {} : { indent });
      expect(readFileSync(join(dir, `${name}.json`), 'utf8'), name).toBe(`${JSON.stringify(value, null, indent ?? 2)}\n`);
    }
    async function* gen() {
      yield { a: 1 };
      yield [2];
    }
    await aw.write(gen(), join(dir, 'gen.json'));
    expect(JSON.parse(readFileSync(join(dir, 'gen.json'), 'utf8'))).toEqual([{ a: 1 }, [2]]);
  });

  it('BigInts are exact JSON numbers (int64 limits)', async () => {
    const dir = scratch();
    await aw.write({ max: 9223372036854775807n, min: -9223372036854775808n, s: '9223372036854775807n' }, join(dir, 'b.json'), { indent: 0 });
    expect(readFileSync(join(dir, 'b.json'), 'utf8')).toBe('{"max":9223372036854775807,"min":-9223372036854775808,"s":"9223372036854775807n"}\n');
  });

  it('circular and unserializable values throw before the disk is touched', () => {
    const dir = join(scratch(), 'sub');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => aw.write(circular, join(dir, 'c.json'))).toThrow(TypeError);
    expect(() => aw.write(undefined, join(dir, 'u.json'))).toThrow(TypeError);
    expect(() => aw.write({}, join(dir, 'i.json'), { indent: 11 })).toThrow(RangeError);
    expect(() => readFileSync(dir)).toThrow(/ENOENT/);
  });

  it('an element that fails halfway through a streamed array keeps the old file', async () => {
    const { dir, file } = scratchFile('a.json', '"old"\n');
    const rows: unknown[] = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    const bad: Record<string, unknown> = {};
    bad.self = bad;
    rows.push(bad);
    // The engine's own JSON.stringify error: V8 says "Converting circular structure to
    // JSON", JavaScriptCore (Bun) "JSON.stringify cannot serialize cyclic structures."
    await expect(aw.write(rows, file)).rejects.toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/circular|cyclic/i) }));
    expect(readFileSync(file, 'utf8')).toBe('"old"\n');
    expect(entries(dir)).toEqual(['a.json']);
  });
});

describe('ndjson / jsonl', () => {
  it('one JSON value per line from arrays, generators and async generators', async () => {
    const dir = scratch();
    const rows = trickyRecords();
    await aw.write(rows, join(dir, 'r.ndjson'));
    const lines = readFileSync(join(dir, 'r.ndjson'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(rows.length);
    lines.forEach((line, i) => {
      const back = JSON.parse(line);
      expect(back.text).toBe(rows[i].text);
      expect(back.when).toBe((rows[i].when as Date).toISOString());
      expect(back.float).toBe(JSON.parse(JSON.stringify(rows[i].float)));
    });
    // int64 limits stay exact in the text
    expect(lines[0]).toContain('"big":9223372036854775807');
    expect(lines[1]).toContain('"big":-9223372036854775808');

    async function* values() {
      yield 1;
      yield 'two';
      yield [3];
      yield null;
    }
    await aw.write(values(), join(dir, 'v.jsonl'));
    expect(readFileSync(join(dir, 'v.jsonl'), 'utf8')).toBe('1\n"two"\n[3]\nnull\n');
    await aw.write([], join(dir, 'e.ndjson'));
    expect(readFileSync(join(dir, 'e.ndjson'), 'utf8')).toBe('');
    await aw.write({ a: [1, 2], b: ['x', 'y'] }, join(dir, 'cols.jsonl'));
    expect(readFileSync(join(dir, 'cols.jsonl'), 'utf8')).toBe('{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n');
  });

  it('a value that cannot be a line fails the write; old file kept, no temp', async () => {
    const { dir, file } = scratchFile('x.ndjson', 'old\n');
    await expect(aw.write([{ a: 1 }, undefined], file)).rejects.toThrow(TypeError);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(entries(dir)).toEqual(['x.ndjson']);
  });
});

describe('text / bytes', () => {
  it('text: strings in an encoding, or a stream of strings', async () => {
    const dir = scratch();
    await aw.write('héllo\n', join(dir, 'a.txt'));
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('héllo\n');
    await aw.write('héllo', join(dir, 'l.txt'), { encoding: 'latin1' });
    expect(readFileSync(join(dir, 'l.txt'))).toEqual(Buffer.from('héllo', 'latin1'));
    await aw.write(Readable.from(['a', 'b', 'c'.repeat(3 << 20)]), join(dir, 's.txt'));
    expect(readFileSync(join(dir, 's.txt'), 'utf8')).toBe(`ab${'c'.repeat(3 << 20)}`);
    expect(() => aw.write(42, join(dir, 'n.txt'))).toThrow(TypeError);
  });

  it('bytes: any view by its bytes, ArrayBuffers, web streams', async () => {
    const dir = scratch();
    const u16 = new Uint16Array([1, 0xffff, 0x1234]);
    await aw.write(u16, join(dir, 'u.bin'));
    expect(readFileSync(join(dir, 'u.bin'))).toEqual(Buffer.from(u16.buffer));
    const big = Buffer.alloc(5 << 20, 7);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array([1, 2]));
        controller.enqueue(big);
        controller.close();
      },
    });
    await aw.write(stream, join(dir, 'w.dat'), { format: 'bytes' });
    // (Buffer.equals: a deep toEqual over 5 MiB takes vitest half a minute)
    expect(readFileSync(join(dir, 'w.dat')).equals(Buffer.concat([Buffer.from([1, 2]), big]))).toBe(true);
    await aw.write(new ArrayBuffer(3), join(dir, 'z.bin'));
    expect(readFileSync(join(dir, 'z.bin'))).toEqual(Buffer.alloc(3));
  });
});
