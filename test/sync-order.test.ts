// Item 21: call order holds across sync and async calls to one file. A writeFileSync
// issued after async writes that are still queued or in flight is the last word:
// those writes settle (successfully) and do not overwrite it.
import { readFileSync, writeFileSync as fsWriteFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch, scratchFile } from './helpers.js';

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
    const { dir, file } = scratchFile('real', 'old');
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

// Issue 13 item 21 (review): every async entry point takes its place in the file's order
// when it is called (a stream: when end() is called), and both sync publishes
// (writeFileSync, openAtomicSync's commitSync) are the last word over them.
describe('every async entry point, before either sync publish', () => {
  const asyncWrites: Record<string, (file: string) => Promise<unknown>> = {
    createWriteStream: (file) =>
      new Promise((resolve, reject) => {
        const stream = aw.createWriteStream(file);
        stream.on('error', reject).on('finish', resolve);
        stream.end('"async"');
      }),
    atomicWrite: (file) => aw.atomicWrite(file, (tmp: string) => fsWriteFileSync(tmp, '"async"')),
    updateJson: (file) => aw.updateJson(file, () => 'async'),
    // One in the core when the sync publish runs, one still queued.
    writeFile: (file) => Promise.all([aw.writeFile(file, big('a')), aw.writeFile(file, '"async"')]),
  };
  const syncWrites: Record<string, (file: string) => void> = {
    writeFileSync: (file) => aw.writeFileSync(file, '"sync"'),
    'openAtomicSync commitSync()': (file) => {
      const opened = aw.openAtomicSync(file);
      opened.writeSync('"sync"');
      opened.commitSync();
    },
  };
  for (const [asyncName, asyncWrite] of Object.entries(asyncWrites)) {
    for (const [syncName, syncWrite] of Object.entries(syncWrites)) {
      it(`${asyncName} called before ${syncName}: the sync content stays`, async () => {
        const { dir, file } = scratchFile('f.json', '"old"');
        const pending = asyncWrite(file);
        syncWrite(file);
        expect(readFileSync(file, 'utf8')).toBe('"sync"');
        await pending;
        expect(readFileSync(file, 'utf8')).toBe('"sync"');
        expect(entries(dir).filter((n) => n.startsWith('f.json') && n !== 'f.json.lock')).toEqual(['f.json']);
      });
    }
  }
  for (const [syncName, syncWrite] of Object.entries(syncWrites)) {
    it(`openAtomic's commit() called before ${syncName}: the sync content stays`, async () => {
      const dir = scratch();
      const file = join(dir, 'f.json');
      const opened = await aw.openAtomic(file);
      await opened.write('"async"');
      const pending = opened.commit();
      syncWrite(file);
      await pending;
      expect(readFileSync(file, 'utf8')).toBe('"sync"');
      expect(entries(dir)).toEqual(['f.json']);
    });
  }

  it('five streams to one file, ended in order, publish in that order (5 rounds); so do a stream and writeFiles mixed', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = scratch();
      const file = join(dir, 'f');
      const finished = Array.from(
        { length: 5 },
        (_, i) =>
          new Promise((resolve, reject) => {
            const stream = aw.createWriteStream(file);
            stream.on('error', reject).on('finish', resolve);
            // Bigger first: the first would be last to reach its commit unordered.
            stream.end(Buffer.alloc((5 - i) << 20, `${i}`));
          }),
      );
      await Promise.all(finished);
      expect(readFileSync(file, 'utf8').slice(0, 1)).toBe('4');
      const mixed = [aw.writeFile(file, big('a')), new Promise((resolve) => aw.createWriteStream(file).on('finish', resolve).end('stream')), aw.writeFile(file, 'last')];
      await Promise.all(mixed);
      expect(readFileSync(file, 'utf8')).toBe('last');
    }
  });

  it('updateJson inside its own fn still fails at once (EDEADLK): it waits in no queue', async () => {
    const dir = scratch();
    const file = join(dir, 'n.json');
    const pending = aw.updateJson(file, () => aw.updateJson(file, () => 1), { defaultData: 0 });
    await expect(pending).rejects.toMatchObject({ code: 'EDEADLK' });
    aw.writeFileSync(file, '2');
    expect(readFileSync(file, 'utf8')).toBe('2');
  });

  it('write() with a marker, twice to one file, settles in order (its commit runs inside its place, taking no second one)', async () => {
    const dir = scratch();
    const file = join(dir, 'x.txt');
    await Promise.all([aw.write('a', file, { marker: true }), aw.write('b', file, { marker: true })]);
    expect(readFileSync(file, 'utf8')).toBe('b');
  });

  it('a stream not yet ended holds nothing back: a later writeFile settles first, the stream publishes at its end()', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const stream = aw.createWriteStream(file);
    stream.write('stream');
    await aw.writeFile(file, 'writeFile');
    expect(readFileSync(file, 'utf8')).toBe('writeFile');
    await new Promise((resolve) => stream.on('finish', resolve).end());
    expect(readFileSync(file, 'utf8')).toBe('stream');
  });
});
