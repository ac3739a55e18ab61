// JSON files: writeJson (atomic, durable), readJson (with a default for a missing
// file, errors that point at the bad byte) and updateJson (read-modify-write under a
// cross-process lock on `<file>.lock`: no lost update between processes or callers).

import { abortError, invalidArgType, type NodeStyleError } from '../binding/errors';
import { native } from '../binding/native';
import { retryOnFdExhaustion } from '../binding/fd-wait';
import { acquireWith, checkTimeout, lockRequest, runHolding, writeAndRelease } from '../lock';
import { checkOptionNames, resolveOptions, type WriteOptions } from '../file/options';
import { checkPath, resolveTarget, targetKey, type PathLike } from '../args/target';
import { pendingOutside, superseded, type Ticket } from '../file/queue';
import { writeFileWith } from '../file/write-file';
import { stringify, type Replacer } from '../formats/stringify';


export interface WriteJsonOptions extends Omit<WriteOptions, 'encoding'> {
  /** `JSON.stringify`'s space argument (default 2; 0 for one line). */
  indent?: number | string;
  /** `JSON.stringify`'s replacer. */
  replacer?: Replacer;
}

export interface ReadJsonOptions {
  /** Returned when the file does not exist (without it, a missing file throws ENOENT). */
  default?: unknown;
  /** `JSON.parse`'s reviver. */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
}

export interface UpdateJsonOptions<T = unknown> extends Omit<WriteJsonOptions, 'tmpfileCreated'> {
  /** The value `fn` gets when the file does not exist (default `undefined`). */
  defaultData?: T;
  /** Milliseconds to wait for the lock (default 30,000; `Infinity` waits forever). */
  lockTimeout?: number;
}

export interface JsonFormat {
  indent: number | string;
  replacer: Replacer;
  rest: Record<string, unknown>;
}

export function parseFormat(options: unknown): JsonFormat {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  const { indent = 2, replacer = null, ...rest } = options as WriteJsonOptions & Record<string, unknown>;
  if (typeof indent !== 'number' && typeof indent !== 'string') throw invalidArgType('options.indent', 'a number or a string', indent);
  if (replacer !== null && typeof replacer !== 'function' && !Array.isArray(replacer)) {
    throw invalidArgType('options.replacer', 'a function or an array', replacer);
  }
  // The bytes are always UTF-8 JSON: an encoding option has no place here.
  delete rest.encoding;
  return { indent, replacer, rest };
}

/**
 * The json format's rule (formats/json.ts `stringify`: Sets, Maps and other iterables at
 * any depth as arrays, BigInts exact) plus a newline; circular structures and values
 * with no JSON form throw a TypeError.
 */
