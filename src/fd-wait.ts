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
// Only opens are retried; the waiting is in JS promises, never on the core's threads,
// which must stay free to finish the writes that will release descriptors.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { NodeStyleError } from './errors';

const POLL_MS = 50;
const GIVE_UP_MS = waitLimit();

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
      window = Math.min(window + 1, MAX_WINDOW);
      waiter.resolve(value);
      pump();
    },
    (caught: unknown) => {
      running--;
      const err = caught;
      const waited = Date.now() - waiter.since;
      if (isFdExhausted(err) && waited < GIVE_UP_MS) {
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
  if (queue.length === 0 || releasedPending) return;
  releasedPending = true;
  setImmediate(() => {
    releasedPending = false;
    window = Math.max(window, running + 1);
    pump();
  });
}

/**
 * Runs `open` (something that opens descriptors and creates nothing when it fails);
 * on EMFILE/ENFILE, queues it and tries again as described above.
 */
export function retryOnFdExhaustion<T>(open: () => Promise<T>): Promise<T> {
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
    return new Promise<T>((resolve, reject) => {
      queue.push({ attempt: open, resolve: resolve as (value: unknown) => void, reject, since: Date.now() });
      pump();
    });
  });
}
