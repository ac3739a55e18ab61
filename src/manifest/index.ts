// The `_SUCCESS` manifest: written last into a dataset (or beside a single file), it
// says the output is complete and lists every file with its size and CRC32C, so the
// next step can check what it reads. It is a JSON superset of the two conventions
// in use: Hadoop's classic committer (readers test that `_SUCCESS` exists) and the
// S3A committers' JSON (`name`, `timestamp`, `hostname`, `committer`, `filenames`).

import { inParallel } from '../async/pool';
import { statSync } from 'node:fs';
import { constants as osConstants, hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { openAtomic, type AtomicFile, type OpenOptions } from '../file/atomic-file';
import { invalidArgType, type NodeStyleError } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import { checkOptionNames } from '../file/options';
import { native } from '../binding/native';
import { checkPath, withTarget, type PathLike } from '../args/target';
import { writeFile } from '../file/write-file';
import type * as Binding from '../../native/binding';

export const MARKER = '_SUCCESS';
export const MANIFEST_FORMAT = 'atomicwriter.success';
export const MANIFEST_VERSION = 1;
export const CHECKSUM_ALGORITHM = 'crc32c';
/** What S3A's `SuccessData.load` requires in `name` to accept a marker. */
const S3A_NAME = 'org.apache.hadoop.fs.s3a.commit.files.SuccessData/1';
const VERIFY_ATTEMPTS = 10;
const DIGEST_CONCURRENCY = 8;

export interface ManifestFile {
  /** Relative to the dataset (or the marker's directory), `/`-separated. */
  name: string;
  bytes: number;
  /** `crc32c:` and 8 hex digits (the algorithm is named so others can be added). */
  checksum: string;
  rows?: number;
  format?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: number;
  writer: 'atomicwriter';
  writerVersion: string;
  /** ISO 8601, UTC. */
  created: string;
  hostname: string;
  files: ManifestFile[];
  // S3A committer fields (SuccessData/1), for readers of that convention.
  name: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  date: string;
  committer: 'atomicwriter';
  description: string;
  filenames: string[];
}

export interface PartInfo {
  bytes?: number;
  /** A CRC32C as a number, or a manifest checksum string. */
  checksum?: number | string;
  rows?: number;
  format?: string;
}

let writerVersion: string | undefined;
/** This package's version (the manifest's writer, the CLI's --version). */
export function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  writerVersion ??= (require('../../package.json') as { version: string }).version;
  return writerVersion;
}

export function formatChecksum(crc32c: number): string {
  return `${CHECKSUM_ALGORITHM}:${(crc32c >>> 0).toString(16).padStart(8, '0')}`;
}

export function buildManifest(files: ManifestFile[], now = new Date()): Manifest {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    writer: 'atomicwriter',
    writerVersion: packageVersion(),
    created: now.toISOString(),
    hostname: hostname(),
    files: sorted,
    name: S3A_NAME,
    timestamp: now.getTime(),
    date: now.toUTCString(),
    committer: 'atomicwriter',
    description: `${sorted.length} file(s), each with its size and ${CHECKSUM_ALGORITHM}; written last`,
    filenames: sorted.map((f) => f.name),
  };
}

export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * A manifest entry name that is a part name (manifests are input too): the same rule as
 * `stage.write`'s, the core's (dataset.rs `part_name_problem`), so nothing a manifest
 * lists can point outside its directory.
 */
function safeName(name: unknown): name is string {
  return typeof name === 'string' && native().partNameProblem(name) === null;
}

// --- single files: write(data, path, {marker: true}) -------------------------------

function markerBeside(filePath: string): string {
  return join(dirname(filePath), MARKER);
}

/**
 * With `marker: true` the marker is written beside the file, so the file cannot be
 * `_SUCCESS` itself (the write would wait on its own marker): a bad argument.
 */
export function checkNotMarker(filePath: string | Buffer): void {
  if (basename(filePath.toString()) !== MARKER) return;
  const error = new TypeError(
    `The argument 'path' names ${MARKER} itself (${JSON.stringify(filePath.toString())}): with marker: true, ${MARKER} is written beside the file. Write the marker's content without marker: true, or name the file otherwise`,
  ) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_VALUE';
  throw error;
}

