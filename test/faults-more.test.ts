// More real faults (ENOSPC, EFBIG, EACCES are in faults.test.ts, EISDIR in
// errors.test.ts): a read-only filesystem (EROFS), names and paths too long
// (ENAMETOOLONG), symlink loops (ELOOP), a file where a directory should be (ENOTDIR),
// a disk quota (EDQUOT, btrfs qgroups) and running out of file descriptors (EMFILE)
// under `ulimit -n`. Each failure keeps
// the old file, leaves no temp, and is a Node-style error with the right code.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aw, entries, hasCommand, isRoot, lastJson, repoRoot, run, scratch, tmpfsForSuite } from './helpers.js';

type Writer = (path: string, data: string) => Promise<unknown>;

// Every entry point that opens something at the target.
const writers: Array<[string, Writer]> = [
  ['writeFile (O_TMPFILE)', (p, d) => aw.writeFile(p, d)],
  ['writeFile (named temp)', (p, d) => aw.writeFile(p, d, { tmpfileCreated: () => {} })],
  ['writeFileSync', async (p, d) => aw.writeFileSync(p, d)],
  [
    'openAtomic',
    async (p, d) => {
      const file = await aw.openAtomic(p);
      await file.write(d);
      await file.commit();
    },
  ],
  ['write (json format)', (p, d) => aw.write({ d }, p, { format: 'json', mkdir: false })],
  ['writeJson', (p, d) => aw.writeJson(p, d, { mkdir: false })],
];

