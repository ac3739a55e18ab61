// Node-style errors: the hints native errors get (one table, chosen by operation), and
// the argument and abort errors that are thrown before anything touches the disk.
//
// The binding builds each native error as a real JS error with Node's fields (`code`,
// `errno`, `syscall`, `path`, `dest`: crates/node/src/error.rs), and `native()`
// (src/binding/native.ts) passes it through `explain` exactly once. The hints live here, not in
// Rust, because they name this API's options and operations (`mkdir: true`, `namedTemp`,
// `exclusive`, a sweep as opposed to a write), which only the JS layer knows.

import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface NodeStyleError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** What a native call was doing, for the hint. */
type Operation = 'write' | 'sweep' | 'lock' | 'read';

const OPERATIONS: Record<string, Operation> = {
  sweep: 'sweep',
  openLock: 'lock',
  lockNow: 'lock',
  'LockHandle.tryLock': 'lock',
  'LockHandle.wait': 'lock',
  'LockHandle.release': 'lock',
  'LockHandle.inheritableFd': 'lock',
  'LockHandle.key': 'lock',
  digestFile: 'read',
};

// What the caller can do about the common failures; a failed write leaves the old file intact.
const DISK_HINTS: Record<string, string> = {
  ENOSPC: 'free space on that filesystem or write elsewhere; the old file is intact',
  EDQUOT: 'the disk quota is exhausted; free space or raise the quota; the old file is intact',
  EFBIG: 'the file size limit (ulimit -f) or the filesystem limit was reached; the old file is intact',
  EROFS: 'the filesystem is mounted read-only',
  EMFILE: 'too many open files in this process; raise `ulimit -n` or write fewer files at once',
};

const WRITE_HINTS: Record<string, string> = {
  ...DISK_HINTS,
  EACCES: 'the directory must be writable by this process (a temp file is created beside the target)',
  EPERM: 'the directory must be writable by this process (a temp file is created beside the target)',
  EISDIR: 'the target is a directory',
  ELOOP: 'the path has a symlink loop',
};

const LOCK_HINTS: Record<string, string> = {
  ...DISK_HINTS,
  EACCES: 'the lock file (or its directory, to create it) must be writable by this process',
  EPERM: 'the lock file (or its directory, to create it) must be writable by this process',
  ELOOP: 'the lock path is a symlink: locks are taken on the path itself, never through a link (whoever controls the link would choose the file)',
  EINVAL: 'the lock path must be a regular file (or not exist yet)',
  EISDIR: 'the lock path is a directory; name a file beside the data, such as `data.json.lock`',
};

const SWEEP_HINTS: Record<string, string> = {
  EMFILE: DISK_HINTS.EMFILE,
  ENOENT: 'there is no such directory to sweep',
  ENOTDIR: 'sweep takes a directory',
  EACCES: 'the directory must be readable and writable by this process to remove leftovers from it',
  EPERM: 'the directory must be readable and writable by this process to remove leftovers from it',
};

const READ_HINTS: Record<string, string> = { EMFILE: DISK_HINTS.EMFILE };

const HINTS: Record<Operation, Record<string, string>> = { write: WRITE_HINTS, sweep: SWEEP_HINTS, lock: LOCK_HINTS, read: READ_HINTS };

const explained = new WeakSet<object>();

/**
 * Gives a native error the hint for what `call` (a binding function, or `Class.method`)
 * was doing with `args`. The error is the binding's own object, so nothing is lost.
 * @internal for native.ts
 */
export function explain(call: string, args: readonly unknown[], err: unknown): unknown {
  if (!(err instanceof Error) || explained.has(err)) return err;
  explained.add(err);
  const error = err as NodeStyleError;
  if (typeof error.code !== 'string' || typeof error.syscall !== 'string') return err;
  // A message that ends in ')' carries the core's own explanation (the errno alone
  // would mislead: a refused symlink is not an unwritable directory).
  if (error.message.endsWith(')')) return err;
  const hint = hintFor(call, args, error);
  if (hint) error.message = `${error.message} (${hint})`;
  return err;
}

