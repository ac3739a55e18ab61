// Planted symlinks: another user (uid 65534, through setpriv) plants links in a sticky
// world-writable directory, as anyone can in /tmp, pointing at root's files and
// directories. Root's writes must refuse to follow them (the kernel's
// protected_symlinks rule, applied by the library whatever the sysctl says) and leave
// the victims byte-identical, with no `.lock` or temp beside them. Controls: a link
// the follower owns, or one in a directory without the sticky bit, is followed, as
// write-file-atomic and fs.writeFile do.
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, hasCommand, isRoot, scratch } from './helpers.js';

const canDropPrivileges = isRoot && hasCommand('setpriv');
const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];

interface Scene {
  base: string;
  /** The sticky 1777 directory the attacker plants in. */
  shared: string;
  victim: string;
  victimDir: string;
}

function scene(): Scene {
  const base = scratch('aw-attack-');
  // The child must reach the shared directory; the victims stay root's.
  chmodSync(base, 0o755);
  const shared = join(base, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const victim = join(base, 'secret.json');
  writeFileSync(victim, '{"secret":true}\n', { mode: 0o600 });
  const victimDir = join(base, 'important-dir');
  mkdirSync(victimDir);
  writeFileSync(join(victimDir, 'data.csv'), 'a,b\n1,2\n');
  return { base, shared, victim, victimDir };
}

/** `ln -s to at` as uid 65534. */
function plantAsNobody(to: string, at: string): void {
  const result = spawnSync('setpriv', [...asNobody, 'ln', '-s', to, at], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`planting ${at} failed: ${result.stderr}`);
  expect(lstatSync(at).uid).toBe(65534);
}

/**
 * Every name and byte under `dir` (recursively, never through a link), to compare before
 * and after. A walk of its own: Bun's recursive readdirSync descends into links to
 * directories, so the planted shared/sub -> base made it fail with ELOOP
 * (oven-sh/bun#31418, #33432), where Node's withFileTypes walk lists the link only.
 */
function snapshot(dir: string, out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out[path] = st.isFile() ? `${st.mode.toString(8)}:${readFileSync(path, 'hex')}` : `${st.mode.toString(8)}`;
    if (st.isDirectory()) snapshot(path, out);
  }
  return out;
}

type Api = (path: string) => Promise<unknown>;

const fileApis: Array<[string, Api]> = [
  ['writeFile', (p) => aw.writeFile(p, '{"pwned":1}')],
  ['writeFile with tmpfileCreated', (p) => aw.writeFile(p, 'x', { tmpfileCreated: () => {} })],
  ['writeFileSync', async (p) => aw.writeFileSync(p, 'x')],
  ['writeJson', (p) => aw.writeJson(p, { pwned: 1 })],
  ['updateJson', (p) => aw.updateJson(p, () => ({ pwned: 1 }))],
  ['write (json format)', (p) => aw.write({ pwned: 1 }, p, { format: 'json' })],
  [
    'createWriteStream',
    async (p) => {
      const stream = aw.createWriteStream(p);
      stream.end('x');
      await finished(stream);
    },
  ],
  [
    'openAtomic',
    async (p) => {
      const file = await aw.openAtomic(p);
      await file.write('x');
      await file.commit();
    },
  ],
  [
    'write-file-atomic callback',
    (p) => new Promise<void>((resolve, reject) => void aw(p, 'x', (err?: Error | null) => (err ? reject(err) : resolve()))),
  ],
];

