// Special files at the target: a FIFO (mkfifo), a unix socket (a listening
// net.Server) and a device node (a copy of /dev/null made with mknod) are someone's
// channel, not content. Every write API must refuse them with a code, the path and
// what was found, leave them in place as they were, and never hang; readJson and
// updateJson must not block the event loop (updateJson would hold the lock) and
// must release the lock. Each case runs in a child process with a deadline, so a
// regression that blocks the main thread fails the test instead of hanging it.
import { spawnSync } from 'node:child_process';
import { chmodSync, lchownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, fileIdentity, hasCommand, isRoot, lastJson, listenUnix, repoRoot, runNode, scratch } from './helpers.js';

const apis = ['writeFile', 'writeFileSync', 'writeJson', 'updateJson', 'createWriteStream', 'openAtomic', 'write-file-atomic', 'readJson'] as const;
const lockApis = ['lock', 'tryLock', 'withLock'] as const;
type ApiName = (typeof apis)[number] | (typeof lockApis)[number];

// Runs every API on one path in a child, each with a deadline, while a 1 ms interval
// counts event loop turns; prints one JSON line per API.
const CHILD = `
const aw = require(${JSON.stringify(join(repoRoot, 'dist', 'index.js'))});
const { finished } = require('node:stream/promises');
const [path, names] = [process.argv[1], JSON.parse(process.argv[2])];
const calls = {
  writeFile: () => aw.writeFile(path, 'x'),
  writeFileSync: async () => aw.writeFileSync(path, 'x'),
  writeJson: () => aw.writeJson(path, { x: 1 }),
  updateJson: () => aw.updateJson(path, () => ({ x: 1 })),
  createWriteStream: () => { const s = aw.createWriteStream(path); s.end('x'); return finished(s); },
  openAtomic: async () => { const f = await aw.openAtomic(path); await f.write('x'); await f.commit(); },
  'write-file-atomic': () => new Promise((resolve, reject) => aw(path, 'x', (err) => (err ? reject(err) : resolve()))),
  readJson: () => aw.readJson(path),
  lock: async () => (await aw.lock(path)).release(),
  tryLock: async () => (await aw.tryLock(path)).release(),
  withLock: () => aw.withLock(path, () => {}),
};
(async () => {
  const out = {};
  for (const name of names) {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const started = Date.now();
    let deadline;
    const outcome = await Promise.race([
      calls[name]().then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message, path: e.path })),
      new Promise((resolve) => (deadline = setTimeout(() => resolve({ hung: true }), 5000))),
    ]);
    clearTimeout(deadline);
    // Timers must have kept running while the call was pending (and right after).
    await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(ticker);
    out[name] = { ...outcome, ticks, ms: Date.now() - started };
    if (name === 'updateJson') {
      try {
        const lock = await aw.tryLock(path + '.lock');
        out.lockFree = lock !== null;
        lock?.release();
      } catch (e) {
        out.lockFree = e.code;
      }
    }
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})();
`;

interface Outcome {
  ok?: boolean;
  hung?: boolean;
  code?: string;
  message?: string;
  path?: string;
  ticks: number;
  ms: number;
}

async function callAll(path: string, names: readonly ApiName[]): Promise<Record<string, Outcome> & { lockFree?: boolean | string }> {
  const result = await runNode(['-e', CHILD, path, JSON.stringify(names)], { timeout: 60_000 });
  return lastJson(result);
}

const canMknod = isRoot && hasCommand('mknod');

const kinds: Array<[string, string, (path: string) => Promise<void>, boolean]> = [
  ['a FIFO', 'is a FIFO', async (p) => void spawnSync('mkfifo', [p]), hasCommand('mkfifo')],
  ['a unix socket', 'is a socket', (p) => listenUnix(p), true],
  ['a copy of /dev/null (mknod c 1 3)', 'is a character device', async (p) => void spawnSync('mknod', [p, 'c', '1', '3']), canMknod],
];

