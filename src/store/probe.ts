// The conditional-write probe. Many S3-compatible servers accept If-None-Match and
// If-Match and ignore them, or check and then write so that racing writers both win: a
// create-only write that "succeeded" there guarantees nothing. Before the first
// create-only or compare-and-swap write to an endpoint and bucket (once per process),
// or on demand, three things are checked on scratch objects under
// `.atomicwriter-probe/` in the bucket, which are removed afterwards:
//   1. a second create-only write to an existing object is refused;
//   2. a compare-and-swap with the current version succeeds, one with a stale version
//      is refused;
//   3. of RACERS creators started at once on a fresh key, exactly one wins.
// A server that fails any is refused for conditional writes (EUNSAFE_ENDPOINT), unless
// the caller opts out (`trustConditionalWrites: true`).

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConflict, isPrecondition, parseStoreOptions, type ObjectStore, type ParsedStoreOptions, type StoreResult } from './adapter';
import { storeFor } from './adapters';
import { at, parseUrl, type Location } from './url';

/** Creators started at once by the race check. */
export const RACERS = 8;

export interface ProbeResult {
  /** `scheme://bucket`: what was probed. */
  target: string;
  /** Every check passed: create-only and compare-and-swap writes are allowed. */
  safe: boolean;
  /** What failed, in words (empty when safe). */
  failed: string[];
  checks: {
    /** A second create-only write to an existing object was refused. */
    createOnly: boolean;
    /** A compare-and-swap with a stale version was refused (and one with the current version went through). */
    staleIfMatch: boolean;
    /** Creators that won the race (exactly 1 is right). */
    raceWinners: number;
    racers: number;
  };
}

type Settled = { ok: true; value: StoreResult } | { ok: false; error: unknown };

function settle(promise: Promise<StoreResult>): Promise<Settled> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * A refusal is a precondition failure, or S3's 409 for a conditional write that met
 * another in flight (still there after its retries); any other error (network,
 * permissions) is the probe's own failure, thrown, and nothing is cached.
 */
function refused(s: Settled): boolean {
  if (s.ok) return false;
  if (isPrecondition(s.error) || isConflict(s.error)) return true;
  throw s.error;
}

async function run(store: ObjectStore, loc: Location, o: ParsedStoreOptions): Promise<ProbeResult> {
  const base = `.atomicwriter-probe/${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), '.atomicwriter-probe-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const plain: ParsedStoreOptions = { ...o, ifMatch: undefined, ifNoneMatch: undefined, contentType: 'text/plain' };
  const one = at(loc, `${base}/conditions`);
  const race = at(loc, `${base}/race`);
  const failed: string[] = [];
  try {
    const a = file('a', 'probe a'), b = file('b', 'probe b'), c = file('c', 'probe c');
    const first = await store.put(one, a, { ...plain, ifNoneMatch: '*' });
    const again = await settle(store.put(one, b, { ...plain, ifNoneMatch: '*' }));
    const createOnly = refused(again);
    if (!createOnly) failed.push('a second create-only write (If-None-Match: *) to an existing object succeeded');
    // The current version: the first one, unless the server let the second create through.
    const current = again.ok ? again.value.version : first.version;
    const swap = await settle(store.put(one, c, { ...plain, ifMatch: current }));
    if (refused(swap)) failed.push('a compare-and-swap (If-Match) with the current version was refused');
    const stale = await settle(store.put(one, a, { ...plain, ifMatch: current }));
    const staleRefused = refused(stale);
    const staleIfMatch = staleRefused && swap.ok;
    if (!staleRefused) failed.push('a compare-and-swap (If-Match) with a stale version succeeded');
    const racers = Array.from({ length: RACERS }, (_, i) => file(`r${i}`, `racer ${i}`));
    const results = await Promise.all(racers.map((f) => settle(store.put(race, f, { ...plain, ifNoneMatch: '*' }))));
    let raceWinners = 0;
    for (const r of results) if (!refused(r)) raceWinners++;
    if (raceWinners !== 1) failed.push(`${raceWinners} of ${RACERS} racing create-only writers succeeded (exactly 1 must)`);
    return { target: `${loc.scheme}://${loc.bucket}`, safe: failed.length === 0, failed, checks: { createOnly, staleIfMatch, raceWinners, racers: RACERS } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([one, race].map((l) => store.remove(l, plain).catch(() => {})));
  }
}

const cache = new Map<string, Promise<ProbeResult>>();

/** The probe's result for this endpoint and bucket, run once per process (a probe that failed to run is tried again next time). */
function probeOnce(store: ObjectStore, loc: Location, o: ParsedStoreOptions): Promise<ProbeResult> {
  const key = `${store.endpoint(o)}\n${loc.bucket}`;
  let found = cache.get(key);
  if (!found) {
    found = run(store, loc, o);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

export interface UnsafeEndpointError extends Error {
  code: 'EUNSAFE_ENDPOINT';
  path: string;
  probe: ProbeResult;
}

/** Throws EUNSAFE_ENDPOINT where the probe found conditions not honoured. */
export async function assertSafe(store: ObjectStore, loc: Location, o: ParsedStoreOptions): Promise<void> {
  const probe = await probeOnce(store, loc, o);
  if (probe.safe) return;
  const error = new Error(
    `EUNSAFE_ENDPOINT: ${probe.target} does not honour conditional writes (${probe.failed.join('; ')}), so a create-only or compare-and-swap write to ${loc.url} would guarantee nothing; nothing was written. ` +
      'Pass trustConditionalWrites: true (or set ATOMICWRITER_TRUST_CONDITIONAL_WRITES=1) to write anyway.',
  ) as UnsafeEndpointError;
  error.code = 'EUNSAFE_ENDPOINT';
  error.path = loc.url;
  error.probe = probe;
  throw error;
}

/**
 * Checks whether the server behind `url` (any key in the bucket) honours create-only
 * and compare-and-swap writes, and caches the answer for the process. Resolves to what
 * was found; it does not throw for an unsafe server (conditional writes there do).
 */
export function probeConditionalWrites(url: unknown, options?: unknown): Promise<ProbeResult> {
  // A bucket alone will do: the probe writes under its own prefix anyway.
  const text = url instanceof URL ? url.href : url;
  const bare = typeof text === 'string' && /^[a-z0-9]+:\/\/[^/]+\/?$/i.test(text);
  const loc = parseUrl(bare ? `${text.replace(/\/$/, '')}/.atomicwriter-probe/` : text, { prefix: true });
  const o = parseStoreOptions(options, loc.scheme);
  const store = storeFor(loc.scheme);
  // On demand it runs again (and refreshes the cache): the caller asked.
  const key = `${store.endpoint(o)}\n${loc.bucket}`;
  const fresh = run(store, loc, o);
  cache.set(key, fresh);
  fresh.catch(() => cache.delete(key));
  return fresh;
}
