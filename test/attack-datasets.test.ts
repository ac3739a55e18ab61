// Datasets, markers and sweep under attack: the library never replaces or deletes
// what is not its own, never writes outside the dataset, and never blocks on what it
// finds. Attackers are real processes (uid 65534 through setpriv), FIFOs, devices and
// links are real, and every test checks that nothing outside the intended place
// changed, byte for byte.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aw, hasCommand, isRoot, lastJson, repoRoot, run, runNode, scratch } from './helpers.js';

const canDropPrivileges = isRoot && hasCommand('setpriv');
const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/** Every entry below `dir` with its type, mode and content (or link target). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const path = join(dir, rel);
    const st = lstatSync(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(path)}`;
    else if (st.isFile()) out[rel] = `file ${mode} ${st.uid} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${mode} ${st.uid}`;
      for (const name of readdirSync(path)) walk(rel ? `${rel}/${name}` : name);
    } else out[rel] = `other ${st.mode.toString(8)}`;
  };
  walk('');
  return out;
}

/** A user's data folder: files at several depths, hidden ones included. */
function userFolder(dir: string): void {
  mkdirSync(join(dir, 'photos/2024'), { recursive: true });
  writeFileSync(join(dir, 'notes.txt'), 'my notes\n');
  writeFileSync(join(dir, '.config'), 'secret=1\n');
  writeFileSync(join(dir, 'photos/2024/a.jpg'), Buffer.alloc(4096, 7));
}

const part = (stage: { write(name: string, data: string): Promise<void> }) => stage.write('part-0', 'new');

