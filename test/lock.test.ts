// Cross-process locks: real processes, real OS locks, no mocks.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type atomicwriter from '../index.js';
import { aw, entries, fixture, lastJson, repoRoot, runNode, scratch } from './helpers.js';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface Holder {
  pid: number;
  release(): Promise<void>;
  kill(): Promise<void>;
}

/** A separate process that holds a lock until released or killed. */
async function holdInChild(path: string, mode: 'exclusive' | 'shared' = 'exclusive', range?: [number, number]): Promise<Holder> {
  const args = [fixture('lock-hold.mjs'), path, mode, ...(range ? range.map(String) : [])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const first = await lines.next();
  if (first.done) throw new Error('the holder exited before taking the lock');
  const { pid } = JSON.parse(first.value) as { pid: number };
  return {
    pid,
    async release() {
      child.stdin!.write('release\n');
      await lines.next();
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function tryInChild(path: string, mode: 'exclusive' | 'shared' = 'exclusive', range?: [number, number]): Promise<boolean> {
  const result = await runNode([fixture('lock-try.mjs'), path, mode, ...(range ? range.map(String) : [])]);
  return lastJson<{ got: boolean }>(result).got;
}

describe('lock', () => {
  it('creates the lock file, releases idempotently, and never deletes the file', async () => {
    const dir = scratch();
    const path = join(dir, 'a.lock');
    const held = await aw.lock(path);
    expect(held).toBeInstanceOf(aw.FileLock);
    expect(held.path).toBe(path);
    expect(held.released).toBe(false);
    expect(entries(dir)).toEqual(['a.lock']);
    held.release();
    held.release();
    expect(held.released).toBe(true);
    expect(entries(dir)).toEqual(['a.lock']);
    expect((await fsp.stat(path)).size).toBe(0);
  });

  it('two locks in one process exclude each other; the waiter is woken by the release', async () => {
    const path = join(scratch(), 'a.lock');
    const order: string[] = [];
    const first = await aw.lock(path);
    const second = aw.lock(path).then((l) => {
      order.push('second acquired');
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    order.push('first releases');
    first.release();
    (await second).release();
    expect(order).toEqual(['first releases', 'second acquired']);
  });

  it('tryLock resolves to null while busy and to a lock when free', async () => {
    const path = join(scratch(), 'a.lock');
    const held = await aw.lock(path);
    expect(await aw.tryLock(path)).toBeNull();
    expect(await aw.tryLock(path, { shared: true })).toBeNull();
    held.release();
    const again = await aw.tryLock(path);
    expect(again).toBeInstanceOf(aw.FileLock);
    again!.release();
  });

  it('shared locks coexist; exclusive excludes them (in one process)', async () => {
    const path = join(scratch(), 'a.lock');
    const r1 = await aw.lock(path, { shared: true });
    const r2 = await aw.lock(path, { shared: true, timeout: 0 });
    expect(await aw.tryLock(path)).toBeNull();
    r1.release();
    expect(await aw.tryLock(path)).toBeNull();
    r2.release();
    const w = await aw.tryLock(path);
    expect(w).not.toBeNull();
    expect(await aw.tryLock(path, { shared: true })).toBeNull();
    w!.release();
  });

  it('across processes: exclusive excludes all, shared admits shared', async () => {
    const path = join(scratch(), 'x.lock');
    const exclusive = await holdInChild(path, 'exclusive');
    expect(await aw.tryLock(path)).toBeNull();
    expect(await aw.tryLock(path, { shared: true })).toBeNull();
    await exclusive.release();
    const shared = await holdInChild(path, 'shared');
    const mine = await aw.tryLock(path, { shared: true });
    expect(mine).not.toBeNull();
    expect(await aw.tryLock(path)).toBeNull();
    // And the other way round: a process that is not us is refused while we hold it.
    expect(await tryInChild(path, 'exclusive')).toBe(false);
    expect(await tryInChild(path, 'shared')).toBe(true);
    mine!.release();
    await shared.release();
    expect(await tryInChild(path, 'exclusive')).toBe(true);
  });

  it('across processes: byte ranges that do not overlap do not conflict', async () => {
    const path = join(scratch(), 'r.lock');
    const holder = await holdInChild(path, 'exclusive', [0, 10]);
    const adjacent = await aw.tryLock(path, { range: { offset: 10, length: 10 } });
    expect(adjacent).not.toBeNull();
    expect(await aw.tryLock(path, { range: { offset: 5, length: 2 } })).toBeNull();
    expect(await aw.tryLock(path, { range: { offset: 9 } })).toBeNull();
    expect(await aw.tryLock(path)).toBeNull();
    expect(await tryInChild(path, 'exclusive', [15, 1])).toBe(false);
    expect(await tryInChild(path, 'exclusive', [20, 5])).toBe(true);
    adjacent!.release();
    await holder.release();
    expect(await tryInChild(path, 'exclusive')).toBe(true);
  });

  it('timeout: rejects with FileLockTimeoutError after the timeout, naming the path and the holder pid', async () => {
    const path = join(scratch(), 't.lock');
    const holder = await holdInChild(path);
    const start = performance.now();
    const err = await aw.lock(path, { timeout: 300 }).catch((e: unknown) => e);
    const waited = performance.now() - start;
    expect(err).toBeInstanceOf(aw.FileLockTimeoutError);
    expect(err).toBeInstanceOf(aw.FileLockError);
    const e = err as InstanceType<typeof aw.FileLockTimeoutError>;
    expect(e.code).toBe('ETIMEDOUT');
    expect(e.name).toBe('FileLockTimeoutError');
    expect(e.path).toBe(path);
    expect(e.timeout).toBe(300);
    expect(e.message).toContain(path);
    // OFD locks report pid -1; the holder is found through /proc/PID/fdinfo.
    expect(e.pids).toEqual([holder.pid]);
    expect(e.message).toContain(`pid ${holder.pid}`);
    expect(waited).toBeGreaterThanOrEqual(290);
    // The ended wait left nothing behind: once the holder lets go, the lock is free.
    await holder.release();
    expect(await tryInChild(path)).toBe(true);
  });

  it('timeout also ends waits queued behind another waiter in this process', async () => {
    const path = join(scratch(), 'q.lock');
    const holder = await holdInChild(path);
    const start = performance.now();
    const errors = await Promise.all([300, 200, 250].map((timeout) => aw.lock(path, { timeout }).catch((e: unknown) => e)));
    expect(performance.now() - start).toBeGreaterThanOrEqual(290);
    for (const err of errors) expect(err).toBeInstanceOf(aw.FileLockTimeoutError);
    expect(errors.map((e) => (e as atomicwriter.FileLockTimeoutError).timeout)).toEqual([300, 200, 250]);
    await holder.release();
    expect(await tryInChild(path)).toBe(true);
  });

  it('timeout 0 tries once: FileLockError ELOCKED naming the holder', async () => {
    const path = join(scratch(), 't.lock');
    const holder = await holdInChild(path);
    const err = (await aw.lock(path, { timeout: 0 }).catch((e: unknown) => e)) as InstanceType<typeof aw.FileLockError>;
    expect(err).toBeInstanceOf(aw.FileLockError);
    expect(err).not.toBeInstanceOf(aw.FileLockTimeoutError);
    expect(err.code).toBe('ELOCKED');
    expect(err.message).toContain(path);
    expect(err.message).toContain(`pid ${holder.pid}`);
  });

  it('signal: aborting ends the wait with an AbortError and leaves no lock behind', async () => {
    const path = join(scratch(), 'a.lock');
    const holder = await holdInChild(path);
    const controller = new AbortController();
    const waits = Array.from({ length: 4 }, () => aw.lock(path, { signal: controller.signal, timeout: Infinity }).catch((e: unknown) => e));
    setTimeout(() => controller.abort(new Error('stop')), 100);
    const errors = (await Promise.all(waits)) as (Error & { code: string; cause: Error })[];
    for (const err of errors) {
      expect(err.name).toBe('AbortError');
      expect(err.code).toBe('ABORT_ERR');
      expect(err.cause.message).toBe('stop');
    }
    await holder.release();
    expect(await tryInChild(path)).toBe(true);
    // An already aborted signal rejects before anything touches the disk.
    const fresh = join(scratch(), 'never.lock');
    await expect(aw.lock(fresh, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(fresh)).toBe(false);
  });

  it('a holder killed with SIGKILL releases: the waiter acquires', async () => {
    const path = join(scratch(), 'k.lock');
    const holder = await holdInChild(path);
    const waiting = aw.lock(path, { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 100));
    await holder.kill();
    const held = await waiting;
    expect(held.released).toBe(false);
    expect(await tryInChild(path)).toBe(false);
    held.release();
  });

  it('the event loop and the libuv pool stay free while 16 waits are pending', async () => {
    const dir = scratch();
    // 16 different lock files: each wait needs a thread of its own (waits for one lock
    // queue behind a single waiter).
    const paths = Array.from({ length: 16 }, (_, i) => join(dir, `e${i}.lock`));
    const held = await Promise.all(paths.map((p) => aw.lock(p)));
    let acquired = 0;
    const waits = paths.map((p) =>
      aw.lock(p).then((l) => {
        acquired++;
        l.release();
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    // libuv's pool has 4 threads: if the waits sat there, this stat would never run.
    const stat = await fsp.stat(dir);
    await new Promise((r) => setTimeout(r, 0));
    expect(stat.isDirectory()).toBe(true);
    expect(acquired).toBe(0);
    for (const l of held) l.release();
    await Promise.all(waits);
    expect(acquired).toBe(16);
  });

  it('many waiters for one lock in one process get it first come, first served', async () => {
    const path = join(scratch(), 'f.lock');
    const held = await aw.lock(path);
    const order: number[] = [];
    const waits = Array.from({ length: 200 }, (_, i) =>
      aw.lock(path).then((l) => {
        order.push(i);
        l.release();
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    held.release();
    await Promise.all(waits);
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('await using releases at the end of the block', async () => {
    const path = join(scratch(), 'u.lock');
    let inner: atomicwriter.FileLock | undefined;
    {
      await using held = await aw.lock(path);
      inner = held;
      expect(await aw.tryLock(path)).toBeNull();
    }
    expect(inner.released).toBe(true);
    {
      using held = await aw.lock(path);
      expect(held.released).toBe(false);
    }
    const again = await aw.tryLock(path);
    expect(again).not.toBeNull();
    again!.release();
  });

  it('a lock path that is a symlink is refused', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'real.lock'), '');
    symlinkSync(join(dir, 'real.lock'), join(dir, 'link.lock'));
    await expect(aw.lock(join(dir, 'link.lock'))).rejects.toMatchObject({ code: 'ELOOP', message: expect.stringContaining('symlink') });
  });

  it('lock files in missing directories: ENOENT, or created with mkdir', async () => {
    const dir = scratch();
    await expect(aw.lock(join(dir, 'a/b.lock'))).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('mkdir') });
    expect(entries(dir)).toEqual([]);
    const held = await aw.lock(join(dir, 'a/b.lock'), { mkdir: true });
    held.release();
    expect(entries(join(dir, 'a'))).toEqual(['b.lock']);
  });
});

describe('withLock', () => {
  it('releases on return and on throw', async () => {
    const path = join(scratch(), 'w.lock');
    const value = await aw.withLock(path, async (held) => {
      expect(held.released).toBe(false);
      expect(await aw.tryLock(path)).toBeNull();
      return 42;
    });
    expect(value).toBe(42);
    await expect(
      aw.withLock(path, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const free = await aw.tryLock(path);
    expect(free).not.toBeNull();
    free!.release();
  });

  it('re-entrancy: the same lock inside the callback fails at once with EDEADLK', async () => {
    const path = join(scratch(), 'r.lock');
    const start = performance.now();
    const err = await aw.withLock(path, () => aw.lock(path, { timeout: 60_000 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(aw.FileLockError);
    expect(err).toMatchObject({ code: 'EDEADLK', message: expect.stringContaining(path) });
    // Not a timing assertion on the lock itself: the 60 s timeout was not waited out.
    expect(performance.now() - start).toBeLessThan(30_000);
    // Compatible requests inside are fine: shared in shared, other ranges, other files.
    await aw.withLock(
      path,
      async () => {
        const inner = await aw.lock(path, { shared: true, timeout: 0 });
        inner.release();
      },
      { shared: true },
    );
    await aw.withLock(
      path,
      async () => {
        const inner = await aw.lock(path, { range: { offset: 10, length: 10 }, timeout: 0 });
        inner.release();
      },
      { range: { offset: 0, length: 10 } },
    );
  });

  it('re-entrancy is still caught after the context was switched off while idle', async () => {
    const path = join(scratch(), 'i.lock');
    await aw.withLock(path, () => {});
    await new Promise((r) => setTimeout(r, 1_200)); // the context goes off after 1 s idle
    await expect(aw.withLock(path, () => aw.withLock(path, () => {}, { timeout: 60_000 }))).rejects.toMatchObject({ code: 'EDEADLK' });
  });

  it('other async callers are not re-entrant: they wait, and get it in turn', async () => {
    const path = join(scratch(), 'q.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        aw.withLock(path, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('a continuation that outlives the callback may take the lock again', async () => {
    const path = join(scratch(), 'c.lock');
    let later: Promise<atomicwriter.FileLock> | undefined;
    await aw.withLock(path, () => {
      later = new Promise((r) => setTimeout(r, 20)).then(() => aw.lock(path, { timeout: 5_000 }));
    });
    const held = await later!;
    held.release();
  });
});

describe('bad input throws before anything touches the disk', () => {
  it('timeouts, ranges, options and callbacks throw synchronously', () => {
    const dir = scratch();
    const path = join(dir, 'bad.lock');
    expect(() => aw.lock(path, { timeout: -1 })).toThrow(RangeError);
    expect(() => aw.lock(path, { timeout: NaN })).toThrow(RangeError);
    expect(() => aw.lock(path, { timeout: '5' as never })).toThrow(TypeError);
    expect(() => aw.lock(path, { range: { offset: -1, length: 1 } })).toThrow(RangeError);
    expect(() => aw.lock(path, { range: { offset: 0, length: 0 } })).toThrow(RangeError);
    expect(() => aw.lock(path, { range: { offset: 1.5 } })).toThrow(RangeError);
    expect(() => aw.lock(path, { shared: 'yes' as never })).toThrow(TypeError);
    expect(() => aw.lock(path, { signal: {} as never })).toThrow(TypeError);
    expect(() => aw.tryLock(path, { timeout: -5 })).toThrow(RangeError);
    expect(() => aw.withLock(path, 'not a function' as never)).toThrow(TypeError);
    expect(() => aw.withLock(path, () => 1, { timeout: NaN })).toThrow(RangeError);
    expect(() => aw.lock(42 as never)).toThrow(TypeError);
    expect(() => aw.lock('')).toThrow(TypeError);
    expect(entries(dir)).toEqual([]);
  });
});

describe('modules', () => {
  it('instanceof holds across ESM and CommonJS', async () => {
    const result = lastJson(await runNode([fixture('lock-modules.mjs'), scratch()]));
    expect(result).toEqual({
      sameClasses: true,
      busyIsEsmError: true,
      busyIsCjsError: true,
      busyCode: 'ELOCKED',
      lateIsCjsTimeout: true,
      lateIsEsmError: true,
      lateCode: 'ETIMEDOUT',
      heldIsCjsLock: true,
    });
  });
});