function hintFor(call: string, args: readonly unknown[], error: NodeStyleError): string | undefined {
  const operation = OPERATIONS[call] ?? 'write';
  const options = args.find((arg): arg is Record<string, unknown> => arg !== null && typeof arg === 'object' && !Buffer.isBuffer(arg));
  const { code, syscall } = error;
  if (code === 'EACCES' || code === 'EPERM') {
    const sticky = stickyOwner(error.dest ?? error.path);
    if (sticky) return sticky;
    if (syscall === 'mkdir') return `the missing directory '${error.path}' cannot be created: its parent is not writable by this process`;
  }
  if (operation === 'write' || operation === 'lock') {
    if (syscall === 'mkdir' && code === 'EROFS') return `the missing directory '${error.path}' cannot be created: the filesystem is mounted read-only`;
    // With `mkdir: true` the directories were created, so the open failed for another reason.
    if (code === 'ENOENT' && syscall === 'open' && options?.mkdir !== true) {
      return operation === 'lock' ? "the lock file's directory does not exist; create it or pass `mkdir: true`" : 'the parent directory does not exist; create it or pass `mkdir: true`';
    }
    if (code === 'EEXIST' && options?.exclusive === true) return '`exclusive: true` does not replace an existing file';
  }
  if (operation === 'write' && code === 'EINVAL' && syscall === 'rename' && (call === 'AtomicHandle.commitExternal' || call === 'AtomicHandle.commitExternalSync')) {
    return 'commit(true) publishes a temp that was written through `tempPath`, and this file has no named temp: open it with `namedTemp: true`';
  }
  // The lock hints are about opening the lock file; a failed fcntl is something else.
  if (operation === 'lock' && syscall !== 'open') return DISK_HINTS[code];
  return HINTS[operation][code];
}

/**
 * The sticky-bit rule, when it is what refused: in a sticky directory (such as /tmp)
 * only a file's owner, the directory's owner or a privileged process may replace or
 * remove a file, however writable the directory is.
 */
function stickyOwner(file: string | undefined): string | undefined {
  const euid = process.geteuid?.();
  if (file === undefined || euid === undefined) return undefined;
  try {
    const dir = statSync(dirname(file));
    if ((dir.mode & 0o1000) === 0 || dir.uid === euid) return undefined;
    const st = lstatSync(file);
    if (st.uid === euid) return undefined;
    return `'${dirname(file)}' has the sticky bit and '${file}' belongs to another user (uid ${st.uid}): only its owner, the directory's owner or root may replace or remove it; write elsewhere or ask its owner`;
  } catch {
    return undefined;
  }
}

/**
 * An `fs` error that came without the path (`readFile` of a directory gives a bare
 * `EISDIR ..., read`): it gets the path, in the field and in the message, as `fs.open` gives it.
 */
export function withPath(err: unknown, path: string | Buffer): unknown {
  const error = err as NodeStyleError;
  if (!(err instanceof Error) || typeof error.syscall !== 'string' || error.path !== undefined) return err;
  error.path = path.toString();
  error.message = `${error.message} '${error.path}'`;
  return err;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return `type ${typeof value} (${String(value).slice(0, 40)})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const error = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

/** A value of the right type that is not one the option takes (Node's ERR_INVALID_ARG_VALUE). */
export function invalidArgValue(name: string, expected: string, actual: unknown): TypeError {
  const shown = typeof actual === 'string' ? `'${actual}'` : describe(actual);
  const error = new TypeError(`The argument '${name}' must be ${expected}. Received ${shown}`) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_VALUE';
  return error;
}

export function outOfRange(name: string, expected: string, actual: unknown): RangeError {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${String(actual)}`) as RangeError & { code: string };
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

/**
 * The one shape of every abort (writes, streams, datasets, lock waits, S3):
 * `name: 'AbortError'`, `code: 'ABORT_ERR'`, the signal's reason as `cause`, as Node's
 * own APIs reject.
 */
export function abortError(signal: { readonly reason?: unknown } | undefined, message = 'The write was aborted; nothing was published'): Error {
  const error = new Error(message, { cause: signal?.reason }) as NodeStyleError;
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/** `signal.throwIfAborted()`, but with the one abort shape (that throws the bare reason). */
export function throwIfAborted(signal: AbortSignal | undefined, message?: string): void {
  if (signal?.aborted) throw abortError(signal, message);
}
