// Crashes and contention with real processes: a writer killed with SIGKILL at random
// points leaves the old or the new content, never a mix, and `sweep` clears whatever
// it orphaned; 8 processes hammering one file end with one complete payload.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, fixture, repoRoot, scratch } from './helpers.js';

/** Resolves with the first stdout line of `child` that matches. */
function waitForLine(child: ChildProcess, match: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n').find((l) => match.test(l));
      if (line !== undefined) {
        child.stdout!.off('data', onData);
        resolve(line);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before printing ${match}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Checks a crash-writer payload is whole; returns its generation. */
function crashPayloadGen(buf: Buffer): number {
  const headerEnd = buf.indexOf('\n');
  const header = /^gen (\d+) (\d+) ([a-z])$/.exec(buf.subarray(0, Math.max(headerEnd, 0)).toString('latin1'));
  expect(header, `not a payload header: ${JSON.stringify(buf.subarray(0, 40).toString('latin1'))}`).not.toBeNull();
  const [, gen, size, fill] = header!;
  expect(buf.length, `generation ${gen}: length`).toBe(Number(size));
  const body = buf.subarray(headerEnd + 1);
  expect(body.equals(Buffer.alloc(body.length, fill!)), `generation ${gen}: body is all '${fill}'`).toBe(true);
  return Number(gen);
}

function oldPayload(base: number): Buffer {
  // Generation 0, in the fixture's format.
  const buf = Buffer.alloc(base, 'z');
  buf.write(`gen 0 ${base} z\n`);
  return buf;
}

describe('SIGKILL at random points', () => {
  const base = 16 << 20; // payloads of 16 to 28 MiB: a write + fdatasync takes a while
  const modes = ['async', 'sync', 'named'] as const;
  const trials = modes.flatMap((mode) => [0, 1, 2, 3].map((n) => ({ mode, n })));

  it(`leaves the old or a new payload whole, and sweep leaves only the target (${trials.length} trials)`, async () => {
    const generations: Record<string, number[]> = { async: [], sync: [], named: [] };
    let swept = 0;
    for (const { mode } of trials) {
      const dir = scratch('aw-crash-');
      const target = join(dir, 'target.bin');
      writeFileSync(target, oldPayload(base));
      const child = spawn(process.execPath, [fixture('crash-writer.mjs'), target, mode, String(base)], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await waitForLine(child, /^started$/);
        // Anywhere from before the first write lands to several writes in.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 900));
      } finally {
        child.kill('SIGKILL');
        await exited(child);
      }
      expect(child.signalCode).toBe('SIGKILL');
      generations[mode]!.push(crashPayloadGen(readFileSync(target)));
      swept += (await aw.sweep(dir, { olderThan: 0 })).length;
      expect(entries(dir)).toEqual(['target.bin']);
    }
    // Where the kills landed, for the record (random, so not asserted).
    console.log('crash trials: generation found after SIGKILL', generations, `orphaned temps swept: ${swept}`);
  }, 300_000);

  it('a writer killed with its named temp open leaves an orphan that sweep removes, and only that', async () => {
    const dir = scratch('aw-crash-');
    const target = join(dir, 'target.bin');
    const old = oldPayload(1 << 20);
    writeFileSync(target, old);
    writeFileSync(join(dir, '.not-ours.tmp'), 'a dot file sweep must keep');
    const child = spawn(process.execPath, [fixture('crash-writer.mjs'), target, 'hang', String(1 << 20)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let temp: string;
    try {
      temp = (await waitForLine(child, /^temp /)).slice('temp '.length);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    expect(dirname(temp)).toBe(dir);
    expect(existsSync(temp)).toBe(true);
    expect(readFileSync(target).equals(old)).toBe(true);
    expect(await aw.sweep(dir, { olderThan: 0, dryRun: true })).toEqual([temp]);
    expect(existsSync(temp)).toBe(true);
    expect(await aw.sweep(dir, { olderThan: 0 })).toEqual([temp]);
    expect(entries(dir)).toEqual(['.not-ours.tmp', 'target.bin']);
  });
});

describe('8 processes x 200 writes to one file', () => {
  const processes = 8;
  const writes = 200;

  /** Checks a contend payload is whole; returns [writer id, write index]. */
  function contendPayload(buf: Buffer): [number, number] {
    const headerEnd = buf.indexOf('\n');
    const header = /^w (\d+) (\d+) (\d+) ([A-Z])$/.exec(buf.subarray(0, Math.max(headerEnd, 0)).toString('latin1'));
    expect(header, `not a payload header: ${JSON.stringify(buf.subarray(0, 40).toString('latin1'))}`).not.toBeNull();
    const [, id, i, size, fill] = header!;
    expect(buf.length).toBe(Number(size));
    const body = buf.subarray(headerEnd + 1);
    expect(body.equals(Buffer.alloc(body.length, fill!))).toBe(true);
    return [Number(id), Number(i)];
  }

  it('ends with exactly one complete payload, and every read on the way is whole', async () => {
    const dir = scratch('aw-contend-');
    const target = join(dir, 'target');
    const first = Buffer.alloc(600, 'Z');
    first.write('w 99 0 600 Z\n');
    writeFileSync(target, first);
    // Half the writers use the sync call, half the async one.
    const children = Array.from({ length: processes }, (_, id) =>
      spawn(process.execPath, [fixture('contend.mjs'), target, String(id), String(writes), id % 2 ? '1' : '0'], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const outputs = children.map((child) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
      return new Promise<string>((resolve) => child.on('close', () => resolve(out)));
    });
    let running = true;
    const all = Promise.all(outputs).finally(() => (running = false));
    // A reader racing the writers never sees a partial or mixed file.
    let reads = 0;
    do {
      contendPayload(await readFile(target));
      reads++;
    } while (running);
    const results = (await all).map((out) => JSON.parse(out.trim()) as { ok: boolean; id: number });
    expect(results.map((r) => r.ok)).toEqual(Array(processes).fill(true));
    expect(children.map((c) => c.exitCode)).toEqual(Array(processes).fill(0));

    const [id, i] = contendPayload(readFileSync(target));
    // The last rename overall is some writer's last write.
    expect(id).toBeLessThan(processes);
    expect(i).toBe(writes - 1);
    expect(entries(dir)).toEqual(['target']);
    expect(reads).toBeGreaterThan(0);
    console.log(`contention: ${reads} whole reads while ${processes} x ${writes} writes ran`);
  }, 180_000);
});
