// Public types of atomicwriter (hand-written; the binding's generated types stay internal).
/// <reference types="node" />

declare namespace writeFileAtomic {
  type PathLike = string | Buffer | URL;
  type WriteData = string | NodeJS.ArrayBufferView | ArrayBuffer | SharedArrayBuffer | null | undefined;

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
    /** Sync the data before the rename and the directory after it (default `true`). */
    fsync?: boolean;
    /** Called with the temp's path once it exists; awaited; a throw fails the write and removes the temp. */
    tmpfileCreated?: (tmpPath: string) => unknown;
    /** An aborted signal publishes nothing. */
    signal?: AbortSignal;
    /** Create-only: fail with `EEXIST` instead of replacing an existing file. */
    exclusive?: boolean;
    /** Create missing parent directories (default `false` here, as in write-file-atomic). */
    mkdir?: boolean;
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
  /** Removes temps orphaned by crashed writers in `dir`; resolves to the paths removed (or found, with `dryRun`). */
  function sweep(dir: PathLike, options?: SweepOptions): Promise<string[]>;
}

/**
 * write-file-atomic compatible: writes `data` to `filename` atomically and durably.
 * With a callback, it receives the error (or nothing) and the promise does not reject.
 */
declare function writeFileAtomic(
  filename: writeFileAtomic.PathLike,
  data: writeFileAtomic.WriteData,
  options?: writeFileAtomic.WriteOptions | BufferEncoding | ((err?: Error) => void),
  callback?: (err?: Error) => void,
): Promise<void>;

export = writeFileAtomic;