describe('writeDataset never replaces a directory that is not a dataset', () => {
  it('refuses every target form that resolves to the named directory or its parent, before the disk is touched', () => {
    const base = scratch();
    const data = join(base, 'data');
    userFolder(data);
    const before = snapshot(base);
    const day = '';
    const bad = [
      `${base}/${day}`,
      `${data}/`,
      `${data}//`,
      `${data}/.`,
      `${data}/./`,
      `${data}/photos/..`,
      `${data}/photos/../`,
      `${data}/photos/2024/../..`,
      '.',
      '..',
      Buffer.from(`${data}/`),
      Buffer.from(`${data}/.`),
      pathToFileURL(`${data}/`),
    ];
    for (const target of bad) {
      let thrown: unknown;
      try {
        // Synchronously: the promise is never created.
        void aw.writeDataset(target, part);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, String(target)).toBeInstanceOf(TypeError);
      expect(thrown, String(target)).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect((thrown as Error).message, String(target)).toMatch(/must name the dataset directory itself/);
    }
    expect(snapshot(base)).toEqual(before);
  });

  it('refuses an existing directory that holds no _SUCCESS and is not empty (ENOTEMPTY), leaving it byte-identical', async () => {
    const base = scratch();
    const data = join(base, 'data');
    userFolder(data);
    const before = snapshot(base);
    for (const options of [{}, { replace: 'dataset' as const }, { marker: false }, { fsync: false }]) {
      let called = false;
      const err = await aw.writeDataset(data, async (stage) => {
        called = true;
        await part(stage);
      }, options).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ENOTEMPTY', syscall: 'rename', path: data });
      expect((err as Error).message).toMatch(/not a dataset.*replace: 'any'/);
      expect(called, 'refused before the callback runs').toBe(false);
      expect(snapshot(base)).toEqual(before);
    }
    // A _SUCCESS that is a link or a directory does not make a dataset.
    symlinkSync('/etc/hostname', join(data, '_SUCCESS'));
    await expect(aw.writeDataset(data, part)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    expect(lstatSync(join(data, '_SUCCESS')).isSymbolicLink()).toBe(true);
    expect(readdirSync(base)).toEqual(['data']);
  });

  it('replaces a dataset (it holds _SUCCESS), an empty directory, and with replace: "any" anything', async () => {
    const base = scratch();
    const ds = join(base, 'ds');
    await aw.writeDataset(ds, (stage) => stage.write('old', 'old'));
    await aw.writeDataset(ds, part);
    expect(readdirSync(ds).sort()).toEqual(['_SUCCESS', 'part-0']);
    const empty = join(base, 'empty');
    mkdirSync(empty);
    await aw.writeDataset(empty, part);
    expect(readdirSync(empty).sort()).toEqual(['_SUCCESS', 'part-0']);
    const data = join(base, 'data');
    userFolder(data);
    await aw.writeDataset(data, part, { replace: 'any' });
    expect(readdirSync(data).sort()).toEqual(['_SUCCESS', 'part-0']);
    expect(readdirSync(base).sort()).toEqual(['data', 'ds', 'empty']);
  });

  it('validates replace', () => {
    const base = scratch();
    for (const replace of ['all', true, 1, null, 'ANY']) {
      expect(() => aw.writeDataset(join(base, 'ds'), part, { replace: replace as never }), String(replace)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(readdirSync(base)).toEqual([]);
  });

  it('still never replaces a file, a link or a FIFO with a dataset (ENOTDIR)', async () => {
    const base = scratch();
    writeFileSync(join(base, 'file'), 'keep');
    spawnSync('mkfifo', [join(base, 'fifo')]);
    const before = snapshot(base);
    for (const name of ['file', 'fifo']) await expect(aw.writeDataset(join(base, name), part)).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(snapshot(base)).toEqual(before);
  });
});

describe.skipIf(!canDropPrivileges)('a staging directory swapped for a link by another user (needs root and setpriv)', () => {
  /** A parent the attacker (uid 65534) can write, and a root-owned directory outside. */
  function arena(): { parent: string; outside: string; ds: string } {
    const root = scratch();
    chmodSync(root, 0o755);
    const parent = join(root, 'shared');
    mkdirSync(parent);
    chmodSync(parent, 0o777);
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'victim');
    // The dataset directory lives at <staging>/ds: an outside directory that has a
    // `ds` of its own is where a part re-resolved by path through the planted link
    // would land (without it such a part fails with ENOENT and writes nothing).
    mkdirSync(join(outside, 'ds'));
    writeFileSync(join(outside, 'ds', 'victim'), 'victim');
    return { parent, outside, ds: join(parent, 'ds') };
  }

  /** The attacker: renames the staging directory away and plants a link to `outside` at its name. */
  async function swap(parent: string, outside: string): Promise<void> {
    const staging = readdirSync(parent).find((n) => n.startsWith('.ds.aw'));
    expect(staging, 'a staging directory exists').toBeDefined();
    const r = await run(asNobody[0]!, [...asNobody.slice(1), 'sh', '-c', 'mv "$1" "$2" && ln -s "$3" "$1"', 'sh', join(parent, staging!), join(parent, 'moved'), outside]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(join(parent, staging!)).isSymbolicLink()).toBe(true);
  }

  it.each(['between parts', 'after the last part'])('%s: nothing is written outside and the dataset rejects (ESTALE)', async (when) => {
    const { parent, outside, ds } = arena();
    const before = snapshot(outside);
    let pathError: unknown;
    const result = aw.writeDataset(ds, async (stage) => {
      await stage.write('part-0', 'zero');
      if (when === 'between parts') {
        await swap(parent, outside);
        await stage.write('part-1', 'one');
        await stage.write('sub/part-2', 'two');
        const stream = stage.createWriteStream('part-3');
        stream.end('three');
        await new Promise((resolve) => stream.on('finish', resolve));
        try {
          stage.path('part-4');
        } catch (e) {
          pathError = e;
        }
      } else {
        await stage.write('sub/part-1', 'one');
        await swap(parent, outside);
      }
    });
    const err = await result.catch((e: unknown) => e);
    expect(snapshot(outside), 'nothing appeared in (or vanished from) the outside directory').toEqual(before);
    expect(err).toMatchObject({ code: 'ESTALE' });
    expect((err as Error).message).toMatch(/staging directory .* was replaced/);
    // A path handed to a library would lead through the link: refused.
    if (when === 'between parts') expect(pathError).toMatchObject({ code: 'ESTALE' });
    expect(existsSync(ds), 'nothing published').toBe(false);
    // Our own directory, wherever it was moved, was emptied through its descriptor.
    expect(readdirSync(join(parent, 'moved'))).toEqual([]);
  });
});

/**
 * Runs isComplete and verify on `dir` in a child (a hang there cannot hang the suite):
 * what each returned or threw, how long it took, and how often a 5 ms timer fired
 * meanwhile (a blocked event loop fires none).
 */
async function probe(dir: string): Promise<{ isComplete: Record<string, unknown>; verify: Record<string, unknown>; ms: number; ticks: number }> {
  const script = `
    const aw = require(${JSON.stringify(join(repoRoot, 'dist/index.js'))});
    const dir = ${JSON.stringify(dir)};
    (async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      await new Promise((r) => setTimeout(r, 20));
      ticks = 0;
      const start = Date.now();
      const out = {};
      for (const [name, fn] of [['isComplete', () => aw.isComplete(dir)], ['verify', () => aw.verify(dir)]]) {
        try { out[name] = { value: await fn() }; } catch (e) { out[name] = { code: e.code, path: e.path, message: e.message }; }
      }
      out.ms = Date.now() - start;
      await new Promise((r) => setTimeout(r, 20));
      out.ticks = ticks;
      clearInterval(timer);
      console.log(JSON.stringify(out));
    })();`;
  const r = await runNode(['-e', script], { timeout: 15_000 });
  expect(r.signal, `the probe hung: ${r.stderr}`).toBeNull();
  return lastJson(r);
}

describe('markers that are not regular files, or too large, are refused without blocking', () => {
  const cases: Array<[string, (marker: string) => void, string, RegExp]> = [
    ['a FIFO', (m) => expect(spawnSync('mkfifo', [m]).status).toBe(0), 'EINVAL', /is a FIFO, not a regular file/],
    ['a symlink to /dev/zero', (m) => symlinkSync('/dev/zero', m), 'EINVAL', /is a symbolic link, not a regular file/],
    ['a 100 MiB sparse file', (m) => { writeFileSync(m, ''); truncateSync(m, 100 * 1024 * 1024); }, 'EFBIG', /over the 64 MiB limit/],
    ...(isRoot ? [['a copy of /dev/null', (m: string) => expect(spawnSync('mknod', [m, 'c', '1', '3']).status).toBe(0), 'EINVAL', /is a character device/] as [string, (m: string) => void, string, RegExp]] : []),
  ];

  it.each(cases)('_SUCCESS is %s: isComplete rejects, verify reports EBADMARKER, promptly, the event loop ticking', async (_what, plant, code, message) => {
    const ds = join(scratch(), 'ds');
    await aw.writeDataset(ds, part);
    const marker = join(ds, '_SUCCESS');
    const { rmSync } = await import('node:fs');
    rmSync(marker);
    plant(marker);
    const before = snapshot(ds);
    const r = await probe(ds);
    expect(r.isComplete).toMatchObject({ code, path: marker });
    expect(String(r.isComplete.message)).toMatch(message);
    expect(r.verify.value).toMatchObject({ ok: false, marker: null, problems: [{ name: '_SUCCESS', code: 'EBADMARKER' }] });
    expect((r.verify.value as { problems: Array<{ message: string }> }).problems[0]!.message).toMatch(message);
    expect(r.ms).toBeLessThan(3000);
    expect(r.ticks).toBeGreaterThan(0);
    expect(snapshot(ds)).toEqual(before);
  });

  it('a FIFO or a link to /dev/zero as a listed entry is a problem, never read', async () => {
    const ds = join(scratch(), 'ds');
    await aw.writeDataset(ds, async (stage) => {
      await stage.write('a', 'aaa');
      await stage.write('b', 'bbb');
    });
    const { rmSync } = await import('node:fs');
    rmSync(join(ds, 'a'));
    expect(spawnSync('mkfifo', [join(ds, 'a')]).status).toBe(0);
    rmSync(join(ds, 'b'));
    symlinkSync('/dev/zero', join(ds, 'b'));
    const r = await probe(ds);
    expect(r.isComplete.value).toBe(true);
    expect(r.verify.value).toMatchObject({ ok: false, problems: [{ name: 'a', code: 'ENOTFILE' }, { name: 'b', code: 'ENOTFILE' }] });
    expect(r.ms).toBeLessThan(3000);
  });

  it('verify and isComplete of a missing directory: ENOENT and false', async () => {
    const missing = join(scratch(), 'nowhere');
    await expect(aw.verify(missing)).rejects.toMatchObject({ code: 'ENOENT', path: missing });
    expect(await aw.isComplete(missing)).toBe(false);
  });
});

describe('verify never follows a link inside an entry name', () => {
  it('sub -> /etc with an entry sub/passwd (the right size and checksum) is a problem', async () => {
    const ds = join(scratch(), 'ds');
    const passwd = readFileSync('/etc/passwd');
    const { manifest } = await aw.writeDataset(ds, (stage) => stage.write('copy', passwd));
    const copy = manifest!.files[0]!;
    // A manifest that lists a foreign file, with its true size and checksum.
    const forged = { ...manifest!, files: [...manifest!.files, { ...copy, name: 'sub/passwd' }, { ...copy, name: 'direct' }] };
    writeFileSync(join(ds, '_SUCCESS'), JSON.stringify(forged));
    symlinkSync('/etc', join(ds, 'sub'));
    symlinkSync('/etc/passwd', join(ds, 'direct'));
    const result = await aw.verify(ds);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.name, p.code])).toEqual([
      ['direct', 'ENOTFILE'],
      ['sub/passwd', 'ENOTFILE'],
    ]);
    expect(result.problems[1]!.message).toMatch(/sub \(on the way to sub\/passwd\) is a symbolic link/);
    expect(result.extra, 'links are not listed as extra files either').toEqual([]);
    expect((await aw.verify(ds, { checksums: false })).problems.map((p) => p.code)).toEqual(['ENOTFILE', 'ENOTFILE']);
    expect(await aw.verify(join(ds, 'copy'))).toMatchObject({ ok: true, checked: 1 });
  });
});

