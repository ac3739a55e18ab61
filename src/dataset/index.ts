// writeDataset: a directory of parts that readers see complete or not at all.
// Parts are written into a hidden sibling staging directory (through the core's
// AtomicFile, their CRC32C computed as they are written); when the callback is done,
// the core syncs every part and directory, `_SUCCESS` is written last, and the staging
// directory is renamed over the target (exchanged with the old version, which is then
// removed). A throw, an abort or a crash leaves the old dataset untouched; the staging
// directory is removed, or found later by `sweep(parent)`.

import { join } from 'node:path';
import { AtomicFile, withStagedFile } from '../file/atomic-file';
import { abortError, invalidArgType, type NodeStyleError } from '../binding/errors';
import { retryOnFdExhaustion } from '../binding/fd-wait';
import { buildManifest, formatChecksum, MARKER, serializeManifest, type Manifest, type ManifestFile } from '../manifest';
import { native } from '../binding/native';
import { checkOptionNames, parseMode, resolveOptions, type ResolvedOptions } from '../file/options';
import { parseBoolean, parseInteger } from '../args/validate';
import { progressOptions, type ProgressOptions } from '../file/progress';
import { isStreamSource, writeSource } from '../file/source';
import { AtomicWriteStream, parseHighWaterMark } from '../file/stream';
import { checkPath, withTarget, type PathLike } from '../args/target';
import type * as Binding from '../../native/binding';
import { isRawContent, prepareFormat } from '../formats/dispatch';

export interface DatasetOptions {
  /** Write the `_SUCCESS` manifest last (default `true`). */
  marker?: boolean;
  /** Sync parts, directories and the parent before resolving (default `true`). */
  fsync?: boolean;
  /** Create missing parent directories of the dataset (default `true`). */
  mkdir?: boolean;
  /**
   * What an existing directory at `dir` may be (default `'dataset'`: one that holds a
   * `_SUCCESS` marker, or is empty; any other directory is refused with `ENOTEMPTY`).
   * `'any'` replaces whatever directory is there, with everything in it.
   */
  replace?: 'dataset' | 'any';
  /** Aborting it before the dataset is published publishes nothing. */
  signal?: AbortSignal;
}

export interface PartOptions extends ProgressOptions {
  /** Options of the format (indent, delimiter, ...) pass through. */
  [option: string]: unknown;
  /** A format from the formats registry (`write()`'s), for data that is not bytes. */
  format?: string;
  /** Encoding of string data (default `utf8`). */
  encoding?: BufferEncoding;
  /** Rows in this part, recorded in the manifest (serializers report it themselves). */
  rows?: number;
  /** Permission bits of the part (default `0o666 & ~umask`). */
  mode?: number | string;
  /** For `createWriteStream`: bytes buffered before `write()` returns false. */
  highWaterMark?: number;
}

export interface DatasetResult {
  /** Where the dataset now is. */
  path: string;
  files: ManifestFile[];
  /** What `_SUCCESS` holds, or `null` with `marker: false`. */
  manifest: Manifest | null;
}

/** A part ready to be serialized: everything checkable was checked before the disk is touched. */
export interface PreparedPart {
  /** The format's name, recorded in the manifest. */
  format: string;
  /** The encoder writes to the temp's path itself (the part is then checksummed when sealed). */
  byPath?: boolean;
  /** Writes the part into `file` (or to `file.tempPath`, `byPath`); resolves to the rows written, if counted. */
  write(file: AtomicFile): Promise<number | undefined | void>;
}

/**
 * How a part is dispatched: through the same format preparation as `write()`
 * (formats/dispatch.ts), so parts get every format, plugins included. `options` are the
 * part's options (format options included); `name`'s extension picks the format when
 * `options.format` is absent; `callNames` are the option names the stage reads itself
 * (any other name must be the format's). Returns `undefined` for content written as it
 * is (bytes, byte streams); throws (a TypeError) for data or options the format refuses.
 */
function prepareFormatPart(data: unknown, name: string, options: PartOptions & { signal?: AbortSignal }, callNames: readonly string[]): PreparedPart | undefined {
  if (options.format === undefined && isRawContent(data, name)) return undefined;
  const job = prepareFormat(data, options, name, callNames);
  return {
    format: job.format.name,
    byPath: job.byPath,
    write: async (file) => (await job.run(file)).rows,
  };
}

function noop(): void {}

