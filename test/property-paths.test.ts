// Property: no path and no option object can break an error. Arbitrary path strings
// (any code point, lone surrogates, control characters, U+2028/9, NUL, names around
// NAME_MAX), file: URLs with percent escapes (%00 included) and Buffers of arbitrary
// bytes, given to every entry point, either succeed or fail with a Node-style error:
// a string `code`, and for a disk error `errno` and `syscall` too. Never a SyntaxError
// (errors once crossed the binding as JSON, which a control character broke), never a
// raw binding error, never a hang. Every write lands inside a scratch directory.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aw, scratch } from './helpers.js';

const NAME_MAX = 255;
const CALL_TIMEOUT_MS = 10_000;

type PathArg = string | Buffer | URL;

// Characters that once broke the transport, or that paths treat specially.
const special = fc.constantFrom(
  '\0', '\u0001', '\u001f', '\n', '\r', '\t', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff',
  '\ud800', '\udfff', '/', '.', '..', '%', '\\', ' ', '"', "'", '{', '}', 'é', '😀',
);
const unit = fc.oneof(special, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
const name = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit, maxLength: 40 }) },
  // Around NAME_MAX, in bytes: ASCII fills exactly, a multi-byte last character overflows.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: NAME_MAX - 2, max: NAME_MAX + 2 }), fc.constantFrom('', 'é', '😀', '/x')).map(([n, tail]) => 'a'.repeat(n) + tail) },
  { weight: 1, arbitrary: fc.integer({ min: NAME_MAX + 1, max: 4 * NAME_MAX }).map((n) => 'b'.repeat(n)) },
);
const escape = fc.constantFrom('%00', '%01', '%2F', '%2f', '%2e', '%2E%2E', '%25', '%ff', '%C3%A9', '%E2%80%A8', '%', '%0A', '%7F', '%ED%A0%80');

/** A path under `dir` that cannot leave it: no `..` component (there are no links inside). */
function under(dir: string, relative: string): string {
  return `${dir}/${relative.split('/').map((part) => (part === '..' ? '..x' : part)).join('/')}`;
}

function underBytes(dir: string, bytes: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      const part = Buffer.from(bytes.subarray(start, i));
      parts.push(part.equals(Buffer.from('..')) ? Buffer.from('..x') : part);
      start = i + 1;
    }
  }
  return Buffer.concat([Buffer.from(`${dir}/`), Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from('/'), part])))]);
}

/** A file: URL, or null when it would name something outside `dir` (the URL parser resolves `%2e%2e`). */
function urlUnder(dir: string, suffix: string): URL | null {
  let url: URL;
  try {
    url = new URL(`file://${dir}/${suffix}`);
  } catch {
    return null;
  }
  try {
    const path = fileURLToPath(url);
    if (path !== dir && !path.startsWith(`${dir}/`)) return null;
  } catch {
    // fileURLToPath refuses it (an encoded '/'): the library must refuse it the same way.
  }
  return url;
}

const pathArg = (dir: string): fc.Arbitrary<PathArg> =>
  fc.oneof(
    { weight: 5, arbitrary: name.map((s) => under(dir, s)) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => underBytes(dir, bytes)) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.oneof(escape, unit), { minLength: 1, maxLength: 12 })
        .map((parts) => urlUnder(dir, parts.join('')))
        .filter((url): url is URL => url !== null),
    },
  );

interface Outcome {
  error?: unknown;
  /** The error was thrown by the call itself, not through its promise or callback. */
  sync?: boolean;
}

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function outcome(what: string, call: () => unknown): Promise<Outcome> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { error, sync: true };
  }
  try {
    await within(what, Promise.resolve(result));
    return {};
  } catch (error) {
    if (error instanceof Error && error.message.includes('did not settle')) throw error;
    return { error, sync: false };
  }
}

function show(path: PathArg): string {
  return Buffer.isBuffer(path) ? `Buffer<${path.toString('hex')}>` : JSON.stringify(String(path));
}

