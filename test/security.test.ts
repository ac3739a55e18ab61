// Security: planted symlinks never redirect a write; temps are 0600 while written
// (seen from the writer's callback and from another process); published modes honour
// `mode` and the umask; a lock file that is a symlink is refused. (Dataset part names
// are in dataset.test.ts; one case is added here.) Not here: "nothing logs
// credentials" needs the S3 path, which is being built in parallel.
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { aw, entries, lastJson, repoRoot, run, scratch } from './helpers.js';

/** Names an attacker (or an older tool) might guess for a temp or staging file of `name`. */
function plausibleNames(name: string): string[] {
  return [
    `.${name}.tmp`,
    `${name}.tmp`,
    `${name}~`,
    `.${name}.swp`,
    `${name}.new`,
    `.${name}.aw0000000000000000.tmp`,
    `.${name}.awffffffffffffffff.tmp`,
    `.${name}.aw0123456789abcdef.tmp`,
    `${name}.4242424242`, // write-file-atomic's `name.<hash>` shape
  ];
}

/** Plants a symlink to `victim` at every plausible name of `name` in `dir`. */
function plant(dir: string, name: string, victim: string): string[] {
  const names = plausibleNames(name);
  for (const n of names) symlinkSync(victim, join(dir, n));
  return names;
}

function expectPlantsIntact(dir: string, names: string[], victim: string): void {
  for (const n of names) {
    expect(lstatSync(join(dir, n)).isSymbolicLink(), n).toBe(true);
    expect(readlinkSync(join(dir, n)), n).toBe(victim);
  }
}

type Writer = (path: string, data: string) => Promise<unknown>;

const writers: Array<[string, Writer]> = [
  ['writeFile (O_TMPFILE)', (p, d) => aw.writeFile(p, d)],
  ['writeFile (named temp)', (p, d) => aw.writeFile(p, d, { tmpfileCreated: () => {} })],
  ['writeFileSync (named temp)', async (p, d) => aw.writeFileSync(p, d, { tmpfileCreated: () => {} })],
  ['write-file-atomic signature', (p, d) => aw(p, d)],
  [
    'openAtomic (named temp)',
    async (p, d) => {
      const file = await aw.openAtomic(p, { namedTemp: true });
      await file.write(d);
      await file.commit();
    },
  ],
  [
    'createWriteStream',
    async (p, d) => {
      const stream = aw.createWriteStream(p);
      stream.end(d);
      await finished(stream);
    },
  ],
  ['atomicWrite', (p, d) => aw.atomicWrite(p, (tmp: string) => writeFileSync(tmp, d))],
  ['write (text format)', (p, d) => aw.write(d, p, { format: 'text' })],
  ['writeJson', (p, d) => aw.writeJson(p, d)],
  ['updateJson', (p, d) => aw.updateJson(p, () => d)],
];

describe('planted symlinks never redirect a write', () => {
  it.each(writers)('%s: links at every plausible temp name stay links, the victim is untouched', async (_name, writer) => {
    const dir = scratch();
    const victim = join(scratch(), 'victim');
    writeFileSync(victim, 'victim content');
    const file = join(dir, 'target');
    const planted = plant(dir, 'target', victim);
    for (const round of ['create', 'replace']) {
      await writer(file, `new ${round}`);
      expect(readFileSync(victim, 'utf8')).toBe('victim content');
      expect(lstatSync(file).isFile()).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain(`new ${round}`);
      expectPlantsIntact(dir, planted, victim);
    }
    const expected = [...planted, 'target', ...(_name === 'updateJson' ? ['target.lock'] : [])].sort();
    expect(entries(dir)).toEqual(expected);
  });

  it('writeDataset: links at plausible staging names stay links; the victim directory gets nothing', async () => {
    const parent = scratch();
    const victimDir = join(scratch(), 'victim-dir');
    mkdirSync(victimDir);
    const planted = plant(parent, 'ds', victimDir);
    for (const round of [1, 2]) {
      await aw.writeDataset(join(parent, 'ds'), async (stage: { write: (n: string, d: string) => Promise<void> }) => {
        await stage.write('part-0.txt', `round ${round}`);
      });
      expect(readdirSync(victimDir)).toEqual([]);
      expectPlantsIntact(parent, planted, victimDir);
      expect(lstatSync(join(parent, 'ds')).isDirectory()).toBe(true);
      expect(readFileSync(join(parent, 'ds', 'part-0.txt'), 'utf8')).toBe(`round ${round}`);
    }
    expect((await aw.verify(join(parent, 'ds'))).ok).toBe(true);
  });

  it('temp names are unpredictable: 64 random bits, never repeated', async () => {
    const dir = scratch();
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await aw.writeFile(join(dir, 'f'), String(i), { tmpfileCreated: (tmp: string) => void names.add(tmp.slice(dir.length + 1)) });
    }
    expect(names.size).toBe(200);
    for (const n of names) expect(n).toMatch(/^\.f\.aw[0-9a-f]{16}\.tmp$/);
  });

  it('a temp swapped for a symlink while an encoder writes it by path is refused at commit: nothing published, victim untouched', async () => {
    const dir = scratch();
    const victim = join(scratch(), 'victim');
    writeFileSync(victim, 'victim content');
    const file = join(dir, 't');
    writeFileSync(file, 'old');
    const err = await aw
      .atomicWrite(file, (tmp: string) => {
        writeFileSync(tmp, 'new');
        unlinkSync(tmp);
        symlinkSync(victim, tmp);
      })
      .then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
    expect(err).toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readFileSync(victim, 'utf8')).toBe('victim content');
    expect(entries(dir)).toEqual(['t']);
  });
});

