// `write(data, path, options)`: serialize `data` in a format (from `options.format` or
// the file name) straight into one staged temp, then publish it atomically. Everything
// that can be checked (path, options, format, input shape) is checked before the disk
// is touched; a serializer that throws halfway leaves the old file and no temp.

import { openStaged, withStagedFile } from '../file/atomic-file';
import { invalidArgType, throwIfAborted } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import { checkNotMarker, makeWayForMarker, writeFileMarker } from '../manifest';
import { prepareFormat, type FormatJob } from './dispatch';
import type { FormatOptions } from './registry';
import { FORMAT_WRITE_OPTION_NAMES, resolveOptions, type ResolvedOptions, type WriteOptions } from '../file/options';
import { inFileOrder, ticket } from '../file/queue';
import { checkPath, targetKey, withTarget, type PathLike } from '../args/target';

export interface FormatWriteOptions extends WriteOptions {
  /** Format name; default: from the file name's extension. */
  format?: string;
  /** Write a `_SUCCESS` marker beside the file after it is published. */
  marker?: boolean;
  /** Options of the format (indent, delimiter, compression, ...). */
  [option: string]: unknown;
}

export interface WriteResult {
  /** The file written (symlinks resolved). */
  path: string;
  format: string;
  /** Bytes serialized (unknown when the encoder wrote to the temp's path itself). */
  bytes?: number;
  /** Rows or values written, where the format counts them. */
  rows?: number;
}

interface Written {
  bytes?: number;
  rows?: number;
  crc32c?: number;
}

async function serializeInto(target: string | Buffer, job: FormatJob, resolved: ResolvedOptions, { marker }: { marker: boolean }): Promise<Written> {
  throwIfAborted(resolved.signal);
  return withStagedFile(openStaged(target, resolved), async (file) => {
    // The marker's checksum is computed as the bytes go by, not by reading the file back
    // (an encoder that writes to the path is read back by writeFileMarker).
    if (marker && !job.byPath) file.trackChecksum();
    const { rows, bytes } = await job.run(file);
    throwIfAborted(resolved.signal);
    const crc32c = marker && !job.byPath ? ((await file.digest()).crc32c ?? undefined) : undefined;
    // The stale marker is retired (or, create-only, checked) just before the commit.
    if (marker) await makeWayForMarker(target, { fsync: resolved.native.fsync, exclusive: resolved.native.exclusive });
    await file.commit(job.byPath);
    return { bytes: job.byPath ? undefined : bytes, rows, crc32c };
  });
}

/**
 * Writes `data` to `path` in a format, atomically and durably; creates missing parent
 * directories unless `mkdir: false`. Resolves once the file is published and synced.
 */
export function write(data: unknown, path: PathLike, options?: FormatWriteOptions): Promise<WriteResult> {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArgType('options', 'an object such as { format: "csv" }', options);
  }
  const o: FormatOptions = { ...options };
  const checked = checkPath(path);
  parseBoolean(o.marker, 'options.marker', undefined);
  if (o.marker === true) checkNotMarker(checked);
  const resolved = resolveOptions(o, { mkdir: true });
  const job = prepareFormat(data, o, typeof checked === 'string' ? checked : checked.toString(), FORMAT_WRITE_OPTION_NAMES);
  // An encoder that writes to a path needs one: the temp gets a name.
  if (job.byPath) resolved.native.namedTemp = true;
  return withTarget(checked, (target) => {
    // A link named otherwise may lead to a _SUCCESS too.
    if (o.marker === true) checkNotMarker(target);
    const key = targetKey(target);
    // A writeFileSync issued after this call supersedes it (queue.ts); not with a marker,
    // which must describe what is published.
    if (o.marker !== true) resolved.order = ticket(key);
    return inFileOrder(key, async () => {
      const marker = o.marker === true;
      const { bytes, rows, crc32c } = await serializeInto(target, job, resolved, { marker });
      const result: WriteResult = { path: target.toString(), format: job.format.name };
      if (bytes !== undefined) result.bytes = bytes;
      if (rows !== undefined) result.rows = rows;
      // The stale marker was retired (durably) just before the commit: a write that fails
      // or is killed while serializing leaves the old file and the old marker, which
      // still describes it; after the commit there is no marker until the new one.
      if (marker) await writeFileMarker(target.toString(), { bytes, checksum: crc32c, rows, format: job.format.name }, { fsync: resolved.native.fsync });
      return result;
    });
  });
}

