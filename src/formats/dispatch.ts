// The one format dispatch: `write(data, path)` and a dataset's `stage.write(name, data)`
// both pick the format (by `options.format` or the name's extension), validate data and
// options before the disk is touched, and serialize into the staged temp the same way,
// so a part accepts exactly what `write()` accepts (Arrow tables, async iterables of
// records, Sets, plugins' inputs). `isRawContent` is the part of the dispatch that only
// a stage needs: what it writes as it is, without a format.

import type { AtomicFile } from '../atomic-file';
import { isStreamSource } from '../source';
import { isChunk } from './bytes';
import './builtins';
import { checkFormatOptionNames, formatForName, pickFormat, type Format, type FormatOptions } from './registry';
import { FileSink } from './sink';

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
      const result = await (format.serialize as NonNullable<Format['serialize']>)(prepared, sink, options);
      await sink.close();
      return { rows: rowsOf(result), bytes: sink.bytesWritten };
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