function badName(name: string, why: string): RangeError {
  const error = new RangeError(
    `Invalid part name ${JSON.stringify(name)}: ${why}. Part names are relative paths inside the dataset, like "part-0.csv" or "year=2024/part-0.csv"`,
  ) as RangeError & { code: string };
  error.code = 'ERR_INVALID_PART_NAME';
  return error;
}

/** Validates a part name: relative, `/`-separated, never leaving the dataset. */
export function checkPartName(name: unknown, marker: boolean): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'a string (a file name inside the dataset)', name);
  // The core's rule (dataset.rs `part_name_problem`), asked rather than copied.
  const problem = native().partNameProblem(name);
  if (problem !== null) throw badName(name, problem);
  if (marker && name === MARKER) throw badName(name, `${MARKER} is written by writeDataset itself (pass marker: false to write your own)`);
  return name;
}

interface PartRecord {
  bytes: number;
  crc32c: number | null;
  rows?: number;
  format?: string;
}

function isBytes(data: unknown): boolean {
  return typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer || data instanceof SharedArrayBuffer;
}

/** What `stage.write` reads itself (a format reads its own options besides). */
const PART_WRITE_OPTION_NAMES: readonly string[] = ['format', 'encoding', 'rows', 'mode', 'onProgress', 'totalBytes'];
const PART_STREAM_OPTION_NAMES: readonly string[] = [...PART_WRITE_OPTION_NAMES, 'highWaterMark'];
export const DATASET_OPTION_NAMES: readonly string[] = ['marker', 'fsync', 'mkdir', 'replace', 'signal'];

function parseRows(rows: unknown): number | undefined {
  return parseInteger(rows, 'options.rows', undefined, 0);
}

/** What the `writeDataset` callback gets: writes parts into the staging directory. */
export class Stage {
  readonly #staging: Binding.StagingHandle;
  readonly #root: string;
  readonly #marker: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #parts = new Map<string, PartRecord>();
  /** Names handed out by `path()`: written by code we never saw, read back at seal. */
  readonly #external = new Set<string>();
  readonly #streams = new Map<AtomicWriteStream, string>();
  readonly #pending = new Set<Promise<unknown>>();
  #failure: { error: unknown } | undefined;
  #closed = false;

  /** @internal */
  constructor(staging: Binding.StagingHandle, marker: boolean, signal: AbortSignal | undefined) {
    this.#staging = staging;
    this.#root = String(staging.path);
    this.#marker = marker;
    this.#signal = signal;
  }

