// Set-ID bits of a replaced file: new content keeps S_ISUID/S_ISGID only where the
// kernel would keep them on an in-place write by the same process (CAP_FSETID keeps
// them; a non-root writer loses S_ISUID, and S_ISGID when the file is
// group-executable). Each case is compared with what fs.writeFileSync in place does
// to a twin file, in a real unprivileged child (setpriv to uid 65534).
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asOtherUser, canActAsOtherUser, lastJson, otherUserNode, run, scratch } from './helpers.js';

// For each API: a file with `mode` replaced through it, and its twin written in
// place with fs.writeFileSync; prints both resulting modes. It runs from the staged
// copy of the package (otherUserNode), which uid 65534 can read wherever the checkout is.
const CHILD = `
import aw from 'atomicwriter';
import fs from 'node:fs';
import { finished } from 'node:stream/promises';
const [dir, mode] = [process.argv[2], parseInt(process.argv[3], 8)];
const apis = {
  writeFile: (p) => aw.writeFile(p, 'new'),
  writeFileSync: async (p) => aw.writeFileSync(p, 'new'),
  'write-file-atomic': (p) => aw(p, 'new'),
  createWriteStream: (p) => { const s = aw.createWriteStream(p); s.end('new'); return finished(s); },
  explicitMode: (p) => aw.writeFile(p, 'new', { mode }),
};
(async () => {
  const out = {};
  for (const [name, write] of Object.entries(apis)) {
    const ours = dir + '/' + name, twin = ours + '.twin';
    for (const p of [ours, twin]) { fs.writeFileSync(p, 'old'); fs.chmodSync(p, mode); }
    await write(ours);
    fs.writeFileSync(twin, 'new');
    const m = (p) => (fs.statSync(p).mode & 0o7777).toString(8);
    out[name] = { ours: m(ours), inPlace: m(twin), content: fs.readFileSync(ours, 'utf8') };
  }
  console.log(JSON.stringify(out));
})();
`;

type Modes = Record<string, { ours: string; inPlace: string; content: string }>;

/** Runs CHILD as uid 65534, or as root (this process's user) when `asRoot`. */
async function modesAfter(asRoot: boolean, dir: string, mode: string): Promise<Modes> {
  if (!asRoot) return lastJson<Modes>(await asOtherUser(CHILD, { args: [dir, mode] }));
  const { args, cwd } = otherUserNode(CHILD);
  return lastJson<Modes>(await run(process.execPath, [args.at(-1)!, dir, mode], { cwd }));
}

function ownDir(uid: number): string {
  const base = scratch();
  chmodSync(base, 0o755);
  const dir = join(base, 'own');
  mkdirSync(dir);
  chownSync(dir, uid, uid);
  return dir;
}

describe.skipIf(!canActAsOtherUser)('set-ID bits after a replace match an in-place write (needs root and setpriv)', () => {
  for (const mode of ['6755', '2755', '4755', '2745']) {
    it(`a non-root owner replacing its own ${mode} file`, async () => {
      const out = await modesAfter(false, ownDir(65534), mode);
      for (const name of ['writeFile', 'writeFileSync', 'write-file-atomic', 'createWriteStream']) {
        expect(out[name]!.ours, name).toBe(out[name]!.inPlace);
        expect(out[name]!.content).toBe('new');
      }
      // An explicit mode is the caller's word (as fs.chmod by the owner).
      expect(out.explicitMode!.ours).toBe(mode);
    });
  }

  it('the kernel rule itself, as seen here: 6755 becomes 755 for a non-root writer', async () => {
    const out = await modesAfter(false, ownDir(65534), '6755');
    expect(out.writeFile).toMatchObject({ ours: '755', inPlace: '755' });
    // Not group-executable and the writer in its group: S_ISGID stays.
    const sgid = await modesAfter(false, ownDir(65534), '2745');
    expect(sgid.writeFile).toMatchObject({ ours: '2745', inPlace: '2745' });
  });

  it('root (CAP_FSETID) keeps them, as an in-place write by root does', async () => {
    const out = await modesAfter(true, ownDir(0), '6755');
    expect(out.writeFile).toMatchObject({ ours: '6755', inPlace: '6755' });
    expect(out.writeFileSync).toMatchObject({ ours: '6755', inPlace: '6755' });
  });
});