/**
 * Removes a (regular) `_SUCCESS` beside `filePath`, durably. A FIFO, socket or device
 * there is refused (EINVAL) and left: removing it would let the new marker replace it.
 */
export function removeMarker(filePath: PathLike, options: { fsync?: boolean } = {}): Promise<void> {
  const marker = markerBeside(String(checkPath(filePath)));
  return withTarget(marker, (target) => native().removeDurable(target, options.fsync ?? true));
}

/**
 * Makes way for the marker, just before the commit of the file it will describe. A
 * replacing write retires the stale marker; a create-only one replaces nothing (it fails
 * with EEXIST if the file exists) and removes nothing, so that a failed write never
 * changes the marker: it only checks. Either way a `_SUCCESS` that is not a regular
 * file fails the write before the data is published, not after.
 */
export function makeWayForMarker(filePath: PathLike, options: { fsync?: boolean; exclusive?: boolean }): Promise<void> {
  if (!options.exclusive) return removeMarker(filePath, options);
  const marker = markerBeside(String(checkPath(filePath)));
  return withTarget(marker, (target) => native().checkRegular(target));
}

/**
 * Writes the `_SUCCESS` manifest for a single file that is already committed. Without
 * `info.checksum` the file is read back to compute it (on the core's threads).
 */
export async function writeFileMarker(filePath: PathLike, info: PartInfo = {}, options: { fsync?: boolean } = {}): Promise<Manifest> {
  const path = String(checkPath(filePath));
  let { bytes, checksum } = info;
  if (checksum === undefined) {
    const digest = await native().digestFile(path);
    bytes = digest.bytes;
    checksum = digest.crc32c as number;
  }
  if (bytes === undefined) bytes = statSync(path).size;
  const entry: ManifestFile = { name: basename(path), bytes, checksum: typeof checksum === 'number' ? formatChecksum(checksum) : checksum };
  if (info.rows !== undefined) entry.rows = info.rows;
  if (info.format !== undefined) entry.format = info.format;
  const manifest = buildManifest([entry]);
  await writeFile(markerBeside(path), serializeManifest(manifest), { fsync: options.fsync ?? true });
  return manifest;
}

/**
 * A marked single-file write: lets `produce` fill the staged file (its CRC32C is
 * computed as the bytes are written), removes the stale `_SUCCESS` beside `path`
 * (durably), commits, then writes the manifest. A failure before the commit leaves the
 * old file and, unless it came after the removal, the old marker that describes it;
 * never a marker beside content it does not describe.
 */
export async function writeWithMarker(
  path: PathLike,
  produce: (file: AtomicFile) => Promise<Omit<PartInfo, 'bytes' | 'checksum'> | void>,
  options?: OpenOptions,
): Promise<Manifest> {
  if (typeof produce !== 'function') throw invalidArgType('produce', 'a function', produce);
  checkNotMarker(String(checkPath(path)));
  const file = await openAtomic(path, options);
  let info: PartInfo;
  try {
    checkNotMarker(file.path);
    file.trackChecksum();
    const extra = (await produce(file)) ?? {};
    const { bytes, crc32c } = await file.digest();
    // Retired only now: a failure or kill while producing leaves the old file with the
    // marker that describes it; from here to the new marker there is none, never a
    // stale one beside new content.
    await makeWayForMarker(path, { fsync: options?.fsync, exclusive: options?.exclusive });
    await file.commit();
    info = { ...extra, bytes, checksum: crc32c ?? undefined };
  } finally {
    file.abort();
  }
  return writeFileMarker(path, info, { fsync: options?.fsync });
}

// --- reading: isComplete and verify ------------------------------------------------

export interface VerifyProblem {
  /** The file concerned (relative to the dataset), or `_SUCCESS`. */
  name: string;
  code: 'ENOENT' | 'ENOMARKER' | 'EBADMARKER' | 'ENOTLISTED' | 'ENOTFILE' | 'ESIZE' | 'ECHECKSUM' | 'ECHANGED' | 'EIO';
  message: string;
  expected?: number | string;
  actual?: number | string;
}

