// write-file-atomic's behaviours, as its users rely on them: the same calls must give
// the same files, modes, owners, callbacks and ordering. Real files, read back with
// `fs` (an independent reader).
import { chmodSync, chownSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { aw, entries, isRoot, lastJson, runNode, scratch, scratchFile } from './helpers.js';

const rootOnly = isRoot ? it : it.skip;
if (!isRoot) console.warn('compat: chown tests skipped: they need root to give files to uid 42');

describe('simple writes', () => {
  it('async: creates, then replaces, leaving no temp', async () => {
    const dir = scratch();
    const file = join(dir, 'a.txt');
    await aw(file, 'one');
    expect(readFileSync(file, 'utf8')).toBe('one');
    await aw(file, 'two, longer than one');
    expect(readFileSync(file, 'utf8')).toBe('two, longer than one');
    await aw.writeFile(file, 'x');
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(entries(dir)).toEqual(['a.txt']);
  });

  it('sync: creates, then replaces, leaving no temp', () => {
    const dir = scratch();
    const file = join(dir, 'a.txt');
    expect(aw.sync(file, 'one')).toBeUndefined();
    aw.sync(file, 'two, longer than one');
    expect(readFileSync(file, 'utf8')).toBe('two, longer than one');
    aw.writeFileSync(file, 'x');
    expect(readFileSync(file, 'utf8')).toBe('x');
    expect(entries(dir)).toEqual(['a.txt']);
  });

  it('takes the encoding as a string argument (async and sync)', async () => {
    const dir = scratch();
    const text = 'héllo wörld ✓';
    await aw(join(dir, 'a'), text, 'utf16le');
    aw.sync(join(dir, 's'), text, 'utf16le');
    for (const name of ['a', 's']) expect(readFileSync(join(dir, name))).toEqual(Buffer.from(text, 'utf16le'));
    // And as an option; ignored for buffers, as in write-file-atomic.
    await aw(join(dir, 'o'), text, { encoding: 'utf16le' });
    expect(readFileSync(join(dir, 'o'), 'utf16le')).toBe(text);
    await aw(join(dir, 'b'), Buffer.from('raw'), 'utf16le');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('raw');
  });

  it('writes a Buffer and a Uint8Array (async and sync)', async () => {
    const dir = scratch();
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
    await aw(join(dir, 'b'), bytes);
    aw.sync(join(dir, 'bs'), bytes);
    await aw(join(dir, 'u'), new Uint8Array(bytes));
    aw.sync(join(dir, 'us'), new Uint8Array(bytes));
    for (const name of ['b', 'bs', 'u', 'us']) expect(readFileSync(join(dir, name))).toEqual(bytes);
  });

  it('writes an empty file for undefined and null, replacing old content', async () => {
    const dir = scratch();
    for (const [name, data] of [['u', undefined], ['n', null]] as const) {
      writeFileSync(join(dir, name), 'old');
      writeFileSync(join(dir, `${name}s`), 'old');
      await aw(join(dir, name), data);
      aw.sync(join(dir, `${name}s`), data);
      expect(readFileSync(join(dir, name)).length).toBe(0);
      expect(readFileSync(join(dir, `${name}s`)).length).toBe(0);
    }
    expect(entries(dir)).toEqual(['n', 'ns', 'u', 'us']);
  });

  it('writes String(data) for other values, as write-file-atomic does', async () => {
    const dir = scratch();
    await aw(join(dir, 'n'), 42 as unknown as string);
    aw.sync(join(dir, 'o'), { toString: () => 'custom' } as unknown as string);
    expect(readFileSync(join(dir, 'n'), 'utf8')).toBe('42');
    expect(readFileSync(join(dir, 'o'), 'utf8')).toBe('custom');
  });
});

describe('symlinks', () => {
  for (const mode of ['async', 'sync'] as const) {
    it(`${mode}: writes through a symlink and keeps the link`, async () => {
      const dir = scratch();
      const real = join(dir, 'real.txt');
      const link = join(dir, 'link.txt');
      writeFileSync(real, 'old');
      symlinkSync('real.txt', link);
      if (mode === 'async') await aw(link, 'new content');
      else aw.sync(link, 'new content');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readlinkSync(link)).toBe('real.txt');
      expect(readFileSync(real, 'utf8')).toBe('new content');
      expect(entries(dir)).toEqual(['link.txt', 'real.txt']);
    });

    it(`${mode}: a dangling symlink creates its target`, async () => {
      const dir = scratch();
      const link = join(dir, 'link');
      symlinkSync('made', link);
      if (mode === 'async') await aw(link, 'made by link');
      else aw.sync(link, 'made by link');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(dir, 'made'), 'utf8')).toBe('made by link');
      expect(entries(dir)).toEqual(['link', 'made']);
    });
  }
});

