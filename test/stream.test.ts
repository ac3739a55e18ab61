import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { aw, entries, fixture, scratch, scratchFile } from './helpers.js';
import { killAfter, reportedMs } from './kill.js';
// @ts-expect-error plain ESM fixture without types
import { streamVersion } from './fixtures/dataset-content.mjs';

const MIB = 1 << 20;

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function expectedStream(version: string, mib: number): string {
  const hash = createHash('sha256');
  for (const chunk of streamVersion(version, mib) as Iterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function chunked(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe('writeFile with stream sources', () => {
  const text = 'x'.repeat(3 * MIB + 123) + 'end';

  it('consumes Readable, web ReadableStream, async and sync iterables and arrays of chunks', async () => {
    const dir = scratch();
    const file = join(dir, 'out.txt');
    const sources: Array<[string, () => unknown]> = [
      ['Readable', () => Readable.from(chunked(text, 10_000))],
      ['object-mode Readable of Buffers', () => Readable.from(chunked(text, 70_000).map((s) => Buffer.from(s)))],
      [
        'web ReadableStream',
        () => {
          const pieces = chunked(text, 50_000);
          return new ReadableStream<Uint8Array>({
            pull(controller) {
              const next = pieces.shift();
              if (next === undefined) controller.close();
              else controller.enqueue(new TextEncoder().encode(next));
            },
          });
        },
      ],
      [
        'async generator',
        async function* () {
          for (const piece of chunked(text, 2 * MIB)) yield piece;
        },
      ],
      [
        'sync generator of typed arrays and DataViews',
        () =>
          (function* () {
            let n = 0;
            for (const piece of chunked(text, 4096)) {
              const bytes = new Uint8Array(Buffer.from(piece));
              yield n++ % 2 ? bytes : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            }
          })(),
      ],
      ['array of chunks', () => chunked(text, MIB - 1)],
    ];
    for (const [name, make] of sources) {
      writeFileSync(file, 'old');
      await aw.writeFile(file, make() as never);
      expect(readFileSync(file, 'latin1'), name).toBe(text);
      expect(entries(dir), name).toEqual(['out.txt']);
    }
  });

  it('writes chunks from a producer that reuses its buffer', async () => {
    const dir = scratch();
    const file = join(dir, 'reuse.bin');
    await aw.writeFile(file, streamVersion('v', 9));
    expect(sha(readFileSync(file))).toBe(expectedStream('v', 9));
    // Small chunks reusing one buffer too (coalesced by copying).
    const small = Buffer.alloc(1000);
    const expected: Buffer[] = [];
    await aw.writeFile(
      file,
      (function* () {
        for (let i = 0; i < 3000; i++) {
          small.fill(i & 0xff);
          expected.push(Buffer.from(small));
          yield small;
        }
      })(),
    );
    expect(readFileSync(file).equals(Buffer.concat(expected))).toBe(true);
  });

  it('keeps write-file-atomic behaviour for arrays in the compatible function, and consumes streams there', async () => {
    const dir = scratch();
    const file = join(dir, 'compat.txt');
    await aw(file, ['a', 'b'] as never);
    expect(readFileSync(file, 'utf8')).toBe('a,b');
    await aw(file, Readable.from(['a', 'b']) as never);
    expect(readFileSync(file, 'utf8')).toBe('ab');
    await aw.writeFile(file, ['a', 'b']);
    expect(readFileSync(file, 'utf8')).toBe('ab');
  });

  it('reports progress up to the last byte, with the total when known', async () => {
    const dir = scratch();
    const file = join(dir, 'p.bin');
    const seen: Array<{ bytesWritten: number; totalBytes: number | undefined }> = [];
    await aw.writeFile(file, streamVersion('p', 6), { onProgress: (p) => seen.push(p), totalBytes: 6 * MIB });
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(7);
    expect(seen.at(-1)).toEqual({ bytesWritten: 6 * MIB, totalBytes: 6 * MIB });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesWritten).toBeGreaterThanOrEqual(seen[i - 1]!.bytesWritten);
    // A large buffer with onProgress goes in slices and reports its own length.
    const big = Buffer.alloc(40 * MIB, 1);
    const buffered: number[] = [];
    await aw.writeFile(file, big, { onProgress: (p) => buffered.push(p.totalBytes as number) });
    expect(buffered.at(-1)).toBe(40 * MIB);
    expect(statSync(file).size).toBe(40 * MIB);
  });

  it('fails on a bad chunk or a failing source and leaves the old file and no temp', async () => {
    const { dir, file } = scratchFile('keep.txt', 'old');
    await expect(aw.writeFile(file, (function* () { yield 'a'; yield 42 as unknown as string; })())).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    const failing = async function* () {
      yield Buffer.alloc(3 * MIB);
      throw new Error('source broke');
    };
    await expect(aw.writeFile(file, failing(), { tmpfileCreated: () => {} })).rejects.toThrow('source broke');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['keep.txt']);
  });

  it('aborts a write that waits on a stalled source when the signal fires', async () => {
    const { dir, file } = scratchFile('stall.txt', 'old');
    const controller = new AbortController();
    const stalled = new Readable({ read() {} });
    stalled.push('some bytes');
    const write = aw.writeFile(file, stalled, { signal: controller.signal, tmpfileCreated: () => {} });
    setTimeout(() => controller.abort(), 50);
    await expect(write).rejects.toMatchObject({ name: 'AbortError' });
    expect(stalled.destroyed).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['stall.txt']);
  });

  it('rejects bad arguments before touching the disk', () => {
    const dir = scratch();
    const file = join(dir, 'bad.txt');
    expect(() => aw.writeFile(file, { not: 'a stream' } as never)).toThrow(TypeError);
    expect(() => aw.writeFile(file, Readable.from(['x']), { onProgress: 'yes' } as never)).toThrow(TypeError);
    expect(() => aw.writeFile(file, Readable.from(['x']), { totalBytes: -1 })).toThrow(RangeError);
    expect(entries(dir)).toEqual([]);
  });
});

