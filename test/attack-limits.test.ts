// Limits, in real child processes: an age no Duration holds (`olderThan: Infinity`,
// a huge CLI `--older-than`) must not panic and abort the process (it used to exit
// 134); and with every descriptor in use (`ulimit -n 64`), lock() and openAtomic(),
// whose descriptors the caller keeps, and updateJson() (its lock is lock()'s), fail
// with EMFILE after a short bounded wait (saying so) instead of waiting a minute, and
// still get one that is freed meanwhile.
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, lastJson, repoRoot, run, runNode, scratch } from './helpers.js';

const dist = JSON.stringify(join(repoRoot, 'dist', 'index.js'));

/** A temp-shaped file last modified in 2001: old enough for any finite age. */
function orphan(dir: string): string {
  const name = '.f.aw0123456789abcdef.tmp';
  writeFileSync(join(dir, name), 'orphan');
  utimesSync(join(dir, name), new Date('2001-01-01'), new Date('2001-01-01'));
  return name;
}

describe('sweep with ages beyond what a Duration holds', () => {
  it('olderThan: Infinity or 1e300 sweeps nothing and the process lives on', async () => {
    const dir = scratch();
    const name = orphan(dir);
    const script = `
      const aw = require(${dist});
      (async () => {
        const out = {};
        for (const age of [Infinity, 1e300, Number.MAX_VALUE]) out[String(age)] = await aw.sweep(process.argv[1], { olderThan: age });
        out.finite = await aw.sweep(process.argv[1], { olderThan: 1000, dryRun: true });
        console.log(JSON.stringify(out));
      })();
    `;
    const result = await runNode(['-e', script, dir]);
    expect(result.status, result.stderr).toBe(0);
    const out = lastJson<Record<string, string[]>>(result);
    expect(out).toEqual({ Infinity: [], '1e+300': [], [String(Number.MAX_VALUE)]: [], finite: [join(dir, name)] });
    expect(entries(dir)).toEqual([name]);
  });

  it('NaN and negative ages are a RangeError, thrown before the disk is touched', async () => {
    for (const age of [NaN, -1, -Infinity]) expect(() => aw.sweep(scratch(), { olderThan: age })).toThrow(RangeError);
  });

  it('the CLI with a huge --older-than exits 0, removing nothing', async () => {
    const dir = scratch();
    const name = orphan(dir);
    const result = await runNode([join(repoRoot, 'bin', 'atomicwriter.js'), 'sweep', dir, '--older-than', `${'9'.repeat(400)}d`]);
    expect(result.signal).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    expect(entries(dir)).toEqual([name]);
  });
});

// Fills the descriptor table, then times each call: prints one JSON line.
const FILLED = `
  const aw = require(${dist});
  const fs = require('fs');
  const dir = process.argv[1];
  (async () => {
    await aw.writeFile(dir + '/warm', 'x'); // binding loaded, core threads started
    fs.writeFileSync(dir + '/j.json', '{"old":true}');
    const held = [];
    try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
    const calls = {
      lock: () => aw.lock(dir + '/a.lock'),
      tryLock: () => aw.tryLock(dir + '/b.lock'),
      withLock: () => aw.withLock(dir + '/c.lock', () => 1),
      openAtomic: () => aw.openAtomic(dir + '/f'),
      atomicWrite: () => aw.atomicWrite(dir + '/g', () => {}),
      // Its lock is lock()'s, and waits as lock() does (it used to take 60 s).
      // updateJson's wait for descriptors is bounded by its lockTimeout.
      updateJson: () => aw.updateJson(dir + '/j.json', () => ({ a: 1 }), { lockTimeout: 2000 }),
    };
    const out = { filled: held.length };
    for (const [name, call] of Object.entries(calls)) {
      const started = Date.now();
      let deadline;
      out[name] = await Promise.race([
        call().then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message })),
        new Promise((resolve) => (deadline = setTimeout(() => resolve({ hung: true }), 20000))),
      ]);
      clearTimeout(deadline);
      out[name].ms = Date.now() - started;
    }
    // A descriptor freed while lock() and openAtomic() wait is taken.
    setTimeout(() => { fs.closeSync(held.pop()); fs.closeSync(held.pop()); }, 200);
    const lock = await aw.lock(dir + '/d.lock').then((l) => { l.release(); return 'ok'; }, (e) => e.code);
    const file = await aw.openAtomic(dir + '/h').then((f) => { f.abort(); return 'ok'; }, (e) => e.code);
    out.freedMeanwhile = { lock, file };
    out.json = fs.readFileSync(dir + '/j.json', 'utf8');
    console.log(JSON.stringify(out));
    process.exit(0);
  })();
`;

describe('out of descriptors (ulimit -n 64)', () => {
  it('lock(), openAtomic() and updateJson() fail with EMFILE within about a second, saying they waited', async () => {
    const dir = scratch();
    // No ATOMICWRITER_EMFILE_WAIT_MS: the default (60 s for whole-file writes) applies.
    const env = { ...process.env };
    delete env.ATOMICWRITER_EMFILE_WAIT_MS;
    const result = await run('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" -e "$0" "$1"`, FILLED, dir], { env });
    const out = lastJson<Record<string, { ok?: boolean; hung?: boolean; code?: string; message?: string; ms: number }> & { filled: number; freedMeanwhile: unknown; json: string }>(result);
    expect(out.filled).toBeGreaterThan(0);
    for (const name of ['lock', 'withLock', 'openAtomic', 'atomicWrite', 'updateJson']) {
      const o = out[name]!;
      expect(o, name).toMatchObject({ code: 'EMFILE' });
      expect(o.message, name).toMatch(/waited \d+ ms for descriptors to be released/);
      expect(o.ms, name).toBeLessThan(10_000);
    }
    // tryLock does not wait at all.
    expect(out.tryLock).toMatchObject({ code: 'EMFILE' });
    expect(out.tryLock!.ms).toBeLessThan(500);
    expect(out.freedMeanwhile).toEqual({ lock: 'ok', file: 'ok' });
    // updateJson failed at its lock file and changed nothing.
    expect(out.updateJson!.message).toContain('j.json.lock');
    expect(out.json).toBe('{"old":true}');
    expect(entries(dir).filter((n) => n.startsWith('j.json'))).toEqual(['j.json']);
  });
});
