// Validates write options up front (a bad option throws before the disk is touched)
// and turns them into what the core takes.

import { invalidArgType, outOfRange } from './errors';
import type { NativeWriteOptions } from './native';

export interface Chown {
  uid: number;
  gid: number;
}

export interface WriteOptions {
  /** Encoding of string data (default `utf8`). */
  encoding?: BufferEncoding | null;
  /** Permission bits, a number or an octal string; default: the existing file's, else `0o666 & ~umask`. */
  mode?: number | string;
  /** Owner; default: the existing file's. */
  chown?: Chown | null | false;
  /** Sync data and directory (default `true`). */
  fsync?: boolean;
  /** Called with the temp's path once it exists; awaited; a throw aborts the write. */
  tmpfileCreated?: (tmpPath: string) => unknown;
  /** An aborted signal publishes nothing. */
  signal?: AbortSignal;
  /** Create-only: fail with `EEXIST` instead of replacing. */
  exclusive?: boolean;
  /** Create missing parent directories. */
  mkdir?: boolean;
  /**
   * Windows: ms to keep retrying the publish while another process holds the target
   * open (EPERM/EBUSY, write-file-atomic#28); default 5000, 0 disables. No effect elsewhere.
   */
  busyTimeout?: number;
}

export interface ResolvedOptions {
  encoding: BufferEncoding;
  tmpfileCreated?: (tmpPath: string) => unknown;
  signal?: AbortSignal;
  native: NativeWriteOptions;
}

const MAX_MODE = 0o177777;

export function parseMode(mode: unknown, name = 'options.mode'): number | undefined {
  if (mode === undefined || mode === null) return undefined;
  let value: number;
  if (typeof mode === 'number') {
    value = mode;
  } else if (typeof mode === 'string') {
    if (!/^[0-7]+$/.test(mode)) throw invalidArgType(name, 'an integer or an octal string', mode);
    value = parseInt(mode, 8);
  } else {
    throw invalidArgType(name, 'an integer or an octal string', mode);
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_MODE) {
    throw outOfRange(name, `an integer >= 0 and <= 0o${MAX_MODE.toString(8)}`, mode);
  }
  // A whole `stat.mode` (with the file type bits) is accepted, as fs.chmod does.
  return value & 0o7777;
}

function parseId(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw outOfRange(name, 'an integer >= 0 and <= 4294967295', value);
  return value;
}

function parseBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

const MAX_BUSY_TIMEOUT = 0xffffffff;

function parseBusyTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalidArgType('options.busyTimeout', 'of type number', value);
  if (!Number.isInteger(value) || value < 0 || value > MAX_BUSY_TIMEOUT) {
    throw outOfRange('options.busyTimeout', `an integer >= 0 and <= ${MAX_BUSY_TIMEOUT} (milliseconds)`, value);
  }
  return value;
}

export function resolveOptions(options: unknown, defaults: { mkdir: boolean }): ResolvedOptions {
  if (options === undefined || options === null) options = {};
  if (typeof options === 'string') options = { encoding: options };
  if (typeof options !== 'object') throw invalidArgType('options', 'an object or an encoding string', options);
  const o = options as WriteOptions;

  const encoding = o.encoding ?? 'utf8';
  if (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)) {
    throw invalidArgType('options.encoding', 'a Buffer encoding such as "utf8"', encoding);
  }
  const mode = parseMode(o.mode);
  let uid: number | undefined;
  let gid: number | undefined;
  if (o.chown !== undefined && o.chown !== null && o.chown !== false) {
    if (typeof o.chown !== 'object') throw invalidArgType('options.chown', 'an object { uid, gid }', o.chown);
    uid = parseId(o.chown.uid, 'options.chown.uid');
    gid = parseId(o.chown.gid, 'options.chown.gid');
  }
  if (o.tmpfileCreated !== undefined && typeof o.tmpfileCreated !== 'function') {
    throw invalidArgType('options.tmpfileCreated', 'a function', o.tmpfileCreated);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  }
  return {
    encoding,
    tmpfileCreated: o.tmpfileCreated,
    signal: o.signal,
    native: {
      mode,
      uid,
      gid,
      fsync: parseBoolean(o.fsync, 'options.fsync', true),
      exclusive: parseBoolean(o.exclusive, 'options.exclusive', false),
      mkdir: parseBoolean(o.mkdir, 'options.mkdir', defaults.mkdir),
      namedTemp: o.tmpfileCreated !== undefined,
      // write-file-atomic: `chown: false` leaves the new file to the writer.
      writerOwns: o.chown === false,
      busyTimeout: parseBusyTimeout(o.busyTimeout),
    },
  };
}
