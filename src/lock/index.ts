// Cross-process locks on a sidecar lock file (the OS side is crates/core/src/lock.rs).
// An uncontested lock is taken right here on the JS thread (open + one non-blocking
// fcntl); only a contended wait goes to the core's threads, where the kernel wakes it
// when the holder releases. Bad arguments throw synchronously, as everywhere in this
// package; everything that touches the disk settles the promise.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { LockHandle, LockRequest } from '../../native/binding';
import { abortError, invalidArgType, outOfRange, type NodeStyleError } from '../binding/errors';
import { native, type NativeWriteOptions } from '../binding/native';
import { checkPath, type PathLike } from '../args/target';
import { fdReleased, HANDED_OUT_IDLE_MS, retryOnFdExhaustion } from '../binding/fd-wait';
import { checkOptionNames } from '../file/options';
import { parseBoolean, parseInteger } from '../args/validate';

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');

export interface LockRange {
  /** First byte (default 0). */
  offset?: number;
  /** Number of bytes; omitted or `Infinity`: up to the end of the file, however far it grows. */
  length?: number;
}

export interface LockOptions {
  /** Milliseconds to wait for a held lock (default 30,000); `0` tries once; `Infinity` waits forever. */
  timeout?: number;
  /** A shared (read) lock: shared locks coexist, an exclusive one excludes all others. */
  shared?: boolean;
  /** Lock only these bytes of the lock file; ranges that do not overlap do not conflict. */
  range?: LockRange;
  /** Aborting ends the wait; the promise rejects with an `AbortError` and no lock is held. */
  signal?: AbortSignal;
  /** Create missing parent directories of the lock file (default `false`). */
  mkdir?: boolean;
}

export type LockErrorCode = 'ELOCKED' | 'ETIMEDOUT' | 'EDEADLK';

/** The lock is held by someone else (`ELOCKED`), or this async context holds it already (`EDEADLK`). */
export class FileLockError extends Error {
  code: LockErrorCode;
  /** The lock file. */
  path: string;
  /** Processes found holding the lock; empty when the OS does not tell. */
  pids: number[];

  constructor(message: string, code: LockErrorCode, path: string, pids: number[] = []) {
    super(message);
    this.name = 'FileLockError';
    this.code = code;
    this.path = path;
    this.pids = pids;
  }
}

/** The wait for a lock reached its `timeout` (`ETIMEDOUT`). */
export class FileLockTimeoutError extends FileLockError {
  declare code: 'ETIMEDOUT';
  /** The timeout that elapsed, in ms. */
  timeout: number;

  constructor(message: string, path: string, timeout: number, pids: number[] = []) {
    super(message, 'ETIMEDOUT', path, pids);
    this.name = 'FileLockTimeoutError';
    this.timeout = timeout;
  }
}

interface Request {
  timeout: number;
  shared: boolean;
  offset: number;
  /** 0: to the end of the file. */
  length: number;
  signal: AbortSignal | undefined;
  mkdir: boolean;
}

/** Validates a lock timeout: a number of ms >= 0, `Infinity` allowed. */
export function checkTimeout(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number (milliseconds)', value);
  if (Number.isNaN(value) || value < 0) throw outOfRange(name, '>= 0 (milliseconds; Infinity waits forever)', value);
  return value;
}

function checkOffset(value: unknown, name: string, fallback: number, min: number): number {
  return parseInteger(value, name, fallback, min);
}

