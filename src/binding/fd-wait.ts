// Out of file descriptors (EMFILE/ENFILE): wait for some, in order, rather than fail.
//
// 10,000 writes started at once would each open a temp and a directory; with a low
// `ulimit -n` most would fail with EMFILE although every one of them could have run a
// moment later. An open that fails with EMFILE has created nothing, so it is safe to
// try again: the caller joins a FIFO queue, and queued operations are tried again when
// one of ours gives descriptors back (`fdReleased`), when a retried one settles, or
// every POLL_MS (for descriptors freed by other code). How many run at once adapts: one
// more after each success, no more than are running after each EMFILE.
// An operation that has waited GIVE_UP_MS (ATOMICWRITER_EMFILE_WAIT_MS, default 60 s)
// fails at its next EMFILE with a message that says so: the descriptors are held by
// code that does not let go.
//
// A lock or an open atomic file is different: the caller keeps it (and its descriptor)
// as long as it likes, so the descriptors it waits for may well be its own, and a
// minute's wait is a hang. `lock()` and `openAtomic()` give up once no descriptor of
// ours came back for HANDED_OUT_IDLE_MS (while ours keep coming back, many of them
// queued at once all get their turn), a lock also at its own `timeout`.
//
// Only opens are retried; the waiting is in JS promises, never on the core's threads,
// which must stay free to finish the writes that will release descriptors.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { NodeStyleError } from './errors';

const POLL_MS = 50;
const GIVE_UP_MS = waitLimit();
/** How long a wait for descriptors the caller will hold may go without progress (see above). */
export const HANDED_OUT_IDLE_MS = Math.min(GIVE_UP_MS, 3000);

export interface WaitLimits {
  /** The longest wait in all (default GIVE_UP_MS; 0: no wait). */
  totalMs?: number;
  /** The longest wait with no descriptor of ours released meanwhile (default: no limit). */
  idleMs?: number;
}

function waitLimit(): number {
  const text = process.env.ATOMICWRITER_EMFILE_WAIT_MS;
  const value = text === undefined ? NaN : Number(text);
  return Number.isFinite(value) && value >= 0 ? value : 60_000;
}

interface Waiter {
  attempt: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  since: number;
  totalMs: number;
  idleMs: number;
}

const queue: Waiter[] = [];
// Set while an operation runs under this retry: an open nested in it (updateJson's
// lock, read and write) fails through to the outer retry instead of queueing behind
// its own caller, which would wait forever.
const nested = new AsyncLocalStorage<boolean>();
// Attempts launched from the queue and not settled yet, and how many may run at once:
// the window grows by one with every success and shrinks to what is running when an
// attempt finds no descriptor, so the queue neither runs one operation at a time
// (each may include a fsync) nor retries all of them on every release.
let running = 0;
let window = 1;
const MAX_WINDOW = 1024;
let timer: NodeJS.Timeout | undefined;
// When one of ours last gave descriptors back or got one: progress for `idleMs`.
let lastProgress = 0;

export function isFdExhausted(err: unknown): boolean {
  const code = (err as NodeStyleError | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

function explain(err: unknown, waited: number): unknown {
  const error = err as NodeStyleError;
  if (error && typeof error.message === 'string' && !error.message.includes('waited')) {
    error.message = `${error.message}; atomicwriter waited ${waited} ms for descriptors to be released and none were`;
  }
  return err;
}

/** Polls while the queue is stuck: descriptors freed by other code wake nobody. */
function schedule(): void {
  if (queue.length === 0 || timer !== undefined) return;
  timer = setTimeout(() => {
    timer = undefined;
    window = Math.max(window, running + 1);
    pump();
  }, POLL_MS);
}

function launch(waiter: Waiter): void {
  running++;
  let attempt: Promise<unknown>;
  try {
    attempt = Promise.resolve(nested.run(true, waiter.attempt));
  } catch (err) {
    attempt = Promise.reject(err);
  }
  attempt.then(
    (value) => {
      running--;
      lastProgress = Date.now();
      window = Math.min(window + 1, MAX_WINDOW);
      waiter.resolve(value);
      pump();
    },
    (caught: unknown) => {
      running--;
      const err = caught;
      const now = Date.now();
      const waited = now - waiter.since;
      const idle = now - Math.max(waiter.since, lastProgress);
      if (isFdExhausted(err) && waited < waiter.totalMs && idle < waiter.idleMs) {
        // Back to the head; the next release, settle or poll tries again (not now:
        // nothing was freed since this attempt failed).
        queue.unshift(waiter);
        window = Math.max(1, running);
        schedule();
        return;
      }
      waiter.reject(isFdExhausted(err) ? explain(err, waited) : err);
      pump();
    },
  );
}

function pump(): void {
  while (queue.length > 0 && running < window) launch(queue.shift() as Waiter);
  schedule();
}

let releasedPending = false;

/**
 * Descriptors of ours were closed: one more queued operation may try now. Deferred to
 * the next turn of the event loop, so a chain of quick failures and releases cannot
 * keep the microtask queue busy forever.
 */
export function fdReleased(): void {
  if (queue.length === 0) return;
  lastProgress = Date.now();
  if (releasedPending) return;
  releasedPending = true;
  setImmediate(() => {
    releasedPending = false;
    window = Math.max(window, running + 1);
    pump();
  });
}

/**
 * Runs `open` (something that opens descriptors and creates nothing when it fails);
 * on EMFILE/ENFILE, queues it and tries again as described above, within `limits`.
 */
export function retryOnFdExhaustion<T>(open: () => Promise<T>, limits: WaitLimits = {}): Promise<T> {
  const totalMs = Math.min(limits.totalMs ?? GIVE_UP_MS, GIVE_UP_MS);
  const idleMs = limits.idleMs ?? Infinity;
  // With others already waiting, join the line: a newcomer must not take the
  // descriptor the head is waiting for.
  if (nested.getStore() === true) return open();
  let first: Promise<T>;
  try {
    first = queue.length > 0 ? Promise.reject(Object.assign(new Error('queued'), { code: 'EMFILE' })) : Promise.resolve(nested.run(true, open));
  } catch (err) {
    first = Promise.reject(err);
  }
  return first.catch((caught: unknown) => {
    const err = caught;
    if (!isFdExhausted(err)) throw err;
    // A newcomer that may not wait at all still tries once: descriptors may be free.
    if (totalMs <= 0) return nested.run(true, open);
    return new Promise<T>((resolve, reject) => {
      queue.push({ attempt: open, resolve: resolve as (value: unknown) => void, reject, since: Date.now(), totalMs, idleMs });
      pump();
    });
  });
}
