// Public types of atomicwriter (hand-written; the binding's generated types stay internal).
/// <reference types="node" />
import { Writable } from 'node:stream';

declare namespace writeFileAtomic {
  type PathLike = string | Buffer | URL;
  type WriteData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer | null | undefined;

  /**
   * What a resolved write survives: `'full'` (default) a power cut; `'data'` a power cut
   * without tearing, but the file may be the old content (the data is synced, the rename
   * is not: write-file-atomic's level); `'none'` a process crash only.
   */
  type Durability = 'none' | 'data' | 'full';

  /** `-1` for either leaves that one unchanged (the writer's), as in `fs.chown`. */
  interface Chown {
    uid: number;
    gid: number;
  }

  interface WriteOptions {
    /** Encoding of string data (default `utf8`). */
    encoding?: BufferEncoding | null;
    /** Permission bits, a number or an octal string; default: the existing file's, else `0o666 & ~umask`. */
    mode?: number | string;
    /** Owner of the published file; default: the existing file's. */
    chown?: Chown | null | false;
    /** Sync the data before the rename and the directory after it (default `true`): `true` is `durability: 'full'`, `false` is `'none'`. */
    fsync?: boolean;
    /**
     * The durability level (default `'full'`); with `fsync` as well, the two must agree
     * (`fsync: false` only with `'none'`). Any other value throws `ERR_INVALID_ARG_VALUE`
     * before the disk is touched.
     */
    durability?: Durability;
    /** Called with the temp's path once it exists; awaited; a throw fails the write and removes the temp. */
    tmpfileCreated?: (tmpPath: string) => unknown;
    /**
     * An aborted signal publishes nothing. A write fed by a stream or an async iterable (in every built-in format,
     * and a dataset part) stops reading it at once: its `return()` is called (a Readable is destroyed) and the
     * promise rejects with an `AbortError` (`code: 'ABORT_ERR'`, the reason as `cause`); no temp is left.
     */
    signal?: AbortSignal;
    /** Create-only: fail with `EEXIST` instead of replacing an existing file. */
    exclusive?: boolean;
    /** Create missing parent directories (default `false` here, as in write-file-atomic). */
    mkdir?: boolean;
    /**
     * Windows only: how many ms the publish keeps retrying while another process holds
     * the target open (the `EPERM`/`EBUSY` of write-file-atomic#28: virus scanners,
     * indexers, readers). Default 5000; `0` fails at once. A real permission error
     * (a read-only target, an ACL) is never retried. No effect on other platforms.
     */
    busyTimeout?: number;
  }

  interface OpenOptions extends WriteOptions {
    /** Give the temp a name even where an anonymous (`O_TMPFILE`) one is possible. */
    namedTemp?: boolean;
  }

  interface SweepOptions {
    /** Only temps last modified longer ago than this many ms (default 3,600,000: one hour). */
    olderThan?: number;
    /** List what would be removed without removing it. */
    dryRun?: boolean;
  }

  /** Errors from the disk: Node-style, like `fs` errors. The old file is intact and no temp is left. */
  interface AtomicWriteError extends Error {
    code: string;
    errno: number;
    syscall: string;
    path?: string;
    dest?: string;
  }

  /** An open atomic write: its content goes to a temp that `commit()` publishes whole. */
  class AtomicFile {
    private constructor();
    /** The file that `commit()` replaces (symlinks resolved). */
    readonly path: string | Buffer;
    /** The temp's path, or `null` for an anonymous (`O_TMPFILE`) temp. */
    readonly tempPath: string | null;
    readonly state: 'open' | 'committing' | 'committed' | 'aborted';
    /** Appends to the temp; writes apply in call order. */
    write(data: string | NodeJS.ArrayBufferView | ArrayBuffer, encoding?: BufferEncoding): Promise<void>;
    writeSync(data: string | NodeJS.ArrayBufferView | ArrayBuffer, encoding?: BufferEncoding): void;
    /** Syncs and publishes; `external`: the temp was written through `tempPath` by other code. */
    commit(external?: boolean): Promise<void>;
    commitSync(external?: boolean): void;
    /** Removes the temp; the target is untouched. Idempotent; a no-op after commit. */
    abort(): void;
    [Symbol.asyncDispose](): Promise<void>;
    [Symbol.dispose](): void;
  }