describe('mode and owner', () => {
  it('applies mode as a number and as an octal string (async and sync)', async () => {
    const dir = scratch();
    await aw(join(dir, 'n'), 'x', { mode: 0o741 });
    aw.sync(join(dir, 'ns'), 'x', { mode: 0o741 });
    await aw(join(dir, 's'), 'x', { mode: '741' });
    aw.sync(join(dir, 'ss'), 'x', { mode: '741' });
    // Exactly: the umask does not apply to an explicit mode.
    for (const name of ['n', 'ns', 's', 'ss']) expect(statSync(join(dir, name)).mode).toBe(0o100741);
  });

  it('keeps the existing mode on overwrite, unless told otherwise', async () => {
    const { file } = scratchFile('f', 'old');
    chmodSync(file, 0o741);
    await aw(file, 'new');
    expect(statSync(file).mode).toBe(0o100741);
    aw.sync(file, 'newer');
    expect(statSync(file).mode).toBe(0o100741);
    await aw(file, 'newest', { mode: 0o604 });
    expect(statSync(file).mode).toBe(0o100604);
    expect(readFileSync(file, 'utf8')).toBe('newest');
  });

  rootOnly('chown really gives the file to another uid and gid (async and sync)', async () => {
    const dir = scratch();
    await aw(join(dir, 'a'), 'x', { chown: { uid: 42, gid: 43 } });
    aw.sync(join(dir, 's'), 'x', { chown: { uid: 42, gid: 43 } });
    for (const name of ['a', 's']) {
      const st = statSync(join(dir, name));
      expect([st.uid, st.gid]).toEqual([42, 43]);
    }
  });

  rootOnly('keeps the existing mode and owner together on overwrite (async and sync)', async () => {
    const { file } = scratchFile('f', 'old');
    chmodSync(file, 0o741);
    chownSync(file, 42, 43);
    await aw(file, 'new');
    let st = statSync(file);
    expect([st.mode, st.uid, st.gid]).toEqual([0o100741, 42, 43]);
    aw.sync(file, 'newer');
    st = statSync(file);
    expect([st.mode, st.uid, st.gid]).toEqual([0o100741, 42, 43]);
    expect(readFileSync(file, 'utf8')).toBe('newer');
  });

  rootOnly('chown: false does not carry the old owner over (the writer owns the new file)', async () => {
    const dir = scratch();
    for (const mode of ['async', 'sync'] as const) {
      const file = join(dir, mode);
      writeFileSync(file, 'old');
      chownSync(file, 42, 43);
      if (mode === 'async') await aw(file, 'new', { chown: false });
      else aw.sync(file, 'new', { chown: false });
      const st = statSync(file);
      expect([st.uid, st.gid]).toEqual([process.getuid!(), process.getgid!()]);
      expect(readFileSync(file, 'utf8')).toBe('new');
    }
  });

  it('a new file gets 0o666 & ~umask (umask 0o027 in a child process)', async () => {
    const dir = scratch();
    const script = `
      process.umask(0o027);
      const aw = require('atomicwriter');
      const { statSync } = require('node:fs');
      (async () => {
        await aw(${JSON.stringify(join(dir, 'a'))}, 'x');
        aw.sync(${JSON.stringify(join(dir, 's'))}, 'x');
        await aw(${JSON.stringify(join(dir, 'n'))}, 'x', { tmpfileCreated() {} });
        const modes = ['a', 's', 'n'].map((n) => statSync(${JSON.stringify(dir)} + '/' + n).mode);
        console.log(JSON.stringify({ modes }));
      })();
    `;
    const result = lastJson<{ modes: number[] }>(await runNode(['-e', script]));
    expect(result.modes).toEqual([0o100640, 0o100640, 0o100640]);
  });
});