describe.skipIf(!canDropPrivileges)('links planted by another user in a sticky directory (needs root and setpriv)', () => {
  for (const [name, api] of fileApis) {
    it(`${name}: refuses report.json -> root's file; the victim and its directory are untouched`, async () => {
      const s = scene();
      const link = join(s.shared, 'report.json');
      plantAsNobody(s.victim, link);
      const before = snapshot(s.base);
      const err = await api(link).then(
        () => null,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'open', path: link });
      expect(err!.message).toContain(`'${link}'`);
      expect(err!.message).toContain('uid 65534');
      expect(err!.message).toContain(`sticky world-writable directory '${s.shared}'`);
      expect(err!.message).toMatch(/real path/);
      expect(err!.message).not.toMatch(/must be writable/);
      expect(snapshot(s.base)).toEqual(before);
      expect(readdirSync(s.base).sort()).toEqual(['important-dir', 'secret.json', 'shared']);
    });
  }

  it('a planted link in the middle of the path is refused too (shared/sub -> root dir)', async () => {
    const s = scene();
    plantAsNobody(s.base, join(s.shared, 'sub'));
    const before = snapshot(s.base);
    for (const [, api] of fileApis) {
      await expect(api(join(s.shared, 'sub', 'secret.json'))).rejects.toMatchObject({ code: 'EACCES' });
    }
    expect(snapshot(s.base)).toEqual(before);
  });

  it('writeDataset refuses daily -> root directory: never exchanged, never deleted', async () => {
    const s = scene();
    const link = join(s.shared, 'daily');
    plantAsNobody(s.victimDir, link);
    const before = snapshot(s.base);
    let called = false;
    await expect(
      aw.writeDataset(link, async (stage) => {
        called = true;
        await stage.write('part-0.json', [{ a: 1 }]);
      }),
    ).rejects.toMatchObject({ code: 'EACCES', path: link });
    expect(called).toBe(false);
    expect(snapshot(s.base)).toEqual(before);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('control: a link the follower (root) owns in the sticky directory is followed', async () => {
    const s = scene();
    const link = join(s.shared, 'mine.json');
    spawnSync('ln', ['-s', s.victim, link]);
    await aw.writeFile(link, 'new');
    expect(readFileSync(s.victim, 'utf8')).toBe('new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('control: a link by another user in a directory without the sticky bit is followed', async () => {
    const s = scene();
    const open = join(s.base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const link = join(open, 'theirs.json');
    plantAsNobody(s.victim, link);
    await aw.writeJson(link, { ok: 1 });
    expect(JSON.parse(readFileSync(s.victim, 'utf8'))).toEqual({ ok: 1 });
    await aw.updateJson(link, () => ({ ok: 2 }));
    expect(JSON.parse(readFileSync(s.victim, 'utf8'))).toEqual({ ok: 2 });
  });
});

describe.skipIf(!canDropPrivileges)('the directory swapped for a link, and hard links, mid-write (needs root and setpriv)', () => {
  /** As uid 65534: `sh -c script` with the arguments. */
  function asNobodySh(script: string, ...args: string[]): void {
    const result = spawnSync('setpriv', [...asNobody, 'sh', '-c', script, 'sh', ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${script}: ${result.stderr}`);
  }

  // The target's directory is resolved once and held open: the publish is relative to
  // that descriptor, so a directory of the attacker's renamed away and replaced by a
  // link to root's directory between resolving and renaming cannot redirect it.
  const writers: Array<[string, (path: string, gate: Promise<void>) => Promise<unknown>]> = [
    ['writeFile (a stream)', (p, gate) => aw.writeFile(p, (async function* () { yield Buffer.from('new '); await gate; yield Buffer.from('content'); })())],
    ['writeFile (named temp)', (p, gate) => aw.writeFile(p, 'new content', { tmpfileCreated: () => gate })],
    ['openAtomic', async (p, gate) => { const f = await aw.openAtomic(p); await f.write('new content'); await gate; await f.commit(); }],
    ['openAtomic (namedTemp)', async (p, gate) => { const f = await aw.openAtomic(p, { namedTemp: true }); await f.write('new content'); await gate; await f.commit(); }],
  ];
  it.each(writers)('%s: lands in the directory it resolved (now moved), never through the link', async (_name, write) => {
    const s = scene();
    const sub = join(s.shared, 'sub');
    asNobodySh('mkdir "$1" && chmod 777 "$1"', sub);
    writeFileSync(join(s.victimDir, 'report.json'), 'root content');
    const before = snapshot(s.victimDir);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const done = write(join(sub, 'report.json'), gate);
    await new Promise((resolve) => setTimeout(resolve, 50));
    asNobodySh('mv "$1" "$1.moved" && ln -s "$2" "$1"', sub, s.victimDir);
    open();
    await done;
    expect(snapshot(s.victimDir)).toEqual(before);
    expect(readdirSync(`${sub}.moved`)).toEqual(['report.json']);
    expect(readFileSync(join(`${sub}.moved`, 'report.json'), 'utf8')).toBe('new content');
  });

  // protected_hardlinks lets a user link a file it may read and write: a world-writable
  // file of root's, linked at the target in the sticky directory. Replacing the name by
  // rename is the contract; writing through the link into root's file is not.
  it('a hard link to root\'s file at the target: the name is replaced, root\'s file keeps its bytes', async () => {
    const s = scene();
    const victim = join(s.base, 'shared-victim.txt');
    writeFileSync(victim, 'root content');
    chmodSync(victim, 0o666);
    const writes: Array<[string, (p: string) => Promise<unknown>]> = [
      ['writeFile', (p) => aw.writeFile(p, 'new')],
      ['writeFileSync', async (p) => aw.writeFileSync(p, 'new')],
      ['write-file-atomic', (p) => aw(p, 'new')],
      ['createWriteStream', (p) => { const w = aw.createWriteStream(p); w.end('new'); return finished(w); }],
      ['updateJson', (p) => aw.updateJson(p, () => 'new', { defaultData: null })],
    ];
    for (const [name, write] of writes) {
      const at = join(s.shared, `${name}.txt`);
      asNobodySh('ln "$1" "$2"', victim, at);
      expect(lstatSync(victim).nlink, name).toBe(2);
      if (name === 'updateJson') writeFileSync(victim, '"root content"');
      const content = readFileSync(victim, 'utf8');
      await write(at);
      expect(readFileSync(victim, 'utf8'), name).toBe(content);
      expect(lstatSync(victim).nlink, name).toBe(1);
      expect(readFileSync(at, 'utf8').trim(), name).toBe(name === 'updateJson' ? '"new"' : 'new');
    }
  });
});
