// Blocking work runs on the core's own threads, never on libuv's pool (which `fs`,
// `dns` and `crypto` share): slow writes in flight must not hold up a stat or a DNS
// lookup, and writes must complete even when every libuv pool thread is stuck.
import { promises as dns } from 'node:dns';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, fixture, lastJson, runNode, scratch } from './helpers.js';

describe('the libuv pool stays free', () => {
  it('with 64 slow writes in flight (32 MiB each, fsync), stat and dns.lookup complete while most are pending', async () => {
    const dir = scratch('aw-threads-');
    // Warm both calls first: a cold getaddrinfo loads NSS libraries, many page faults
    // that the 64 busy writer threads slow down on a small machine (CPU contention,
    // not the pool starvation this test is about).
    await dns.lookup('localhost');
    await fsp.stat(dir);
    const data = Buffer.alloc(32 << 20, 'w');
    const order: string[] = [];
    const writes = Array.from({ length: 64 }, (_, i) => aw.writeFile(join(dir, `f${i}`), data, { fsync: true }).then(() => void order.push('write')));
    const stat = fsp.stat(dir).then(() => void order.push('stat'));
    const lookup = dns.lookup('localhost').then(() => void order.push('lookup'));
    await Promise.all([...writes, stat, lookup]);
    // Completion order, not timings. Were the writes on libuv's pool (4 threads, FIFO),
    // stat and lookup would queue behind them and finish after about 60 of the 64.
    // Here they wait for no write; on a 2-core machine 64 threads copying 2 GiB can
    // still let one or two writes finish first (CPU scheduling), hence "most".
    const writesBefore = (event: string) => order.slice(0, order.indexOf(event)).filter((e) => e === 'write').length;
    console.log(`threads: writes completed before stat: ${writesBefore('stat')}, before lookup: ${writesBefore('lookup')} (of 64)`);
    expect(writesBefore('stat')).toBeLessThan(16);
    expect(writesBefore('lookup')).toBeLessThan(16);
    expect(order.filter((e) => e === 'write')).toHaveLength(64);
    expect(entries(dir)).toHaveLength(64);
  }, 180_000);

  // Every libuv pool thread is parked in open(2) on a FIFO; a write that needs the
  // pool for any step can never finish. The watchdog only turns such a hang into a
  // report; it is not a timing assertion.
  const blocked = async (impl: string, watchdogMs: number) => {
    const dir = scratch('aw-pool-');
    const result = await runNode([fixture('pool-blocked.mjs'), dir, impl, '64', String(watchdogMs)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '4' },
    });
    return { ...lastJson<{ done: boolean; completed: number }>(result), dir };
  };

  it('64 durable writes complete while every libuv pool thread is blocked', async () => {
    const { done, completed, dir } = await blocked('atomicwriter', 60_000);
    expect({ done, completed }).toEqual({ done: true, completed: 64 });
    expect(entries(dir).filter((n) => n.startsWith('file'))).toHaveLength(64);
  }, 120_000);

  it('control: write-file-atomic completes none of them there (it runs on the libuv pool)', async () => {
    const { done, completed } = await blocked('write-file-atomic', 3_000);
    expect({ done, completed }).toEqual({ done: false, completed: 0 });
  }, 60_000);
});
