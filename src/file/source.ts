// Streamed content: a Node Readable, a web ReadableStream, an AsyncIterable or an
// Iterable of chunks is consumed into the staged temp of an AtomicFile piece by
// piece, never buffered whole, so a 10 GiB generator needs a few MiB of memory.
// Small chunks are copied into 1 MiB buffers (the core sees few, large writes);
// one buffer is in flight while the next fills, and the source is not read further
// until there is room: back-pressure comes from awaiting the native writes.

import { abortError, invalidArgType } from '../binding/errors';
import { openStaged, withStagedFile, type AtomicFile } from './atomic-file';
import type { ResolvedOptions } from './options';
import { progressReporter, type ProgressOptions } from './progress';

export type Chunk = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** Anything `isStreamSource` accepts. */
export type StreamSource = NodeJS.ReadableStream | ReadableStream<unknown> | AsyncIterable<unknown> | Iterable<unknown>;

export interface SourceOptions extends ProgressOptions {
  signal?: AbortSignal;
  /** Encoding of string chunks (default `utf8`). */
  encoding?: BufferEncoding;
}

const CHUNK = 1 << 20;
/** Large buffers are handed to the core in slices of this size, so progress can be reported. */
const SLICE = 16 << 20;

function noop(): void {}

/**
 * True for stream-like data: a Readable, a web ReadableStream, an AsyncIterable, or an
 * Iterable of chunks. Strings, buffers and typed arrays are not; an array is when it
 * is empty or starts with a chunk (not an array of numbers, nor of records, which
 * are for formats). `arrays: false` keeps every array out (write-file-atomic writes
 * `String(array)`).
 */
export function isStreamSource(x: unknown, { arrays = true }: { arrays?: boolean } = {}): x is StreamSource {
  if (x === null || typeof x !== 'object') return false;
  if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer || x instanceof SharedArrayBuffer || x instanceof String) return false;
  if (Symbol.asyncIterator in x || typeof (x as ReadableStream).getReader === 'function') return true;
  if (!(Symbol.iterator in x)) return false;
  if (Array.isArray(x)) return arrays && (x.length === 0 || isChunk(x[0]));
  return true;
}

function isChunk(x: unknown): boolean {
  return typeof x === 'string' || ArrayBuffer.isView(x) || x instanceof ArrayBuffer || x instanceof SharedArrayBuffer;
}

function toChunk(chunk: unknown, encoding: BufferEncoding): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding);
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer) return Buffer.from(chunk);
  throw invalidArgType('chunk', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', chunk);
}

export type AnyIterator = AsyncIterator<unknown> | Iterator<unknown>;

/**
 * Stops a source that will not be read further. A Readable is destroyed directly: its
 * async iterator cannot return while a read is pending, and a stalled source would
 * otherwise stay open forever.
 */
export function stopper(source: StreamSource, iterator: AnyIterator): () => void {
  const readable = source as { destroy?: () => void };
  if (typeof readable.destroy === 'function') return () => readable.destroy?.();
  // Not awaited: a generator stuck in a pending `next()` would never return.
  return () => void Promise.resolve().then(() => iterator.return?.()).catch(noop);
}

function iteratorOf(source: StreamSource): AnyIterator {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  if (typeof (source as unknown as ReadableStream).getReader === 'function') {
    // A web stream without async iteration (another realm or a polyfill).
    const reader = (source as unknown as ReadableStream<unknown>).getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<unknown>>,
      return: async (value?: unknown) => {
        await reader.cancel();
        return { done: true, value };
      },
    };
  }
  if (Symbol.iterator in source) return (source as Iterable<unknown>)[Symbol.iterator]();
  throw invalidArgType('data', 'a Readable, ReadableStream, AsyncIterable or Iterable', source);
}

/**
 * Consumes `source` into `file` (not committed: the caller commits or aborts).
 * Resolves to the number of bytes written. A chunk of 1 MiB or more is written as it
 * is and awaited before the next is requested, so a producer may reuse its buffer.
 */
export async function writeSource(file: AtomicFile, source: StreamSource, options: SourceOptions = {}): Promise<number> {
  const { signal, encoding = 'utf8' } = options;
  if (signal?.aborted) throw abortError(signal);
  const report = progressReporter(options);
  const iterator = iteratorOf(source);
  const stop = stopper(source, iterator);
  let current = Buffer.allocUnsafe(CHUNK);
  let spare = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let written = 0;

  // Hands the filled buffer to the core; its twin is free once the write before settled.
  const send = async (): Promise<void> => {
    if (used === 0) return;
    await inFlight;
    inFlight = file.write(current.subarray(0, used));
    inFlight.catch(noop); // awaited later; the source may fail first
    [current, spare] = [spare, current];
    used = 0;
  };

  // A pending `next()` (a stalled source) must not outlive an abort. Each step gets a
  // promise of its own, which the abort listener rejects: racing every step against
  // one long-lived "aborted" promise would add a reaction to it per chunk, and each
  // reaction keeps that chunk alive until the write ends (1 GiB in, 1 GiB resident).
  let rejectStep: ((err: unknown) => void) | undefined;
  const onAbort = (): void => rejectStep?.(abortError(signal as AbortSignal));
  signal?.addEventListener('abort', onAbort, { once: true });
  const nextStep = (): Promise<IteratorResult<unknown>> | IteratorResult<unknown> => {
    const next = iterator.next();
    if (!signal) return next;
    return new Promise<IteratorResult<unknown>>((resolve, reject) => {
      rejectStep = reject;
      Promise.resolve(next).then(resolve, reject);
    });
  };

  let finished = false;
  try {
    for (;;) {
      const step = await nextStep();
      rejectStep = undefined;
      if (step.done) break;
      const bytes = toChunk(step.value, encoding);
      const n = bytes.byteLength;
      if (n >= CHUNK) {
        await send();
        await inFlight;
        await file.write(bytes);
      } else {
        for (let offset = 0; offset < n; ) {
          const take = Math.min(n - offset, CHUNK - used);
          bytes.copy(current, used, offset, offset + take);
          used += take;
          offset += take;
          if (used === CHUNK) await send();
        }
      }
      written += n;
      report(written, false);
      if (signal?.aborted) throw abortError(signal);
    }
    finished = true;
    await send();
    await inFlight;
    // The source may end because of what aborted us (Ctrl-C also ends the pipe that
    // feeds the CLI): an abort seen by now wins over the end of the input.
    if (signal?.aborted) throw abortError(signal);
    report(written, true);
    return written;
  } catch (err) {
    // An abort also fails the write in flight; report the abort, not its echo.
    if (signal?.aborted) throw abortError(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Stop the source (destroys a Readable, cancels a web stream, closes a generator).
    if (!finished) stop();
  }
}

/** Slices of a large buffer, so its write can report progress. */
export function* slices(bytes: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += SLICE) yield bytes.subarray(offset, offset + SLICE);
}

/**
 * The whole streamed write to an already resolved target: open, `tmpfileCreated`,
 * consume, commit; any failure removes the temp and leaves the target untouched.
 */
export async function writeStreamed(target: string | Buffer, source: StreamSource, resolved: ResolvedOptions, progress: ProgressOptions = {}): Promise<void> {
  if (resolved.signal?.aborted) throw abortError(resolved.signal);
  await withStagedFile(openStaged(target, resolved), async (file) => {
    await writeSource(file, source, { ...progress, signal: resolved.signal, encoding: resolved.encoding });
    if (resolved.signal?.aborted) throw abortError(resolved.signal);
    await file.commit();
  });
}