describe('special files at the target are refused, kept, and never block', () => {
  for (const [what, found, make, available] of kinds) {
    it.skipIf(!available)(`${what}: every API fails with a code, the file stays what it was`, async () => {
      const dir = scratch();
      const path = join(dir, 'target.json');
      await make(path);
      const before = fileIdentity(path);
      const writers = apis.filter((a) => a !== 'readJson');
      const out = await callAll(path, apis);
      for (const name of writers) {
        const o = out[name]!;
        expect(o.hung, `${name} hung`).toBeUndefined();
        expect(o, name).toMatchObject({ code: 'EINVAL', path });
        // updateJson reads first (under the lock), the others refuse to replace.
        expect(o.message, name).toContain(`${path} ${found}, not a regular file`);
        expect(o.ms, name).toBeLessThan(2000);
      }
      expect(out.readJson).toMatchObject({ code: 'EINVAL', path });
      expect(out.readJson!.message).toContain(found);
      expect(out.readJson!.hung).toBeUndefined();
      expect(out.updateJson!.ticks + out.readJson!.ticks).toBeGreaterThan(0);
      expect(out.lockFree, 'updateJson released its lock').toBe(true);
      expect(fileIdentity(path)).toBe(before);
      // Nothing else appeared beside it but updateJson's lock file.
      expect(entries(dir)).toEqual(['target.json', 'target.json.lock']);
      expect(statSync(join(dir, 'target.json.lock')).isFile()).toBe(true);
    });
  }

  // A lock path is opened O_NONBLOCK|O_NOFOLLOW and fstat-checked; open(2) itself
  // answers ENXIO for a socket, which once came out bare, saying nothing of a socket.
  for (const [what, found, make, available] of kinds) {
    it.skipIf(!available)(`${what} at a lock path (lock, tryLock, withLock; updateJson's <file>.lock): EINVAL saying what was found, promptly, kept`, async () => {
      const dir = scratch();
      const lockPath = join(dir, 'held.lock');
      await make(lockPath);
      const json = join(dir, 'j.json');
      writeFileSync(json, '{"old":true}');
      await make(`${json}.lock`);
      // The same planted by another user in a sticky directory: open(2) with O_CREAT
      // answers EACCES for such a device, even to root (which once read "must be writable").
      const sticky = join(dir, 'sticky');
      mkdirSync(sticky, { mode: 0o1777 });
      chmodSync(sticky, 0o1777);
      const planted = join(sticky, 'theirs.lock');
      await make(planted);
      if (isRoot) lchownSync(planted, 65534, 65534);
      const before = [fileIdentity(lockPath), fileIdentity(`${json}.lock`), fileIdentity(planted)];
      const out = { ...(await callAll(lockPath, lockApis)), ...(await callAll(json, ['updateJson'])) };
      out.planted = (await callAll(planted, ['lock'])).lock!;
      for (const [name, path] of [...lockApis.map((n) => [n, lockPath] as const), ['updateJson', `${json}.lock`] as const, ['planted', planted] as const]) {
        const o = out[name]!;
        expect(o.hung, `${name} hung`).toBeUndefined();
        expect(o, name).toMatchObject({ code: 'EINVAL', path });
        expect(o.message, name).toContain(`${path} ${found}, not a regular file`);
        expect(o.ms, name).toBeLessThan(2000);
      }
      expect([fileIdentity(lockPath), fileIdentity(`${json}.lock`), fileIdentity(planted)]).toEqual(before);
      expect(readFileSync(json, 'utf8')).toBe('{"old":true}');
      expect(entries(dir).sort()).toEqual(['held.lock', 'j.json', 'j.json.lock', 'sticky']);
      expect(entries(sticky)).toEqual(['theirs.lock']);
    });
  }

  it('readJson of /dev/zero fails at once with a code (no read without end)', async () => {
    const out = await callAll('/dev/zero', ['readJson']);
    expect(out.readJson).toMatchObject({ code: 'EINVAL', path: '/dev/zero' });
    expect(out.readJson!.message).toContain('is a character device');
    expect(out.readJson!.ms).toBeLessThan(2000);
  });

  it('control: a regular file there is replaced as usual', async () => {
    const dir = scratch();
    const path = join(dir, 'target.json');
    const out = await callAll(path, ['writeJson', 'updateJson', 'readJson']);
    expect(out.writeJson).toMatchObject({ ok: true });
    expect(out.updateJson).toMatchObject({ ok: true });
    expect(out.readJson).toMatchObject({ ok: true });
  });
});
