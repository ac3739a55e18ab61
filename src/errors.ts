// Turns core errors into Node-style errors, and builds the argument errors that are
// thrown before anything touches the disk.

const NATIVE_TAG = '\u0001atomicwriter:';

export interface NodeStyleError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

// What the caller can do about the common failures; the old file is always intact.
const HINTS: Record<string, string> = {
  ENOSPC: 'free space on that filesystem or write elsewhere; the old file is intact',
  EDQUOT: 'the disk quota is exhausted; free space or raise the quota; the old file is intact',
  EFBIG: 'the file size limit (ulimit -f) or the filesystem limit was reached; the old file is intact',
  EACCES: 'the directory must be writable by this process (a temp file is created beside the target)',
  EPERM: 'the directory must be writable by this process (a temp file is created beside the target)',
  EROFS: 'the filesystem is mounted read-only',
  EMFILE: 'too many open files in this process; raise `ulimit -n` or write fewer files at once',
  EEXIST: '`exclusive: true` does not replace an existing file',
  ENOENT: 'the parent directory does not exist; create it or pass `mkdir: true`',
  EISDIR: 'the target is a directory',
  ELOOP: 'the path has a symlink loop',
};

interface NativeErrorInfo {
  code: string;
  errno: number;
  syscall: string;
  path: string | null;
  dest: string | null;
  message: string;
}

export function toNodeError(err: unknown): unknown {
  if (!(err instanceof Error) || !err.message.startsWith(NATIVE_TAG)) return err;
  const info = JSON.parse(err.message.slice(NATIVE_TAG.length)) as NativeErrorInfo;
  // A message that ends in ')' carries the core's own explanation (the errno alone
  // would mislead: a refused symlink is not an unwritable directory).
  const hint = info.message.endsWith(')') ? undefined : HINTS[info.code];
  const error = new Error(hint ? `${info.message} (${hint})` : info.message) as NodeStyleError;
  error.errno = info.errno;
  error.code = info.code;
  error.syscall = info.syscall;
  if (info.path !== null) error.path = info.path;
  if (info.dest !== null) error.dest = info.dest;
  return error;
}

export function rethrow(err: unknown): never {
  throw toNodeError(err);
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

export function outOfRange(name: string, expected: string, actual: unknown): RangeError {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${String(actual)}`) as RangeError & { code: string };
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

export function abortError(signal: AbortSignal): Error {
  const error = new Error('The write was aborted; nothing was published', { cause: signal.reason }) as NodeStyleError;
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}
