// Whole-content writes: the write-file-atomic compatible function and the named
// `writeFile` / `writeFileSync`. One path through the core for each.

import { invalidArgType, throwIfAborted } from './errors';
import { toBuffer } from './data';
import { openStaged } from './atomic-file';
import { native } from './native';
import { fdReleased, isFdExhausted, retryOnFdExhaustion } from './fd-wait';
import { inFileOrder } from './queue';
import { resolveOptions, type ResolvedOptions, type WriteOptions } from './options';
import { checkPath, resolveTarget, targetKey, type PathLike } from './target';
import { isS3Url, s3 } from './s3/url';
import { isStreamSource, progressOptions, slices, writeStreamed, type StreamSource } from './source';

export type WriteData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer | null | undefined;

async function writeStaged(target: string | Buffer, bytes: Buffer, resolved: ResolvedOptions): Promise<void> {
  throwIfAborted(resolved.signal);
  const file = await openStaged(target, resolved);
  try {
    await file.write(bytes);
    await file.commit();
  } finally {
    file.abort();
  }
}

/** Validates everything, then writes; the promise settles after the write is durable. */
export function writeFileWith(path: unknown, data: unknown, options: unknown, mkdirDefault: boolean, compat = false): Promise<void> {
  if (isS3Url(path)) return s3().writeFile(path, data, options, compat) as Promise<never>;
  const resolved = resolveOptions(options, { mkdir: mkdirDefault });
  const checked = checkPath(path, 'filename');
  const progress = progressOptions(options);
  // Streams and iterables are consumed piece by piece (see source.ts); so is a large
  // buffer whose progress the caller wants to see.
  const streamed = isStreamSource(data, { arrays: !compat });
  if (!compat && !streamed && typeof data === 'object' && data !== null && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer) && !(data instanceof SharedArrayBuffer)) {
    // As fs.writeFile does; only write-file-atomic's signature writes `String(data)`.
    throw invalidArgType('data', 'a string, Buffer, TypedArray, DataView, ArrayBuffer, Readable, ReadableStream or (async) iterable of chunks', data);
  }
  // Resolving the target reads the disk (symlinks): only once every argument is valid.
  const target = resolveTarget(checked);
  if (streamed) {
    return inFileOrder(targetKey(target), () => writeStreamed(target, data, resolved, progress));
  }
  const bytes = toBuffer(data, resolved.encoding);
  if (progress.onProgress) {
    const total = { ...progress, totalBytes: progress.totalBytes ?? bytes.length };
    return inFileOrder(targetKey(target), () => writeStreamed(target, slices(bytes), resolved, total));
  }
  return inFileOrder(targetKey(target), () => {
    // Callbacks and signals need the steps apart; everything else is one native call.
    if (resolved.tmpfileCreated || resolved.signal) return writeStaged(target, bytes, resolved);
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
  return writeFileWith(path, data, options, false);
}

export function writeFileSync(path: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): void {
  const resolved = resolveOptions(options, { mkdir: false });
  const checked = checkPath(path, 'filename');
  const bytes = toBuffer(data, resolved.encoding);
  throwIfAborted(resolved.signal);
  const target = resolveTarget(checked);
  if (!resolved.tmpfileCreated) return native().writeFileSync(target, bytes, resolved.native);
  const handle = native().openAtomicSync(target, resolved.native);
  try {
    // write-file-atomic calls it without awaiting in sync mode.
    resolved.tmpfileCreated(String(handle.tempPath));
    handle.writeSync(bytes);
    handle.commitSync(false);
  } finally {
    handle.abort();
  }
}

type Callback = (err?: Error) => void;

/**
 * write-file-atomic's signature: `(filename, data, [options|encoding], [callback])`.
 * With a callback, it is called with the error (or nothing) and the returned promise
 * never rejects, as in write-file-atomic.
 */
export function writeFileAtomic(path: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding | Callback, callback?: Callback): Promise<void> {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  // Arrays stay `String(array)` here, as in write-file-atomic; streams are consumed.
  const promise = writeFileWith(path, data, options, false, true);
  if (typeof callback !== 'function') return promise;
  const cb = callback;
  return promise.then(
    () => cb(),
    (err: Error) => cb(err),
  );
}
