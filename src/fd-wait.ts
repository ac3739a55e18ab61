// Out of file descriptors (EMFILE/ENFILE): wait for some, in order, rather than fail.
//
// 10,000 writes started at once would each open a temp and a directory; with a low
// `ulimit -n` most would fail with EMFILE although every one of them could have run a
// moment later. An open that fails with EMFILE has created nothing, so it is safe to
// try again: the caller joins a FIFO queue, and the queue's head tries again whenever
// one of our writes or locks gives its descriptors back (`fdReleased`), or every
// POLL_MS for descriptors freed by other code. A success lets the next one try at once.
// If the head has waited GIVE_UP_MS in vain (the descriptors are held by code that
// will not let go, or by writes that wait for each other), it fails with EMFILE and
// a message that says so; so do the ones behind it, each after one more try.
//
// Only opens wait here; the blocking is in JS promises, never on the core's threads,
// which must stay free to finish the writes that will release descriptors.

import { AsyncLocalStorage } from 'node:async_hooks';
import { toNodeError, type NodeStyleError } from './errors';

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
let draining = false;
let wakeAgain = false;
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

function schedule(): void {
  if (queue.length === 0 || timer !== undefined) return;
  timer = setTimeout(() => {
    timer = undefined;
    void drain();
  }, POLL_MS);
}

async function drain(): Promise<void> {
  if (draining) {
    wakeAgain = true;
    return;
  }
  draining = true;
  try {
    do {
      wakeAgain = false;
      while (queue.length > 0) {
        const head = queue[0] as Waiter;
        try {
          const value = await nested.run(true, head.attempt);
          queue.shift();
          head.resolve(value);
        } catch (caught) {
          const err = toNodeError(caught);
          const waited = Date.now() - head.since;
          if (isFdExhausted(err) && waited < GIVE_UP_MS) break;
          queue.shift();
          head.reject(isFdExhausted(err) ? explain(err, waited) : err);
        }
      }
    } while (wakeAgain && queue.length > 0);
  } finally {
    draining = false;
    schedule();
  }
}

/** Descriptors of ours were closed: the head of the queue may try again now. */
export function fdReleased(): void {
  if (queue.length > 0) void drain();
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
    const err = toNodeError(caught);
    if (!isFdExhausted(err)) throw err;
    return new Promise<T>((resolve, reject) => {
      queue.push({ attempt: open, resolve: resolve as (value: unknown) => void, reject, since: Date.now() });
      schedule();
    });
  });
}
