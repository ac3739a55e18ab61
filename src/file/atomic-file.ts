// An open atomic write for content produced piece by piece: `openAtomic` gives an
// AtomicFile whose writes go to the temp; `commit()` publishes, `abort()` (or
// disposing it uncommitted) removes the temp. `atomicWrite` hands the temp's path to
// code that can only write to a path.

import { abortError, invalidArgType, throwIfAborted } from '../binding/errors';
import { toBuffer, type BufferData } from '../args/bytes';
import { native, type NativeHandle } from '../binding/native';
import { resolveOptions, type ResolvedOptions, type WriteOptions } from './options';
import { checkPath, resolveTarget, targetKey, withTarget, type PathLike } from '../args/target';
import { fdReleased, HANDED_OUT_IDLE_MS, retryOnFdExhaustion, type WaitLimits } from '../binding/fd-wait';
import { superseded, supersedePending, takePlace, type Place, type Ticket } from './queue';
import { removeTempsOnExit } from './temp-cleanup';

const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');

type State = 'open' | 'committing' | 'committed' | 'aborted';

// Files the caller opened (openAtomic, openAtomicSync): their commit() is the write's
// call in its file's order. The library's own writes open theirs inside their place
// (writeFile, write, datasets) or pass it to commitAt (streams, atomicWrite).
const openedByCaller = new WeakSet<AtomicFile>();

export class AtomicFile {
  /** The file that `commit()` replaces (symlinks resolved). */
  readonly path: string | Buffer;
  /** The temp's path, or `null` for an anonymous (`O_TMPFILE`) temp. */
  readonly tempPath: string | null;
  #handle: NativeHandle;
  #encoding: BufferEncoding;
  #signal: AbortSignal | undefined;
  #order: Ticket | undefined;
  #state: State = 'open';
  // Writes are applied in call order even when the caller does not await each one.
  #pending: Promise<void> = Promise.resolve();
  #onAbort = (): void => this.abort();

  /** @internal use `openAtomic` */
  constructor(path: string | Buffer, handle: NativeHandle, options: ResolvedOptions) {
    this.path = path;
    this.#handle = handle;
    const temp = handle.tempPath;
    this.tempPath = temp === null ? null : temp.toString();
    this.#encoding = options.encoding;
    this.#signal = options.signal;
    this.#order = options.order;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get state(): State {
    return this.#state;
  }