  // --- Object stores: s3://bucket/key, gs://bucket/key, az://container/blob (src/store/).
  // Declared before the local overloads so a URL string picks these (and their results) first. ---

  type S3Url = `s3://${string}`;
  type GcsUrl = `gs://${string}`;
  type AzureUrl = `az://${string}`;
  type StoreUrl = S3Url | GcsUrl | AzureUrl;

  /** An `S3Client` from `@aws-sdk/client-s3` (an optional peer dependency). */
  interface S3ClientLike {
    send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<any>;
  }

  interface StoreOptions {
    /** s3://: the client to use; default: one from the SDK's standard chain (env, profile, `AWS_ENDPOINT_URL`). */
    s3?: S3ClientLike;
    /** gs://: a `Storage` from `@google-cloud/storage`; default: application default credentials, or `STORAGE_EMULATOR_HOST`. */
    gcs?: { bucket(name: string): unknown };
    /** az://: a `BlobServiceClient` from `@azure/storage-blob`; default: from `AZURE_STORAGE_CONNECTION_STRING`. */
    azure?: { getContainerClient(name: string): unknown };
    /** s3://: path-style requests; default `true` when `AWS_ENDPOINT_URL(_S3)` is set (local servers). */
    forcePathStyle?: boolean;
    /** Create only: fails with `EPRECONDITION` when the object exists (`exclusive: true` means the same). */
    ifNoneMatch?: '*';
    /** Compare and swap: replaces only this version (a result's `version`: ETag on S3 and Azure, generation on GCS), else `EPRECONDITION`. */
    ifMatch?: string;
    /** From this size up, the upload goes in parts (S3 multipart, Azure blocks, GCS resumable; default 16 MiB, at least 5 MiB). */
    multipartThreshold?: number;
    /** Part size (default 8 MiB, at least 5 MiB). */
    partSize?: number;
    /** Parts (or dataset files) uploaded at once (default 4). */
    concurrency?: number;
    /** updateJson: attempts after a lost race (412) before it gives up (default 10). */
    maxRetries?: number;
    contentType?: string;
    /** Where the local staging directory is made (default `os.tmpdir()`). */
    stagingDir?: string;
    /**
     * Skip the conditional-write probe and trust the server with create-only and
     * compare-and-swap writes (default `false`; `ATOMICWRITER_TRUST_CONDITIONAL_WRITES=1` too).
     */
    trustConditionalWrites?: boolean;
  }
  /** The options of an s3:// target (the same as every store's). */
  type S3Options = StoreOptions;

  interface StoreResult {
    url: string;
    /** The new object's ETag (quoted as S3 and Azure send it). */
    etag: string;
    /** What `ifMatch` takes to replace exactly this version: the ETag (S3, Azure) or the generation (GCS). */
    version: string;
    /** The version id (S3 versioning, GCS generation, Azure versioning), else `null`. */
    versionId: string | null;
  }
  type S3Result = StoreResult;

  /**
   * A store failure: `code` is `EPRECONDITION` (a refused condition), `ECONFLICT` (409 after retries),
   * `EUNSAFE_ENDPOINT` (the server does not honour conditions), `ENOENT`, `EACCES`, a network code,
   * or `ES3` / `EGCS` / `EAZURE`.
   */
  interface StoreError extends Error {
    code: string;
    statusCode?: number;
    /** The service's own error code (`PreconditionFailed`, `conditionNotMet`, `BlobAlreadyExists`, ...). */
    storeCode?: string;
    /** s3:// only: S3's error code (the same as `storeCode`). */
    s3Code?: string;
    requestId?: string;
    path: string;
  }
  type S3Error = StoreError;

  interface StoreWriteStream extends AtomicWriteStream {
    /** Set once the object is uploaded, before 'finish'. */
    uploaded: StoreResult | undefined;
    /** The same as `uploaded`. */
    s3: StoreResult | undefined;
  }
  type S3WriteStream = StoreWriteStream;

  /** What `probeConditionalWrites` found. */
  interface ProbeResult {
    /** `scheme://bucket`. */
    target: string;
    /** Every check passed: create-only and compare-and-swap writes are allowed. */
    safe: boolean;
    /** What failed, in words. */
    failed: string[];
    checks: { createOnly: boolean; staleIfMatch: boolean; raceWinners: number; racers: number };
  }