describe('createWriteStream', () => {
  it('publishes on end: the file is in place at finish, then close, then committed', async () => {
    const { dir, file } = scratchFile('s.txt', 'old');
    chmodSync(file, 0o640);
    const stream = aw.createWriteStream(file);
    const events: string[] = [];
    stream.on('finish', () => events.push(`finish:${readFileSync(file, 'utf8')}`));
    stream.on('close', () => events.push('close'));
    stream.write('hello ');
    expect(readFileSync(file, 'utf8')).toBe('old');
    stream.end(Buffer.from('world'));
    await stream.committed;
    if (!stream.closed) await new Promise((resolve) => stream.once('close', resolve));
    expect(events).toEqual(['finish:hello world', 'close']);
    expect(stream.bytesWritten).toBe(11);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(entries(dir)).toEqual(['s.txt']);
  });

  it('batches many small writes and honours back-pressure', async () => {
    const dir = scratch();
    const file = join(dir, 'many.txt');
    const stream = aw.createWriteStream(file, { highWaterMark: 64 * 1024 });
    const expected: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const line = `line ${i}\n`;
      expected.push(line);
      if (!stream.write(line)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    stream.end();
    await stream.committed;
    expect(readFileSync(file, 'utf8')).toBe(expected.join(''));
  });

  it('destroy(err) removes the temp and keeps the old file', async () => {
    const { dir, file } = scratchFile('d.txt', 'old');
    const stream = aw.createWriteStream(file, { tmpfileCreated: () => {} });
    stream.write(Buffer.alloc(2 * MIB, 1));
    await new Promise((resolve) => stream.once('ready', resolve));
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.on('error', () => {});
    stream.destroy(new Error('changed my mind'));
    await expect(stream.committed).rejects.toThrow('changed my mind');
    await closed;
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['d.txt']);
  });

  it('pipeline with a failing source leaves the old file and no temp', async () => {
    const { dir, file } = scratchFile('pipe.txt', 'old');
    const source = Readable.from(
      (async function* () {
        yield Buffer.alloc(3 * MIB, 2);
        yield 'more';
        throw new Error('upstream failed');
      })(),
    );
    const sink = aw.createWriteStream(file, { tmpfileCreated: () => {} });
    await expect(pipeline(source, sink)).rejects.toThrow('upstream failed');
    await expect(sink.committed).rejects.toThrow('upstream failed');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['pipe.txt']);
  });

  it('pipeline from a successful source publishes it whole', async () => {
    const dir = scratch();
    const file = join(dir, 'ok.bin');
    // Copies: a Readable reads ahead, so a producer that reuses its buffer cannot feed one.
    const chunks = Array.from(streamVersion('pipe', 5) as Iterable<Buffer>, (b) => Buffer.from(b));
    await pipeline(Readable.from(chunks), aw.createWriteStream(file));
    expect(sha(readFileSync(file))).toBe(expectedStream('pipe', 5));
  });

  it('an aborted signal destroys the stream and publishes nothing', async () => {
    const { dir, file } = scratchFile('sig.txt', 'old');
    const controller = new AbortController();
    const stream = aw.createWriteStream(file, { signal: controller.signal, tmpfileCreated: () => {} });
    stream.on('error', () => {});
    stream.write('partial');
    await new Promise((resolve) => stream.once('ready', resolve));
    controller.abort();
    await expect(stream.committed).rejects.toMatchObject({ name: 'AbortError' });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['sig.txt']);
  });

  it('reports an open error through the stream and committed', async () => {
    const dir = scratch();
    const stream = aw.createWriteStream(join(dir, 'missing/x.txt'));
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => stream.once('error', resolve));
    expect(error.code).toBe('ENOENT');
    await expect(stream.committed).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects bad arguments synchronously', () => {
    expect(() => aw.createWriteStream(42 as never)).toThrow(TypeError);
    expect(() => aw.createWriteStream(join(scratch(), 'x'), { highWaterMark: 0 })).toThrow(RangeError);
    expect(() => aw.createWriteStream(join(scratch(), 'x'), { onProgress: 1 } as never)).toThrow(TypeError);
  });

  it('works as a Writable for code that only knows streams', async () => {
    const dir = scratch();
    const file = join(dir, 'w.txt');
    const stream: Writable = aw.createWriteStream(file, 'latin1');
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.end('caf\u00e9', () => resolve());
    });
    expect(readFileSync(file)).toEqual(Buffer.from('caf\u00e9', 'latin1'));
  });
});

