// Item 21: call order holds across sync and async calls to one file. A writeFileSync
// issued after async writes that are still queued or in flight is the last word:
// those writes settle (successfully) and do not overwrite it.
import { readFileSync, writeFileSync as fsWriteFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

const big = (fill: string) => Buffer.alloc(4 << 20, fill);

describe('writeFileSync after pending async writes', () => {
  it('one-shot writes: the sync write is what stays, in 5 rounds', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = scratch();
      const file = join(dir, 'f');
      // The first is in the core (32 MiB to write and sync) when the sync write runs:
      // it must land first, not after; the rest are still queued.
      const pending = [aw.writeFile(file, Buffer.alloc(32 << 20, 'a')), ...Array.from({ length: 7 }, (_, i) => aw.writeFile(file, big(String(i))))];
      aw.writeFileSync(file, 'sync');
      expect(readFileSync(file, 'utf8')).toBe('sync');
      await Promise.all(pending);
      expect(readFileSync(file, 'utf8')).toBe('sync');
      expect(entries(dir)).toEqual(['f']);
    }
  });

  it('staged and streamed writes (tmpfileCreated, a Readable) do not publish after it either', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const created: string[] = [];
    const pending = [
      aw.writeFile(file, big('a'), { tmpfileCreated: (p) => void created.push(p) }),
      aw.writeFile(file, Readable.from([big('b'), big('c')])),
      aw.writeFile(file, 'd', { signal: new AbortController().signal }),
    ];
    aw.writeFileSync(file, 'sync');
    await Promise.all(pending);
    expect(readFileSync(file, 'utf8')).toBe('sync');
    expect(entries(dir)).toEqual(['f']);
  });

  it('the default export too, and through a symlink (one queue per real file)', async () => {
    const dir = scratch();
    const file = join(dir, 'real');
    fsWriteFileSync(file, 'old');
    symlinkSync('real', join(dir, 'link'));
    const pending = [aw(file, big('x')), aw(join(dir, 'link'), big('y'))];
    aw.sync(join(dir, 'link'), 'sync');
    await Promise.all(pending);
    expect(readFileSync(file, 'utf8')).toBe('sync');
  });

  it('write() in a format (text, json) is ordered the same way', async () => {
    const dir = scratch();
    const file = join(dir, 'f.txt');
    const pending = [aw.write('a'.repeat(32 << 20), file), aw.write('b'.repeat(1 << 20), file)];
    aw.writeFileSync(file, 'sync');
    await Promise.all(pending);
    expect(readFileSync(file, 'utf8')).toBe('sync');
    const json = join(dir, 'f.json');
    const pendingJson = [aw.writeJson(json, { a: 'x'.repeat(1 << 20) }), aw.write({ b: 1 }, json)];
    aw.writeFileSync(json, '"sync"');
    await Promise.all(pendingJson);
    expect(readFileSync(json, 'utf8')).toBe('"sync"');
    expect(entries(dir)).toEqual(['f.json', 'f.txt']);
  });

  it('async writes issued after the sync write still apply, in order', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const before = aw.writeFile(file, big('a'));
    aw.writeFileSync(file, 'sync');
    const after = [aw.writeFile(file, 'after-1'), aw.writeFile(file, 'after-2')];
    await Promise.all([before, ...after]);
    expect(readFileSync(file, 'utf8')).toBe('after-2');
  });
});
