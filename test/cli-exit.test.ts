// The CLI's exit codes for what stdin holds, and interrupts that come with the end of
// stdin. Malformed input the library refuses with a TypeError is a failure (exit 1,
// documented), not bad usage (2, for the arguments); and a Ctrl-C that also ends the
// pipe feeding the CLI never publishes what was read so far.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, repoRoot, scratch, scratchFile, untilWriting } from './helpers.js';

const BIN = join(repoRoot, 'bin', 'atomicwriter.js');

interface Result {
  status: number | null;
  stderr: string;
}

function cli(args: string[], input: string | Buffer): Promise<Result> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  return collect(child);
}

function collect(child: ReturnType<typeof spawn>): Promise<Result> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('atomicwriter write: input the library refuses is a failure (exit 1), not usage (2)', () => {
  it.each([
    ['a JSON number where csv needs rows', 'out.csv', ['--from', 'json'], '5', 'rows for the csv format'],
    ['ndjson values that are not records, for parquet', 'out.parquet', ['--from', 'ndjson'], '1\n2\n', 'row'],
    ['a JSON string for arrow', 'out.arrow', ['--from', 'json'], '"text"', 'rows for the arrow format'],
  ])('%s: exit 1, the reason and its code printed, the old file intact', async (_what, name, args, input, message) => {
    const dir = scratch();
    const file = join(dir, name);
    writeFileSync(file, 'old');
    const r = await cli(['write', file, ...args], input);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('code ERR_INVALID_ARG_TYPE');
    expect(r.stderr).not.toContain('--help');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual([name]);
  });

  it.each([
    [['--from', 'json', '--format', 'nosuch'], 'out.csv', 'Unknown format'],
    [['--from', 'json'], 'no-extension', 'Cannot tell the format'],
    [[], '', 'must be a non-empty string'],
  ])('arguments the library refuses are still usage: %j %j exits 2 before reading stdin', async (args, name, message) => {
    const dir = scratch();
    const r = await cli(['write', name === '' ? '' : join(dir, name), ...args], '[]');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('--help');
    expect(entries(dir)).toEqual([]);
  });
});

describe('atomicwriter write: an interrupt that comes with the end of stdin', () => {
  // What Ctrl-C does to `producer | atomicwriter write f`: SIGINT reaches both, the
  // producer dies, and our stdin ends at about the moment the signal is handled. Here
  // stdin is ended and the signal sent in the same tick: each trial must publish
  // nothing. Before the fix most trials published the bytes read so far
  // and exited 0 (the end of input was taken as complete before SIGINT was handled).
  it('SIGINT then end of stdin, 12 times: exit 130 and the old file every time', async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 12; trial++) {
      const { dir, file } = scratchFile('f', 'old');
      const child = spawn(process.execPath, [BIN, 'write', file], { stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin.on('error', () => {});
      const done = collect(child);
      child.stdin.write(Buffer.alloc(1 << 20));
      await untilWriting(child.pid!, dir, 1 << 20, 3000);
      child.stdin.end();
      child.kill('SIGINT');
      const r = await done;
      outcomes.push(`${r.status} ${readFileSync(file, 'utf8') === 'old' ? 'old' : 'replaced'} ${entries(dir).join(',')}`);
    }
    expect(outcomes).toEqual(Array(12).fill('130 old f'));
  }, 120_000);
});