  /** Stages `data` locally (through the same atomic writer), then uploads it whole with a checksum the service verifies. */
  function writeFile(url: StoreUrl, data: WriteData | StreamSource, options?: (StreamWriteOptions & StoreOptions) | BufferEncoding): Promise<StoreResult>;
  function writeJson(url: StoreUrl, value: unknown, options?: WriteJsonOptions & StoreOptions): Promise<StoreResult>;
  /** Optimistic: read with its version, write with `If-Match` (create-only when missing), retried with jitter on a lost race. `fn` may run more than once. */
  function updateJson<T = unknown>(url: StoreUrl, fn: (current: T) => T | undefined | PromiseLike<T | undefined>, options?: Omit<UpdateJsonOptions<T>, 'lockTimeout'> & Omit<StoreOptions, 'ifMatch' | 'ifNoneMatch'>): Promise<T>;
  function readJson<T = unknown>(url: StoreUrl, options?: ReadJsonOptions & Pick<StoreOptions, 's3' | 'gcs' | 'azure' | 'forcePathStyle'>): Promise<T>;
  function createWriteStream(url: StoreUrl, options?: (WriteStreamOptions & StoreOptions) | BufferEncoding): StoreWriteStream;
  function write(data: unknown, url: StoreUrl, options?: FormatWriteOptions & StoreOptions): Promise<WriteResult & StoreResult>;
  /** Parts under the key prefix first, then `_SUCCESS` (with each part's ETag) last. */
  function writeDataset(url: StoreUrl, fn: (stage: DatasetStage) => unknown, options?: DatasetOptions & Omit<StoreOptions, 'ifMatch' | 'ifNoneMatch'>): Promise<DatasetResult>;
  function verify(url: StoreUrl, options?: VerifyOptions & StoreOptions): Promise<VerifyResult>;
  function isComplete(url: StoreUrl, options?: StoreOptions): Promise<boolean>;
  /**
   * Checks (on scratch objects under `.atomicwriter-probe/`, removed after) that the server refuses a
   * second create-only write, refuses a stale `ifMatch`, and lets exactly one of several racing
   * creators win. Conditional writes run this once per endpoint and bucket by themselves.
   */
  function probeConditionalWrites(url: StoreUrl | URL, options?: StoreOptions): Promise<ProbeResult>;