export function serialize(value: unknown, format: JsonFormat, path: unknown): string {
  let text: string | undefined;
  try {
    text = stringify(value, format.indent, format.replacer);
  } catch (err) {
    const error = new TypeError(`Cannot write '${String(path)}' as JSON: ${(err as Error).message}. Nothing was written.`, { cause: err });
    (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
  if (text === undefined) {
    const error = new TypeError(`Cannot write '${String(path)}' as JSON: ${typeof value} has no JSON form. Nothing was written.`);
    (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
  return `${text}\n`;
}

/** Writes `value` as JSON, atomically and durably; missing parent directories are created. */
export function writeJson(path: PathLike, value: unknown, options?: WriteJsonOptions): Promise<void> {
  const format = parseFormat(options);
  const text = serialize(value, format, path instanceof URL ? path.href : path);
  return writeFileWith(path, text, format.rest, { mkdir: true });
}

export interface JsonParseError extends SyntaxError {
  code: 'EJSONPARSE';
  path: string;
  /** Offset of the offending character (UTF-16 units), and its 1-based line and column. */
  position: number;
  line: number;
  column: number;
}

interface JsonFault {
  /** Offset of the offending character (the length when the text ends too early). */
  at: number;
  /** What is wrong there, in words that quote nothing of the text. */
  why: string;
}

/**
 * Where and why `text` stops being valid JSON, or `undefined` when it is valid. The
 * error is built from this alone: V8's message quotes the text itself (a token and
 * the first bytes of the document), which may be a secret the file was reached for.
 */
function findFault(text: string): JsonFault | undefined {
  const n = text.length;
  let i = 0;
  let why = '';
  const fail = (reason: string): false => {
    why = i >= n ? 'the text ends before the JSON value is complete' : reason;
    return false;
  };
  const skip = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): boolean => {
    if (text[i] !== '"') return fail('a string in double quotes was expected');
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return fail('a control character inside a string (it must be escaped)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail('a \\u escape needs four hex digits');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          i++;
          return fail('an invalid escape in a string');
        }
      } else {
        i++;
      }
    }
    return fail('');
  };
  const scalar = (): boolean => {
    const c = text[i];
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        for (const ch of word) {
          if (text[i] !== ch) return fail('an invalid literal (the words JSON knows are true, false and null)');
          i++;
        }
        return true;
      }
    }
    const number = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    number.lastIndex = i;
    if (!number.test(text)) return fail('an unexpected character where a value was expected');
    i = number.lastIndex;
    return true;
  };
  const key = (): boolean => {
    skip();
    if (text[i] !== '"') return fail('a property name in double quotes was expected');
    if (!string()) return false;
    skip();
    if (text[i] !== ':') return fail("a ':' was expected after the property name");
    i++;
    return true;
  };
  const fault = (): JsonFault => ({ at: i, why });
  const stack: string[] = [];
  for (;;) {
    // A value is expected here.
    skip();
    let ended = false;
    if (text[i] === '{' || text[i] === '[') {
      const open = text[i];
      i++;
      skip();
      if (text[i] === (open === '{' ? '}' : ']')) {
        i++;
        ended = true;
      } else {
        stack.push(open);
        if (open === '{' && !key()) return fault();
      }
    } else if (!scalar()) {
      if (n === 0 || text.trim() === '') why = 'the file is empty';
      return fault();
    } else {
      ended = true;
    }
    // After a value: close containers, or a comma leads to the next value.
    while (ended) {
      skip();
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (i >= n) return undefined;
        why = 'more data follows the JSON value';
        return fault();
      }
      if (text[i] === ',') {
        i++;
        if (top === '{' && !key()) return fault();
        ended = false;
      } else if (text[i] === (top === '{' ? '}' : ']')) {
        i++;
        stack.pop();
      } else {
        fail(top === '{' ? "a ',' or '}' was expected after the property value" : "a ',' or ']' was expected after the array element");
        return fault();
      }
    }
  }
}

function parseError(fault: JsonFault, text: string, path: string): JsonParseError {
  const position = fault.at;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  const where = position >= text.length ? 'at the end' : `at line ${line}, column ${column} (position ${position})`;
  // No `cause`: V8's error would carry the quoted text along.
  const error = new SyntaxError(`Invalid JSON in '${path}' ${where}: ${fault.why}`) as JsonParseError;
  error.code = 'EJSONPARSE';
  error.path = path;
  error.position = position;
  error.line = line;
  error.column = column;
  return error;
}

export function parse(text: string, path: string | Buffer, reviver?: ReadJsonOptions['reviver']): unknown {
  // A UTF-8 byte order mark is not JSON, but editors write it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body, reviver as never);
  } catch (err) {
    const fault = findFault(body);
    // Valid JSON that failed anyway: the reviver threw; its error is the caller's own.
    if (fault === undefined) throw err;
    throw parseError(fault, body, path.toString());
  }
}

/**
 * A file's text, `undefined` when it does not exist. One native call on a core thread
 * (open, fstat, read, close there: one round trip, where fs.readFile takes four): the
 * file is opened non-blocking and must be regular, so a FIFO or device planted at the
 * path is an error, never a wait with the lock held or a read without end.
 */
