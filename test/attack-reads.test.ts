// Planted symlinks on the read side: another user (uid 65534) plants links in a sticky
// world-writable directory pointing into root's private directory. Root's readJson,
// verify, isComplete and sweep (and the CLI's verify and sweep) must refuse to follow
// them, as writes do (the kernel's protected_symlinks rule, applied by the core whatever
// the sysctl says): EACCES naming the link, its owner and the sticky directory, nothing
// read (no secret in the error) and nothing removed. Controls: a link root owns, or one
// in a directory without the sticky bit, is followed.
import { chmodSync, existsSync, lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, canActAsOtherUser, OTHER_UID, repoRoot, runAsOtherUser, runNode, scratch, stickyScratch } from './helpers.js';

const SECRET = 'hunter2';
// The shape of our named temps (see crates/core/src/temp_name.rs).
const TEMP_NAME = '.important.aw0123456789abcdef.tmp';
const BIN = join(repoRoot, 'bin', 'atomicwriter.js');

interface Scene {
  /** The sticky 1777 directory the attacker plants in. */
  shared: string;
  /** Root's private (0700) directory: a config, a dataset, an old temp-shaped file. */
  victim: string;
}

async function scene(): Promise<Scene> {
  const victim = join(scratch('aw-reads-victim-'), 'private');
  mkdirSync(victim, { mode: 0o700 });
  writeFileSync(join(victim, 'conf.json'), `{"password":"${SECRET}"}`);
  await aw.writeDataset(join(victim, 'ds'), async (stage) => {
    await stage.write('part-0', SECRET);
  });
  const temp = join(victim, TEMP_NAME);
  writeFileSync(temp, 'root data');
  const old = new Date(Date.now() - 864e6);
  utimesSync(temp, old, old);
  return { shared: stickyScratch('aw-reads-'), victim };
}

/** `ln -s to at` as uid 65534. */
async function plant(to: string, at: string): Promise<string> {
  const result = await runAsOtherUser('ln', ['-s', to, at]);
  if (result.status !== 0) throw new Error(`planting ${at} failed: ${result.stderr}`);
  expect(lstatSync(at).uid).toBe(OTHER_UID);
  return at;
}

/** The refusal writes give: EACCES naming the link, its owner and the sticky directory. */
function expectRefusal(err: unknown, link: string, shared: string): void {
  const error = err as NodeJS.ErrnoException;
  expect(error.code).toBe('EACCES');
  expect(error.message).toContain(`refusing to follow the symlink '${link}'`);
  expect(error.message).toContain(`uid ${OTHER_UID}`);
  expect(error.message).toContain(`sticky world-writable directory '${shared}'`);
  expect(error.message).not.toContain(SECRET);
}

async function refused(promise: Promise<unknown>, link: string, shared: string): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (err) {
    expectRefusal(err, link, shared);
    return;
  }
  throw new Error(`followed the planted link: ${JSON.stringify(outcome)}`);
}

describe.skipIf(!canActAsOtherUser)('reads never follow a link planted in a sticky directory', () => {
  it('readJson refuses a planted link, at the end of the path or in the middle', async () => {
    const { shared, victim } = await scene();
    const file = await plant(join(victim, 'conf.json'), join(shared, 'c.json'));
    await refused(aw.readJson(file), file, shared);
    // A default does not turn the refusal into "missing".
    await refused(aw.readJson(file, { default: {} }), file, shared);
    const dir = await plant(victim, join(shared, 'vd'));
    await refused(aw.readJson(join(dir, 'conf.json')), dir, shared);
  });

  it('verify and isComplete refuse a planted link to a dataset', async () => {
    const { shared, victim } = await scene();
    const link = await plant(join(victim, 'ds'), join(shared, 'dslink'));
    await refused(aw.verify(link), link, shared);
    await refused(aw.isComplete(link), link, shared);
    const dir = await plant(victim, join(shared, 'vd'));
    await refused(aw.verify(join(dir, 'ds')), dir, shared);
    await refused(aw.isComplete(join(dir, 'ds')), dir, shared);
  });

  it('sweep refuses a planted link to a directory and removes nothing there', async () => {
    const { shared, victim } = await scene();
    const link = await plant(victim, join(shared, 'link'));
    await refused(aw.sweep(link, { olderThan: 1000, dryRun: true }), link, shared);
    await refused(aw.sweep(link, { olderThan: 1000 }), link, shared);
    expect(existsSync(join(victim, TEMP_NAME))).toBe(true);
  });

  it('the CLI verify and sweep refuse it too', async () => {
    const { shared, victim } = await scene();
    const ds = await plant(join(victim, 'ds'), join(shared, 'dslink'));
    const dir = await plant(victim, join(shared, 'link'));
    const verify = await runNode([BIN, 'verify', ds]);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toContain('EACCES');
    expect(verify.stderr).toContain('refusing to follow the symlink');
    const sweep = await runNode([BIN, 'sweep', dir, '--older-than', '1000']);
    expect(sweep.status).toBe(1);
    expect(sweep.stderr).toContain('refusing to follow the symlink');
    expect(existsSync(join(victim, TEMP_NAME))).toBe(true);
  });

  it('controls: a link root owns, or a planted one outside a sticky directory, is followed', async () => {
    const { shared, victim } = await scene();
    // Root's own links in the sticky directory.
    symlinkSync(join(victim, 'conf.json'), join(shared, 'own.json'));
    symlinkSync(join(victim, 'ds'), join(shared, 'own-ds'));
    expect(await aw.readJson(join(shared, 'own.json'))).toEqual({ password: SECRET });
    expect((await aw.verify(join(shared, 'own-ds'))).ok).toBe(true);
    expect(await aw.isComplete(join(shared, 'own-ds'))).toBe(true);
    // uid 65534's links in a world-writable directory without the sticky bit.
    const open = scratch('aw-reads-open-');
    chmodSync(open, 0o777);
    const file = await plant(join(victim, 'conf.json'), join(open, 'c.json'));
    const ds = await plant(join(victim, 'ds'), join(open, 'dslink'));
    const dir = await plant(victim, join(open, 'link'));
    expect(await aw.readJson(file)).toEqual({ password: SECRET });
    expect((await aw.verify(ds)).ok).toBe(true);
    expect(await aw.isComplete(ds)).toBe(true);
    expect(await aw.sweep(dir, { olderThan: 1000 })).toEqual([join(dir, TEMP_NAME)]);
    expect(existsSync(join(victim, TEMP_NAME))).toBe(false);
  });
});