describe('the temp is 0600 while it is written', () => {
  it.each([undefined, 0o644, 0o640, 0o755, 0o666])('mode %s: 0600 at tmpfileCreated and mid-write, the requested mode only once published', async (mode) => {
    const dir = scratch();
    const file = join(dir, 'f');
    const seen: number[] = [];
    const file2 = await aw.openAtomic(file, { mode, namedTemp: true });
    seen.push(statSync(file2.tempPath!).mode & 0o7777);
    await file2.write(Buffer.alloc(1 << 20, 1));
    seen.push(statSync(file2.tempPath!).mode & 0o7777);
    await file2.commit();
    let fromCallback = -1;
    await aw.writeFile(join(dir, 'g'), 'x', { mode, tmpfileCreated: (tmp: string) => void (fromCallback = statSync(tmp).mode & 0o7777) });
    expect(seen).toEqual([0o600, 0o600]);
    expect(fromCallback).toBe(0o600);
    const expected = mode ?? 0o666 & ~process.umask();
    expect(statSync(file).mode & 0o7777).toBe(expected);
    expect(statSync(join(dir, 'g')).mode & 0o7777).toBe(expected);
  });

  it('another process polling the directory during a slow streamed write sees the temp only as 0600', async () => {
    const dir = scratch();
    const stop = join(scratch(), 'stop');
    // The watcher: lstat every dot file as fast as it can until told to stop.
    const watcher = `
      const fs = require('node:fs'), path = require('node:path');
      const [dir, stop] = process.argv.slice(1);
      const modes = {}; let polls = 0; // "mode:size" -> times seen
      console.log('ready');
      while (!fs.existsSync(stop)) {
        polls++;
        for (const n of fs.readdirSync(dir)) {
          if (!n.startsWith('.')) continue;
          try { const st = fs.lstatSync(path.join(dir, n)); const k = (st.mode & 0o7777).toString(8) + ':' + st.size; modes[k] = (modes[k] || 0) + 1; } catch {}
        }
      }
      console.log(JSON.stringify({ modes, polls }));
    `;
    const child = spawn(process.execPath, ['-e', watcher, dir, stop], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    async function* slow() {
      for (let i = 0; i < 20; i++) {
        yield Buffer.alloc(64 * 1024, i);
        await new Promise((r) => setTimeout(r, 15));
      }
    }
    let temp = '';
    await aw.writeFile(join(dir, 'f'), Readable.from(slow()), { mode: 0o644, tmpfileCreated: (tmp: string) => void (temp = tmp) });
    writeFileSync(stop, '');
    await new Promise((resolve) => child.on('close', resolve));
    const report = lastJson<{ modes: Record<string, number>; polls: number }>({ status: 0, signal: null, stdout: out, stderr: '' });
    expect(temp).not.toBe('');
    // Seen mid-write, and only as 0600 until every byte is in; the final mode is set
    // on the complete, synced temp just before the rename publishes it.
    const seen = Object.keys(report.modes).map((k) => k.split(':').map(Number) as [number, number]);
    const total = 20 * 64 * 1024;
    expect(seen.some(([mode, size]) => mode === 600 && size > 0 && size < total)).toBe(true);
    for (const [mode, size] of seen) if (size < total) expect(mode).toBe(600);
    expect(statSync(join(dir, 'f')).mode & 0o7777).toBe(0o644);
    expect(entries(dir)).toEqual(['f']);
  });
});

describe('the published mode honours `mode` and the umask', () => {
  it('under umask 027: new files get 0640, an explicit mode is exact, an existing mode is kept', async () => {
    const dir = scratch();
    const script = `
      const aw = require(${JSON.stringify(join(repoRoot, 'dist', 'index.js'))});
      const fs = require('node:fs'), path = require('node:path');
      const dir = ${JSON.stringify(dir)};
      const mode = (n) => (fs.statSync(path.join(dir, n)).mode & 0o7777).toString(8);
      (async () => {
        await aw.writeFile(path.join(dir, 'plain'), 'x');
        aw.writeFileSync(path.join(dir, 'sync'), 'x');
        await aw.writeJson(path.join(dir, 'j.json'), {});
        await aw.write([{ a: 1 }], path.join(dir, 'c.csv'));
        const s = aw.createWriteStream(path.join(dir, 'stream')); s.end('x'); await new Promise((r) => s.on('finish', r));
        await aw.writeFile(path.join(dir, 'explicit'), 'x', { mode: 0o604 });
        fs.writeFileSync(path.join(dir, 'kept'), 'x'); fs.chmodSync(path.join(dir, 'kept'), 0o600);
        await aw.writeFile(path.join(dir, 'kept'), 'y');
        const names = ['plain', 'sync', 'j.json', 'c.csv', 'stream', 'explicit', 'kept'];
        console.log(JSON.stringify({ umask: process.umask().toString(8), ...Object.fromEntries(names.map((n) => [n, mode(n)])) }));
      })();
    `;
    const result = await run('bash', ['-c', 'umask 027; exec "$0" -e "$1"', process.execPath, script]);
    expect(lastJson(result)).toEqual({ umask: '27', plain: '640', sync: '640', 'j.json': '640', 'c.csv': '640', stream: '640', explicit: '604', kept: '600' });
  });
});

describe('dataset part names cannot escape', () => {
  // dataset.test.ts covers "..", absolute paths, backslashes, empty and "." segments.
  // Here: a symlink made inside the staging directory (it is 0700, so only the
  // writer's own code can make one) is never followed by stage.write.
  it('a symlinked directory or name inside the staging directory does not carry a part outside', async () => {
    const parent = scratch();
    const outside = join(scratch(), 'outside');
    mkdirSync(outside);
    await aw
      .writeDataset(join(parent, 'ds'), async (stage: { path: (n: string) => string; write: (n: string, d: string) => Promise<void> }) => {
        symlinkSync(outside, stage.path('sub'));
        await stage.write('sub/evil', 'x');
      })
      .catch(() => {});
    expect(readdirSync(outside)).toEqual([]);
  });

  it('the staging directory is private (0700) while the parts are written', async () => {
    const parent = scratch();
    let mode = -1;
    await aw.writeDataset(join(parent, 'ds'), async (stage: { path: (n: string) => string; write: (n: string, d: string) => Promise<void> }) => {
      mode = statSync(join(stage.path('x'), '..')).mode & 0o777;
      await stage.write('x', '1');
    });
    expect(mode).toBe(0o700);
  });
});

describe('a lock file that is a symlink is refused', () => {
  it('a symlink to an existing file: lock, tryLock and withLock fail with ELOOP; the file is untouched', async () => {
    const dir = scratch();
    const victim = join(scratch(), 'victim');
    writeFileSync(victim, 'victim content');
    const lockfile = join(dir, 'f.lock');
    symlinkSync(victim, lockfile);
    await expect(aw.lock(lockfile)).rejects.toMatchObject({ code: 'ELOOP', path: lockfile });
    await expect(aw.tryLock(lockfile)).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(aw.withLock(lockfile, () => 1)).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(victim, 'utf8')).toBe('victim content');
    expect(lstatSync(lockfile).isSymbolicLink()).toBe(true);
  });

  it('a dangling symlink: refused, and its target is not created', async () => {
    const dir = scratch();
    const target = join(scratch(), 'would-be-created');
    symlinkSync(target, join(dir, 'f.lock'));
    await expect(aw.lock(join(dir, 'f.lock'))).rejects.toMatchObject({ code: 'ELOOP' });
    expect(existsSync(target)).toBe(false);
  });

  it("updateJson refuses a planted <file>.lock symlink and writes nothing", async () => {
    const dir = scratch();
    const victim = join(scratch(), 'victim');
    writeFileSync(victim, 'victim content');
    writeFileSync(join(dir, 'c.json'), '{"n":1}');
    symlinkSync(victim, join(dir, 'c.json.lock'));
    await expect(aw.updateJson(join(dir, 'c.json'), () => ({ n: 2 }))).rejects.toMatchObject({ code: 'ELOOP' });
    expect(readFileSync(join(dir, 'c.json'), 'utf8')).toBe('{"n":1}');
    expect(readFileSync(victim, 'utf8')).toBe('victim content');
    expect(entries(dir)).toEqual(['c.json', 'c.json.lock']);
  });
});