  /**
   * Writes one part: bytes, a string or a stream as they are; other data (records,
   * tables) through the formats registry, by `options.format` or the name's extension.
   */
  write(name: string, data: unknown, options: PartOptions = {}): Promise<void> {
    this.#checkOpen();
    checkPartName(name, this.#marker);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const { format } = options;
    if (format !== undefined && typeof format !== 'string') throw invalidArgType('options.format', 'a string', format);
    const rows = parseRows(options.rows);
    const progress = progressOptions(options);
    const resolved = this.#partOptions(options);
    // The formats glue decides, as write() does, what is serialized and what is raw.
    // The dataset's signal stops a formatted part's source too (formats/dispatch.ts).
    const prepared = prepareFormatPart(data, name, { ...options, signal: this.#signal }, [...PART_WRITE_OPTION_NAMES, 'signal']);
    // Content written as it is: no format reads options, only the stage.
    if (!prepared) checkOptionNames(options, PART_WRITE_OPTION_NAMES, []);
    if (!prepared && !(isBytes(data) || isStreamSource(data))) {
      throw invalidArgType('data', 'a string, Buffer, TypedArray, ArrayBuffer, Readable, ReadableStream or (async) iterable of chunks; other values need a format, which the formats module provides', data);
    }
    const run = withStagedFile(this.#open(name, resolved), async (file) => {
      let rowsWritten: number | undefined | void = rows;
      if (prepared) {
        rowsWritten = (await prepared.write(file)) ?? rows;
      } else {
        const source = isBytes(data) ? [data] : data;
        await writeSource(file, source as Iterable<unknown>, { ...progress, signal: this.#signal, encoding: resolved.encoding });
      }
      const record: PartRecord = { bytes: 0, crc32c: null, rows: rowsWritten ?? undefined, format: prepared?.format ?? format };
      if (prepared?.byPath) {
        // Written by a library through the temp's path: read back when sealed.
        await file.commit(true);
        this.#parts.set(name, record);
        this.#external.add(name);
        return;
      }
      Object.assign(record, await file.digest());
      await file.commit();
      this.#record(name, record);
    });
    return this.#track(run);
  }

  /** A Writable for one part; it must be ended (or have finished) before the callback returns. */
  createWriteStream(name: string, options: PartOptions = {}): AtomicWriteStream {
    this.#checkOpen();
    checkPartName(name, this.#marker);
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    checkOptionNames(options, PART_STREAM_OPTION_NAMES, []);
    const rows = parseRows(options.rows);
    const resolved = this.#partOptions(options);
    let digest: { bytes: number; crc32c: number | null } | undefined;
    const stream = new AtomicWriteStream({
      path: join(this.#root, name),
      open: () => this.#open(name, resolved),
      beforeCommit: async (file) => {
        digest = await file.digest();
      },
      signal: this.#signal,
      highWaterMark: parseHighWaterMark(options.highWaterMark),
      encoding: resolved.encoding,
      progress: progressOptions(options),
    });
    // A failed part fails the dataset (through `committed`); it must not also crash
    // the process as an 'error' event nobody listens to.
    stream.on('error', noop);
    this.#streams.set(stream, name);
    this.#track(stream.committed.then(() => this.#record(name, { ...(digest as PartRecord), rows, format: options.format })));
    return stream;
  }

  /**
   * A path inside the staging directory for code that writes files itself (its
   * parent directories are created). Such parts are checksummed when the dataset is
   * sealed, after the callback returns.
   */
  path(name: string): string {
    this.#checkOpen();
    checkPartName(name, this.#marker);
    this.#staging.makeParent(name);
    this.#external.add(name);
    return join(this.#root, name);
  }

  /** @internal Waits for every part; fails if one failed or a stream was left open. */
  async settle(): Promise<{ known: string[]; parts: Map<string, PartRecord> }> {
    for (const [stream, name] of this.#streams) {
      if (!stream.writableEnded && !stream.destroyed) {
        const error = new Error(`Part ${JSON.stringify(name)} is still open: end its stream before the writeDataset callback returns`) as Error & { code: string };
        error.code = 'ERR_DATASET_PART_OPEN';
        throw error;
      }
    }
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    if (this.#failure) throw this.#failure.error;
    this.#closed = true;
    const known = [...this.#parts.keys()].filter((n) => !this.#external.has(n));
    return { known, parts: this.#parts };
  }

  /** @internal No more parts: open streams are destroyed (their temps removed). */
  close(): void {
    this.#closed = true;
    for (const stream of this.#streams.keys()) stream.destroy();
  }

  #checkOpen(): void {
    if (this.#closed) {
      const error = new Error('This dataset stage is closed: parts can only be written inside the writeDataset callback') as Error & { code: string };
      error.code = 'ERR_DATASET_CLOSED';
      throw error;
    }
  }

  #partOptions(options: PartOptions): ResolvedOptions {
    // Parts are synced together when the dataset is sealed, not one by one. Named
    // temps, so an encoder that writes to a path can have one.
    const resolved = resolveOptions({ encoding: options.encoding, mode: parseMode(options.mode), fsync: false }, { mkdir: false });
    resolved.native.namedTemp = true;
    return resolved;
  }

  async #open(name: string, resolved: ResolvedOptions): Promise<AtomicFile> {
    // Opened relative to the staging directory's descriptor, one component at a time
    // with no link followed: never looked up by path, so a staging directory swapped
    // for a link cannot send the part anywhere else.
    const handle = await retryOnFdExhaustion(() => this.#staging.openPart(name, resolved.native));
    const file = new AtomicFile(join(this.#root, name), handle, resolved);
    file.trackChecksum();
    return file;
  }

  #record(name: string, record: PartRecord): void {
    this.#parts.set(name, record);
    this.#external.delete(name);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    promise.then(
      () => this.#pending.delete(promise),
      (error: unknown) => {
        this.#pending.delete(promise);
        this.#failure ??= { error };
      },
    );
    return promise;
  }
}

function toEntry(name: string, record: { bytes: number; crc32c: number | null; rows?: number; format?: string }): ManifestFile {
  const entry: ManifestFile = { name, bytes: record.bytes, checksum: formatChecksum(record.crc32c ?? 0) };
  if (record.rows !== undefined) entry.rows = record.rows;
  if (record.format !== undefined) entry.format = record.format;
  return entry;
}

function invalidArgValue(name: string, why: string, value: unknown): TypeError {
  const shown = Buffer.isBuffer(value) ? value.toString() : String(value);
  const error = new TypeError(`The argument '${name}' ${why}. Received ${JSON.stringify(shown)}`) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_VALUE';
  return error;
}

function parseReplace(value: unknown): boolean {
  if (value === undefined || value === 'dataset') return false;
  if (value === 'any') return true;
  throw invalidArgValue('options.replace', "must be 'dataset' (the default: only a directory holding _SUCCESS, or an empty one) or 'any'", value);
}

/**
 * The dataset's directory must be named by its last component: `a/`, `a/.` and
 * `a/..` resolve to `a` or its parent, which the dataset would replace whole with
 * everything in it (`${base}/${day}` with an empty `day`). Refused before the disk is
 * touched.
 */
function checkDatasetName(path: string | Buffer): void {
  const text = Buffer.isBuffer(path) ? path.toString('latin1') : path;
  const separators = process.platform === 'win32' ? /[\\/]/ : /\//;
  const last = text.split(separators).pop() as string;
  if (last === '' || last === '.' || last === '..') {
    const why = last === '' ? 'ends in a path separator' : `ends in "${last}"`;
    throw invalidArgValue('dir', `must name the dataset directory itself; it ${why}, so it would resolve to a directory the dataset replaces whole. Name the directory without a trailing "/", "." or ".."`, path);
  }
}

/** The message for the refusals a caller can act on. */
function explain(err: unknown, target: string | Buffer): never {
  const error = err as NodeStyleError;
  if (error?.code === 'ENOTEMPTY' && error.syscall === 'rename') {
    error.message = `ENOTEMPTY: ${String(target)} is a directory that is not a dataset (it holds no regular ${MARKER} file and is not empty); writeDataset replaces it only with replace: 'any'`;
  } else if (error?.code === 'ESTALE') {
    error.message = `ESTALE: the staging directory ${String(error.path)} was replaced while the dataset was written (someone renamed it and put something else at its name); nothing was published`;
  }
  throw error;
}

/**
 * Writes a dataset directory atomically: `fn` writes the parts through `stage`; when
 * it resolves, everything is synced, `_SUCCESS` is written last, and the directory
 * appears at `dir` whole (replacing an existing dataset in a single step). If `fn`
 * throws, nothing is published and the old dataset stays.
 */
export function writeDataset(dir: PathLike, fn: (stage: Stage) => unknown, options: DatasetOptions = {}): Promise<DatasetResult> {
  const path = checkPath(dir, 'dir');
  checkDatasetName(path);
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  checkOptionNames(options, DATASET_OPTION_NAMES, []);
  const marker = parseBoolean(options.marker, 'options.marker', true);
  const fsync = parseBoolean(options.fsync, 'options.fsync', true);
  const mkdir = parseBoolean(options.mkdir, 'options.mkdir', true);
  const replaceAny = parseReplace(options.replace);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
  const checkAbort = (): void => {
    if (signal?.aborted) throw abortError(signal);
  };
  checkAbort();
  return withTarget(path, (target) => publishDataset(target, fn, { marker, fsync, mkdir, replaceAny, signal }, checkAbort));
}

interface PublishOptions {
  marker: boolean;
  fsync: boolean;
  mkdir: boolean;
  replaceAny: boolean;
  signal?: AbortSignal;
}

async function publishDataset(target: string | Buffer, fn: (stage: Stage) => unknown, { marker, fsync, mkdir, replaceAny, signal }: PublishOptions, checkAbort: () => void): Promise<DatasetResult> {
  const staging = await native()
    .openStaging(target, { fsync, mkdir, replaceAny })
    .catch((err: unknown) => explain(err, target));
  const stage = new Stage(staging, marker, signal);
  try {
    await fn(stage);
    const { known, parts } = await stage.settle();
    checkAbort();
    const sealed = await staging.seal(known);
    const files = sealed
      .filter((f) => !(marker && f.name === MARKER))
      .map((f) => {
        const part = parts.get(f.name);
        // Read back (a path part, or a file a library added) or computed while written.
        if (f.crc32c !== undefined && f.crc32c !== null) return toEntry(f.name, { bytes: f.bytes, crc32c: f.crc32c, rows: part?.rows, format: part?.format });
        return toEntry(f.name, part as PartRecord);
      });
    const manifest = marker ? buildManifest(files) : null;
    checkAbort();
    await staging.publish(manifest ? serializeManifest(manifest) : null).catch((err: unknown) => explain(err, target));
    return { path: String(target), files: manifest ? manifest.files : files, manifest };
  } catch (err) {
    stage.close();
    await staging.abort().catch(() => {});
    throw err;
  }
}
