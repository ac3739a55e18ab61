// The `atomicwriter` command, run as a real process (bin/atomicwriter.js) for every
// command and every failure: interrupts publish nothing, a lock timeout exits 75,
// verify's exit codes, conversions read back by independent readers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { aw, dotEntries, entries, hasCommand, repoRoot, scratch, scratchFile, untilWriting } from './helpers.js';

const BIN = join(repoRoot, 'bin', 'atomicwriter.js');

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `input` on stdin (a closed stdin when omitted). */
function cli(args: string[], input?: string | Buffer, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = start(args, options);
  child.stdin!.end(input);
  return finished(child);
}

function start(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {}); // a CLI that exits early (or is interrupted) closes its end: EPIPE
  return child;
}

function finished(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** A process in process group `pgid` running `node <script>` (found in /proc, no pgrep needed). */
function groupMember(pgid: number, script: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp ...
      if (Number(fields[2]) !== pgid) continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[0] === process.execPath && argv[1] === script) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describe('atomicwriter --help / --version / usage', () => {
  it('--help prints every command and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.status).toBe(0);
    for (const word of ['write <path>', 'lock <lockfile>', 'verify <dir|file>', 'sweep <dir>', '--from', '--older-than']) expect(r.stdout).toContain(word);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });

  it.each([
    [['frobnicate'], 'unknown command'],
    [['write'], 'expected one path'],
    [['write', 'x', '--mode', '999'], '--mode takes octal'],
    [['write', 'x.parquet', '--format', 'parquet'], 'needs --from'],
    [['write', 'x', '--from', 'xml'], '--from takes'],
    [['write', 'x', '--bogus'], 'bogus'],
    [['lock', 'f.lock'], 'expected a command'],
    [['lock', 'f.lock', '--timeout', 'soon', '--', 'true'], '--timeout takes milliseconds'],
    [['sweep', '.', '--older-than', 'a while'], '--older-than takes a duration'],
  ])('%j is a usage error: exit 2, nothing written', async (args, message) => {
    const dir = scratch();
    const r = await cli(args, '', { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(entries(dir)).toEqual([]);
  });
});

describe('atomicwriter write', () => {
  it('publishes stdin byte for byte, replacing the old file, with no temp left and nothing on stderr', async () => {
    const { dir, file } = scratchFile('out.bin', 'old');
    const payload = Buffer.alloc(3 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const r = await cli(['write', file], payload);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(file).equals(payload)).toBe(true);
    expect(entries(dir)).toEqual(['out.bin']);
  });

  it('--mode sets the permission bits; --no-fsync still publishes atomically', async () => {
    const dir = scratch();
    const file = join(dir, 'm.txt');
    const r = await cli(['write', file, '--mode', '0640', '--no-fsync'], 'mode test\n');
    expect(r.status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readFileSync(file, 'utf8')).toBe('mode test\n');
  });

  it('an empty stdin publishes an empty file', async () => {
    const dir = scratch();
    const file = join(dir, 'empty');
    expect((await cli(['write', file], '')).status).toBe(0);
    expect(readFileSync(file).length).toBe(0);
  });

  it('--from ndjson to .parquet converts, read back by hyparquet', async () => {
    const dir = scratch();
    const file = join(dir, 'out.parquet');
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}`, ok: i % 3 === 0 }));
    const r = await cli(['write', file, '--from', 'ndjson'], rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const bytes = readFileSync(file);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const back = await parquetReadObjects({ file: buffer });
    expect(back.map((x) => ({ ...x, id: Number(x.id) }))).toEqual(rows);
    expect(entries(dir)).toEqual(['out.parquet']);
  });

  it('--from csv to .json keeps quoted commas, quotes and line breaks (fields stay strings)', async () => {
    const dir = scratch();
    const file = join(dir, 'out.json');
    const csv = 'a,b\r\n1,"x,y"\r\n2,"say ""hi"""\r\n3,"two\nlines"\r\n';
    const r = await cli(['write', file, '--from', 'csv'], csv);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(parseCsv(csv, { columns: true }));
  });

  it('--from json (an array of records) to .csv, read back by csv-parse', async () => {
    const dir = scratch();
    const file = join(dir, 'out.csv');
    const records = [
      { k: 'a,b', v: 'q"q' },
      { k: 'plain', v: 'x' },
    ];
    const r = await cli(['write', file, '--from', 'json'], JSON.stringify(records));
    expect(r.status).toBe(0);
    expect(parseCsv(readFileSync(file), { columns: true })).toEqual(records);
  });

  it('a malformed ndjson line fails with its line number: exit 1, old file intact, no temp', async () => {
    const { dir, file } = scratchFile('out.ndjson', 'old\n');
    const r = await cli(['write', file, '--from', 'ndjson'], '{"a":1}\n{"a":\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('line 2');
    expect(readFileSync(file, 'utf8')).toBe('old\n');
    expect(entries(dir)).toEqual(['out.ndjson']);
  });

  it('--marker writes a _SUCCESS manifest that verify accepts', async () => {
    const dir = scratch();
    const file = join(dir, 'data.bin');
    expect((await cli(['write', file, '--marker'], 'payload')).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('payload');
    expect(entries(dir)).toEqual(['_SUCCESS', 'data.bin']);
    expect((await aw.verify(dir)).ok).toBe(true);
  });

  it('an error prints the code and the path and exits 1, creating nothing', async () => {
    const dir = scratch();
    const file = join(dir, 'missing', 'f');
    const r = await cli(['write', file], 'x');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('code ENOENT');
    expect(r.stderr).toContain(`path ${file}`);
    expect(entries(dir)).toEqual([]);
    // ... and --mkdir is the fix the message points to.
    expect((await cli(['write', file, '--mkdir'], 'x')).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('--size catches a truncated input: fewer bytes than announced publishes nothing', async () => {
    const { dir, file } = scratchFile('f', 'old');
    const r = await cli(['write', file, '--size', '100'], Buffer.alloc(60, 'n'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ESIZE');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['f']);
    expect((await cli(['write', file, '--size', '60'], Buffer.alloc(60, 'n'))).status).toBe(0);
    expect(readFileSync(file).length).toBe(60);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s mid-write publishes nothing: old file intact, no temp, exit %i', async (signal, code) => {
    const { dir, file } = scratchFile('f', 'old content');
    const child = start(['write', file]);
    const done = finished(child);
    child.stdin!.write(Buffer.alloc(2 << 20, 'n')); // 2 MiB in, the rest never comes
    await untilWriting(child.pid!, dir);
    child.kill(signal);
    const r = await done;
    expect(r.status).toBe(code);
    expect(r.stderr).toContain(`interrupted by ${signal}; nothing was published`);
    expect(readFileSync(file, 'utf8')).toBe('old content');
    expect(entries(dir)).toEqual(['f']);
  });

  it('Ctrl-C in a shell pipeline (SIGINT to the whole process group) publishes nothing', async () => {
    const { dir, file } = scratchFile('f', 'old');
    const script = `(head -c 3000000 /dev/zero; sleep 30) | "${process.execPath}" "${BIN}" write "${file}"`;
    const sh = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finished(sh);
    // Find the CLI among the group's processes, wait until its temp holds the first
    // 2 MiB (it has read the input and waits for more), then "press Ctrl-C". The
    // producer dies of the same SIGINT, so stdin ends as the signal arrives: the CLI
    // must take that end for the interrupt it is (it once published the input).
    let pid: number | undefined;
    for (let i = 0; i < 3000 && pid === undefined; i++) {
      pid = groupMember(sh.pid!, BIN);
      if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    await untilWriting(pid!, dir, 2 << 20);
    process.kill(-sh.pid!, 'SIGINT');
    const r = await done;
    expect(r.stderr).toContain('nothing was published');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['f']);
  });

  it('with a named temp (tmpfs-less systems, or an abort after stdin ended) SIGINT leaves no dot file either', async () => {
    // --marker goes through write(): the same staged temp, retired on abort.
    const { dir, file } = scratchFile('g', 'old');
    const child = start(['write', file, '--marker']);
    const done = finished(child);
    child.stdin!.write('partial');
    await untilWriting(child.pid!, dir);
    child.kill('SIGINT');
    expect((await done).status).toBe(130);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(dotEntries(dir)).toEqual([]);
    expect(existsSync(join(dir, '_SUCCESS'))).toBe(false);
  });
});

describe('atomicwriter write: the progress bar', () => {
  it('stays silent when stderr is not a terminal', async () => {
    const dir = scratch();
    const r = await cli(['write', join(dir, 'f'), '--size', String(4 << 20)], Buffer.alloc(4 << 20));
    expect(r).toMatchObject({ status: 0, stderr: '' });
  });

  it.runIf(hasCommand('script'))('draws on a terminal, with the total from stdin\'s size', async () => {
    const dir = scratch();
    const input = join(dir, 'in.bin');
    writeFileSync(input, Buffer.alloc(8 << 20, 1));
    const out = join(dir, 'out.bin');
    // script(1) gives the command a pty for stdout and stderr; stdin is the regular file.
    const r = spawnSync('script', ['-qec', `"${process.execPath}" "${BIN}" write "${out}" < "${input}"`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('100%');
    expect(r.stdout).toContain('8.0 MiB');
    expect(readFileSync(out).length).toBe(8 << 20);
  });
});

describe('atomicwriter lock', () => {
  it('runs the command holding the lock and exits with its code', async () => {
    const dir = scratch();
    const r = await cli(['lock', join(dir, 'f.lock'), '--', 'sh', '-c', 'echo ran; exit 7']);
    expect(r.status).toBe(7);
    expect(r.stdout).toBe('ran\n');
    expect(existsSync(join(dir, 'f.lock'))).toBe(true); // never deleted
  });

  it('the command inherits the lock: with atomicwriter killed by SIGKILL it stays held until the command exits', async () => {
    const dir = scratch();
    const lockfile = join(dir, 'f.lock');
    const go = join(dir, 'go');
    const child = spawn(process.execPath, [BIN, 'lock', lockfile, '--', 'sh', '-c', `echo started; while [ ! -e "${go}" ]; do sleep 0.02; done`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const commandExited = new Promise((resolve) => child.stdout!.on('end', resolve)); // the command holds the pipe too
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // atomicwriter is gone; its command still runs and still holds the lock.
    expect(await aw.tryLock(lockfile)).toBeNull();
    writeFileSync(go, '');
    await commandExited;
    let after = null;
    for (let i = 0; i < 100 && !after; i++) {
      after = await aw.tryLock(lockfile);
      if (!after) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(after).not.toBeNull();
    after!.release();
  });

  it('a held lock and --timeout: exit 75 with a message naming the holder, the command never runs', async () => {
    const dir = scratch();
    const lockfile = join(dir, 'f.lock');
    const held = await aw.lock(lockfile);
    try {
      const r = await cli(['lock', lockfile, '--timeout', '200', '--', 'touch', join(dir, 'ran')]);
      expect(r.status).toBe(75);
      expect(r.stderr).toContain('Timed out after 200 ms');
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
    } finally {
      held.release();
    }
  });

  it('--shared coexists with a shared holder and is refused by an exclusive one', async () => {
    const dir = scratch();
    const lockfile = join(dir, 'f.lock');
    const shared = await aw.lock(lockfile, { shared: true });
    try {
      expect((await cli(['lock', lockfile, '--shared', '--timeout', '0', '--', 'true'])).status).toBe(0);
      expect((await cli(['lock', lockfile, '--timeout', '0', '--', 'true'])).status).toBe(75);
    } finally {
      shared.release();
    }
  });

  it('serializes concurrent read-modify-write commands: 8 increments, no lost update', async () => {
    const dir = scratch();
    const counter = join(dir, 'count');
    writeFileSync(counter, '0');
    const step = `n=$(cat "${counter}"); sleep 0.05; echo $((n+1)) > "${counter}"`;
    const runs = await Promise.all(Array.from({ length: 8 }, () => cli(['lock', join(dir, 'c.lock'), '--', 'sh', '-c', step])));
    expect(runs.map((r) => r.status)).toEqual(Array(8).fill(0));
    expect(readFileSync(counter, 'utf8').trim()).toBe('8');
  });

  it('a lock file that is a symlink is refused (ELOOP), the command never runs', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'elsewhere'), 'x');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'f.lock'));
    const r = await cli(['lock', join(dir, 'f.lock'), '--', 'touch', join(dir, 'ran')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('code ELOOP');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('a command that does not exist exits 127', async () => {
    const r = await cli(['lock', join(scratch(), 'f.lock'), '--', 'no-such-command-aw']);
    expect(r.status).toBe(127);
  });
});

describe('atomicwriter verify', () => {
  async function dataset(): Promise<string> {
    const dir = join(scratch(), 'ds');
    await aw.writeDataset(dir, async (stage: { write: (name: string, data: unknown) => Promise<unknown> }) => {
      await stage.write('a.txt', 'alpha');
      await stage.write('b.txt', 'beta');
    });
    return dir;
  }

  it('a complete dataset: exit 0 and a one-line OK', async () => {
    const dir = await dataset();
    const r = await cli(['verify', dir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('OK');
    expect(r.stdout).toContain('2 files match');
  });

  it('a changed part: exit 1 naming the file and the problem; --json gives the same verdict', async () => {
    const dir = await dataset();
    writeFileSync(join(dir, 'b.txt'), 'BETA');
    const r = await cli(['verify', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('FAILED');
    expect(r.stderr).toMatch(/ECHECKSUM b\.txt/);
    const j = await cli(['verify', dir, '--json']);
    expect(j.status).toBe(1);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.problems.map((p: { name: string; code: string }) => [p.name, p.code])).toEqual([['b.txt', 'ECHECKSUM']]);
  });

  it('no _SUCCESS: exit 1 (ENOMARKER)', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'x'), 'x');
    const r = await cli(['verify', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ENOMARKER');
  });
});

describe('atomicwriter sweep', () => {
  it('removes old orphaned temps only, lists them; --dry-run removes nothing', async () => {
    const dir = scratch();
    const orphan = join(dir, '.data.aw0123456789abcdef.tmp');
    const fresh = join(dir, '.data.awfedcba9876543210.tmp');
    writeFileSync(orphan, 'debris');
    writeFileSync(fresh, 'a writer may still own this');
    writeFileSync(join(dir, '.keep.tmp'), 'not ours');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(orphan, old, old);

    const dry = await cli(['sweep', dir, '--older-than', '1h', '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout.trim()).toBe(orphan);
    expect(existsSync(orphan)).toBe(true);

    const r = await cli(['sweep', dir, '--older-than', '1h']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(orphan);
    expect(entries(dir)).toEqual(['.data.awfedcba9876543210.tmp', '.keep.tmp']);
  });

  it('a missing directory is an error with code and path', async () => {
    const dir = join(scratch(), 'nope');
    const r = await cli(['sweep', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ENOENT');
    expect(r.stderr).toContain(dir);
  });
});