function parseOptions(options: unknown, defaults: { timeout: number; mkdir?: boolean }): Request {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  checkOptionNames(options, ['timeout', 'shared', 'range', 'signal', 'mkdir'], []);
  const o = options as LockOptions;
  let offset = 0;
  let length = 0;
  if (o.range !== undefined && o.range !== null) {
    if (typeof o.range !== 'object') throw invalidArgType('options.range', 'an object { offset, length }', o.range);
    offset = checkOffset(o.range.offset, 'options.range.offset', 0, 0);
    length = o.range.length === Infinity ? 0 : checkOffset(o.range.length, 'options.range.length', 0, 1);
    if (offset + length > Number.MAX_SAFE_INTEGER) throw outOfRange('options.range', `to end at most at byte ${Number.MAX_SAFE_INTEGER}`, offset + length);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  return {
    timeout: checkTimeout(o.timeout, 'options.timeout', defaults.timeout),
    shared: parseBoolean(o.shared, 'options.shared', false),
    offset,
    length,
    signal: o.signal,
    mkdir: parseBoolean(o.mkdir, 'options.mkdir', defaults.mkdir ?? false),
  };
}

// Held locks stay reachable until released: a lock must not vanish with a GC.
const held = new Set<FileLock>();
const handles = new WeakMap<FileLock, LockHandle>();

/**
 * A new descriptor that shares `lock` (OFD and flock locks belong to the open file
 * description), for a child process to inherit, as flock(1) hands its lock to the
 * command; `undefined` where the OS lock cannot be shared that way. The caller closes it.
 * @internal the CLI's `lock` command
 */
export function inheritableFd(lock: FileLock): number | undefined {
  const handle = handles.get(lock);
  if (!handle) return undefined;
  const fd = handle.inheritableFd();
  return fd >= 0 ? fd : undefined;
}

/** A held lock. `release()` (or disposing it) gives it back; the lock file stays. */
export class FileLock {
  /** The lock file. */
  readonly path: string | Buffer;
  readonly shared: boolean;
  /** The locked bytes (`length: Infinity`: to the end), or `null` for the whole file. */
  readonly range: { offset: number; length: number } | null;
  #released = false;

  /** @internal use `lock`, `tryLock` or `withLock` */
  constructor(path: string | Buffer, handle: LockHandle, request: Request) {
    this.path = path;
    this.shared = request.shared;
    this.range = request.offset === 0 && request.length === 0 ? null : { offset: request.offset, length: request.length === 0 ? Infinity : request.length };
    handles.set(this, handle);
    held.add(this);
  }

  get released(): boolean {
    return this.#released;
  }

  /** Releases the lock. Idempotent; synchronous (one fcntl and one close). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    held.delete(this);
    const handle = handles.get(this);
    handles.delete(this);
    try {
      handle?.release();
    } finally {
      fdReleased();
    }
  }

  [dispose](): void {
    this.release();
  }

  async [asyncDispose](): Promise<void> {
    this.release();
  }
}

/**
 * Writes through the core while `lock` is held and releases it as soon as the new
 * content is published, before the directory sync the promise still waits for.
 * @internal for updateJson
 */
export async function writeAndRelease(lock: FileLock, target: string | Buffer, bytes: Buffer, options: NativeWriteOptions): Promise<void> {
  const handle = handles.get(lock);
  if (!handle || lock.released) throw new Error('the lock was released before the write');
  try {
    await handle.writeAndRelease(target, bytes, options);
  } finally {
    lock.release();
  }
}

// Re-entrancy: withLock/updateJson run their callback in a context that remembers the
// locks it holds. A request from inside that context for a lock it holds (and that
// conflicts) can never be granted, so it fails at once instead of at the timeout.
// Other async callers in this process are not in that context: they wait normally.
interface HeldEntry {
  key: string;
  lock: FileLock;
  shared: boolean;
  offset: number;
  length: number;
}

let heldContext: AsyncLocalStorage<HeldEntry[]> | undefined;
// On Node < 24 an AsyncLocalStorage in use slows every promise in the process (it
// turns on promise hooks). So the context is switched on only while callbacks hold
// locks, and off again after a second with none: a program that updates a file now
// and then pays nothing in between. Off, it sees no held locks, which is true then.
let activeCallbacks = 0;
let idleTimer: NodeJS.Timeout | undefined;
const IDLE_MS = 1000;

function overlaps(a: { offset: number; length: number }, b: { offset: number; length: number }): boolean {
  const aEnd = a.length === 0 ? Infinity : a.offset + a.length;
  const bEnd = b.length === 0 ? Infinity : b.offset + b.length;
  return a.offset < bEnd && b.offset < aEnd;
}

function heldHere(key: string, request: Request): HeldEntry | undefined {
  return heldContext?.getStore()?.find(
    (e) => !e.lock.released && e.key === key && (!e.shared || !request.shared) && overlaps(e, request),
  );
}

function disableIfIdle(): void {
  idleTimer = undefined;
  if (activeCallbacks === 0) heldContext?.disable();
}

/** Runs `fn` in a context that knows it holds `lock`, until `fn` settles. @internal */
export async function runHolding<T>(lock: FileLock, fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
  const handle = handles.get(lock);
  if (!handle) return await fn();
  heldContext ??= new AsyncLocalStorage<HeldEntry[]>();
  const entry: HeldEntry = {
    key: handle.key,
    lock,
    shared: lock.shared,
    offset: lock.range?.offset ?? 0,
    length: lock.range === null || lock.range.length === Infinity ? 0 : lock.range.length,
  };
  activeCallbacks++;
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  try {
    return await heldContext.run([...(heldContext.getStore() ?? []), entry], fn);
  } finally {
    if (--activeCallbacks === 0) {
      idleTimer = setTimeout(disableIfIdle, IDLE_MS);
      idleTimer.unref();
    }
  }
}

function display(path: string | Buffer): string {
  return path.toString();
}

function describeHolder(handle: LockHandle): { text: string; pids: number[] } {
  let holder: ReturnType<LockHandle['holder']> = null;
  try {
    holder = handle.holder();
  } catch {
    // Only wording an error: not knowing the holder is fine.
  }
  if (!holder) return { text: 'held by another lock (the holder could not be identified)', pids: [] };
  const kind = holder.shared ? 'a shared lock' : 'an exclusive lock';
  if (holder.pids.length === 0) {
    // OFD locks belong to an open file, not a process: F_OFD_GETLK reports pid -1.
    return { text: `held by ${kind} of pid unknown (open-file-description locks report pid -1 and no process could be matched)`, pids: [] };
  }
  const self = holder.pids.includes(process.pid) ? ' (this process, through another handle)' : '';
  const who = holder.pids.length === 1 ? `pid ${holder.pids[0]}` : `pids ${holder.pids.join(', ')}`;
  return { text: `held by ${kind} of ${who}${self}`, pids: holder.pids };
}

function lockAbortError(path: string | Buffer, signal: AbortSignal): Error {
  return abortError(signal, `The wait for the lock on '${display(path)}' was aborted; no lock is held`);
}

function openHandle(path: string | Buffer, request: Request): LockHandle {
  const nativeRequest: LockRequest = { shared: request.shared, offset: request.offset, length: request.length, mkdir: request.mkdir };
  return native().openLock(path, nativeRequest);
}

function closeQuietly(handle: LockHandle): void {
  try {
    handle.release();
  } catch {
    // Nothing was held.
  }
}

// Waiters in this process queue up per lock (same file, mode and range), and only the
// first of them waits in the kernel. That keeps one core thread per contended lock
// instead of one per caller: a server with hundreds of callers queued on one file must
// not fill the core's pool with blocked waits while the holder needs a thread to
// write. It also makes waiters in one process first come, first served.
const queues = new Map<string, (() => void)[]>();

function enqueue(queueKey: string): { ready: Promise<void>; leave: () => void } {
  let queue = queues.get(queueKey);
  if (!queue) queues.set(queueKey, (queue = []));
  let wake!: () => void;
  const ready = new Promise<void>((resolve) => (wake = resolve));
  queue.push(wake);
  if (queue.length === 1) wake();
  const mine = queue;
  const leave = (): void => {
    const at = mine.indexOf(wake);
    if (at < 0) return;
    mine.splice(at, 1);
    if (at === 0 && mine.length > 0) mine[0]!();
    if (mine.length === 0 && queues.get(queueKey) === mine) queues.delete(queueKey);
  };
  return { ready, leave };
}

/** Resolves when `ready` does; rejects with 'timeout' or 'abort' first if they come first. */
function untilTurn(ready: Promise<void>, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    // setTimeout takes at most 2^31 - 1 ms: longer deadlines re-arm.
    const arm = (): void => {
      const left = deadline - performance.now();
      if (left <= 0) finish(() => reject('timeout'));
      else if (left !== Infinity) timer = setTimeout(arm, Math.min(left, 0x7fffffff));
    };
    const onAbort = (): void => finish(() => reject('abort'));
    function finish(settle: () => void): void {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
    void ready.then(() => finish(resolve));
  });
}

function timeoutError(handle: LockHandle, path: string | Buffer, request: Request): FileLockTimeoutError {
  const holder = describeHolder(handle);
  const mode = request.shared ? 'shared' : 'exclusive';
  return new FileLockTimeoutError(
    `Timed out after ${request.timeout} ms waiting for the ${mode} lock on '${display(path)}', ${holder.text}. ` +
      'Raise `timeout`, or find out why the holder keeps it.',
    display(path),
    request.timeout,
    holder.pids,
  );
}

/** `wait`: until the lock is free (or the timeout); `try`: `null` at once when it is busy. */
type Acquire = 'wait' | 'try';

/** Takes the lock, waiting or not as `how` says. */
async function acquire(path: string | Buffer, request: Request, how: Acquire): Promise<FileLock | null> {
  const start = performance.now();
  const { signal } = request;
  if (signal?.aborted) throw lockAbortError(path, signal);
  // Uncontested: open and lock in one native call, on this thread.
  // Out of descriptors: wait for some (see binding/fd-wait.ts), not long without progress (the
  // caller holds the lock, and its descriptor, as long as it likes) and never beyond
  // the lock's timeout.
  const fdWait = { totalMs: Math.max(0, start + request.timeout - performance.now()), idleMs: HANDED_OUT_IDLE_MS };
  const now = await retryOnFdExhaustion(async () => native().lockNow(path, request.shared, request.offset, request.length, request.mkdir), fdWait);
  if (now) return new FileLock(path, now, request);
  if (how === 'try') return null;
  const handle = openHandle(path, request);
  try {
    // It may have been released in between.
    if (!handle.tryLock()) await waitFor(handle, path, request, start);
  } catch (err) {
    closeQuietly(handle);
    throw err;
  }
  return new FileLock(path, handle, request);
}

async function waitFor(handle: LockHandle, path: string | Buffer, request: Request, start: number): Promise<void> {
  const { signal } = request;
  const key = handle.key;
  if (heldHere(key, request)) {
    const mode = request.shared ? 'shared' : 'exclusive';
    throw new FileLockError(
      `The ${mode} lock on '${display(path)}' is already held by this async context (inside withLock/updateJson on the same lock file); ` +
        'waiting for it would wait for itself. Use the lock already held, or make this call outside the callback.',
      'EDEADLK',
      display(path),
      [process.pid],
    );
  }
  if (request.timeout === 0) {
    const holder = describeHolder(handle);
    throw new FileLockError(
      `Lock file '${display(path)}' is busy: ${holder.text}. \`timeout: 0\` tries once; pass a timeout (ms) to wait for it.`,
      'ELOCKED',
      display(path),
      holder.pids,
    );
  }
  const deadline = start + request.timeout;
  const turn = enqueue(`${key}|${request.shared}|${request.offset}|${request.length}`);
  try {
    try {
      await untilTurn(turn.ready, deadline, signal);
    } catch (reason) {
      if (reason === 'abort' && signal) throw lockAbortError(path, signal);
      throw timeoutError(handle, path, request);
    }
    if (signal?.aborted) throw lockAbortError(path, signal);
    // First in line: the previous one may have come and gone already.
    if (handle.tryLock()) return;
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw timeoutError(handle, path, request);
    const onAbort = (): void => handle.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await handle.wait(remaining === Infinity ? -1 : remaining);
    } catch (err) {
      const error = err as NodeStyleError;
      if (error.code === 'ETIMEDOUT') throw timeoutError(handle, path, request);
      if (error.code === 'ECANCELED' && signal) throw lockAbortError(path, signal);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    turn.leave();
  }
}

/** Options of `lock` as updateJson takes them. @internal */
export function lockRequest(timeout: number, signal: AbortSignal | undefined, mkdir: boolean): Request {
  return { timeout, shared: false, offset: 0, length: 0, signal, mkdir };
}

/** @internal */
export async function acquireWith(path: string | Buffer, request: Request): Promise<FileLock> {
  return (await acquire(path, request, 'wait')) as FileLock;
}

/**
 * Takes a lock on `path` (a lock file, created if missing and never deleted): exclusive
 * by default, shared with `shared: true`, on byte ranges with `range`. Waits up to
 * `timeout` ms (default 30,000) when it is held.
 */
export function lock(path: PathLike, options?: LockOptions): Promise<FileLock> {
  const request = parseOptions(options, { timeout: 30_000 });
  return acquire(checkPath(path), request, 'wait') as Promise<FileLock>;
}

/** Takes the lock if it is free right now; resolves to `null` when it is held. */
export function tryLock(path: PathLike, options?: LockOptions): Promise<FileLock | null> {
  const request = parseOptions(options, { timeout: 0 });
  return acquire(checkPath(path), request, 'try');
}

/** Runs `fn` holding the lock and releases it when `fn` settles, on return and on throw. */
export function withLock<T>(path: PathLike, fn: (lock: FileLock) => T | PromiseLike<T>, options?: LockOptions): Promise<Awaited<T>> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  const request = parseOptions(options, { timeout: 30_000 });
  return holdWhile(checkPath(path), request, fn);
}

async function holdWhile<T>(path: string | Buffer, request: Request, fn: (lock: FileLock) => T | PromiseLike<T>): Promise<Awaited<T>> {
  const held = (await acquire(path, request, 'wait')) as FileLock;
  try {
    return await runHolding(held, () => fn(held));
  } finally {
    held.release();
  }
}