describe('callback and promise', () => {
  it('calls the callback with no error, and the promise resolves', async () => {
    const dir = scratch();
    const calls: unknown[][] = [];
    const r1 = aw(join(dir, 'a'), 'x', (...args: unknown[]) => void calls.push(args));
    const r2 = aw(join(dir, 'b'), 'y', { mode: 0o600 }, (...args: unknown[]) => void calls.push(args));
    await Promise.all([r1, r2]);
    expect(calls).toHaveLength(2);
    for (const args of calls) expect(args[0]).toBeUndefined();
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('x');
    expect(statSync(join(dir, 'b')).mode & 0o777).toBe(0o600);
  });

  it('calls the callback with the error, and the promise does not reject', async () => {
    const dir = scratch();
    const file = join(dir, 'missing', 'f');
    let received: NodeJS.ErrnoException | undefined;
    await aw(file, 'x', (err?: Error) => {
      received = err as NodeJS.ErrnoException;
    });
    expect(received).toBeInstanceOf(Error);
    expect(received!.code).toBe('ENOENT');
  });

  it('without a callback the promise rejects with the error', async () => {
    const dir = scratch();
    await expect(aw(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(aw.writeFile(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(entries(dir)).toEqual([]);
  });
});

describe('tmpfileCreated', () => {
  it('is called with a temp that exists then, beside the target, private (0600)', async () => {
    const { dir, file } = scratchFile('f', 'old');
    const seen: { path: string; isFile: boolean; mode: number; target: string }[] = [];
    const look = (tmp: string) => {
      const st = lstatSync(tmp);
      seen.push({ path: tmp, isFile: st.isFile(), mode: st.mode & 0o7777, target: readFileSync(file, 'utf8') });
    };
    await aw(file, 'async', { mode: 0o640, tmpfileCreated: look });
    aw.sync(file, 'sync', { mode: 0o640, tmpfileCreated: look });
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(dirname(s.path)).toBe(dir);
      expect(s.path).not.toBe(file);
      expect(s.isFile).toBe(true);
      // Private while written; the final mode goes on the fd at commit, before the
      // data sync and the rename.
      expect(s.mode).toBe(0o600);
      expect(s.target).toBe(s === seen[0] ? 'old' : 'async');
    }
    expect(readFileSync(file, 'utf8')).toBe('sync');
    expect(entries(dir)).toEqual(['f']);
  });

  it('is awaited: the write publishes only after an async callback settles', async () => {
    const { file } = scratchFile('f', 'old');
    const events: string[] = [];
    await aw(file, 'new', {
      tmpfileCreated: async () => {
        events.push('callback start');
        await delay(50);
        events.push(`callback end, target is ${readFileSync(file, 'utf8')}`);
      },
    }).then(() => events.push('write done'));
    expect(events).toEqual(['callback start', 'callback end, target is old', 'write done']);
    expect(readFileSync(file, 'utf8')).toBe('new');
  });

  it('a throw in it fails the write, keeps the old file and removes the temp', async () => {
    const { dir, file } = scratchFile('f', 'old');
    const temps: string[] = [];
    const boom = new Error('boom');
    await expect(
      aw(file, 'new', {
        tmpfileCreated: (tmp) => {
          temps.push(tmp);
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    await expect(
      aw(file, 'new', {
        tmpfileCreated: async (tmp) => {
          temps.push(tmp);
          await delay(10);
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(() =>
      aw.sync(file, 'new', {
        tmpfileCreated: (tmp) => {
          temps.push(tmp);
          throw boom;
        },
      }),
    ).toThrow(boom);
    expect(temps).toHaveLength(3);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['f']);
  });
});

describe('call order', () => {
  it('50 writes fired without awaiting land in call order; the last one wins', async () => {
    const dir = scratch();
    const file = join(dir, 'f');
    const done: number[] = [];
    // Sizes vary so that a reordered commit could not go unnoticed.
    const content = (i: number) => `write ${i} `.repeat(1 + ((i * 37) % 50));
    const writes = Array.from({ length: 50 }, (_, i) => aw(file, content(i)).then(() => void done.push(i)));
    await Promise.all(writes);
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(readFileSync(file, 'utf8')).toBe(content(49));
    expect(entries(dir)).toEqual(['f']);
  });

  it('a symlink and its target share one queue: writes via both land in call order', async () => {
    const dir = scratch();
    const real = join(dir, 'real');
    const link = join(dir, 'link');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    const done: number[] = [];
    const content = (i: number) => `via ${i % 2 ? 'link' : 'real'} ${i} `.repeat(1 + ((i * 13) % 40));
    const writes = Array.from({ length: 50 }, (_, i) => aw(i % 2 ? link : real, content(i)).then(() => void done.push(i)));
    await Promise.all(writes);
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(readFileSync(real, 'utf8')).toBe(content(49));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(entries(dir)).toEqual(['link', 'real']);
  });
});