async function failure(fn: () => Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

function expectNodeError(err: NodeJS.ErrnoException, code: string, errno: number, path: string): void {
  expect(err).toBeInstanceOf(Error);
  expect(err).toMatchObject({ code, errno, path });
  expect(typeof err.syscall).toBe('string');
  expect(err.message).toContain(code);
}

if (!isRoot) console.warn('EROFS tests skipped: mounting a tmpfs needs root');

describe.skipIf(!isRoot)('EROFS on a tmpfs remounted read-only (needs root)', () => {
  let mnt = '';
  tmpfsForSuite('aw-erofs-', '4m', async (mounted) => {
    mnt = mounted;
    writeFileSync(join(mnt, 'f'), 'old content');
    mkdirSync(join(mnt, 'sub'));
    const ro = await run('mount', ['-o', 'remount,ro', mnt]);
    if (ro.status !== 0) throw new Error(`remount failed: ${ro.stderr}`);
  });

  it.each(writers)('%s: replacing a file fails with EROFS, old content intact, no temp', async (_name, writer) => {
    const file = join(mnt, 'f');
    const err = await failure(() => writer(file, 'new content'));
    expectNodeError(err, 'EROFS', -30, file);
    expect(err.message).toContain('read-only');
    expect(readFileSync(file, 'utf8')).toBe('old content');
    expect(entries(mnt)).toEqual(['f', 'sub']);
  });

  it('creating a file fails with EROFS and creates nothing; so do a lock file and updateJson', async () => {
    const file = join(mnt, 'sub', 'new');
    expectNodeError(await failure(() => aw.writeFile(file, 'x')), 'EROFS', -30, file);
    expectNodeError(await failure(() => aw.lock(join(mnt, 'sub', 'l.lock'))), 'EROFS', -30, join(mnt, 'sub', 'l.lock'));
    expect((await failure(() => aw.updateJson(join(mnt, 'sub', 'j.json'), () => 1))).code).toBe('EROFS');
    expect(entries(join(mnt, 'sub'))).toEqual([]);
  });
});

describe('ENAMETOOLONG', () => {
  it.each(writers)('%s: a 256-byte name fails, nothing created', async (_name, writer) => {
    const dir = scratch();
    const file = join(dir, 'n'.repeat(256));
    expectNodeError(await failure(() => writer(file, 'x')), 'ENAMETOOLONG', -36, file);
    expect(entries(dir)).toEqual([]);
  });

  it('a path longer than PATH_MAX fails, nothing created', async () => {
    const dir = scratch();
    const file = join(dir, 'd/'.repeat(2100) + 'x');
    expectNodeError(await failure(() => aw.writeFile(file, 'x', { mkdir: true })), 'ENAMETOOLONG', -36, file);
    expect(entries(dir)).toEqual([]);
  });

  it.each(writers)('%s: a 255-byte name works (the named temp shortens its copy of the name)', async (_name, writer) => {
    const dir = scratch();
    const file = join(dir, 'n'.repeat(255));
    await writer(file, 'long name');
    expect(readFileSync(file, 'utf8')).toContain('long name');
    expect(entries(dir)).toEqual(['n'.repeat(255)]);
  });
});

describe('ELOOP', () => {
  it.each(writers)('%s: a symlink loop at the target fails, both links intact', async (_name, writer) => {
    const dir = scratch();
    symlinkSync(join(dir, 'b'), join(dir, 'a'));
    symlinkSync(join(dir, 'a'), join(dir, 'b'));
    expectNodeError(await failure(() => writer(join(dir, 'a'), 'x')), 'ELOOP', -40, join(dir, 'a'));
    expect(entries(dir)).toEqual(['a', 'b']);
  });

  it('a loop in a directory component fails for writes, locks and updateJson', async () => {
    const dir = scratch();
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    const file = join(dir, 'loop', 'x');
    expectNodeError(await failure(() => aw.writeFile(file, 'x')), 'ELOOP', -40, file);
    expectNodeError(await failure(() => aw.lock(file)), 'ELOOP', -40, file);
    expect((await failure(() => aw.updateJson(file, () => 1))).code).toBe('ELOOP');
    expect(entries(dir)).toEqual(['loop']);
  });
});

describe('ENOTDIR', () => {
  it.each(writers)('%s: a regular file as a parent fails, the file intact', async (_name, writer) => {
    const dir = scratch();
    writeFileSync(join(dir, 'file'), 'i am a file');
    const target = join(dir, 'file', 'x');
    expectNodeError(await failure(() => writer(target, 'x')), 'ENOTDIR', -20, target);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('i am a file');
    expect(entries(dir)).toEqual(['file']);
  });
});

// ---- EDQUOT --------------------------------------------------------------------------
// A btrfs qgroup limit (this kernel has no ext4/tmpfs quota support, and root ignores
// user quotas anyway; qgroup limits apply to root too): a loop-mounted btrfs image with
// a 1 MiB limit on a subvolume. Needs root, a btrfs-capable kernel and btrfs-progs.
const canQuota = isRoot && hasCommand('mkfs.btrfs');
if (!canQuota) console.warn('EDQUOT tests skipped: need root and btrfs-progs (mkfs.btrfs)');

describe.skipIf(!canQuota)('EDQUOT under a btrfs qgroup limit (needs root and btrfs-progs)', () => {
  let base = '';
  let mnt = '';
  let ready = '';

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'aw-edquot-'));
    mnt = join(base, 'mnt');
    mkdirSync(mnt);
    const image = join(base, 'btrfs.img');
    const steps: string[][] = [
      ['truncate', '-s', '200M', image],
      ['mkfs.btrfs', '-q', '-f', image],
      ['mount', '-o', 'loop', image, mnt],
      ['btrfs', 'quota', 'enable', mnt],
    ];
    for (const [cmd, ...args] of steps) {
      const r = await run(cmd!, args);
      if (r.status !== 0) {
        ready = `${cmd} ${args.join(' ')} failed: ${r.stderr.trim()}`;
        return;
      }
    }
    ready = 'yes';
  }, 60_000);

  afterAll(async () => {
    // A temp's descriptor may close a moment after its abort returned: retry, then detach.
    for (let i = 0; mnt && i < 20; i++) {
      if ((await run('umount', [mnt])).status === 0) break;
      if (i === 19) await run('umount', ['-l', mnt]);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  /** A subvolume of its own with a 1 MiB limit (btrfs gives freed quota back lazily). */
  async function limitedDir(name: string): Promise<string> {
    const dir = join(mnt, name.replace(/\W+/g, '-'));
    for (const [cmd, ...args] of [
      ['btrfs', 'subvolume', 'create', dir],
      ['btrfs', 'qgroup', 'limit', '1M', dir],
    ]) {
      const r = await run(cmd!, args);
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    }
    return dir;
  }

  it.each(writers)('%s: a write over the quota fails with EDQUOT, old file intact, no temp', async (name, writer) => {
    if (ready !== 'yes') throw new Error(`could not set up the quota: ${ready}`);
    const dir = await limitedDir(name);
    const file = join(dir, 'f');
    const old = 'o'.repeat(10 * 1024);
    writeFileSync(file, old);
    const err = await failure(() => writer(file, 'n'.repeat(4 << 20)));
    expectNodeError(err, 'EDQUOT', -122, file);
    expect(err.message).toContain('quota');
    expect(readFileSync(file, 'utf8')).toBe(old);
    expect(entries(dir)).toEqual(['f']);
  });
});

// ---- EMFILE --------------------------------------------------------------------------
// Decision: an open that fails with EMFILE/ENFILE created nothing, so the library waits
// for descriptors (FIFO; woken when one of its writes or locks closes, else polling)
// rather than fail: many concurrent writes under a low `ulimit -n` all succeed. When no
// descriptor comes back for ATOMICWRITER_EMFILE_WAIT_MS (default 60 s) it fails with
// EMFILE and says so. writeFileSync cannot wait: it fails with EMFILE at once.
// updateJson needs several descriptors at once (lock, read, temp, directory): out of
// any of them, it gives its lock back and the whole update waits its turn (`fn` may
// then run more than once, as in the optimistic S3 path).

/** Runs `body` (an async function body with `aw`, `dir`, `fs`, `path`) in a child under `ulimit -n 64`. */
async function underUlimit(body: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const dir = scratch();
  const script = `
    const aw = require(${JSON.stringify(join(repoRoot, 'dist', 'index.js'))});
    const fs = require('node:fs'), path = require('node:path');
    const dir = ${JSON.stringify(dir)};
    (async () => { ${body} })().then((r) => console.log(JSON.stringify(r)), (e) => console.log(JSON.stringify({ thrown: String(e && e.stack) })));
  `;
  const result = await run('bash', ['-c', 'ulimit -n 64; exec "$0" -e "$1"', process.execPath, script], { env: { ...process.env, ...env } });
  const out = lastJson(result);
  out.entries = entries(dir);
  return out;
}

/** Counts settled results by outcome: `{ ok: n, EMFILE: m }`. */
const TALLY = `
  const tally = (results) => {
    const t = {};
    for (const r of results) { const k = r.status === 'fulfilled' ? 'ok' : String(r.reason.code); t[k] = (t[k] || 0) + 1; }
    return t;
  };
`;

describe('EMFILE under ulimit -n 64: the library waits for descriptors', () => {
  it('1,000 concurrent writes of four kinds, 200 updateJson calls (100 on one counter) and 250 locks all succeed, no temp left', async () => {
    const out = await underUlimit(`${TALLY}
      const jobs = [];
      for (let i = 0; i < 250; i++) {
        const f = (k) => path.join(dir, k + i);
        jobs.push(aw.writeFile(f('a'), 'a' + i));
        jobs.push(aw.writeFile(f('n'), 'n' + i, { tmpfileCreated: () => {} }));
        jobs.push((async () => { const h = await aw.openAtomic(f('o')); await new Promise((r) => setTimeout(r, 5)); await h.write('o' + i); await h.commit(); })());
        jobs.push(aw.writeFile(f('s'), (async function* () { yield 's'; await new Promise((r) => setTimeout(r, 5)); yield String(i); })()));
      }
      for (let i = 0; i < 100; i++) {
        jobs.push(aw.updateJson(path.join(dir, 'counter.json'), (n) => n + 1, { defaultData: 0 }));
        jobs.push(aw.updateJson(path.join(dir, 'u' + i + '.json'), () => i));
      }
      const locks = [];
      for (let i = 0; i < 250; i++) locks.push(aw.withLock(path.join(dir, 'l' + i + '.lock'), () => new Promise((r) => setTimeout(r, 2))));
      const writes = tally(await Promise.allSettled(jobs));
      const held = tally(await Promise.allSettled(locks));
      let wrong = 0;
      for (let i = 0; i < 250; i++) for (const k of ['a', 'n', 'o', 's']) if (fs.readFileSync(path.join(dir, k + i), 'utf8') !== k + i) wrong++;
      for (let i = 0; i < 100; i++) if (JSON.parse(fs.readFileSync(path.join(dir, 'u' + i + '.json'), 'utf8')) !== i) wrong++;
      const counter = JSON.parse(fs.readFileSync(path.join(dir, 'counter.json'), 'utf8'));
      return { writes, held, wrong, counter };
    `);
    expect(out).toMatchObject({ writes: { ok: 1200 }, held: { ok: 250 }, wrong: 0, counter: 100 });
    expect((out.entries as string[]).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('descriptors held by other code: a waiting write proceeds once they are closed', async () => {
    const out = await underUlimit(`
      aw.writeFileSync(path.join(dir, 'f'), 'old'); // loads the addon while it can be opened
      const hog = [];
      try { for (;;) hog.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const pending = aw.writeFile(path.join(dir, 'f'), 'new');
      let settled = false;
      pending.then(() => (settled = true), () => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      const settledWhileHogged = settled;
      for (const fd of hog.splice(0)) fs.closeSync(fd);
      await pending;
      return { settledWhileHogged, content: fs.readFileSync(path.join(dir, 'f'), 'utf8') };
    `);
    expect(out).toMatchObject({ settledWhileHogged: false, content: 'new', entries: ['f'] });
  });

  it('descriptors never released: fails with EMFILE after the wait, saying so; old file intact, no temp', async () => {
    const out = await underUlimit(
      `
      aw.writeFileSync(path.join(dir, 'f'), 'old'); // loads the addon while it can be opened
      const hog = [];
      try { for (;;) hog.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const errors = [];
      const attempts = [
        () => aw.writeFile(path.join(dir, 'f'), 'new'),
        () => aw.writeFile(path.join(dir, 'f'), 'new', { tmpfileCreated: () => {} }),
        () => aw.openAtomic(path.join(dir, 'f')),
        () => aw.lock(path.join(dir, 'f.lock')),
        () => aw.updateJson(path.join(dir, 'f.json'), () => 1),
        async () => aw.writeFileSync(path.join(dir, 'f'), 'new'),
      ];
      for (const attempt of attempts) {
        try { await attempt(); errors.push(null); } catch (e) { errors.push({ code: e.code, errno: e.errno, path: e.path, message: e.message, isError: e instanceof Error }); }
      }
      for (const fd of hog) fs.closeSync(fd);
      return { errors, content: fs.readFileSync(path.join(dir, 'f'), 'utf8') };
    `,
      { ATOMICWRITER_EMFILE_WAIT_MS: '200' },
    );
    const errors = out.errors as Array<Record<string, unknown>>;
    expect(errors).toHaveLength(6);
    for (const e of errors) expect(e).toMatchObject({ code: 'EMFILE', errno: -24, isError: true });
    for (const e of errors.slice(0, 5)) expect(e.message).toMatch(/waited \d+ ms for descriptors/);
    for (const e of errors) expect(String(e.path)).toMatch(/\/f(\.lock|\.json\.lock)?$/);
    expect(out.content).toBe('old');
    expect(out.entries).toEqual(['f']);
  });
});