  write(data: BufferData, encoding?: BufferEncoding): Promise<void> {
    const bytes = toBuffer(data, encoding ?? this.#encoding);
    this.#checkOpen();
    const run = this.#pending.then(() => {
      this.#checkOpen();
      return this.#handle.write(bytes);
    });
    this.#pending = run.catch(() => {});
    return run;
  }

  writeSync(data: BufferData, encoding?: BufferEncoding): void {
    const bytes = toBuffer(data, encoding ?? this.#encoding);
    this.#checkOpen();
    this.#handle.writeSync(bytes);
  }

  /** Syncs and publishes. `external`: the temp was written through `tempPath`. */
  commit(external = false): Promise<void> {
    // Opened by a write of the library's, already in its place: publish now.
    if (!openedByCaller.has(this) || this.#order) return this.#publish(external);
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    // Otherwise this call is the write's place in its file's order (see queue.ts).
    return this.commitAt(takePlace(targetKey(this.path)), external);
  }

  /** @internal Publishes at `place` (taken by the caller when its write was called), then leaves it. */
  async commitAt(place: Place, external = false): Promise<void> {
    try {
      await place.turn;
      this.#order = place.ticket;
      await this.#publish(external);
    } finally {
      place.leave();
    }
  }

  async #publish(external: boolean): Promise<void> {
    this.#checkOpen();
    await this.#pending;
    this.#checkOpen();
    if (this.#order && superseded(this.#order)) {
      // A writeFileSync issued after this write has published: in call order this
      // content was replaced at once, so it is never put in place.
      this.#finish('committed');
      this.#handle.abort();
      return;
    }
    // Past this point the publish cannot be called back: abort() becomes a no-op.
    this.#state = 'committing';
    try {
      await (external ? this.#handle.commitExternal() : this.#handle.commit());
      this.#finish('committed');
    } catch (err) {
      this.#finish('aborted');
      this.#handle.abort();
      throw err;
    }
  }

  commitSync(external = false): void {
    this.#checkOpen();
    try {
      // Call order across sync and async calls: async writes to this file issued
      // before now are published first, or not at all (see queue.ts).
      supersedePending(targetKey(this.path), this.path);
      if (external) this.#handle.commitExternalSync();
      else this.#handle.commitSync();
      this.#finish('committed');
    } catch (err) {
      this.#finish('aborted');
      this.#handle.abort();
      throw err;
    }
  }

  /** @internal Computes a CRC32C of the bytes written from now on (call before the first write). */
  trackChecksum(): void {
    this.#checkOpen();
    this.#handle.trackChecksum();
  }

  /** @internal Bytes written and their CRC32C (`null` unless tracked); call before `commit`. */
  async digest(): Promise<{ bytes: number; crc32c: number | null }> {
    await this.#pending;
    this.#checkOpen();
    const { bytes, crc32c } = this.#handle.digest();
    return { bytes, crc32c: crc32c ?? null };
  }

  /** @internal The native handle, for encoders in the core that write to the temp themselves (parquet). */
  nativeHandle(): NativeHandle {
    this.#checkOpen();
    return this.#handle;
  }

  /** Removes the temp; the target is untouched. Idempotent; a no-op once commit() started. */
  abort(): void {
    if (this.#state !== 'open') return;
    this.#finish('aborted');
    this.#handle.abort();
  }

  async [asyncDispose](): Promise<void> {
    this.abort();
  }

  [dispose](): void {
    this.abort();
  }

  #finish(state: State): void {
    this.#state = state;
    fdReleased();
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  #checkOpen(): void {
    if (this.#signal?.aborted) {
      this.abort();
      throw abortError(this.#signal);
    }
    if (this.#state !== 'open') {
      const error = new Error(`This atomic file was already ${this.#state}`) as Error & { code: string };
      error.code = 'ERR_ATOMIC_FILE_CLOSED';
      throw error;
    }
  }
}

export interface OpenOptions extends WriteOptions {
  /** Give the temp a name (needed to hand its path to other code). */
  namedTemp?: boolean;
}

/** An open's arguments, checked; `mkdir` defaults to false, as in writeFile. */
function prepare(path: unknown, options: unknown) {
  const checked = checkPath(path);
  const resolved = resolveOptions(options, { mkdir: false, known: ['namedTemp'] });
  if ((options as OpenOptions | undefined)?.namedTemp) resolved.native.namedTemp = true;
  throwIfAborted(resolved.signal);
  return { checked, resolved };
}

export function openAtomicFrom(target: string | Buffer, resolved: ResolvedOptions, fdWait?: WaitLimits): Promise<AtomicFile> {
  removeTempsOnExit();
  return retryOnFdExhaustion(() => native().openAtomic(target, resolved.native), fdWait).then((handle) => new AtomicFile(target, handle, resolved));
}

/**
 * Opens the staged file and hands its path to `tmpfileCreated` (awaited), as every
 * whole-file write does; a throw there removes the temp.
 */
export async function openStaged(target: string | Buffer, resolved: ResolvedOptions): Promise<AtomicFile> {
  const file = await openAtomicFrom(target, resolved);
  try {
    if (resolved.tmpfileCreated) await resolved.tmpfileCreated(file.tempPath as string);
  } catch (err) {
    file.abort();
    throw err;
  }
  return file;
}

/**
 * The one shape of every write the library stages itself (writeFile, streamed sources,
 * write(), dataset parts): open the staged file, run `body`, which commits it; whatever
 * happens, the temp is removed afterwards (`abort()` after a commit does nothing).
 */
export async function withStagedFile<T>(open: Promise<AtomicFile>, body: (file: AtomicFile) => Promise<T>): Promise<T> {
  const file = await open;
  try {
    return await body(file);
  } finally {
    file.abort();
  }
}

export function openAtomic(path: PathLike, options?: OpenOptions): Promise<AtomicFile> {
  const { checked, resolved } = prepare(path, options);
  // The caller holds the file open as long as it likes: no long wait for descriptors.
  return withTarget(checked, (target) => openAtomicFrom(target, resolved, { idleMs: HANDED_OUT_IDLE_MS })).then((file) => {
    openedByCaller.add(file);
    return file;
  });
}

export function openAtomicSync(path: PathLike, options?: OpenOptions): AtomicFile {
  const { checked, resolved } = prepare(path, options);
  const target = resolveTarget(checked);
  removeTempsOnExit();
  const file = new AtomicFile(target, native().openAtomicSync(target, resolved.native), resolved);
  openedByCaller.add(file);
  return file;
}

/**
 * Runs `fn` with the path of a fresh temp beside `path`; when it resolves, whatever it
 * left at that path is synced and published. A throw (or rejection) removes the temp.
 */
export function atomicWrite<T>(path: PathLike, fn: (tmpPath: string) => T | Promise<T>, options?: WriteOptions): Promise<T> {
  // Not `async`: bad arguments throw here, before anything touches the disk.
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgType('options', 'an object', options);
  const { checked, resolved } = prepare(path, { ...options, namedTemp: true });
  return withTarget(checked, (target) => {
    // Its place in the file's order is taken now, when it is called; `fn` runs at once,
    // and the publish waits for the writes to this file called before it.
    const place = takePlace(targetKey(target));
    const opened = openAtomicFrom(target, resolved, { idleMs: HANDED_OUT_IDLE_MS });
    return runWithTemp(opened, fn, place);
  });
}

async function runWithTemp<T>(opened: Promise<AtomicFile>, fn: (tmpPath: string) => T | Promise<T>, place: Place): Promise<T> {
  let file: AtomicFile | undefined;
  try {
    file = await opened;
    const result = await fn(file.tempPath as string);
    await file.commitAt(place, true);
    return result;
  } finally {
    place.leave();
    file?.abort();
  }
}