describe('SIGKILL during a large streamed write', () => {
  const TRIALS = 26;
  const MIB_PER_WRITE = 16;

  it(`leaves the old or the new file, whole, in ${TRIALS} random kills; sweep removes what is left`, async () => {
    const dir = scratch();
    const file = join(dir, 'big.bin');
    const oldHash = expectedStream('old', MIB_PER_WRITE);
    const newHash = expectedStream('new', MIB_PER_WRITE);
    // How long one whole write takes here: kills land anywhere in that span.
    await aw.writeFile(file, streamVersion('old', MIB_PER_WRITE));
    const calibration = await killAfter([fixture('dataset-stream.mjs'), join(dir, 'calibrate.bin'), 'new', String(MIB_PER_WRITE), 'anonymous'], 60_000);
    const span = reportedMs(calibration.stdout) + 100;
    const outcomes = { old: 0, new: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      await aw.writeFile(file, streamVersion('old', MIB_PER_WRITE));
      const temp = trial % 2 === 0 ? 'named' : 'anonymous';
      const delay = Math.floor(Math.random() * span);
      const { finished } = await killAfter([fixture('dataset-stream.mjs'), file, 'new', String(MIB_PER_WRITE), temp], delay);
      const hash = sha(readFileSync(file));
      expect([oldHash, newHash], `trial ${trial} (${temp}, ${delay} ms)`).toContain(hash);
      if (finished) expect(hash).toBe(newHash);
      outcomes[hash === oldHash ? 'old' : 'new']++;
      await aw.sweep(dir, { olderThan: 0 });
      expect(entries(dir).filter((n) => n !== 'calibrate.bin')).toEqual(['big.bin']);
    }
    // Kills really landed mid-write (a delay in the first third of the span is all but certain).
    expect(outcomes.old, JSON.stringify(outcomes)).toBeGreaterThan(0);
  });
});
