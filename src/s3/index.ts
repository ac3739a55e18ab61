// s3:// targets for every public entry point. Each write is staged whole in a private
// local directory by the SAME local writer a file target uses (writeFile, write,
// createWriteStream, writeDataset: the core's AtomicFile), then uploaded (upload.ts);
// the staging directory is removed whether the upload succeeded or not. Loaded on the
// first s3:// target only (see `s3()` in url.ts), like the SDK it needs.

import { mkdtempSync, rmSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { invalidArgType } from '../binding/errors';
import { DATASET_OPTION_NAMES, writeDataset, type DatasetOptions, type DatasetResult, type Stage } from '../dataset';
import { MARKER, VERIFY_OPTION_NAMES, parseMarker, serializeManifest, verifyAgainst, type Manifest, type MarkerRead, type ManifestFile, type VerifyOptions, type VerifyPlace, type VerifyProblem, type VerifyResult } from '../manifest';
import { checkFormatOptionNames, pickFormat } from '../formats/registry';
import { checkOptionNames, FORMAT_WRITE_OPTION_NAMES, resolveOptions } from '../file/options';
import { openStaged } from '../file/atomic-file';
import { progressOptions } from '../file/source';
import { AtomicWriteStream, parseHighWaterMark, type WriteStreamOptions } from '../file/stream';
import { resolveTarget } from '../args/target';
import { write as writeLocal, type FormatWriteOptions, type WriteResult } from '../formats/write';
import { writeFileWith } from '../file/write-file';
import { clientFor, isConflict, isPrecondition, loadSdk, localOptions, parseS3Options, S3_OPTION_NAMES, s3Error, type ParsedS3Options, type S3Result } from './client';
import { uploadStaged } from './upload';
import { parseS3Url, type S3Location } from './url';

export type { S3Options, S3Result } from './client';

/**
 * The names every S3 call takes besides its local counterpart's: a misspelt one is
 * refused here, before the staging directory exists (the local writer sees the rest).
 */
const S3_NAMES: readonly string[] = [...S3_OPTION_NAMES, 'stagingDir', 'signal'];

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
function openStaging(loc: S3Location, options: unknown): Staging {
  const dir = mkdtempSync(join(stagingParent(options), '.atomicwriter-s3-'));
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
function staged<T, R>(loc: S3Location, options: unknown, stage: (staging: Staging) => Promise<T>, publish: (local: T, staging: Staging) => Promise<R>): Promise<R> {
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

/** The local writer's options: no S3 ones, no sync (the copy is thrown away after the upload), no create-only (S3 decides that). */
function forStaging(options: unknown): Record<string, unknown> {
  const o = typeof options === 'string' ? { encoding: options } : (localOptions(options) ?? {});
  if (typeof o !== 'object') return o as never;
  const rest: Record<string, unknown> = { ...(o as Record<string, unknown>), fsync: false, exclusive: false, mkdir: false };
  delete rest.stagingDir;
  return rest;
}

// --- whole files ------------------------------------------------------------------

export function writeFile(path: unknown, data: unknown, options: unknown, compat: boolean): Promise<S3Result> {
  const loc = parseS3Url(path);
  const s3 = parseS3Options(options);
  return staged(
    loc,
    options,
    (st) => writeFileWith(st.file, data, forStaging(options), false, compat),
    (_, st) => uploadStaged(loc, st.file, s3),
  );
}

function markerKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return `${key.slice(0, slash + 1)}${MARKER}`;
}

async function deleteObject(loc: S3Location, key: string, s3: ParsedS3Options): Promise<void> {
  const sdk = loadSdk();
  try {
    await clientFor(s3).send(new sdk.DeleteObjectCommand({ Bucket: loc.bucket, Key: key }), { abortSignal: s3.signal });
  } catch (err) {
    throw s3Error(err, 'DeleteObject', `s3://${loc.bucket}/${key}`);
  }
}

/** Uploads a manifest with each file's ETag added, as the prefix's `_SUCCESS`. */
async function uploadManifest(loc: S3Location, key: string, manifest: Manifest, etags: Map<string, string>, st: Staging, s3: ParsedS3Options): Promise<S3Result> {
  const files = manifest.files.map((f) => ({ ...f, etag: etags.get(f.name) }));
  const local = join(st.dir, `${MARKER}.s3`);
  await writeFileWith(local, serializeManifest({ ...manifest, files }), { fsync: false }, false);
  return uploadStaged({ bucket: loc.bucket, key, url: `s3://${loc.bucket}/${key}` }, local, { ...s3, ifMatch: undefined, ifNoneMatch: undefined, contentType: 'application/json' });
}

export function write(data: unknown, path: unknown, options: FormatWriteOptions | undefined): Promise<WriteResult & S3Result> {
  const loc = parseS3Url(path);
  const s3 = parseS3Options(options);
  checkFormatOptionNames(options, pickFormat(options?.format, loc.key), [...FORMAT_WRITE_OPTION_NAMES, ...S3_NAMES]);
  const marker = options?.marker === true;
  return staged(
    loc,
    options,
    (st) => writeLocal(data, st.file, forStaging(options) as FormatWriteOptions),
    async (local, st) => {
      const mkey = markerKey(loc.key);
      // As for a local file: no marker describes the old object once the new one may be visible.
      if (marker) await deleteObject(loc, mkey, s3);
      const uploaded = await uploadStaged(loc, st.file, s3);
      if (marker) {
        const text = await fsp.readFile(join(st.dir, MARKER), 'utf8');
        const manifest = JSON.parse(text) as Manifest;
        manifest.files = manifest.files.map((f) => ({ ...f, name: basename(loc.key) }));
        await uploadManifest(loc, mkey, manifest, new Map([[basename(loc.key), uploaded.etag]]), st, s3);
      }
      return { ...local, ...uploaded, path: loc.url };
    },
  );
}

// --- streams ------------------------------------------------------------------------

export interface S3WriteStream extends AtomicWriteStream {
  /** Set once the object is uploaded (before 'finish'). */
  s3: S3Result | undefined;
}

export function createWriteStream(path: unknown, options: WriteStreamOptions | BufferEncoding | undefined): S3WriteStream {
  const loc = parseS3Url(path);
  const s3 = parseS3Options(options);
  const local = forStaging(options);
  const resolved = resolveOptions(local, { mkdir: false, known: ['highWaterMark', 'onProgress', 'totalBytes'] });
  const progress = progressOptions(options);
  const highWaterMark = parseHighWaterMark((options as WriteStreamOptions | undefined)?.highWaterMark);
  const st = openStaging(loc, options);
  const { signal } = resolved;
  const fileOptions = { ...resolved, signal: undefined };
  let target: string | Buffer;
  try {
    target = resolveTarget(st.file);
  } catch (err) {
    rmSync(st.dir, { recursive: true, force: true });
    throw err;
  }
  const stream = new AtomicWriteStream({
    path: loc.url,
    signal,
    highWaterMark,
    encoding: resolved.encoding,
    progress,
    open: async () => {
      return openStaged(target, fileOptions);
    },
    afterCommit: async () => {
      stream.s3 = await uploadStaged(loc, st.file, { ...s3, signal });
    },
  }) as S3WriteStream;
  stream.s3 = undefined;
  // 'close' follows 'finish' and every destroy: the staged copy is never needed after it.
  stream.once('close', () => void closeStaging(st).catch(() => {}));
  return stream;
}

// --- updateJson: optimistic, If-Match / If-None-Match, retried on a lost race --------

export interface JsonCodec {
  serialize(value: unknown): string;
  parse(text: string): unknown;
  defaultText: string | undefined;
}

/** The object and its ETag; `undefined` for a missing key when `allowMissing` (a missing bucket always throws). */
async function readWithEtag(loc: S3Location, s3: ParsedS3Options, allowMissing = true): Promise<{ text: string; etag: string } | undefined> {
  const sdk = loadSdk();
  try {
    const out = await clientFor(s3).send(new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: s3.signal });
    return { text: await out.Body.transformToString('utf8'), etag: out.ETag };
  } catch (err) {
    const error = s3Error(err, 'GetObject', loc);
    if (allowMissing && error.code === 'ENOENT' && error.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
}

/** The text of an object (readJson on s3://); `undefined` when it does not exist and `allowMissing`. */
/** readJson on S3: its own options (`default`, `reviver`) and the client's. */
export function readText(path: unknown, options: unknown, allowMissing: boolean): Promise<string | undefined> {
  checkOptionNames(options, ['default', 'reviver', ...S3_NAMES], []);
  return readTextFrom(path, options, allowMissing);
}

async function readTextFrom(path: unknown, options: unknown, allowMissing: boolean): Promise<string | undefined> {
  return (await readWithEtag(parseS3Url(path), parseS3Options(options), allowMissing))?.text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function updateJson<T>(path: unknown, fn: (current: T) => T | undefined | PromiseLike<T | undefined>, codec: JsonCodec, options: unknown): Promise<T> {
  const loc = parseS3Url(path);
  const s3 = parseS3Options(options);
  if (s3.ifMatch !== undefined || s3.ifNoneMatch !== undefined) {
    throw invalidArgType('options.ifMatch', 'absent: updateJson sets the condition itself', s3.ifMatch ?? s3.ifNoneMatch);
  }
  return (async () => {
    for (let attempt = 0; ; attempt++) {
      const found = await readWithEtag(loc, s3);
      const current = (found ? codec.parse(found.text) : codec.defaultText === undefined ? undefined : JSON.parse(codec.defaultText)) as T;
      const next = await fn(current);
      if (next === undefined) return current;
      const text = codec.serialize(next);
      const condition = found ? { ifMatch: found.etag } : { ifNoneMatch: '*' as const };
      try {
        await staged(
          loc,
          options,
          (st) => writeFileWith(st.file, text, { fsync: false }, false),
          (_, st) => uploadStaged(loc, st.file, { ...s3, ...condition }),
        );
        return next;
      } catch (err) {
        if (!isPrecondition(err) && !isConflict(err)) throw err;
        if (attempt >= s3.maxRetries) {
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

export function writeDatasetS3(dir: unknown, fn: (stage: Stage) => unknown, options: DatasetOptions | undefined): Promise<DatasetResult> {
  const loc = parseS3Url(dir, { prefix: true });
  const s3 = parseS3Options(options);
  if (s3.ifMatch !== undefined || s3.ifNoneMatch !== undefined) {
    throw invalidArgType('options.ifMatch', 'absent: a dataset is many objects, no single condition covers it', s3.ifMatch ?? s3.ifNoneMatch);
  }
  checkOptionNames(options, [...DATASET_OPTION_NAMES, ...S3_NAMES], []);
  const marker = options?.marker ?? true;
  // No create-only for the local copy (forStaging's `exclusive: false`): a dataset takes no such option.
  const { exclusive: _exclusive, ...local } = forStaging(options);
  return staged(
    { ...loc, key: 'dataset' },
    options,
    (st) => writeDataset(st.file, fn, { ...(local as DatasetOptions), mkdir: true }),
    async (local, st) => {
      const mkey = `${loc.key}${MARKER}`;
      // Readers poll for _SUCCESS: retire the old one before any part changes.
      if (marker) await deleteObject(loc, mkey, s3);
      const etags = new Map<string, string>();
      const queue = [...local.files];
      const one = { ...s3, ifMatch: undefined, ifNoneMatch: undefined, concurrency: 1 };
      const worker = async (): Promise<void> => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const key = `${loc.key}${f.name}`;
          const uploaded = await uploadStaged({ bucket: loc.bucket, key, url: `s3://${loc.bucket}/${key}` }, join(st.file, f.name), one);
          etags.set(f.name, uploaded.etag);
        }
      };
      await Promise.all(Array.from({ length: Math.min(s3.concurrency, queue.length) }, worker));
      const files = local.files.map((f) => ({ ...f, etag: etags.get(f.name) }));
      if (local.manifest) await uploadManifest(loc, mkey, local.manifest, etags, st, s3);
      return { path: loc.url, files, manifest: local.manifest ? { ...local.manifest, files } : null };
    },
  );
}

// --- verify / isComplete ----------------------------------------------------------

interface Located {
  loc: S3Location;
  /** The prefix holding `_SUCCESS` (ends with `/`). */
  prefix: string;
  only?: string;
}

async function head(loc: S3Location, key: string, s3: ParsedS3Options): Promise<any | undefined> {
  const sdk = loadSdk();
  try {
    return await clientFor(s3).send(new sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal: s3.signal });
  } catch (err) {
    const error = s3Error(err, 'HeadObject', `s3://${loc.bucket}/${key}`);
    if (error.code === 'ENOENT' && error.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
}

async function locate(path: unknown, s3: ParsedS3Options): Promise<Located> {
  const loc = parseS3Url(path, { prefix: true });
  const given = String(path instanceof URL ? path.href : path);
  if (given.endsWith('/')) return { loc, prefix: loc.key };
  const key = loc.key.slice(0, -1);
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  if (name === MARKER) return { loc, prefix: key.slice(0, slash + 1) };
  // An object (a file written with a marker beside it), else a prefix without its slash.
  if (await head(loc, key, s3)) return { loc, prefix: key.slice(0, slash + 1), only: name };
  return { loc, prefix: loc.key };
}

async function readMarker(loc: S3Location, prefix: string, s3: ParsedS3Options): Promise<MarkerRead> {
  const found = await readWithEtag({ ...loc, key: `${prefix}${MARKER}` }, s3);
  return parseMarker(found?.text, `under s3://${loc.bucket}/${prefix}`);
}

export function isComplete(path: unknown, options?: unknown): Promise<boolean> {
  checkOptionNames(options, S3_NAMES, []);
  const s3 = parseS3Options(options);
  parseS3Url(path, { prefix: true });
  return (async () => {
    const { loc, prefix, only } = await locate(path, s3);
    const { kind, manifest } = await readMarker(loc, prefix, s3);
    if (kind === null) return false;
    return only === undefined || (manifest?.files.some((f) => f.name === only) ?? false);
  })();
}

function crcFromBase64(value: string): string {
  return `crc32c:${Buffer.from(value, 'base64').toString('hex').padStart(8, '0')}`;
}

async function checkObject(loc: S3Location, prefix: string, entry: ManifestFile & { etag?: string }, checksums: boolean, s3: ParsedS3Options): Promise<VerifyProblem | undefined> {
  const { name } = entry;
  if (typeof name !== 'string' || typeof entry.bytes !== 'number') return { name: String(name), code: 'EBADMARKER', message: `the manifest entry for ${JSON.stringify(name)} is malformed` };
  const info = await head(loc, `${prefix}${name}`, s3);
  if (!info) return { name, code: 'ENOENT', message: `${name} is listed in ${MARKER} but missing` };
  if (info.ContentLength !== entry.bytes) return { name, code: 'ESIZE', message: `${name} has ${info.ContentLength} bytes, the manifest says ${entry.bytes}`, expected: entry.bytes, actual: info.ContentLength };
  if (!checksums) return undefined;
  // The ETag S3 computed from the bytes it stored (after checking our checksum) must be
  // the one the upload got; where S3 keeps the object's CRC32C, it must match too.
  if (entry.etag !== undefined && info.ETag !== entry.etag) return { name, code: 'ECHECKSUM', message: `${name} was replaced: ETag ${info.ETag}, the manifest says ${entry.etag}`, expected: entry.etag, actual: info.ETag };
  if (typeof info.ChecksumCRC32C === 'string' && !info.ChecksumCRC32C.includes('-') && typeof entry.checksum === 'string') {
    const actual = crcFromBase64(info.ChecksumCRC32C);
    if (actual !== entry.checksum.toLowerCase()) return { name, code: 'ECHECKSUM', message: `${name}: checksum ${actual}, the manifest says ${entry.checksum}`, expected: entry.checksum, actual };
  }
  return undefined;
}

async function listKeys(loc: S3Location, prefix: string, s3: ParsedS3Options): Promise<string[]> {
  const sdk = loadSdk();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await clientFor(s3).send(new sdk.ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: s3.signal });
    for (const o of out.Contents ?? []) keys.push((o.Key as string).slice(prefix.length));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export function verify(path: unknown, options: VerifyOptions | undefined): Promise<VerifyResult> {
  checkOptionNames(options, [...VERIFY_OPTION_NAMES, ...S3_NAMES], []);
  const s3 = parseS3Options(options);
  parseS3Url(path, { prefix: true });
  const checksums = options?.checksums ?? true;
  if (typeof checksums !== 'boolean') throw invalidArgType('options.checksums', 'of type boolean', checksums);
  return (async () => {
    const { loc, prefix, only } = await locate(path, s3);
    const dir = `s3://${loc.bucket}/${prefix}`;
    const place: VerifyPlace = {
      dir,
      markerPath: `${dir}${MARKER}`,
      concurrency: 8,
      check: (entry) => checkObject(loc, prefix, entry, checksums, s3),
      list: () => listKeys(loc, prefix, s3),
    };
    return verifyAgainst(place, await readMarker(loc, prefix, s3), only);
  })();
}
