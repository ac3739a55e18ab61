// Object-store targets (s3://, gs://, az://) for every public entry point, written once
// above the adapters (adapter.ts). Each write is staged whole in a private local
// directory by the SAME local writer a file target uses (writeFile, write, writeJson,
// createWriteStream, writeDataset: the core's AtomicFile), then published by the
// adapter's one conditional put; the staging directory is removed whether the upload
// succeeded or not. Create-only and compare-and-swap writes first pass the probe
// (probe.ts). Loaded by the router (src/route.ts) on the first remote target.

import { inParallel } from '../async/pool';
import { mkdtempSync, rmSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { invalidArgType } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import { DATASET_OPTION_NAMES, writeDataset as writeDatasetLocal, type DatasetOptions, type DatasetResult, type Stage } from '../dataset';
import { MARKER, VERIFY_OPTION_NAMES, parseMarker, serializeManifest, verifyAgainst, type Manifest, type MarkerRead, type ManifestFile, type VerifyOptions, type VerifyPlace, type VerifyProblem, type VerifyResult } from '../manifest';
import { checkFormatOptionNames, pickFormat } from '../formats/registry';
import { checkOptionNames, FORMAT_WRITE_OPTION_NAMES, resolveOptions } from '../file/options';
import { openStaged } from '../file/atomic-file';
import { progressOptions } from '../file/progress';
import { AtomicWriteStream, parseHighWaterMark, type WriteStreamOptions } from '../file/stream';
import { resolveTarget } from '../args/target';
import { write as writeLocal, type FormatWriteOptions, type WriteResult } from '../formats/write';
import { writeFileWith } from '../file/write-file';
import { parse as parseJson, parseFormat, serialize, type ReadJsonOptions, type UpdateJsonOptions } from '../json';
import { checkTimeout } from '../lock';
import { isConflict, isPrecondition, localOptions, parseStoreOptions, STORE_OPTION_NAMES, type ObjectStore, type ParsedStoreOptions, type StoreResult } from './adapter';
import { storeFor } from './adapters';
import { assertSafe } from './probe';
import { at, parseUrl, type Location } from './url';

export type { StoreOptions, StoreResult } from './adapter';
export { probeConditionalWrites } from './probe';

/**
 * The names every remote call takes besides its local counterpart's: a misspelt one is
 * refused here, before the staging directory exists (the local writer sees the rest).
 */
const STORE_NAMES: readonly string[] = [...STORE_OPTION_NAMES, 'stagingDir', 'signal'];

interface Staging {
  dir: string;
  file: string;
}

function stagingParent(options: unknown): string {
  const given = (options as { stagingDir?: unknown } | null)?.stagingDir;
  if (given === undefined) return tmpdir();
  if (typeof given !== 'string' || given === '') throw invalidArgType('options.stagingDir', 'a directory path', given);
  return given;
}

/** A private (0700) directory for one write, and the staged file's name in it (the key's, for format detection). */
function openStaging(loc: Location, options: unknown): Staging {
  const dir = mkdtempSync(join(stagingParent(options), `.atomicwriter-${loc.scheme}-`));
  const name = basename(loc.key);
  const safe = name !== '.' && name !== '..' && name !== '' && Buffer.byteLength(name) <= 200 ? name : `object${extname(name).slice(0, 20)}`;
  return { dir, file: join(dir, safe) };
}

function closeStaging(staging: Staging): Promise<void> {
  return fsp.rm(staging.dir, { recursive: true, force: true });
}

/**
 * Runs `stage` (which must validate synchronously and write `staging.file` through the
 * local writer), then `publish`; the staging directory goes away in every case.
 */
function staged<T, R>(loc: Location, options: unknown, stage: (staging: Staging) => Promise<T>, publish: (local: T, staging: Staging) => Promise<R>): Promise<R> {
  const staging = openStaging(loc, options);
  let local: Promise<T>;
  try {
    local = stage(staging);
  } catch (err) {
    rmSync(staging.dir, { recursive: true, force: true });
    throw err;
  }
  return (async () => {
    try {
      return await publish(await local, staging);
    } finally {
      await closeStaging(staging);
    }
  })();
}

/** The local writer's options: no store ones, no sync (the copy is thrown away after the upload), no create-only (the store decides that). */
function forStaging(options: unknown): Record<string, unknown> {
  const o = typeof options === 'string' ? { encoding: options } : (localOptions(options) ?? {});
  if (typeof o !== 'object') return o as never;
  const rest: Record<string, unknown> = { ...(o as Record<string, unknown>), fsync: false, exclusive: false, mkdir: false };
  delete rest.stagingDir;
  return rest;
}

interface Target {
  loc: Location;
  store: ObjectStore;
  o: ParsedStoreOptions;
}

/** Parses the URL and the store options (both throw before anything exists); the adapter loads its SDK later, on its first request. */
function target(path: unknown, options: unknown, prefix = false): Target {
  const loc = parseUrl(path, { prefix });
  return { loc, store: storeFor(loc.scheme), o: parseStoreOptions(options, loc.scheme) };
}

/** The one publishing step: a conditional write runs only where the probe found conditions honoured. */
async function put(t: Target, loc: Location, file: string, o: ParsedStoreOptions): Promise<StoreResult> {
  if ((o.ifMatch !== undefined || o.ifNoneMatch !== undefined) && !o.trust) await assertSafe(t.store, loc, o);
  return t.store.put(loc, file, o);
}

function unconditional(o: ParsedStoreOptions): ParsedStoreOptions {
  return { ...o, ifMatch: undefined, ifNoneMatch: undefined };
}

function nameOf(path: unknown): string {
  return String(path instanceof URL ? path.href : path);
}

// --- whole files ------------------------------------------------------------------

export function writeFile(path: unknown, data: unknown, options: unknown, { compat }: { compat: boolean }): Promise<StoreResult> {
  const t = target(path, options);
  return staged(
    t.loc,
    options,
    (st) => writeFileWith(st.file, data, forStaging(options), { mkdir: false, compat }),
    (_, st) => put(t, t.loc, st.file, t.o),
  );
}

export function writeJson(path: unknown, value: unknown, options: unknown): Promise<StoreResult> {
  const format = parseFormat(options);
  const text = serialize(value, format, nameOf(path));
  return writeFile(path, text, format.rest, { compat: false });
}

function markerKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return `${key.slice(0, slash + 1)}${MARKER}`;
}