/** A Node-style error: argument errors are ERR_* TypeErrors thrown by the call; disk errors carry errno and syscall. */
function expectNodeStyle(what: string, path: PathArg, { error, sync }: Outcome): void {
  if (error === undefined) return;
  const where = `${what}(${show(path)})`;
  expect(error, where).toBeInstanceOf(Error);
  const e = error as NodeJS.ErrnoException;
  expect(e.name, `${where}: ${e.message}`).not.toBe('SyntaxError');
  expect(typeof e.code, `${where}: ${e.message}`).toBe('string');
  expect(e.code, where).not.toBe('GenericFailure');
  expect(e.message, where).not.toContain('atomicwriter:');
  if (e.code!.startsWith('ERR_')) {
    expect(e, `${where}: ${e.message}`).toBeInstanceOf(TypeError);
  } else {
    expect(typeof e.errno, `${where}: ${e.message}`).toBe('number');
    expect(e.errno, where).toBeLessThan(0);
    expect(typeof e.syscall, `${where}: ${e.message}`).toBe('string');
    // Disk errors arrive through the promise or callback, never thrown by the call.
    if (what !== 'writeFileSync') expect(sync, `${where} threw ${e.code} synchronously`).toBe(false);
  }
}

function callbackForm(path: PathArg, data: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    (aw as unknown as (p: PathArg, d: string, o: object, cb: (err: Error | null) => void) => void)(path, data, { fsync: false }, (err) => (err ? reject(err) : resolve()));
  });
}

describe('property: arbitrary paths give Node-style errors', () => {
  it('writeFile, writeFileSync, the callback form, readJson, lock, sweep and verify', async () => {
    const dir = scratch('aw-paths-');
    const fresh = (): void => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    };
    await fc.assert(
      fc.asyncProperty(pathArg(dir), async (path) => {
        fresh();
        const calls: Array<[string, () => unknown]> = [
          ['writeFile', () => aw.writeFile(path, '1', { fsync: false })],
          ['writeFileSync', () => aw.writeFileSync(path, '2', { fsync: false })],
          ['writeFileAtomic', () => callbackForm(path, '3')],
          ['readJson', () => aw.readJson(path)],
          ['lock', () => aw.lock(path, { timeout: 0 }).then((held) => held.release())],
          ['verify', () => aw.verify(path)],
          ['sweep', () => aw.sweep(path)],
        ];
        for (const [what, call] of calls) expectNodeStyle(what, path, await outcome(what, call));
      }),
      { numRuns: 200 },
    );
    expect(existsSync(dir)).toBe(true);
  });
});

// Values that option validators must take or refuse with a coded TypeError/RangeError.
const optionValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 0o777, 0o7777, 0o177777, 0o200000, 1.5, NaN, Infinity, -0, 2 ** 32, '0644', '8', '', 'utf8', 'latin1', 'buffer', 'nope', null, true, false),
  fc.record({ uid: fc.oneof(fc.nat(), fc.anything()), gid: fc.oneof(fc.nat(), fc.anything()) }),
  fc.constant(new AbortController().signal),
  fc.constant(() => undefined),
);
const optionKey = fc.oneof(
  fc.constantFrom('encoding', 'mode', 'chown', 'fsync', 'tmpfileCreated', 'signal', 'exclusive', 'mkdir', 'busyTimeout'),
  fc.string({ maxLength: 8 }),
);

describe('property: arbitrary writeFile options', () => {
  it('either write or throw a TypeError/RangeError with a code', async () => {
    const dir = scratch('aw-options-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.dictionary(optionKey, optionValue, { maxKeys: 5 }), fc.string({ maxLength: 10 }), fc.anything({ maxDepth: 1 })), async (options) => {
        const path = `${dir}/f${n++}`;
        const result = await outcome('writeFile', () => aw.writeFile(path, 'x', options as never));
        if (result.error === undefined) return;
        const e = result.error as NodeJS.ErrnoException;
        const where = `writeFile(options ${String(JSON.stringify(options, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))}): ${e.message}`;
        expect([TypeError, RangeError].some((kind) => e instanceof kind), where).toBe(true);
        expect(e.code, where).toMatch(/^ERR_/);
        expect(result.sync, where).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('a path that is not UTF-8', () => {
  it('comes through in the error as fs gives it: a string with U+FFFD for the bytes that do not decode', async () => {
    const dir = scratch('aw-bytes-');
    const path = Buffer.concat([Buffer.from(`${dir}/missing-`), Buffer.from([0xff, 0xfe]), Buffer.from('/f')]);
    const fsError = await import('node:fs').then((fs) => fs.promises.open(path, 'r').then(() => undefined, (err: NodeJS.ErrnoException) => err));
    const ours = await aw.writeFile(path, 'x').then(() => undefined, (err: NodeJS.ErrnoException) => err);
    expect(ours).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: fsError!.path });
    expect(ours!.path).toBe(`${dir}/missing-\ufffd\ufffd/f`);
  });
});
