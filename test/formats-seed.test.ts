// The seed scenario end to end: `write(table, 'out.parquet', {marker: true})`, then a
// writer killed with SIGKILL halfway through the next write of the same file.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetReadObjects } from 'hyparquet';
import { Table, Utf8, makeVector, vectorFromArray } from 'apache-arrow';
import { aw, entries, repoRoot, scratch } from './helpers.js';
import { arrayBufferOf } from './formats-helpers.js';

/** Size of the file the child has open in `dir` (its staged temp, named or anonymous). */
function stagedBytes(pid: number, dir: string): number {
  let best = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (!readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${dir}/`)) continue;
      best = Math.max(best, statSync(`/proc/${pid}/fd/${fd}`).size);
    } catch {
      // the fd closed meanwhile
    }
  }
  return best;
}

describe('seed scenario', () => {
  it('write(table, out.parquet, {marker: true}); a writer killed mid-write leaves the old file and a valid marker', async () => {
    const dir = scratch();
    const file = join(dir, 'out.parquet');
    const n = 1000;
    const table = new Table({
      id: makeVector(Int32Array.from({ length: n }, (_, i) => i)),
      name: vectorFromArray(Array.from({ length: n }, (_, i) => `name ${i}`), new Utf8()),
    });
    const result = await aw.write(table, file, { marker: true });
    expect(result).toMatchObject({ format: 'parquet', rows: n });
    expect(await aw.verify(dir)).toMatchObject({ ok: true, problems: [] });
    expect(await aw.isComplete(dir)).toBe(true);
    const rows = await parquetReadObjects({ file: arrayBufferOf(file) });
    expect(rows[999]).toEqual({ id: 999, name: 'name 999' });
    const before = readFileSync(file);
    const marker = readFileSync(join(dir, '_SUCCESS'));

    // The next write streams rows for ever; it is killed once megabytes are staged.
    const child = spawn(process.execPath, ['-e', `
      const aw = require('./dist/index.js');
      async function* rows() {
        for (let i = 0; ; i++) {
          if (i === 300000) console.log('midway');
          if (i >= 300000 && i % 1000 === 0) await new Promise((r) => setTimeout(r, 5));
          yield { id: i, name: 'row ' + i + ' ' + 'x'.repeat(i % 50) };
        }
      }
      aw.write(rows(), process.argv[1], { marker: true, rowGroupSize: 50000 }).then(() => process.exit(3), () => process.exit(4));
    `, file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (s: string) => s.includes('midway') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    // Really mid-write: the staged temp holds megabytes of the new file.
    let staged = 0;
    for (let tries = 0; tries < 100 && staged < 1 << 20; tries++) {
      staged = stagedBytes(child.pid!, dir);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(staged).toBeGreaterThanOrEqual(1 << 20);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readFileSync(join(dir, '_SUCCESS')).equals(marker)).toBe(true);
    expect(await aw.verify(dir)).toMatchObject({ ok: true, problems: [] });
    // Nothing visible is left; a named temp (no O_TMPFILE here) is swept.
    await aw.sweep(dir, { olderThan: 0 });
    expect(entries(dir)).toEqual(['_SUCCESS', 'out.parquet']);
  });
});