describe.skipIf(!canDropPrivileges)('sweep removes only its own orphans (needs root and setpriv)', () => {
  const temp = (name: string, hex = '0123456789abcdef'): string => `.${name}.aw${hex}.tmp`;
  const age = (path: string): void => {
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(path, old, old);
  };

  it('in a sticky 1777 directory, other users temp-shaped files and directories are kept', async () => {
    const root = scratch();
    chmodSync(root, 0o755);
    const shared = join(root, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const theirs = [temp('a'), temp('b', 'ffffffffffffffff')];
    const script = `mkdir -m 700 "$1/${temp('dir', '00000000000000aa')}" && echo mine > "$1/${temp('dir', '00000000000000aa')}/file" && for n in ${theirs.join(' ')}; do echo x > "$1/$n"; done && touch -d '2 hours ago' "$1"/.*.tmp`;
    const r = await run(asNobody[0]!, [...asNobody.slice(1), 'sh', '-c', script, 'sh', shared]);
    expect(r.status, r.stderr).toBe(0);
    // Our own orphan, as a control.
    const ours = join(shared, temp('ours'));
    writeFileSync(ours, 'partial');
    age(ours);
    const before = snapshot(shared);
    delete before[temp('ours')];
    expect(await aw.sweep(shared, { olderThan: 0, dryRun: true })).toEqual([ours]);
    expect(await aw.sweep(shared, { olderThan: 0 })).toEqual([ours]);
    expect(snapshot(shared)).toEqual(before);
  });

  it('a temp-shaped directory that is not a staging directory keeps its files; a staging one is removed', async () => {
    const dir = scratch();
    const foreign = join(dir, temp('photos'));
    userFolder(foreign);
    age(foreign);
    const staging = join(dir, temp('ds', 'abcdefabcdefabcd'));
    mkdirSync(join(staging, 'sub'), { recursive: true });
    writeFileSync(join(staging, 'sub/part-0'), 'partial');
    chmodSync(staging, 0o700);
    age(staging);
    const before = snapshot(foreign);
    expect(await aw.sweep(dir, { olderThan: 0 })).toEqual([staging]);
    expect(snapshot(foreign)).toEqual(before);
    expect(readdirSync(dir)).toEqual([temp('photos')]);
  });

  it('a temp-shaped file another program holds open is kept until it is closed', async () => {
    const dir = scratch();
    const held = join(dir, temp('held'));
    const orphan = join(dir, temp('orphan', 'aaaaaaaaaaaaaaaa'));
    writeFileSync(held, 'in use');
    writeFileSync(orphan, 'orphan');
    age(held);
    age(orphan);
    const reader = spawn('sh', ['-c', 'exec 3<"$1"; echo ready; exec sleep 60', 'sh', held], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => reader.stdout!.once('data', resolve));
    try {
      expect(await aw.sweep(dir, { olderThan: 0 })).toEqual([orphan]);
      expect(readFileSync(held, 'utf8')).toBe('in use');
    } finally {
      reader.kill('SIGKILL');
      await new Promise((resolve) => reader.once('close', resolve));
    }
    expect(await aw.sweep(dir, { olderThan: 0 })).toEqual([held]);
  });
});

describe('a marked single-file write never changes the marker when it fails, nor waits on itself', () => {
  it('exclusive: true that fails with EEXIST leaves the intact file and its _SUCCESS byte-identical', async () => {
    const dir = scratch();
    const file = join(dir, 'data.json');
    await aw.write({ a: 1 }, file, { marker: true });
    const before = snapshot(dir);
    await expect(aw.write({ a: 2 }, file, { marker: true, exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(aw.write('text', join(dir, 'data.json'), { format: 'text', marker: true, exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(snapshot(dir)).toEqual(before);
    expect(await aw.verify(file)).toMatchObject({ ok: true });
    // Create-only of a new file still gets its marker.
    const fresh = join(dir, 'fresh.json');
    await aw.write({ b: 1 }, fresh, { marker: true, exclusive: true });
    expect(await aw.verify(fresh)).toMatchObject({ ok: true, checked: 1 });
  });

  it('a target named _SUCCESS with marker: true is a bad argument, thrown at once', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'real'), 'x');
    symlinkSync('_SUCCESS', join(dir, 'alias'));
    for (const target of [join(dir, '_SUCCESS'), join(dir, 'sub/_SUCCESS'), join(dir, 'alias')]) {
      expect(() => aw.write('x', target, { format: 'text', marker: true }), target).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(readdirSync(dir).sort()).toEqual(['alias', 'real']);
    expect(statSync(join(dir, 'real')).size).toBe(1);
  });
});