/** Uploads a manifest with each file's ETag added, as the prefix's `_SUCCESS`. */
async function uploadManifest(t: Target, key: string, manifest: Manifest, etags: Map<string, string>, st: Staging): Promise<StoreResult> {
  const files = manifest.files.map((f) => ({ ...f, etag: etags.get(f.name) }));
  const local = join(st.dir, `${MARKER}.remote`);
  await writeFileWith(local, serializeManifest({ ...manifest, files }), { fsync: false }, { mkdir: false });
  return t.store.put(at(t.loc, key), local, { ...unconditional(t.o), contentType: 'application/json' });
}

export function write(data: unknown, path: unknown, options: FormatWriteOptions | undefined): Promise<WriteResult & StoreResult> {
  const t = target(path, options);
  const { loc } = t;
  checkFormatOptionNames(options, pickFormat(options?.format, loc.key), [...FORMAT_WRITE_OPTION_NAMES, ...STORE_NAMES]);
  const marker = options?.marker === true;
  return staged(
    loc,
    options,
    (st) => writeLocal(data, st.file, forStaging(options) as FormatWriteOptions),
    async (local, st) => {
      const mkey = markerKey(loc.key);
      // As for a local file: no marker describes the old object once the new one may be visible.
      if (marker) await t.store.remove(at(loc, mkey), t.o);
      const uploaded = await put(t, loc, st.file, t.o);
      if (marker) {
        const text = await fsp.readFile(join(st.dir, MARKER), 'utf8');
        const manifest = JSON.parse(text) as Manifest;
        manifest.files = manifest.files.map((f) => ({ ...f, name: basename(loc.key) }));
        await uploadManifest(t, mkey, manifest, new Map([[basename(loc.key), uploaded.etag]]), st);
      }
      return { ...local, ...uploaded, path: loc.url };
    },
  );
}

// --- streams ------------------------------------------------------------------------

export interface RemoteWriteStream extends AtomicWriteStream {
  /** Set once the object is uploaded (before 'finish'). */
  uploaded: StoreResult | undefined;
  /** The same as `uploaded` (its name before gs:// and az:// existed). */
  s3: StoreResult | undefined;
}

export function createWriteStream(path: unknown, options: WriteStreamOptions | BufferEncoding | undefined): RemoteWriteStream {
  const t = target(path, options);
  const local = forStaging(options);
  const resolved = resolveOptions(local, { mkdir: false, known: ['highWaterMark', 'onProgress', 'totalBytes'] });
  const progress = progressOptions(options);
  const highWaterMark = parseHighWaterMark((options as WriteStreamOptions | undefined)?.highWaterMark);
  const st = openStaging(t.loc, options);
  const { signal } = resolved;
  const fileOptions = { ...resolved, signal: undefined };
  let resolvedTarget: string | Buffer;
  try {
    resolvedTarget = resolveTarget(st.file);
  } catch (err) {
    rmSync(st.dir, { recursive: true, force: true });
    throw err;
  }
  const stream = new AtomicWriteStream({
    path: t.loc.url,
    signal,
    highWaterMark,
    encoding: resolved.encoding,
    progress,
    open: async () => {
      return openStaged(resolvedTarget, fileOptions);
    },
    afterCommit: async () => {
      stream.uploaded = stream.s3 = await put(t, t.loc, st.file, { ...t.o, signal });
    },
  }) as RemoteWriteStream;
  stream.uploaded = stream.s3 = undefined;
  // 'close' follows 'finish' and every destroy: the staged copy is never needed after it.
  stream.once('close', () => void closeStaging(st).catch(() => {}));
  return stream;
}

