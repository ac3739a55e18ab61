// createWriteStream: a Writable whose bytes go to the staged temp of an AtomicFile.
// `end()` syncs and publishes before 'finish' is emitted (then 'close'), so a
// 'finish' listener sees the new file in place and durable; `committed` is the same
// moment as a promise. `destroy(err)`, an upstream error in `pipeline`, or an aborted
// `signal` removes the temp and leaves the old file untouched.

import { Writable } from 'node:stream';
import type { AtomicFile } from './atomic-file';
import { openStaged } from './atomic-file';
import { abortError } from '../binding/errors';
import { parseInteger } from '../args/validate';
import { resolveOptions, type WriteOptions } from './options';
import { progressOptions, progressReporter, type ProgressOptions, type Report } from './progress';
import { checkPath, resolveTarget, targetKey, type PathLike } from '../args/target';
import { takePlace, type Place } from './queue';

export interface WriteStreamOptions extends WriteOptions, ProgressOptions {
  /** Bytes buffered before `write()` returns false (default 1 MiB: the core sees large writes). */
  highWaterMark?: number;
}

const DEFAULT_HIGH_WATER_MARK = 1 << 20;

function noop(): void {}

/** @internal What a stream needs from its owner: how to open its file, and a last look before the commit. */
export interface StreamTarget {
  path: string | Buffer;
  open: () => Promise<AtomicFile>;
  beforeCommit?: (file: AtomicFile) => Promise<void>;
  /** The stream's place in its file's order, taken when end() is called (see queue.ts). */
  place?: (file: AtomicFile | undefined) => Place | undefined;
  /** Runs after the commit, before 'finish' (an s3:// stream uploads its staged file here). */
  afterCommit?: () => Promise<void>;
  signal?: AbortSignal;
  highWaterMark?: number;
  encoding?: BufferEncoding;
  progress?: ProgressOptions;
}

export class AtomicWriteStream extends Writable {
  /** The file the stream replaces when it finishes. */
  readonly path: string | Buffer;
  /** Bytes handed to the file so far. */
  bytesWritten = 0;
  /** Resolves once the file is published and durable; rejects if the stream failed or was destroyed first. */
  readonly committed: Promise<void>;
  #target: StreamTarget;
  #file: AtomicFile | undefined;
  #commit: Promise<void> | undefined;
  #settle!: (err?: Error | null) => void;
  #place: Place | undefined;
  #report: Report;

  /** @internal use `createWriteStream` */
  constructor(target: StreamTarget) {
    // The signal is not given to Writable: with an aborted one it would destroy the
    // stream inside `super()`, before this class's fields exist (and with Node's own
    // AbortError, not the library's).
    super({
      highWaterMark: target.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      defaultEncoding: target.encoding ?? 'utf8',
    });
    this.path = target.path;
    this.#target = target;
    this.#report = progressReporter(target.progress);
    this.committed = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.#settle = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
    // Callers that only listen for events must not get an unhandled rejection.
    this.committed.catch(noop);
    // Not Writable's own `signal` option: that destroys a pre-aborted stream inside
    // super(), before this class's fields exist, and with Node's message, not ours.
    const { signal } = target;
    if (signal) {
      const onAbort = (): void => {
        this.destroy(abortError(signal));
      };
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  override _construct(callback: (err?: Error | null) => void): void {
    // Destroyed before it was constructed (an aborted signal): open nothing.
    if (this.destroyed) {
      callback();
      return;
    }
    this.#target.open().then((file) => {
      this.#file = file;
      callback();
      this.emit('ready');
    }, callback);
  }

  // end() is the stream's call in its file's order: it publishes after the writes to
  // that file called before it, before those called after (even if its last chunks
  // are still on their way to the temp).
  override end(...args: unknown[]): this {
    if (!this.#place && !this.destroyed && !this.writableEnded) this.#place = this.#target.place?.(this.#file);
    return (Writable.prototype.end as (...a: unknown[]) => this).apply(this, args);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  // Chunks queued while a write was in flight go to the core as one buffer.
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  #send(bytes: Buffer, callback: (err?: Error | null) => void): void {
    (this.#file as AtomicFile).write(bytes).then(() => {
      this.bytesWritten += bytes.byteLength;
      this.#progress(false);
      callback();
    }, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const file = this.#file as AtomicFile;
    this.#commit = (async () => {
      await this.#target.beforeCommit?.(file);
      await (this.#place ? file.commitAt(this.#place) : file.commit());
      await this.#target.afterCommit?.();
    })();
    this.#commit.then(
      () => {
        this.#progress(true);
        this.#settle();
        callback();
      },
      (err: Error) => {
        // A failure before the commit started (beforeCommit) leaves the file open:
        // remove the temp now (a no-op once a commit has begun).
        file.abort();
        this.#place?.leave();
        this.#settle(err);
        callback(err);
      },
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Destroyed before its commit: the file's next writes need not wait for it.
    if (!this.#commit) this.#place?.leave();
    if (this.#commit) {
      // The publish cannot be called back once started: report how it ended.
      this.#commit.then(() => callback(err), () => callback(err));
      return;
    }
    this.#file?.abort();
    this.#settle(err ?? destroyedError());
    callback(err);
  }

  #progress(final: boolean): void {
    this.#report(this.bytesWritten, final);
  }
}

function destroyedError(): Error {
  const error = new Error('The stream was destroyed before it finished; nothing was published') as Error & { code: string };
  error.code = 'ERR_STREAM_DESTROYED';
  return error;
}

export function parseHighWaterMark(value: unknown): number | undefined {
  return parseInteger(value, 'options.highWaterMark', undefined, 1);
}

/**
 * A Writable into a staged temp beside `path`; `end()` publishes it atomically and
 * durably. Options are those of `writeFile` plus `highWaterMark` and `onProgress`.
 */
export function createWriteStream(path: PathLike, options?: WriteStreamOptions | BufferEncoding): AtomicWriteStream {
  const resolved = resolveOptions(options, { mkdir: false, known: ['highWaterMark', 'onProgress', 'totalBytes'] });
  const given = checkPath(path);
  const progress = progressOptions(options);
  const highWaterMark = parseHighWaterMark((options as WriteStreamOptions | undefined)?.highWaterMark);
  const { signal } = resolved;
  // The stream owns the signal (it destroys itself, which aborts the file).
  const fileOptions = { ...resolved, signal: undefined };
  return new AtomicWriteStream({
    path: given,
    signal,
    highWaterMark,
    encoding: resolved.encoding,
    progress,
    // Resolving the target reads the disk (symlinks): its errors are the stream's.
    open: async () => openStaged(resolveTarget(given), fileOptions),
    place: (file) => {
      try {
        return takePlace(targetKey(file ? file.path : resolveTarget(given)));
      } catch {
        return undefined; // the target cannot be resolved: opening it fails too, and the stream with it
      }
    },
  });
}
