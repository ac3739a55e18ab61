// Whole-content writes: the write-file-atomic compatible function and the named
// `writeFile` / `writeFileSync`. One path through the core for each.

import { throwIfAborted } from '../binding/errors';
import { isBinary, toBuffer, toBufferLoose } from '../args/bytes';
import { openStaged, withStagedFile } from './atomic-file';
import { native } from '../binding/native';
import { fdReleased, isFdExhausted, retryOnFdExhaustion } from '../binding/fd-wait';
import { inFileOrder, superseded, supersedePending, ticket } from './queue';
import { looseOptions, resolveOptions, type ResolvedOptions, type WriteOptions } from './options';
import { checkPath, resolveTarget, targetKey, withTarget, type PathLike } from '../args/target';
import { removeTempsOnExit } from './temp-cleanup';
import { progressOptions, type ProgressOptions } from './progress';
import { isStreamSource, slices, writeStreamed, type StreamSource } from './source';

export type WriteData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer | null | undefined;

async function writeStaged(target: string | Buffer, bytes: Buffer, resolved: ResolvedOptions): Promise<void> {
  throwIfAborted(resolved.signal);
  await withStagedFile(openStaged(target, resolved), async (file) => {
    await file.write(bytes);
    await file.commit();
  });
}

// What writeFile reads besides the common write options.
const WRITE_FILE_EXTRA = ['onProgress', 'totalBytes'];

/**
 * write-file-atomic writes `String(data)` for every object that is not a buffer; its
 * compatible export reads streams instead (a Readable, a web ReadableStream, an
 * async iterable), nothing else: a Map, a Set or a generator is still `String(data)`.
 */
function isLooseStream(data: unknown): data is StreamSource {
  return data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || typeof (data as ReadableStream).getReader === 'function');
}

/** How an entry point reads a write's arguments. */
export interface WriteCall {
  /** The default of `options.mkdir`. */
  mkdir: boolean;
  /** write-file-atomic's loose options and `String(data)` (the default export). */
  compat?: boolean;
}

/** Validates everything, then writes; the promise settles after the write is durable. */
export function writeFileWith(path: unknown, data: unknown, options: unknown, { mkdir: mkdirDefault, compat = false }: WriteCall): Promise<void> {
  const streamed = compat ? isLooseStream(data) : isStreamSource(data);
  const progress = progressOptions(options);
  const resolved = compat ? resolveOptions(looseOptions(options, isBinary(data)), { mkdir: mkdirDefault }) : resolveOptions(options, { mkdir: mkdirDefault, known: WRITE_FILE_EXTRA });
  const checked = checkPath(path, 'filename');
  // Streams and iterables are consumed piece by piece (see source.ts); so is a large
  // buffer whose progress the caller wants to see.
  const bytes = streamed ? undefined : compat ? toBufferLoose(data, resolved.encoding) : toBuffer(data, resolved.encoding);
  // Arguments first (they throw); the disk is read only once every one is valid, and
  // what it finds (a refused link, a loop) rejects the promise instead of throwing.
  return withTarget(checked, (target) => writeResolved(target, data, bytes, resolved, progress));
}

function writeResolved(target: string | Buffer, data: unknown, bytes: Buffer | undefined, resolved: ResolvedOptions, progress: ProgressOptions): Promise<void> {
  const key = targetKey(target);
  const order = ticket(key);
  resolved.order = order;
  removeTempsOnExit();
  if (bytes === undefined) {
    return inFileOrder(key, () => writeStreamed(target, data as StreamSource, resolved, progress));
  }
  if (progress.onProgress) {
    const total = { ...progress, totalBytes: progress.totalBytes ?? bytes.length };
    return inFileOrder(key, () => writeStreamed(target, slices(bytes), resolved, total));
  }
  return inFileOrder(key, () => {
    // Callbacks and signals need the steps apart; everything else is one native call.
    if (resolved.tmpfileCreated || resolved.signal) return writeStaged(target, bytes, resolved);
    // A writeFileSync issued after this call already replaced what this would publish.
    if (superseded(order)) return Promise.resolve();
    // Its descriptors are closed when it settles; a failure for want of one freed none.
    return retryOnFdExhaustion(() => native().writeFile(target, bytes, resolved.native)).then(
      () => fdReleased(),
      (err: unknown) => {
        if (!isFdExhausted(err)) fdReleased();
        throw err;
      },
    );
  });
}

export function writeFile(path: PathLike, data: WriteData | StreamSource, options?: WriteOptions | BufferEncoding): Promise<void> {
  return writeFileWith(path, data, options, { mkdir: false });
}

function writeFileSyncWith(path: unknown, data: unknown, options: unknown, { compat }: { compat: boolean }): void {
  if (compat) options = looseOptions(options, isBinary(data));
  const resolved = resolveOptions(options, { mkdir: false, known: [] });
  const checked = checkPath(path, 'filename');
  const bytes = compat ? toBufferLoose(data, resolved.encoding) : toBuffer(data, resolved.encoding);
  throwIfAborted(resolved.signal);
  const target = resolveTarget(checked);
  removeTempsOnExit();
  // Call order across sync and async calls: async writes to this file issued
  // before now are published first, or not at all (see queue.ts).
  supersedePending(targetKey(target), target);
  if (!resolved.tmpfileCreated) return native().writeFileSync(target, bytes, resolved.native);
  const handle = native().openAtomicSync(target, resolved.native);
  try {
    // write-file-atomic calls it without awaiting in sync mode.
    resolved.tmpfileCreated(String(handle.tempPath));
    handle.writeSync(bytes);
    handle.commitSync();
  } finally {
    handle.abort();
  }
}

export function writeFileSync(path: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): void {
  writeFileSyncWith(path, data, options, { compat: false });
}

/** write-file-atomic's `sync`: its loose options and `String(data)`. */
export function writeFileAtomicSync(path: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): void {
  writeFileSyncWith(path, data, options, { compat: true });
}

type Callback = (err?: Error) => void;

/**
 * write-file-atomic's signature: `(filename, data, [options|encoding], [callback])`.
 * With a callback, it is called with the error (or `undefined`) and the returned
 * promise never rejects, as in write-file-atomic.
 */
export function writeFileAtomic(path: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding | Callback, callback?: Callback): Promise<void> {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  // Arrays stay `String(array)` here, as in write-file-atomic; streams are consumed.
  const promise = writeFileWith(path, data, options, { mkdir: false, compat: true });
  if (typeof callback !== 'function') return promise;
  const cb = callback;
  // write-file-atomic 8 calls `callback(undefined)` on success: one argument, as here.
  return promise.then(
    () => cb(undefined),
    (err: Error) => cb(err),
  );
}