// --- JSON: readJson; updateJson optimistic (read with version, conditional put, retry) ---

function notFound(loc: Location): Error {
  const error = new Error(`read ${loc.url} failed: no such object (pass \`default\` to readJson to get a value for a missing object)`) as Error & { code: string; path: string; statusCode: number };
  error.code = 'ENOENT';
  error.path = loc.url;
  error.statusCode = 404;
  return error;
}

export function readJson<T>(path: unknown, options: ReadJsonOptions | undefined): Promise<T> {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  const { reviver } = options;
  if (reviver !== undefined && typeof reviver !== 'function') throw invalidArgType('options.reviver', 'a function', reviver);
  checkOptionNames(options, ['default', 'reviver', ...STORE_NAMES], []);
  const t = target(path, options);
  const hasDefault = 'default' in options;
  const fallback = options.default as T;
  return t.store.get(t.loc, t.o).then((found) => {
    if (found) return parseJson(found.body.toString('utf8'), nameOf(path), reviver) as T;
    if (hasDefault) return fallback;
    throw notFound(t.loc);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function updateJson<T>(path: unknown, fn: (current: T) => T | undefined | PromiseLike<T | undefined>, options: UpdateJsonOptions<T> | undefined): Promise<T> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  const format = parseFormat(options);
  const { defaultData, lockTimeout, ...writeOptions } = format.rest as UpdateJsonOptions<T> & Record<string, unknown>;
  checkTimeout(lockTimeout, 'options.lockTimeout', 30_000);
  resolveOptions(localOptions(writeOptions), { mkdir: true });
  const t = target(path, options);
  if (t.o.ifMatch !== undefined || t.o.ifNoneMatch !== undefined) {
    throw invalidArgType('options.ifMatch', 'absent: updateJson sets the condition itself', t.o.ifMatch ?? t.o.ifNoneMatch);
  }
  const name = nameOf(path);
  // The default goes through JSON like stored data does (and fails here if it cannot).
  const defaultText = defaultData === undefined ? undefined : serialize(defaultData, format, name);
  return (async () => {
    for (let attempt = 0; ; attempt++) {
      const found = await t.store.get(t.loc, t.o);
      const current = (found ? parseJson(found.body.toString('utf8'), name) : defaultText === undefined ? undefined : JSON.parse(defaultText)) as T;
      const next = await fn(current);
      if (next === undefined) return current;
      const text = serialize(next, format, name);
      const condition = found ? { ifMatch: found.version } : { ifNoneMatch: '*' as const };
      try {
        await staged(
          t.loc,
          options,
          (st) => writeFileWith(st.file, text, { fsync: false }, { mkdir: false }),
          (_, st) => put(t, t.loc, st.file, { ...t.o, ...condition }),
        );
        return next;
      } catch (err) {
        if (!isPrecondition(err) && !isConflict(err)) throw err;
        if (attempt >= t.o.maxRetries) {
          (err as Error).message += `; updateJson gave up after ${attempt + 1} attempts (raise maxRetries)`;
          throw err;
        }
        // Another writer won this round: back off a random while (full jitter), read again.
        await sleep(Math.random() * Math.min(500, 5 * 2 ** attempt));
      }
    }
  })();
}

// --- datasets: parts, then _SUCCESS last ------------------------------------------

export function writeDataset(dir: unknown, fn: (stage: Stage) => unknown, options: DatasetOptions | undefined): Promise<DatasetResult> {
  const t = target(dir, options, true);
  const { loc } = t;
  if (t.o.ifMatch !== undefined || t.o.ifNoneMatch !== undefined) {
    throw invalidArgType('options.ifMatch', 'absent: a dataset is many objects, no single condition covers it', t.o.ifMatch ?? t.o.ifNoneMatch);
  }
  checkOptionNames(options, [...DATASET_OPTION_NAMES, ...STORE_NAMES], []);
  const marker = options?.marker ?? true;
  // No create-only for the local copy (forStaging's `exclusive: false`): a dataset takes no such option.
  const { exclusive: _exclusive, ...local } = forStaging(options);
  return staged(
    { ...loc, key: 'dataset' },
    options,
    (st) => writeDatasetLocal(st.file, fn, { ...(local as DatasetOptions), mkdir: true }),
    async (written, st) => {
      const mkey = `${loc.key}${MARKER}`;
      // Readers poll for _SUCCESS: retire the old one before any part changes.
      if (marker) await t.store.remove(at(loc, mkey), t.o);
      const etags = new Map<string, string>();
      const one = { ...unconditional(t.o), concurrency: 1 };
      await inParallel(written.files.length, t.o.concurrency, async (i) => {
        const f = written.files[i]!;
        const uploaded = await t.store.put(at(loc, `${loc.key}${f.name}`), join(st.file, f.name), one);
        etags.set(f.name, uploaded.etag);
      });
      const files = written.files.map((f) => ({ ...f, etag: etags.get(f.name) }));
      if (written.manifest) await uploadManifest(t, mkey, written.manifest, etags, st);
      return { path: loc.url, files, manifest: written.manifest ? { ...written.manifest, files } : null };
    },
  );
}

// --- verify / isComplete ----------------------------------------------------------

interface Located {
  /** The prefix holding `_SUCCESS` (ends with `/`). */
  prefix: Location;
  only?: string;
}

async function locate(path: unknown, t: Target): Promise<Located> {
  const { loc } = t;
  if (nameOf(path).endsWith('/')) return { prefix: loc };
  const key = loc.key.slice(0, -1);
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  if (name === MARKER) return { prefix: at(loc, key.slice(0, slash + 1)) };
  // An object (a file written with a marker beside it), else a prefix without its slash.
  if (await t.store.head(at(loc, key), t.o)) return { prefix: at(loc, key.slice(0, slash + 1)), only: name };
  return { prefix: loc };
}

async function readMarker(t: Target, prefix: Location): Promise<MarkerRead> {
  const found = await t.store.get(at(prefix, `${prefix.key}${MARKER}`), t.o);
  return parseMarker(found?.body.toString('utf8'), `under ${prefix.url}`);
}

export function isComplete(path: unknown, options?: unknown): Promise<boolean> {
  checkOptionNames(options, STORE_NAMES, []);
  const t = target(path, options, true);
  return (async () => {
    const { prefix, only } = await locate(path, t);
    const { kind, manifest } = await readMarker(t, prefix);
    if (kind === null) return false;
    return only === undefined || (manifest?.files.some((f) => f.name === only) ?? false);
  })();
}

async function checkObject(t: Target, prefix: Location, entry: ManifestFile & { etag?: string }, checksums: boolean): Promise<VerifyProblem | undefined> {
  const { name } = entry;
  if (typeof name !== 'string' || typeof entry.bytes !== 'number') return { name: String(name), code: 'EBADMARKER', message: `the manifest entry for ${JSON.stringify(name)} is malformed` };
  const info = await t.store.head(at(prefix, `${prefix.key}${name}`), t.o);
  if (!info) return { name, code: 'ENOENT', message: `${name} is listed in ${MARKER} but missing` };
  if (info.size !== entry.bytes) return { name, code: 'ESIZE', message: `${name} has ${info.size} bytes, the manifest says ${entry.bytes}`, expected: entry.bytes, actual: info.size };
  if (!checksums) return undefined;
  // The ETag the service gave the bytes it stored (after checking our checksum) must be
  // the one the upload got; where the service keeps the object's CRC32C, it must match too.
  if (entry.etag !== undefined && info.etag !== entry.etag) return { name, code: 'ECHECKSUM', message: `${name} was replaced: ETag ${info.etag}, the manifest says ${entry.etag}`, expected: entry.etag, actual: info.etag };
  if (info.crc32c !== undefined && typeof entry.checksum === 'string' && info.crc32c !== entry.checksum.toLowerCase()) {
    return { name, code: 'ECHECKSUM', message: `${name}: checksum ${info.crc32c}, the manifest says ${entry.checksum}`, expected: entry.checksum, actual: info.crc32c };
  }
  return undefined;
}

export function verify(path: unknown, options: VerifyOptions | undefined): Promise<VerifyResult> {
  checkOptionNames(options, [...VERIFY_OPTION_NAMES, ...STORE_NAMES], []);
  const t = target(path, options, true);
  const checksums = parseBoolean(options?.checksums ?? true, 'options.checksums', true);
  return (async () => {
    const { prefix, only } = await locate(path, t);
    const place: VerifyPlace = {
      dir: prefix.url,
      markerPath: `${prefix.url}${MARKER}`,
      concurrency: 8,
      check: (entry) => checkObject(t, prefix, entry, checksums),
      list: () => t.store.list(prefix, t.o),
    };
    return verifyAgainst(place, await readMarker(t, prefix), only);
  })();
}
