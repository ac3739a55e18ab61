// The helpers that play another user (test/helpers.ts: asOtherUser, runAsOtherUser,
// otherUserNode, stickyScratch): the child really is uid/gid 65534 with no groups, and
// it runs the package and fixtures from a copy it can reach, never from the checkout,
// which may sit under a directory only root can traverse (/root, a 0700 dir).
import { spawn } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OTHER_UID, asOtherUser, canActAsOtherUser, entries, lastJson, otherUserNode, otherUserStage, repoRoot, runAsOtherUser, stickyScratch } from './helpers.js';

describe.skipIf(!canActAsOtherUser)('playing the other user (needs root and setpriv)', () => {
  it('an inline script runs as uid and gid 65534 with no groups, and imports the package from the copy', async () => {
    const r = await asOtherUser(`
      import { readFileSync } from 'node:fs';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const aw = await import('atomicwriter');
      console.log(JSON.stringify({
        // process.getgroups() adds the egid itself; the kernel's list is the truth.
        uid: process.getuid(), gid: process.getgid(), groups: /^Groups:(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1].trim(),
        resolved: require.resolve('atomicwriter'), cwd: process.cwd(), writeFile: typeof aw.writeFile,
      }));`);
    const out = lastJson<{ uid: number; gid: number; groups: string; resolved: string; cwd: string; writeFile: string }>(r);
    expect(out).toMatchObject({ uid: OTHER_UID, gid: OTHER_UID, groups: '', writeFile: 'function' });
    const stage = otherUserStage();
    expect(out.resolved.startsWith(stage)).toBe(true);
    expect(out.resolved.startsWith(repoRoot)).toBe(false);
    expect(out.cwd).toBe(stage);
  });

  it('every directory above the copy lets others through, and the copy is readable by all', () => {
    const stage = otherUserStage(['write.mjs']);
    for (let d = stage; d !== '/'; d = join(d, '..')) expect(statSync(d).mode & 0o005, d).toBe(0o005);
    for (const f of ['package.json', 'index.mjs', 'dist/index.js', 'native/binding.js', 'test/fixtures/write.mjs']) {
      expect(statSync(join(stage, f)).mode & 0o004, f).toBe(0o004);
    }
  });

  it('a fixture by name runs with its relative imports (write.mjs writes into a dir the other user owns)', async () => {
    const dir = stickyScratch();
    const file = join(dir, 'mine.txt');
    const r = await asOtherUser('write.mjs', { args: [JSON.stringify({ path: file, size: 5, fill: 'z' })] });
    expect(lastJson(r)).toEqual({ ok: true });
    expect(readFileSync(file, 'utf8')).toBe('zzzzz');
    expect(statSync(file).uid).toBe(OTHER_UID);
  });

  it('runAsOtherUser plants a link in a sticky dir that belongs to the other user', async () => {
    const dir = stickyScratch();
    expect(statSync(dir).mode & 0o7777).toBe(0o1777);
    const r = await runAsOtherUser('ln', ['-s', '/etc/hostname', join(dir, 'planted')]);
    expect(r.status).toBe(0);
    expect(lstatSync(join(dir, 'planted')).uid).toBe(OTHER_UID);
    expect(readlinkSync(join(dir, 'planted'))).toBe('/etc/hostname');
    expect(entries(dir)).toEqual(['planted']);
  });

  it('otherUserNode gives the command line for an attacker that runs alongside and is killed after', async () => {
    const { cmd, args, cwd } = otherUserNode('setInterval(() => {}, 1000); console.log("ready");');
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
  });
});