async function readText(path: string | Buffer): Promise<string | undefined> {
  try {
    // On this thread, inside the lock, as before the core read it: an async read left
    // a window in which other writes took the descriptor it needed, and an update that
    // met EMFILE there started over at the back of the lock's queue (under load and
    // `ulimit -n 64`, the last of 100 queued updates of one counter failed).
    return native().readRegularSync(path).toString('utf8');
  } catch (caught) {
    const err = caught as NodeStyleError;
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads and parses a JSON file; a missing file gives `options.default` when one is given. */
export function readJson<T = unknown>(path: PathLike, options?: ReadJsonOptions): Promise<T> {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  if (options.reviver !== undefined && typeof options.reviver !== 'function') throw invalidArgType('options.reviver', 'a function', options.reviver);
  checkOptionNames(options, ['default', 'reviver'], []);
  return readParsed<T>(checkPath(path), options);
}

async function readParsed<T>(file: string | Buffer, options: ReadJsonOptions): Promise<T> {
  let text: string;
  try {
    text = (await native().readRegular(file)).toString('utf8');
  } catch (caught) {
    const err = caught as NodeStyleError;
    if (err.code === 'ENOENT') {
      if ('default' in options) return options.default as T;
      err.message = err.message.replace(/\)$/, '; pass `default` to readJson to get a value for a missing file)');
    }
    throw err;
  }
  return parse(text, file, options.reviver) as T;
}

/**
 * Read-modify-write of a JSON file under an exclusive lock on `<file>.lock` (symlinks
 * resolved first, so every path to the file shares one lock). `fn` gets the current
 * value (`defaultData` when the file is missing) and returns the new one; `undefined`
 * leaves the file as it is; a throw writes nothing. Resolves to the value now stored.
 */
export function updateJson<T = unknown>(
  path: PathLike,
  fn: (current: T) => T | undefined | PromiseLike<T | undefined>,
  options?: UpdateJsonOptions<T>,
): Promise<T> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  const format = parseFormat(options);
  const { defaultData, lockTimeout, ...writeOptions } = format.rest as UpdateJsonOptions<T> & Record<string, unknown>;
  format.rest = writeOptions;
  const timeout = checkTimeout(lockTimeout, 'options.lockTimeout', 30_000);
  const resolved = resolveOptions(writeOptions, { mkdir: true });
  checkOptionNames(writeOptions);
  const file = checkPath(path);
  // The default goes through JSON like stored data does: `fn` may mutate what it gets,
  // and an unserializable default fails here, before anything exists on disk.
  const defaultText = defaultData === undefined ? undefined : serialize(defaultData, format, file);
  let key: string;
  try {
    key = targetKey(resolveTarget(file));
  } catch (err) {
    return Promise.reject(err);
  }
  // Ordered by the lock, not the file's queue (see queue.ts): pending from now, so that
  // a writeFileSync called after it is not overwritten.
  const { ticket: order, done } = pendingOutside(key);
  // Out of descriptors at the lock, the read or the write's open: nothing was written
  // and the lock is given back, so the whole update waits its turn and runs again
  // (`fn` may run more than once, as on S3). An explicit `lockTimeout` bounds that wait
  // too; by default it is the writes' (ATOMICWRITER_EMFILE_WAIT_MS, 60 s). No idle limit
  // as lock() has, and not the default 30 s lockTimeout either: many updates of one file
  // queue on its lock, each holding a descriptor, and descriptors come back only as fast
  // as the holder's durable writes finish (on a loaded machine the hundredth update of
  // a counter under `ulimit -n 64` waited over 30 s), so either failed updates that
  // would have succeeded.
  const fdWait = lockTimeout !== undefined ? { totalMs: timeout } : undefined;
  const updated = retryOnFdExhaustion(() => update(file, fn, { format, defaultText, timeout, resolved, order }), fdWait);
  updated.then(done, done);
  return updated;
}

interface UpdatePlan {
  format: JsonFormat;
  defaultText: string | undefined;
  timeout: number;
  resolved: ReturnType<typeof resolveOptions>;
  order: Ticket;
}

async function update<T>(file: string | Buffer, fn: (current: T) => T | undefined | PromiseLike<T | undefined>, plan: UpdatePlan): Promise<T> {
  const { format, defaultText, timeout, resolved, order } = plan;
  const target = resolveTarget(file);
  const lockPath = typeof target === 'string' ? `${target}.lock` : Buffer.concat([target, Buffer.from('.lock')]);
  const held = await acquireWith(lockPath, lockRequest(timeout, resolved.signal, resolved.native.mkdir));
  try {
    return await runHolding(held, async () => {
      const text = await readText(target);
      const current = (text === undefined ? (defaultText === undefined ? undefined : JSON.parse(defaultText)) : parse(text, target)) as T;
      const next = await fn(current);
      if (next === undefined) return current;
      const bytes = Buffer.from(serialize(next, format, file));
      if (resolved.signal?.aborted) throw abortError(resolved.signal);
      // Inside the lock: write, fdatasync, rename. The lock is released right after the
      // rename (the next holder reads the new file); the directory sync that makes the
      // name durable follows, and this promise waits for it.
      // A writeFileSync called after this update already replaced what it would write.
      if (superseded(order)) return next;
      await writeAndRelease(held, target, bytes, resolved.native);
      return next;
    });
  } finally {
    held.release();
  }
}