  /** write-file-atomic's `sync`: the whole protocol on the calling thread. */
  function sync(filename: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): void;
  /** Writes `data` to `filename` atomically and durably. */
  function writeFile(filename: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): Promise<void>;
  function writeFileSync(filename: PathLike, data: WriteData, options?: WriteOptions | BufferEncoding): void;
  /** Opens an atomic write; `await using` aborts it unless committed. */
  function openAtomic(filename: PathLike, options?: OpenOptions): Promise<AtomicFile>;
  function openAtomicSync(filename: PathLike, options?: OpenOptions): AtomicFile;
  /** Hands a temp's path to `fn` (for libraries that write to a path); publishes what it left there. */
  function atomicWrite<T>(filename: PathLike, fn: (tmpPath: string) => T | Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * Removes temps orphaned by crashed writers in `dir`; resolves to the paths removed (or found, with `dryRun`).
   * Only its own: owned by this user (as root: by `dir`'s owner, or root), not in use or open elsewhere, and
   * a regular file or a dataset staging directory; other users' files and other directories are never touched.
   */
  function sweep(dir: PathLike, options?: SweepOptions): Promise<string[]>;

  // --- Locks and JSON (src/lock/, src/json/) ---

  interface LockRange {
    /** First byte (default 0). */
    offset?: number;
    /** Number of bytes (>= 1); omitted or `Infinity`: to the end of the file, however far it grows. */
    length?: number;
  }

  interface LockOptions {
    /** Milliseconds to wait while the lock is held elsewhere (default 30,000); `0` tries once; `Infinity` waits forever. */
    timeout?: number;
    /** A shared (read) lock: shared locks coexist; an exclusive lock excludes every other. */
    shared?: boolean;
    /** Lock only these bytes of the lock file: ranges that do not overlap do not conflict. */
    range?: LockRange;
    /** Aborting ends the wait: the promise rejects with an `AbortError` and no lock is held. */
    signal?: AbortSignal;
    /** Create missing parent directories of the lock file (default `false`). */
    mkdir?: boolean;
  }

  /** A lock held on a lock file (which is never deleted). */
  class FileLock {
    private constructor();
    /** The lock file. */
    readonly path: string | Buffer;
    readonly shared: boolean;
    /** The locked bytes (`length: Infinity`: to the end), or `null` for the whole file. */
    readonly range: { offset: number; length: number } | null;
    readonly released: boolean;
    /** Releases the lock. Idempotent and synchronous. */
    release(): void;
    [Symbol.asyncDispose](): Promise<void>;
    [Symbol.dispose](): void;
  }

  /** `ELOCKED`: held elsewhere (with `timeout: 0`); `EDEADLK`: this async context already holds it. */
  class FileLockError extends Error {
    code: 'ELOCKED' | 'ETIMEDOUT' | 'EDEADLK';
    /** The lock file. */
    path: string;
    /** Processes found holding the lock; empty when the OS does not tell. */
    pids: number[];
  }

  /** The wait reached `timeout` (`ETIMEDOUT`). */
  class FileLockTimeoutError extends FileLockError {
    code: 'ETIMEDOUT';
    /** The timeout that elapsed, in ms. */
    timeout: number;
  }

  type JsonReplacer = ((this: unknown, key: string, value: unknown) => unknown) | (string | number)[] | null;

  interface WriteJsonOptions extends Omit<WriteOptions, 'encoding' | 'mkdir'> {
    /** `JSON.stringify`'s space (default 2). */
    indent?: number | string;
    replacer?: JsonReplacer;
    /** Create missing parent directories (default `true`). */
    mkdir?: boolean;
  }

  interface ReadJsonOptions {
    /** Returned when the file does not exist; without it a missing file rejects with ENOENT. */
    default?: unknown;
    reviver?: (this: unknown, key: string, value: unknown) => unknown;
  }

  interface UpdateJsonOptions<T = unknown> extends Omit<WriteJsonOptions, 'tmpfileCreated'> {
    /** What `fn` gets when the file does not exist (default `undefined`). */
    defaultData?: T;
    /** Milliseconds to wait for the lock on `<path>.lock` (default 30,000). */
    lockTimeout?: number;
  }

  /** Invalid JSON: `path`, `position` (UTF-16 offset), 1-based `line` and `column`. */
  interface JsonParseError extends SyntaxError {
    code: 'EJSONPARSE';
    path: string;
    position: number;
    line: number;
    column: number;
  }

  /** Takes a lock on the lock file `path` (created if missing, never deleted). */
  function lock(path: PathLike, options?: LockOptions): Promise<FileLock>;
  /** Takes the lock if it is free now; `null` when it is held. */
  function tryLock(path: PathLike, options?: LockOptions): Promise<FileLock | null>;
  /** Runs `fn` holding the lock; releases it on return and on throw. */
  function withLock<T>(path: PathLike, fn: (lock: FileLock) => T | PromiseLike<T>, options?: LockOptions): Promise<Awaited<T>>;
  /**
   * Writes `value` as JSON and a newline, atomically and durably: `JSON.stringify(value, replacer, indent)`,
   * except that nothing is lost silently (the json format's rule): a `Set`, generator or TypedArray at any
   * depth is an array, a `Map` an array of its `[key, value]` entries, a BigInt an exact number; an async
   * iterable inside `value` throws a `TypeError`. The replacer runs before these conversions.
   */
  function writeJson(path: PathLike, value: unknown, options?: WriteJsonOptions): Promise<void>;
  /** Reads a JSON file; invalid JSON rejects with a `JsonParseError`. */
  function readJson<T = unknown>(path: PathLike, options?: ReadJsonOptions): Promise<T>;
  /**
   * Read-modify-write under an exclusive lock on `<path>.lock`: no lost update across
   * processes. `fn` returning `undefined` leaves the file unchanged; a throw writes nothing.
   * Resolves to the value now stored.
   */
  function updateJson<T = unknown>(path: PathLike, fn: (current: T) => T | undefined | PromiseLike<T | undefined>, options?: UpdateJsonOptions<T>): Promise<T>;

  // --- streams, large files, datasets and the _SUCCESS manifest (issue 5) ---

  /** Stream-like data, consumed piece by piece (never buffered whole). */
  type StreamSource =
    | NodeJS.ReadableStream
    | ReadableStream<string | NodeJS.ArrayBufferView | ArrayBuffer>
    | AsyncIterable<string | NodeJS.ArrayBufferView | ArrayBuffer>
    | Iterable<string | NodeJS.ArrayBufferView | ArrayBuffer>;

  interface Progress {
    bytesWritten: number;
    /** The expected size when known (`totalBytes`, or a buffer's length). */
    totalBytes: number | undefined;
  }

  interface ProgressOptions {
    /** Called at most every 100 ms while writing, and once when every byte is written. */
    onProgress?: (progress: Progress) => void;
    /** The expected size, passed on to `onProgress`. */
    totalBytes?: number;
  }

  interface StreamWriteOptions extends WriteOptions, ProgressOptions {}

  interface WriteStreamOptions extends WriteOptions, ProgressOptions {
    /** Bytes buffered before `write()` returns false (default 1 MiB). */
    highWaterMark?: number;
  }

  /**
   * A Writable into a staged temp; `end()` publishes it atomically and durably before 'finish'.
   * Made by `createWriteStream` only: an interface, since the module exports no such value.
   */
  interface AtomicWriteStream extends Writable {
    /** The file the stream replaces when it finishes. */
    readonly path: string | Buffer;
    /** Bytes handed to the file so far. */
    readonly bytesWritten: number;
    /** Resolves once the file is published and durable; rejects if the stream failed or was destroyed first. */
    readonly committed: Promise<void>;
  }

  interface ManifestFile {
    /** Relative to the dataset, `/`-separated. */
    name: string;
    bytes: number;
    /** `crc32c:` and 8 hex digits. */
    checksum: string;
    rows?: number;
    format?: string;
  }

  /** The JSON in `_SUCCESS`; `name`, `timestamp`, `date`, `hostname`, `committer`, `description` and `filenames` follow S3A's SuccessData. */
  interface Manifest {
    format: 'atomicwriter.success';
    formatVersion: number;
    writer: 'atomicwriter';
    writerVersion: string;
    /** ISO 8601, UTC. */
    created: string;
    hostname: string;
    files: ManifestFile[];
    name: string;
    /** Milliseconds since the epoch. */
    timestamp: number;
    date: string;
    committer: 'atomicwriter';
    description: string;
    filenames: string[];
  }

  interface DatasetOptions {
    /** Write the `_SUCCESS` manifest last (default `true`). */
    marker?: boolean;
    /** Sync parts, directories and the parent before resolving (default `true`). */
    fsync?: boolean;
    /** Create missing parent directories (default `true`). */
    mkdir?: boolean;
    /**
     * What an existing directory at `dir` may be: `'dataset'` (default) replaces only a
     * directory that holds a `_SUCCESS` marker or is empty, and refuses any other with
     * `ENOTEMPTY`, untouched; `'any'` replaces whatever directory is there, with
     * everything in it.
     */
    replace?: 'dataset' | 'any';
    /** Aborting it before the dataset is published publishes nothing. */
    signal?: AbortSignal;
  }

  interface PartOptions extends ProgressOptions {
    /** A format name (as for `write()`), for data that is not bytes, a string or a stream. */
    format?: string;
    /** Encoding of string data (default `utf8`). */
    encoding?: BufferEncoding;
    /** Rows in the part, recorded in the manifest (formats report their own). */
    rows?: number;
    /** Permission bits of the part (default `0o666 & ~umask`). */
    mode?: number | string;
    /** For `createWriteStream`: bytes buffered before `write()` returns false. */
    highWaterMark?: number;
    /** Options of the format (indent, delimiter, ...); a name neither the part nor its format reads is a TypeError (`ERR_INVALID_ARG_VALUE`), unless the format is a plugin that declares no `options`. */
    [option: string]: unknown;
  }

  /** Writes parts of a dataset into its staging directory (only inside the `writeDataset` callback). */
  interface DatasetStage {
    /** Writes one part (`name` relative, `/`-separated): bytes, strings and streams as they are; other data through a format. */
    write(name: string, data: unknown, options?: PartOptions): Promise<void>;
    /** A Writable for one part; end it before the callback returns. */
    createWriteStream(name: string, options?: PartOptions): AtomicWriteStream;
    /** A path in the staging directory for code that writes files itself (parents created; checksummed when sealed). */
    path(name: string): string;
  }

  interface DatasetResult {
    /** Where the dataset now is. */
    path: string;
    files: ManifestFile[];
    /** What `_SUCCESS` holds, or `null` with `marker: false`. */
    manifest: Manifest | null;
  }

  interface VerifyProblem {
    /** The file concerned, or `_SUCCESS`. */
    name: string;
    code: 'ENOENT' | 'ENOMARKER' | 'EBADMARKER' | 'ENOTLISTED' | 'ENOTFILE' | 'ESIZE' | 'ECHECKSUM' | 'ECHANGED' | 'EIO';
    message: string;
    expected?: number | string;
    actual?: number | string;
  }

  interface VerifyResult {
    ok: boolean;
    /** The directory whose `_SUCCESS` was read. */
    dir: string;
    /** `json`: an atomicwriter manifest; `empty`: Hadoop's classic marker; `foreign`: another JSON marker (S3A); `null`: none. */
    marker: 'json' | 'empty' | 'foreign' | null;
    /** Files checked against the manifest. */
    checked: number;
    problems: VerifyProblem[];
    /** Regular files present but not listed (never a failure). */
    extra: string[];
    manifest?: Manifest;
  }

  interface VerifyOptions {
    /** Recompute every checksum (default `true`); `false` checks presence and sizes only. */
    checksums?: boolean;
  }

  /** Writes `data` (bytes, or a stream consumed piece by piece) to `filename` atomically and durably. */
  function writeFile(filename: PathLike, data: WriteData | StreamSource, options?: StreamWriteOptions | BufferEncoding): Promise<void>;
  /** A Writable into a staged temp beside `path`: published on `end()`, removed on `destroy()`, error or abort. */
  function createWriteStream(path: PathLike, options?: WriteStreamOptions | BufferEncoding): AtomicWriteStream;
  /**
   * Writes a dataset directory that appears complete (with `_SUCCESS` last) or not at all. `dir` ending in
   * `/`, `/.` or `/..` throws (`ERR_INVALID_ARG_VALUE`); an existing directory that is not a dataset (no
   * `_SUCCESS`, not empty) is refused with `ENOTEMPTY` unless `replace: 'any'`.
   */
  function writeDataset(dir: PathLike, fn: (stage: DatasetStage) => unknown, options?: DatasetOptions): Promise<DatasetResult>;
  /**
   * Checks a dataset (or a file with `_SUCCESS` beside it) against its manifest, never through a link and
   * never blocking on a FIFO or device; a directory that does not exist rejects with `ENOENT`.
   */
  function verify(dirOrFile: PathLike, options?: VerifyOptions): Promise<VerifyResult>;
  /**
   * The cheap check: `_SUCCESS` is present and empty or JSON (and lists the file, given a file); `false` for a
   * directory that does not exist yet. A `_SUCCESS` that is not a regular file rejects (`EINVAL`), one over
   * 64 MiB too (`EFBIG`).
   */
  function isComplete(dirOrFile: PathLike): Promise<boolean>;

  // --- formats: write(data, path, {format}) and plugins (src/formats/write.ts, src/formats/) ---

  /** Built-in format names; plugins add their own. */
  type FormatName = 'json' | 'ndjson' | 'jsonl' | 'csv' | 'tsv' | 'arrow' | 'feather' | 'arrows' | 'parquet' | 'npy' | 'text' | 'bytes';

  interface FormatWriteOptions extends WriteOptions {
    /** Format name (case-insensitive); default: from the file name's extension. */
    format?: FormatName | (string & {});
    /**
     * After the file is published, write a `_SUCCESS` manifest (size, CRC32C, rows) beside it.
     * A `_SUCCESS` there that is not a regular file rejects the write (`EINVAL`) before the file is published.
     */
    marker?: boolean;
    /** json: spaces (0 to 10) or a whitespace string; default 2. */
    indent?: number | string;
    /** csv/tsv/parquet/arrow: column names and order; default: the union of the records' keys in first-seen order (over the first part of an iterable: see the README's "Columns of records"). */
    columns?: string[];
    /** csv/tsv: field delimiter; default `,` (csv) or a tab (tsv). */
    delimiter?: string;
    /** csv/tsv: line ending; default `\n`. */
    eol?: '\n' | '\r\n';
    /** csv/tsv: write the header line (default `true`). */
    header?: boolean;
    /** parquet: default `snappy`; all four are built into the addon's encoder. */
    compression?: 'snappy' | 'zstd' | 'gzip' | 'none' | 'uncompressed';
    /** parquet: rows per row group (default 100,000); also how many rows are held in memory. */
    rowGroupSize?: number;
    /** parquet: min/max/null-count statistics per column chunk (default `true`). */
    statistics?: boolean;
    /** Options of plugin formats. A name that neither `write` nor the format reads (`delimter`) is a TypeError (`ERR_INVALID_ARG_VALUE`), unless the format is a plugin that declares no `options`. */
    [option: string]: unknown;
  }

  interface WriteResult {
    /** The file written (symlinks resolved). */
    path: string;
    format: string;
    /** Bytes serialized (absent when an encoder such as nodejs-polars wrote the temp itself). */
    bytes?: number;
    /** Rows (or values) written, where the format counts them. */
    rows?: number;
  }

  /** Where a serializer writes: the staged temp of the write. Await each `write` (back-pressure). */
  interface ByteSink {
    write(chunk: string | NodeJS.ArrayBufferView | ArrayBuffer): Promise<void>;
    readonly bytesWritten: number;
  }

  interface FormatPluginBase {
    /** Letters, digits, `.`, `+`, `-`, `_`; stored lower-case. */
    name: string;
    /** Endings the format is picked for: `['yaml', '.yml']`. */
    extensions?: readonly string[];
    /** Throw (a TypeError) to refuse `data` or options before anything touches the disk. */
    validate?(data: unknown, options: FormatWriteOptions): void;
    /**
     * The option names the format reads (`['indent', 'sortKeys']`). With it, `write()` and
     * `stage.write()` refuse a name that neither they nor the format read (a typo) with a
     * TypeError (`ERR_INVALID_ARG_VALUE`); without it, every name is accepted and passed on.
     */
    options?: readonly string[];
    /** Replace a format or extensions registered before. */
    override?: boolean;
  }

  /** A format that streams bytes into the staged temp. */
  interface SerializePlugin extends FormatPluginBase {
    /**
     * `data` is what the caller passed; `options.signal` is the write's (or the dataset's) signal: a
     * serializer reading a slow source should stop on its abort (the built-ins do).
     */
    serialize(data: unknown, sink: ByteSink, options: FormatWriteOptions): unknown;
    writeTo?: never;
  }

  /** A format whose encoder only writes to a path: it gets the temp's path. */
  interface WriteToPlugin extends FormatPluginBase {
    writeTo(tmpPath: string, data: unknown, options: FormatWriteOptions): unknown;
    serialize?: never;
  }

  type FormatPlugin = SerializePlugin | WriteToPlugin;

  /**
   * Serializes `data` into one staged temp and publishes it atomically and durably;
   * missing parent directories are created unless `mkdir: false`. Throws a TypeError for
   * an unknown format or unfit data before the disk is touched.
   */
  function write(data: unknown, path: PathLike, options?: FormatWriteOptions): Promise<WriteResult>;
  /** Adds a format; duplicate names or extensions throw unless `override: true`. */
  function registerFormat(plugin: FormatPlugin): void;
}

/**
 * write-file-atomic compatible: writes `data` to `filename` atomically and durably.
 * With a callback, it receives the error (or `undefined`, as write-file-atomic 8 passes it) and the promise does not reject.
 */
declare function writeFileAtomic(
  filename: writeFileAtomic.PathLike,
  data: writeFileAtomic.WriteData,
  options?: writeFileAtomic.WriteOptions | BufferEncoding | ((err?: Error) => void),
  callback?: (err?: Error) => void,
): Promise<void>;

export = writeFileAtomic;
