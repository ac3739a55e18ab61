// Validates write options up front (a bad option throws before the disk is touched)
// and turns them into what the core takes.

import { invalidArgType, invalidArgValue, outOfRange } from '../binding/errors';
import type { NativeWriteOptions } from '../binding/native';
import type { Ticket } from './queue';
import { parseBoolean, parseInteger } from '../args/validate';

export interface Chown {
  /** -1 leaves it unchanged (the writer's), as in fs.chown. */
  uid: number;
  /** -1 leaves it unchanged (the writer's), as in fs.chown. */
  gid: number;
}

export interface WriteOptions {
  /** Encoding of string data (default `utf8`). */
  encoding?: BufferEncoding | null;
  /** Permission bits, a number or an octal string; default: the existing file's, else `0o666 & ~umask`. */
  mode?: number | string;
  /** Owner; default: the existing file's. */
  chown?: Chown | null | false;
  /** Sync data and directory (default `true`): `true` is `durability: 'full'`, `false` is `'none'`. */
  fsync?: boolean;
  /**
   * What a resolved write survives (default `'full'`; see the README's durability section):
   * `'full'` a power cut (data, inode and name synced), `'data'` a power cut without
   * tearing but perhaps as the old content (the data is synced, the rename is not:
   * write-file-atomic's level), `'none'` a process crash only (nothing is synced).
   */
  durability?: Durability;
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
  /** The write's place in its file's call order (queued writes only; see queue.ts). */
  order?: Ticket;
}

export type Durability = 'none' | 'data' | 'full';
export const DURABILITY_LEVELS: readonly Durability[] = ['none', 'data', 'full'];

/**
 * The durability level of `durability` and `fsync` together: either alone, or both when
 * they agree (`fsync: true` with 'data' or 'full', `fsync: false` with 'none').
 */
export function parseDurability(durability: unknown, fsync: unknown, name = 'options.durability'): Durability {
  const synced = parseBoolean(fsync, 'options.fsync', true);
  if (durability === undefined) return synced ? 'full' : 'none';
  if (typeof durability !== 'string' || !DURABILITY_LEVELS.includes(durability as Durability)) {
    throw invalidArgValue(name, `one of ${DURABILITY_LEVELS.map((l) => `'${l}'`).join(', ')}`, durability);
  }
  if (fsync !== undefined && synced !== (durability !== 'none')) {
    throw invalidArgValue(name, `consistent with options.fsync (${String(fsync)})`, durability);
  }
  return durability as Durability;
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

const MAX_U32 = 0xffffffff;

/**
 * A uid or gid for fchown. -1 means "leave this one unchanged", as fs.chown and
 * write-file-atomic take it: it is (uid_t)-1, which fchown itself reads that way, so
 * the published file keeps the temp's (the writer's) id.
 */
function parseId(value: unknown, name: string): number {
  if (value === undefined) throw invalidArgType(name, 'of type number', value);
  const id = parseInteger(value, name, 0, -1, MAX_U32);
  return id === -1 ? MAX_U32 : id;
}

/** The options of every whole-file write (`writeFile`, `writeFileSync`, `openAtomic`, `atomicWrite`, ...). */
export const WRITE_OPTION_NAMES: readonly string[] = ['encoding', 'mode', 'chown', 'fsync', 'durability', 'tmpfileCreated', 'signal', 'exclusive', 'mkdir', 'busyTimeout'];

/** What `write(data, path)` reads itself, besides the format's options. */
export const FORMAT_WRITE_OPTION_NAMES: readonly string[] = [...WRITE_OPTION_NAMES, 'format', 'marker'];

/**
 * A misspelt option (`fsyn: false`) must not pass silently: a name outside `base`
 * (the write options, unless the call is not a write) and `extra` (what the entry
 * point reads itself) is a TypeError.
 */
export function checkOptionNames(options: unknown, extra: readonly string[] = [], base: readonly string[] = WRITE_OPTION_NAMES): void {
  if (options === null || typeof options !== 'object') return;
  for (const name of Object.keys(options)) {
    if (base.includes(name) || extra.includes(name)) continue;
    const known = [...base, ...extra].join(', ');
    const error = new TypeError(`Unknown option "options.${name}": ${known ? `this call takes ${known}` : 'this call takes no options'}`) as TypeError & { code: string };
    error.code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
}

/**
 * write-file-atomic reads its options loosely, and its callers rely on it: options
 * that are neither an object nor a string mean none; `fsync` syncs unless it is
 * `false`; `encoding` is ignored for buffers and falls back to utf8 when empty or
 * unknown (as fs.writeSync does); a falsy `tmpfileCreated` or `chown` is absent
 * (`chown` then leaves the file to the writer). Unknown names are ignored. Returns a
 * new object for resolveOptions: the caller's is never changed.
 */
export function looseOptions(options: unknown, binary: boolean): WriteOptions {
  if (typeof options === 'string') options = { encoding: options };
  if (options === null || typeof options !== 'object') return {};
  const o = { ...(options as Record<string, unknown>) };
  // With a durability level, an absent fsync stays absent (it would contradict 'none').
  if (o.durability === undefined || o.fsync !== undefined) o.fsync = o.fsync !== false;
  if (binary) {
    delete o.encoding;
  } else {
    const encoding = String(o.encoding || 'utf8');
    o.encoding = Buffer.isEncoding(encoding) ? encoding : 'utf8';
  }
  if (!o.tmpfileCreated) delete o.tmpfileCreated;
  if (!o.chown && o.chown !== undefined && o.chown !== null) o.chown = false;
  const known: Record<string, unknown> = {};
  for (const name of WRITE_OPTION_NAMES) if (o[name] !== undefined) known[name] = o[name];
  return known as WriteOptions;
}

/**
 * Validates write options (bad values throw before the disk is touched). `known`:
 * the names the entry point takes besides WRITE_OPTION_NAMES; given, any other name
 * is refused (see checkOptionNames).
 */
export function resolveOptions(options: unknown, defaults: { mkdir: boolean; known?: readonly string[] }): ResolvedOptions {
  if (options === undefined || options === null) options = {};
  if (typeof options === 'string') options = { encoding: options };
  if (typeof options !== 'object') throw invalidArgType('options', 'an object or an encoding string', options);
  if (defaults.known) checkOptionNames(options, defaults.known);
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
  const durability = parseDurability(o.durability, o.fsync);
  return {
    encoding,
    tmpfileCreated: o.tmpfileCreated,
    signal: o.signal,
    native: {
      mode,
      uid,
      gid,
      fsync: durability !== 'none',
      dataOnly: durability === 'data',
      exclusive: parseBoolean(o.exclusive, 'options.exclusive', false),
      mkdir: parseBoolean(o.mkdir, 'options.mkdir', defaults.mkdir),
      namedTemp: o.tmpfileCreated !== undefined,
      // write-file-atomic: `chown: false` leaves the new file to the writer.
      writerOwns: o.chown === false,
      // Milliseconds.
      busyTimeout: parseInteger(o.busyTimeout, 'options.busyTimeout', undefined, 0, MAX_U32),
    },
  };
}
