// Durability levels: `durability: 'none' | 'data' | 'full'` beside `fsync: boolean`,
// validated before the disk is touched, and what each level syncs, seen with strace on
// real filesystems: this machine's, tmpfs, and loop-mounted ext4 (journaled, in
// data=ordered and data=writeback, and without a journal) and xfs, where the one-flush
// commit (crates/core/src/durability.rs) replaces the temp's fdatasync by
// sync_file_range-and-wait, and only at 'full', only where it is proven.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeFileAtomic, { createWriteStream, openAtomic, updateJson, writeFile, writeFileSync, writeJson } from '../index.mjs';
import { fixture, hasCommand, isRoot, run, scratch } from './helpers.js';

const BAD: unknown[] = ['fast', 'FULL', '', 1, true, null, {}, ['full']];

describe('durability option validation', () => {
  it.each(BAD.map((v) => [v]))('durability: %j throws ERR_INVALID_ARG_VALUE before the disk is touched', async (value) => {
    const dir = scratch('aw-dur-');
    const target = join(dir, 'f.txt');
    const calls: [string, () => unknown][] = [
      ['writeFileSync', () => writeFileSync(target, 'x', { durability: value } as never)],
      ['writeFile', () => writeFile(target, 'x', { durability: value } as never)],
      ['compat', () => writeFileAtomic(target, 'x', { durability: value } as never)],
      ['createWriteStream', () => createWriteStream(target, { durability: value } as never)],
      ['writeJson', () => writeJson(target, {}, { durability: value } as never)],
      ['updateJson', () => updateJson(target, () => ({}), { durability: value } as never)],
      ['openAtomic', () => openAtomic(target, { durability: value } as never)],
    ];
    for (const [name, call] of calls) {
      let thrown: unknown;
      try {
        await call();
      } catch (e) {
        thrown = e;
      }
      expect(thrown, name).toBeInstanceOf(TypeError);
      expect((thrown as { code?: string }).code, name).toBe('ERR_INVALID_ARG_VALUE');
      expect((thrown as Error).message, name).toMatch(/options\.durability/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fsync and durability must agree', async () => {
    const dir = scratch('aw-dur-');
    const target = join(dir, 'f.txt');
    for (const options of [{ fsync: false, durability: 'full' }, { fsync: false, durability: 'data' }, { fsync: true, durability: 'none' }]) {
      expect(() => writeFileSync(target, 'x', options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(readdirSync(dir)).toEqual([]);
    // Agreeing pairs, and either alone, write.
    for (const options of [{ fsync: true, durability: 'full' }, { fsync: true, durability: 'data' }, { fsync: false, durability: 'none' }, { durability: 'none' }, { fsync: false }, {}]) {
      writeFileSync(target, JSON.stringify(options), options as never);
      expect(readFileSync(target, 'utf8')).toBe(JSON.stringify(options));
    }
    // write-file-atomic's loose options: a durability level without fsync is taken as given.
    await writeFileAtomic(target, 'none', { durability: 'none' } as never);
    expect(readFileSync(target, 'utf8')).toBe('none');
    expect(() => writeFileAtomic.sync(target, 'x', { fsync: false, durability: 'full' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

/** The sync calls of one write, in order: [name, first argument]. */
async function syncCalls(dir: string, level: string, api: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const trace = join(scratch('aw-dur-trace-'), 'trace');
  const target = join(dir, `out-${level}-${api}.txt`);
  const result = await run('strace', ['-f', '-e', 'trace=fdatasync,fsync,sync_file_range,renameat,renameat2,rename', '-o', trace, process.execPath, fixture('durability-write.mjs'), target, level, api], {
    env: { ...process.env, ...env },
  });
  expect(result.status, result.stderr).toBe(0);
  expect(readFileSync(target, 'utf8')).toBe('x'.repeat(4096));
  const calls: string[] = [];
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^\d+\s+(?:<\.\.\. )?(\w+)[( ]/.exec(line);
    if (!m || line.includes('unfinished') || / = -1 /.test(line)) continue;
    calls.push(m[1]!.replace(/^renameat2?$|^rename$/, 'rename'));
  }
  return calls;
}

const WAITED = 'sync_file_range';

/** What each level leaves in the trace, with the data synced the way `dataSync` says. */
function expected(level: string, dataSync: string): string[] {
  if (level === 'none') return ['rename'];
  if (level === 'data') return ['fdatasync', 'rename'];
  return [dataSync, 'rename', 'fsync'];
}

const haveTools = hasCommand('strace') && isRoot && ['losetup', 'mkfs.ext4', 'mkfs.xfs', 'mount'].every(hasCommand);
if (!haveTools) console.warn('loop-filesystem durability tests skipped: they need root, strace, losetup, mkfs.ext4 and mkfs.xfs');

describe.skipIf(!haveTools)('what each level syncs, per filesystem (root, strace, loop devices)', () => {
  interface Fs {
    name: string;
    mkfs: string[];
    options: string;
    /** How a 'full' write syncs the temp there. */
    fullSync: string;
  }
  const FILESYSTEMS: Fs[] = [
    { name: 'ext4 (journal, data=ordered)', mkfs: ['mkfs.ext4', '-q', '-F'], options: 'defaults', fullSync: WAITED },
    { name: 'ext4 (journal, data=writeback)', mkfs: ['mkfs.ext4', '-q', '-F'], options: 'data=writeback', fullSync: 'fdatasync' },
    { name: 'ext4 (no journal)', mkfs: ['mkfs.ext4', '-q', '-F', '-O', '^has_journal'], options: 'defaults', fullSync: 'fdatasync' },
    { name: 'xfs', mkfs: ['mkfs.xfs', '-q', '-f'], options: 'defaults', fullSync: WAITED },
    { name: 'tmpfs', mkfs: [], options: 'size=64m', fullSync: 'fdatasync' },
  ];
  const mounts: { dir: string; loop?: string }[] = [];
  const mounted = new Map<string, string>();
  let base = '';

  beforeAll(() => {
    // Not scratch(): its cleanup after each test would remove the mounted trees.
    base = mkdtempSync(join(tmpdir(), 'aw-dur-fs-'));
    for (const [i, fs] of FILESYSTEMS.entries()) {
      const dir = join(base, `m${i}`);
      mkdirSync(dir);
      if (fs.name === 'tmpfs') {
        sh('mount', ['-t', 'tmpfs', '-o', fs.options, 'tmpfs', dir]);
        mounts.push({ dir });
      } else {
        const image = join(base, `fs${i}.img`);
        sh('truncate', ['-s', '512M', image]);
        sh(fs.mkfs[0]!, [...fs.mkfs.slice(1), image]);
        const loop = sh('losetup', ['-f', '--show', image]).trim();
        mounts.push({ dir, loop });
        sh('mount', ['-o', fs.options, loop, dir]);
      }
      mounted.set(fs.name, realpathSync(dir));
    }
  }, 120_000);

  afterAll(() => {
    for (const { dir, loop } of mounts.reverse()) {
      spawnSync('umount', [dir]);
      if (loop) spawnSync('losetup', ['-d', loop]);
      if (existsSync(dir)) rmdirSync(dir);
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  for (const fs of FILESYSTEMS) {
    it.each(['default', 'full', 'data', 'none'])(`${fs.name}: %s`, async (level) => {
      const dir = mounted.get(fs.name)!;
      for (const api of ['async', 'sync', 'compat']) {
        const calls = await syncCalls(dir, level, api);
        expect(calls, `${api}`).toEqual(expected(level === 'default' ? 'full' : level, fs.fullSync));
      }
    }, 60_000);
  }

  it('ATOMICWRITER_ONE_FLUSH=0 keeps the fdatasync where one flush would do', async () => {
    for (const name of ['ext4 (journal, data=ordered)', 'xfs']) {
      expect(await syncCalls(mounted.get(name)!, 'full', 'async', { ATOMICWRITER_ONE_FLUSH: '0' }), name).toEqual(['fdatasync', 'rename', 'fsync']);
    }
  }, 60_000);

  it('ext4: a directory that journals its files\' data (chattr +j) keeps the fdatasync on a data=ordered mount', async () => {
    // The inode flag makes those files data=journal whatever the mount says; the
    // one-flush argument and its power-cut trials cover data=ordered only. chattr +j
    // needs CAP_SYS_RESOURCE (a container may lack it), so the flag is set offline
    // with debugfs on an image of its own.
    const image = join(base, 'journal-data.img');
    const dir = join(base, 'journal-data');
    mkdirSync(dir);
    sh('truncate', ['-s', '256M', image]);
    sh('mkfs.ext4', ['-q', '-F', image]);
    sh('debugfs', ['-w', '-R', 'mkdir jd', image]);
    const flags = /Flags: (0x[0-9a-f]+)/.exec(sh('debugfs', ['-R', 'stat jd', image]))![1]!;
    sh('debugfs', ['-w', '-R', `set_inode_field jd flags 0x${(Number(flags) | 0x4000).toString(16)}`, image]);
    const loop = sh('losetup', ['-f', '--show', image]).trim();
    mounts.push({ dir, loop });
    sh('mount', ['-o', 'defaults', loop, dir]);
    expect(sh('lsattr', ['-d', join(dir, 'jd')])).toMatch(/^\S*j\S* /);
    for (const api of ['async', 'sync', 'compat']) {
      expect(await syncCalls(join(dir, 'jd'), 'full', api), api).toEqual(['fdatasync', 'rename', 'fsync']);
    }
    // And the flag is what decides: the same mount without it waits instead.
    expect(await syncCalls(dir, 'full', 'async')).toEqual([WAITED, 'rename', 'fsync']);
  }, 60_000);

  it('ext4 is asked again at every commit: a remount with nobarrier, or a new mount with data=writeback, under one process', async () => {
    // One process (and so one cache of what each ext4 mount said) across the changes;
    // each step writes twice (writeFileSync, writeFile). Also counts the per-write
    // probing: one fstatfs per write, the ext4 facts read by path once per mount.
    const image = join(base, 'remount.img');
    const dir = join(base, 'remount');
    mkdirSync(dir);
    sh('truncate', ['-s', '256M', image]);
    sh('mkfs.ext4', ['-q', '-F', image]);
    const loop = sh('losetup', ['-f', '--show', image]).trim();
    mounts.push({ dir, loop });
    sh('mount', [loop, dir]);
    const trace = join(scratch('aw-dur-remount-'), 'trace');
    const child = spawn('strace', ['-f', '-e', 'trace=fdatasync,sync_file_range,fstatfs,openat', '-o', trace, process.execPath, fixture('durability-steps.mjs'), join(dir, 'f.txt'), '5'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const step = async (name: string) => {
      child.stdin!.write(`${name}\n`);
      expect((await lines.next()).value).toBe(`ok ${name}`);
    };
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      await step('ordered');
      sh('mount', ['-o', 'remount,nobarrier', dir]);
      await step('nobarrier');
      sh('mount', ['-o', 'remount,barrier', dir]);
      await step('barrier');
      sh('umount', [dir]);
      sh('mount', ['-o', 'data=writeback', loop, dir]);
      await step('writeback');
      sh('umount', [dir]);
      sh('mount', [loop, dir]);
      await step('ordered-again');
    } finally {
      child.stdin!.end();
      await exited;
    }
    const text = readFileSync(trace, 'utf8');
    const syncs = [...text.matchAll(/^\d+\s+(?:<\.\.\. )?(fdatasync|sync_file_range)[( ].*= 0$/gm)].map((m) => m[1]);
    const per = (name: string) => Array<string>(10).fill(name);
    expect(syncs).toEqual([...per(WAITED), ...per('fdatasync'), ...per(WAITED), ...per('fdatasync'), ...per(WAITED)]);
    // One fstatfs per write, of the directory; the options file opened once per mount
    // of the device (three mounts), not once per commit.
    const fstatfs = text.match(/^\d+\s+fstatfs\(/gm) ?? [];
    expect(fstatfs.length).toBe(50);
    const optionsOpened = text.match(/openat\([^)]*"\/proc\/fs\/ext4\/[^"]+\/options"[^=]*= \d+/g) ?? [];
    expect(optionsOpened.length).toBe(3);
  }, 120_000);

  it("this machine's test directory gets the sync its filesystem is known for", async () => {
    const dir = realpathSync(scratch('aw-dur-here-'));
    const calls = await syncCalls(dir, 'full', 'async');
    // Whatever it is, a full write syncs the data before the rename and the directory after it.
    expect(calls.slice(1)).toEqual(['rename', 'fsync']);
    expect(['fdatasync', WAITED]).toContain(calls[0]);
  }, 60_000);
});

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
