// The one format dispatch: `write(data, path)` and a dataset's `stage.write(name, data)`
// both pick the format (by `options.format` or the name's extension), validate data and
// options before the disk is touched, and serialize into the staged temp the same way,
// so a part accepts exactly what `write()` accepts (Arrow tables, async iterables of
// records, Sets, plugins' inputs). `isRawContent` is the part of the dispatch that only
// a stage needs: what it writes as it is, without a format.

import type { AtomicFile } from '../file/atomic-file';
import { abortError } from '../binding/errors';
import { isStreamSource, stopper } from '../file/source';
import { isChunk } from './bytes';
import './builtins';
import { checkFormatOptionNames, formatForName, pickFormat, type Format, type FormatOptions } from './registry';
import { FileSink } from './sink';
import { isArrowTable, isAsyncIterable } from './tabular';

export interface FormatJob {
  format: Format;
  /** The encoder writes to the temp's path itself (the temp needs a name; no byte count). */
  byPath: boolean;
  /** Serializes into `file` (not committed); rows where the format counts them. */
  run(file: AtomicFile): Promise<{ rows?: number; bytes?: number }>;
}

/**
 * Picks and checks the format for `data` at `fileName`; throws (a TypeError) before any
 * I/O, for an option name that neither `callNames` (the caller's own) nor the format reads too.
 */
export function prepareFormat(data: unknown, options: FormatOptions, fileName: string, callNames: readonly string[]): FormatJob {
  const format = pickFormat(options.format, fileName);
  checkFormatOptionNames(options, format, callNames);
  format.validate?.(data, options);
  const byPath = format.writeTo !== undefined && (format.serialize === undefined || format.usesPath?.(data) === true);
  const prepared = !byPath && format.prepare ? format.prepare(data, options) : data;
  const rowsOf = (result: unknown): number | undefined => (typeof result === 'number' ? result : undefined);
  return {
    format,
    byPath,
    async run(file) {
      if (byPath) return { rows: rowsOf(await (format.writeTo as NonNullable<Format['writeTo']>)(file.tempPath as string, prepared, options)) };
      const sink = new FileSink(file);
      const signal = options.signal as AbortSignal | undefined;
      // A plugin gets the source as given (it may want a Readable's own methods); it has
      // `options.signal` to watch.
      const source = signal && format.builtin === true && isAsyncIterable(prepared) && !isArrowTable(prepared) ? abortable(prepared, signal) : prepared;
      let result: unknown;
      try {
        result = await (format.serialize as NonNullable<Format['serialize']>)(source, sink, options);
      } catch (err) {
        // Aborted before the serializer began to read (loading its encoder, say): the
        // source is stopped all the same.
        if (source !== prepared && !(source as Abortable).opened) stopper(prepared as AsyncIterable<unknown>, (prepared as AsyncIterable<unknown>)[Symbol.asyncIterator]())();
        throw err;
      }
      await sink.close();
      return { rows: rowsOf(result), bytes: sink.bytesWritten };
    },
  };
}

/**
 * An async source as every serializer reads it: on abort, the pending `next()` rejects
 * at once with the AbortError and the source is stopped (a generator's `return()`, a
 * Readable destroyed), so an endless or stalled source does not keep the write alive.
 * As in file/source.ts, each step gets a promise of its own that the abort listener
 * rejects; racing every step against one long-lived promise would keep each value
 * alive until the write ends.
 */
interface Abortable extends AsyncIterable<unknown> {
  opened: boolean;
}

function abortable(source: AsyncIterable<unknown>, signal: AbortSignal): Abortable {
  return {
    opened: false,
    [Symbol.asyncIterator]() {
      this.opened = true;
      const iterator = source[Symbol.asyncIterator]();
      const stop = stopper(source, iterator);
      let rejectStep: ((err: unknown) => void) | undefined;
      let open = true;
      const close = (stopSource: boolean): void => {
        if (!open) return;
        open = false;
        signal.removeEventListener('abort', onAbort);
        if (stopSource) stop();
      };
      const onAbort = (): void => {
        close(true);
        rejectStep?.(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      return {
        next(): Promise<IteratorResult<unknown>> {
          if (signal.aborted) {
            close(true);
            return Promise.reject(abortError(signal));
          }
          return new Promise((resolve, reject) => {
            rejectStep = reject;
            iterator.next().then(
              (step) => {
                rejectStep = undefined;
                if (step.done) close(false);
                resolve(step);
              },
              (err: unknown) => {
                rejectStep = undefined;
                close(false);
                reject(err);
              },
            );
          });
        },
        // The serializer stopped early (a bad row, a failed write): stop the source too.
        return(value?: unknown): Promise<IteratorResult<unknown>> {
          close(true);
          return Promise.resolve({ done: true, value });
        },
      };
    },
  };
}

/**
 * What a dataset stage writes as it is when no `options.format` is given: bytes and
 * strings; byte streams (a Readable not in object mode, a web ReadableStream); arrays
 * that start with a chunk; and any other stream source when the name has no format.
 * Everything else (records, tables, Sets, generators and object-mode Readables, which
 * may yield records) goes through the name's format, as in `write()`; a `bytes` or
 * `text` name takes chunks from those too.
 */
export function isRawContent(data: unknown, name: string): boolean {
  if (isChunk(data)) return true;
  if (data === null || typeof data !== 'object') return false;
  const readable = data as { pipe?: unknown; readableObjectMode?: unknown; getReader?: unknown };
  if (typeof readable.pipe === 'function' && readable.readableObjectMode === false) return true;
  if (typeof readable.getReader === 'function') return true;
  if (Array.isArray(data) && data.length > 0 && isChunk(data[0])) return true;
  return formatForName(name) === undefined && isStreamSource(data);
}