export interface VerifyResult {
  ok: boolean;
  /** The directory whose `_SUCCESS` was read. */
  dir: string;
  /** `json`: our manifest; `empty`: Hadoop's classic marker; `foreign`: other JSON (S3A); `null`: none. */
  marker: 'json' | 'empty' | 'foreign' | null;
  /** Files checked against the manifest. */
  checked: number;
  problems: VerifyProblem[];
  /** Regular files present but not in the manifest (never a failure). */
  extra: string[];
  manifest?: Manifest;
}

export const VERIFY_OPTION_NAMES: readonly string[] = ['checksums'];

export interface VerifyOptions {
  /** Recompute every checksum (default `true`); `false` checks presence and sizes only. */
  checksums?: boolean;
}

type Identity = string;

/** Changes whenever the dataset directory or its marker is replaced. */
function identity(dir: string): Identity {
  const of = (p: string): string => {
    const st = statSync(p, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}:${st.ctimeNs}` : '-';
  };
  return `${of(dir)}/${of(join(dir, MARKER))}`;
}

function locate(path: string): { dir: string; only?: string } {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isFile() && basename(path) !== MARKER) return { dir: dirname(path), only: basename(path) };
  if (st?.isFile()) return { dir: dirname(path) };
  return { dir: path };
}

/** What a `_SUCCESS` says: its kind, our manifest if it is one, or the problem with it. */
export interface MarkerRead {
  kind: VerifyResult['marker'];
  manifest?: Manifest;
  problem?: VerifyProblem;
}

/**
 * Parses the text of a `_SUCCESS` (`undefined`: there is none). `where` places it in
 * messages: "in /data/events", "under s3://bucket/events/". Local and S3 share it.
 */
export function parseMarker(text: string | undefined, where: string): MarkerRead {
  if (text === undefined) {
    return { kind: null, problem: { name: MARKER, code: 'ENOMARKER', message: `no ${MARKER} ${where}: the output is not complete (or was not written with a marker)` } };
  }
  if (text.trim() === '') return { kind: 'empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: null, problem: { name: MARKER, code: 'EBADMARKER', message: `${MARKER} ${where} is neither empty nor JSON` } };
  }
  if (parsed === null || typeof parsed !== 'object') {
    return { kind: null, problem: { name: MARKER, code: 'EBADMARKER', message: `${MARKER} ${where} is not a JSON object` } };
  }
  const m = parsed as Partial<Manifest>;
  if (m.format !== MANIFEST_FORMAT) return { kind: 'foreign' };
  if (!Array.isArray(m.files)) {
    return { kind: null, problem: { name: MARKER, code: 'EBADMARKER', message: `${MARKER} ${where} has no "files" list` } };
  }
  return { kind: 'json', manifest: m as Manifest };
}

/** The largest `_SUCCESS` read (the core's `MARKER_LIMIT`): larger ones are refused, not read. */
export const MARKER_LIMIT = 64 * 1024 * 1024;

type Reader = Binding.DatasetReader;
type MarkerInfo = Binding.MarkerInfo;

/** Why a `_SUCCESS` that exists cannot be a marker, or `undefined` when it can. */
function markerRefusal(info: MarkerInfo, dir: string): { code: 'EINVAL' | 'EFBIG'; message: string } | undefined {
  const where = join(dir, MARKER);
  if (info.kind === 'too large') return { code: 'EFBIG', message: `${where} is ${info.bytes} bytes, over the ${MARKER_LIMIT / 1024 / 1024} MiB limit for a marker: not read` };
  if (info.kind !== 'file' && info.kind !== 'missing') return { code: 'EINVAL', message: `${where} is ${info.what}, not a regular file: not read as a marker` };
  return undefined;
}

/** Reads `_SUCCESS` through the reader (on the core's threads: never blocks this one). */
async function readMarker(reader: Reader, dir: string): Promise<MarkerRead> {
  let info: MarkerInfo;
  try {
    info = await reader.readMarker();
  } catch (err) {
    return { kind: null, problem: { name: MARKER, code: 'EIO', message: String((err as Error).message) } };
  }
  const refused = markerRefusal(info, dir);
  if (refused) return { kind: null, problem: { name: MARKER, code: 'EBADMARKER', message: refused.message } };
  return parseMarker(info.kind === 'missing' ? undefined : (info.text as Buffer).toString('utf8'), `in ${dir}`);
}

function openReader(dir: string): Promise<Reader> {
  return native()
    .openDatasetReader(dir)
    .catch((err: unknown) => {
      const error = err as NodeStyleError;
      if (error.code === 'ENOENT') error.message = `ENOENT: no such file or directory, opendir '${dir}' (there is no dataset at this path)`;
      throw error;
    });
}

/** Where a verify looks, and how it checks one listed entry and lists what is there. */
export interface VerifyPlace {
  /** The result's `dir`. */
  dir: string;
  /** The marker, in ENOTLISTED messages. */
  markerPath: string;
  /** Entries checked at once. */
  concurrency: number;
  check(entry: ManifestFile): Promise<VerifyProblem | undefined>;
  /** Every file present, relative to `dir`. */
  list(): Promise<string[]>;
}

/**
 * The part of verify that local and S3 share: the marker read, every listed entry (or
 * only `only`) checked, the files not listed found, problems in name order.
 */
export async function verifyAgainst(place: VerifyPlace, marker: MarkerRead, only: string | undefined): Promise<VerifyResult> {
  const result: VerifyResult = { ok: false, dir: place.dir, marker: marker.kind, checked: 0, problems: [], extra: [] };
  if (marker.problem) {
    result.problems.push(marker.problem);
    return result;
  }
  const { manifest } = marker;
  if (!manifest) {
    // Hadoop's empty marker or another committer's JSON: presence is all it promises.
    result.ok = true;
    return result;
  }
  result.manifest = manifest;
  let entries = manifest.files;
  if (only !== undefined) {
    entries = entries.filter((f) => f.name === only);
    if (entries.length === 0) result.problems.push({ name: only, code: 'ENOTLISTED', message: `${only} is not listed in ${place.markerPath}` });
  }
  await inParallel(entries.length, place.concurrency, async (i) => {
    const found = await place.check(entries[i]!);
    if (found) result.problems.push(found);
  });
  result.checked = entries.length;
  if (only === undefined) {
    const listed = new Set(manifest.files.map((f) => f.name));
    result.extra = (await place.list()).filter((n) => n !== MARKER && !listed.has(n)).sort();
  }
  result.problems.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  result.ok = result.problems.length === 0;
  return result;
}

/**
 * The cheap check a consumer polls: `_SUCCESS` exists in `dir` and is empty (Hadoop's
 * marker) or JSON. Given a file, the marker beside it must list that file.
 */
export function isComplete(dirOrFile: PathLike, options?: object): Promise<boolean> {
  const path = String(checkPath(dirOrFile, 'dir'));
  // A local check takes no options (an S3 one takes the client's).
  checkOptionNames(options, [], []);
  return completeAt(path);
}

async function completeAt(path: string): Promise<boolean> {
  const { dir, only } = locate(path);
  let reader: Reader;
  try {
    reader = await openReader(dir);
  } catch (err) {
    // Not there yet: what a poller waits for.
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code as string)) return false;
    throw err;
  }
  let info: MarkerInfo;
  try {
    info = await reader.readMarker();
  } finally {
    // Now, not when the collector frees the reader: its descriptor keeps the filesystem busy.
    reader.close();
  }
  const refused = markerRefusal(info, dir);
  if (refused) {
    // Never a state a writer passes through: an error, not a "not yet" to wait on.
    const error = new Error(`${refused.code}: ${refused.message}`) as NodeStyleError;
    Object.assign(error, { code: refused.code, errno: -osConstants.errno[refused.code], syscall: 'open', path: join(dir, MARKER) });
    throw error;
  }
  const { kind, manifest } = parseMarker(info.kind === 'missing' ? undefined : (info.text as Buffer).toString('utf8'), `in ${dir}`);
  if (kind === null) return false;
  if (only === undefined) return true;
  return manifest?.files.some((f) => f.name === only) ?? false;
}

async function checkFile(reader: Reader, entry: ManifestFile, checksums: boolean): Promise<VerifyProblem | undefined> {
  const { name } = entry;
  if (!safeName(name) || typeof entry.bytes !== 'number' || typeof entry.checksum !== 'string') {
    return { name: String(name), code: 'EBADMARKER', message: `the manifest entry for ${JSON.stringify(name)} is malformed` };
  }
  const [algorithm] = entry.checksum.split(':');
  const checksum = checksums && algorithm === CHECKSUM_ALGORITHM;
  // Component by component from the dataset's descriptor, no link followed (on the
  // core's threads): `sub/passwd` with `sub -> /etc` is a problem, never read.
  const found = await reader.check(name, checksum);
  if (found.kind === 'missing') {
    const where = found.at === name ? '' : ` (${found.at} does not exist)`;
    return { name, code: 'ENOENT', message: `${name} is listed in ${MARKER} but missing${where}` };
  }
  if (found.kind !== 'file') {
    const what = found.at === name ? `${name} is ${found.what}` : `${found.at} (on the way to ${name}) is ${found.what}`;
    return { name, code: 'ENOTFILE', message: `${what}, not a regular file${found.kind === 'symlink' ? ': entries are never read through links' : ''}` };
  }
  if (found.bytes !== entry.bytes) {
    return { name, code: 'ESIZE', message: `${name} has ${found.bytes} bytes, the manifest says ${entry.bytes}`, expected: entry.bytes, actual: found.bytes };
  }
  if (!checksums) return undefined;
  if (algorithm !== CHECKSUM_ALGORITHM) {
    return { name, code: 'EBADMARKER', message: `${name}: unknown checksum algorithm ${JSON.stringify(algorithm)}` };
  }
  const actual = formatChecksum(found.crc32c as number);
  if (actual !== entry.checksum.toLowerCase()) {
    return { name, code: 'ECHECKSUM', message: `${name}: checksum ${actual}, the manifest says ${entry.checksum}`, expected: entry.checksum, actual };
  }
  return undefined;
}

async function verifyOnce(dir: string, only: string | undefined, checksums: boolean): Promise<VerifyResult> {
  // A missing directory is ENOENT (rejected), not a missing marker.
  const reader = await openReader(dir);
  const place: VerifyPlace = {
    dir,
    markerPath: join(dir, MARKER),
    concurrency: DIGEST_CONCURRENCY,
    check: (entry) => checkFile(reader, entry, checksums),
    list: async () => {
      try {
        return await reader.list();
      } catch {
        return []; // Replaced while listing: the identity check in verify() looks again.
      }
    },
  };
  try {
    return await verifyAgainst(place, await readMarker(reader, dir), only);
  } finally {
    // Now, not when the collector frees the reader: its descriptor keeps the filesystem busy.
    reader.close();
  }
}

/**
 * Checks a dataset (or a single file with a marker beside it) against its `_SUCCESS`
 * manifest: every listed file present, with the listed size and checksum. If the
 * dataset is replaced while it is checked, the check starts over on the new one, so
 * a concurrent writer never makes a complete dataset look broken.
 */
export function verify(dirOrFile: PathLike, options: VerifyOptions = {}): Promise<VerifyResult> {
  const path = String(checkPath(dirOrFile, 'dir'));
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
  checkOptionNames(options, VERIFY_OPTION_NAMES, []);
  const checksums = parseBoolean(options.checksums ?? true, 'options.checksums', true);
  return verifyPath(path, checksums);
}

async function verifyPath(path: string, checksums: boolean): Promise<VerifyResult> {
  const { dir, only } = locate(path);
  let result: VerifyResult | undefined;
  for (let attempt = 0; attempt < VERIFY_ATTEMPTS; attempt++) {
    const before = identity(dir);
    result = await verifyOnce(dir, only, checksums);
    if (identity(dir) === before) return result;
  }
  const last = result as VerifyResult;
  last.problems.push({ name: MARKER, code: 'ECHANGED', message: `${dir} was replaced ${VERIFY_ATTEMPTS} times while it was verified` });
  last.ok = false;
  return last;
}
