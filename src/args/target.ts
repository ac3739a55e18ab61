// Path arguments: string, Buffer or file: URL, validated before anything else, then
// resolved by the core to the real file (symlinks followed).

import { fileURLToPath } from 'node:url';
import { invalidArgType } from '../binding/errors';
import { native } from '../binding/native';

export type PathLike = string | Buffer | URL;

export function checkPath(path: unknown, name = 'path'): string | Buffer {
  if (typeof path === 'string') {
    if (path.length === 0) throw invalidArgType(name, 'a non-empty string, Buffer or URL', path);
    if (path.includes('\0')) throw invalidArgType(name, 'a string without null bytes', path);
    return path;
  }
  if (Buffer.isBuffer(path)) {
    if (path.length === 0 || path.includes(0)) throw invalidArgType(name, 'a non-empty Buffer without null bytes', path);
    return path;
  }
  if (path instanceof URL) return checkPath(urlPath(path), name);
  throw invalidArgType(name, 'of type string or an instance of Buffer or URL', path);
}

/** A file: URL's path, as `fs` decodes it; a malformed escape is a coded TypeError (`fs` throws a bare URIError). */
function urlPath(url: URL): string {
  try {
    return fileURLToPath(url);
  } catch (err) {
    if (!(err instanceof URIError)) throw err;
    const error = new TypeError(`File URL path must not contain malformed percent escapes. Received ${url.href}`, { cause: err }) as TypeError & { code: string };
    error.code = 'ERR_INVALID_FILE_URL_PATH';
    throw error;
  }
}

/** The real path a write lands on; doubles as the key that orders writes to a file. */
export function resolveTarget(path: string | Buffer): string | Buffer {
  return native().resolveTarget(path);
}

/**
 * For the async APIs: resolves `path` and hands the target to `then`. What the disk
 * says about the path (ELOOP, EISDIR, a refused symlink) rejects the promise and is
 * never thrown, so a callback or a `.catch` sees it like every other disk error.
 */
export function withTarget<T>(path: string | Buffer, then: (target: string | Buffer) => Promise<T>): Promise<T> {
  let target: string | Buffer;
  try {
    target = resolveTarget(path);
  } catch (err) {
    return Promise.reject(err);
  }
  return then(target);
}

export function targetKey(resolved: string | Buffer): string {
  return typeof resolved === 'string' ? resolved : `\0${resolved.toString('hex')}`;
}
