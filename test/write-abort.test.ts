// Issue 13 ("Errors that tell the truth", abort): write() and stage.write() with an async
// source stop pulling from it as soon as the signal aborts, in every format: the promise
// rejects with the one abort shape, the source's return() runs, nothing is published and
// no temp is left. Outputs written with a signal that is not aborted read back with
// independent readers (pyarrow where AW_PYTHON is set, hyparquet, apache-arrow).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it, vi } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

const FORMATS = ['csv', 'ndjson', 'json', 'parquet', 'arrow'] as const;

/** An async generator of records, 10 ms apart; `limit` undefined = endless. Records what happened. */
function source(limit?: number) {
  const state = { pulled: 0, returned: false, started: false, finished: false };
  const gen = (async function* () {
    state.started = true;
    try {
      for (let i = 0; limit === undefined || i < limit; i++) {
        await new Promise((r) => setTimeout(r, 10));
        state.pulled++;
        yield { a: i, s: `r${i}` };
      }
    } finally {
      state.finished = true;
    }
  })();
  // return() called counts, even on a generator that never started (its finally cannot run then).
  const original = gen.return.bind(gen);
  gen.return = (value) => {
    state.returned = true;
    return original(value);
  };
  return { gen, state };
}

async function expectPromptAbort(run: (signal: AbortSignal) => Promise<unknown>, state: { pulled: number; returned: boolean; started: boolean; finished: boolean }) {
  const ac = new AbortController();
  const reason = new Error('why');
  setTimeout(() => ac.abort(reason), 200);
  const t0 = Date.now();
  const err = (await Promise.race([run(ac.signal).then(() => new Error('resolved')), new Promise((r) => setTimeout(() => r(new Error('not aborted after 3 s')), 3000))]).catch((e) => e)) as Error & { code?: string };
  const elapsed = Date.now() - t0;
  expect(err.name, err.message).toBe('AbortError');
  expect(err.code).toBe('ABORT_ERR');
  expect(err.cause).toBe(reason);
  expect(elapsed).toBeLessThan(1000);
  expect(state.returned).toBe(true);
  // A started generator is closed once its pending step settles (one 10 ms timer later;
  // more under load): wait for that, within the same second.
  await vi.waitFor(() => expect(state.finished || !state.started).toBe(true), { timeout: 1000 - elapsed, interval: 10 });
  const pulled = state.pulled;
  await new Promise((r) => setTimeout(r, 100));
  expect(state.pulled).toBe(pulled);
}

describe('abort of a write fed by an async source', () => {
  for (const fmt of FORMATS) {
    it(`${fmt}: an endless source is stopped promptly; nothing published, no temp`, async () => {
      const dir = scratch();
      const { gen, state } = source();
      await expectPromptAbort((signal) => aw.write(gen, join(dir, `x.${fmt}`), { signal }), state);
      expect(entries(dir)).toEqual([]);
    });
  }

  it('a finite source aborted halfway rejects at the abort, not when it ends', async () => {
    const dir = scratch();
    for (const fmt of ['csv', 'ndjson', 'json'] as const) {
      const { gen, state } = source(80);
      await expectPromptAbort((signal) => aw.write(gen, join(dir, `x.${fmt}`), { signal }), state);
      expect(state.pulled).toBeLessThan(40);
    }
    expect(entries(dir)).toEqual([]);
  });

  for (const fmt of ['csv', 'parquet'] as const) {
    it(`dataset part (${fmt}): an endless source is stopped promptly; no dataset, no staging left`, async () => {
      const dir = scratch();
      const { gen, state } = source();
      await expectPromptAbort((signal) => aw.writeDataset(join(dir, 'ds'), (s) => s.write(`p.${fmt}`, gen), { signal }), state);
      expect(entries(dir)).toEqual([]);
    });
  }

  it('a signal that never aborts changes nothing: the outputs read back with independent readers', async () => {
    const dir = scratch();
    const ac = new AbortController();
    const want = Array.from({ length: 5 }, (_, i) => ({ a: i, s: `r${i}` }));
    for (const fmt of FORMATS) await aw.write(source(5).gen, join(dir, `x.${fmt}`), { signal: ac.signal });
    await aw.writeDataset(join(dir, 'ds'), (s) => s.write('p.parquet', source(5).gen), { signal: ac.signal });
    expect(readFileSync(join(dir, 'x.csv'), 'utf8')).toBe('a,s\n0,r0\n1,r1\n2,r2\n3,r3\n4,r4\n');
    expect(readFileSync(join(dir, 'x.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(want);
    expect(JSON.parse(readFileSync(join(dir, 'x.json'), 'utf8'))).toEqual(want);
    expect(tableFromIPC(readFileSync(join(dir, 'x.arrow'))).toArray().map((r) => ({ a: Number(r.a), s: r.s }))).toEqual(want);
    for (const p of [join(dir, 'x.parquet'), join(dir, 'ds', 'p.parquet')]) {
      const b = readFileSync(p);
      const rows = await parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
      expect(rows.map((r) => ({ a: Number(r.a), s: r.s }))).toEqual(want);
    }
    const python = process.env.AW_PYTHON;
    if (python) {
      const script = 'import sys, pyarrow.parquet as pq, pyarrow.feather as f\nprint(pq.read_table(sys.argv[1]).to_pylist() == f.read_table(sys.argv[2]).to_pylist(), pq.read_table(sys.argv[1]).num_rows)';
      const out = spawnSync(python, ['-c', script, join(dir, 'x.parquet'), join(dir, 'x.arrow')], { encoding: 'utf8' });
      expect(out.stderr).toBe('');
      expect(out.stdout.trim()).toBe('True 5');
    }
  });

  it('a plugin gets its source as given, and the signal in its options', async () => {
    const dir = scratch();
    const { Readable } = await import('node:stream');
    const given = Readable.from([{ a: 1 }]);
    const ac = new AbortController();
    let seen: unknown;
    aw.registerFormat({
      name: 'probe-abort',
      extensions: ['.probeabort'],
      async serialize(data, sink, options) {
        seen = [data === given, options.signal === ac.signal];
        for await (const row of data as AsyncIterable<unknown>) await sink.write(JSON.stringify(row));
      },
    });
    await aw.write(given, join(dir, 'x.probeabort'), { signal: ac.signal });
    expect(seen).toEqual([true, true]);
    expect(readFileSync(join(dir, 'x.probeabort'), 'utf8')).toBe('{"a":1}');
  });
});
