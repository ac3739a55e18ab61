// The router: the one place outside src/store/ that knows object-store URLs (s3://,
// gs://, az://). Each public entry point that takes a path comes through here and goes
// to the local implementation or to the store (src/store/index.ts, loaded on the first
// remote target, like the SDK it needs). Entry points that only make sense on a local
// file system refuse a remote URL instead of writing a local "s3:" directory. The local
// modules below never see a URL scheme.

import { atomicWrite as atomicWriteLocal, openAtomic as openAtomicLocal, openAtomicSync as openAtomicSyncLocal } from '../file/atomic-file';
import { invalidArgType } from '../binding/errors';
import { readJson as readJsonLocal, updateJson as updateJsonLocal, writeJson as writeJsonLocal } from '../json';
import { lock as lockLocal, tryLock as tryLockLocal, withLock as withLockLocal } from '../lock';
import { sweep as sweepLocal } from '../file/sweep';
import { writeFile as writeFileLocal, writeFileAtomic as writeFileAtomicLocal, writeFileAtomicSync as writeFileAtomicSyncLocal, writeFileSync as writeFileSyncLocal } from '../file/write-file';
import { isRemoteUrl } from '../store/url';
import type * as Stream from '../file/stream';
import type * as Dataset from '../dataset';
import type * as Manifest from '../manifest';
import type * as Write from '../formats/write';
import type * as Store from '../store/index';

export { isRemoteUrl };

// Streams, datasets, manifests, formats and stores load on first use: most programs only
// write files, and `require('atomicwriter')` stays cheaper than write-file-atomic's.
function lazy<M>(load: () => M): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= load());
}
/* eslint-disable @typescript-eslint/no-require-imports */
const stream = lazy(() => require('../file/stream') as typeof Stream);
const dataset = lazy(() => require('../dataset') as typeof Dataset);
const manifest = lazy(() => require('../manifest') as typeof Manifest);
const formats = lazy(() => require('../formats/write') as typeof Write);
const store = lazy(() => require('../store/index') as typeof Store);
/* eslint-enable @typescript-eslint/no-require-imports */

// --- routed: a local path or an object-store URL ------------------------------------

export const writeFile = ((path: unknown, data: unknown, options?: unknown) =>
  isRemoteUrl(path) ? store().writeFile(path, data, options, { compat: false }) : writeFileLocal(path as never, data as never, options as never)) as typeof writeFileLocal;

type Callback = (err?: Error | null) => void;

/** write-file-atomic's signature; on a remote target the callback is served as locally. */
export const writeFileAtomic = ((path: unknown, data: unknown, options?: unknown, callback?: Callback) => {
  if (!isRemoteUrl(path)) return writeFileAtomicLocal(path as never, data as never, options as never, callback);
  const [opts, cb] = typeof options === 'function' ? [undefined, options as Callback] : [options, callback];
  const written = store().writeFile(path, data, opts, { compat: true });
  return typeof cb === 'function' ? written.then(() => cb(undefined), (err: Error) => cb(err)) : written;
}) as typeof writeFileAtomicLocal;

export const writeJson = ((path: unknown, value: unknown, options?: unknown) =>
  isRemoteUrl(path) ? store().writeJson(path, value, options) : writeJsonLocal(path as never, value, options as never)) as typeof writeJsonLocal;

export const readJson = ((path: unknown, options?: never) => (isRemoteUrl(path) ? store().readJson(path, options) : readJsonLocal(path as never, options))) as typeof readJsonLocal;

export const updateJson = ((path: unknown, fn: never, options?: never) =>
  isRemoteUrl(path) ? store().updateJson(path, fn, options) : updateJsonLocal(path as never, fn, options)) as typeof updateJsonLocal;

export const write = ((data: unknown, path: unknown, options?: never) => {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgType('options', 'an object such as { format: "csv" }', options);
  return isRemoteUrl(path) ? store().write(data, path, options) : formats().write(data, path as never, options);
}) as typeof Write.write;

export const createWriteStream = ((path: unknown, options?: never) =>
  isRemoteUrl(path) ? store().createWriteStream(path, options) : stream().createWriteStream(path as never, options)) as typeof Stream.createWriteStream;

export const writeDataset = ((dir: unknown, fn: never, options?: never) => {
  const local = dataset(); // the format registry's dataset parts, for remote datasets too
  return isRemoteUrl(dir) ? store().writeDataset(dir, fn, options) : local.writeDataset(dir as never, fn, options);
}) as typeof Dataset.writeDataset;

export const verify = ((dirOrFile: unknown, options?: never) =>
  isRemoteUrl(dirOrFile) ? store().verify(dirOrFile, options) : manifest().verify(dirOrFile as never, options)) as typeof Manifest.verify;

export const isComplete = ((dirOrFile: unknown, options?: never) =>
  isRemoteUrl(dirOrFile) ? store().isComplete(dirOrFile, options) : manifest().isComplete(dirOrFile as never, options)) as typeof Manifest.isComplete;

/** Whether the server behind an object-store URL honours conditional writes (see src/store/probe.ts). */
export function probeConditionalWrites(url: string | URL, options?: Store.StoreOptions): Promise<import('../store/probe').ProbeResult> {
  if (!isRemoteUrl(url)) throw invalidArgType('url', 'an s3://, gs:// or az:// URL', url);
  return store().probeConditionalWrites(url, options);
}

// --- local only: a remote URL is refused, never taken as a relative path ------------

const REMOTE_ENTRY_POINTS = 'writeFile, write, writeJson, readJson, updateJson, createWriteStream, writeDataset, verify and isComplete';

function localOnly<F extends (path: never, ...rest: never[]) => unknown>(fn: F, name = 'path'): F {
  return ((path: unknown, ...rest: never[]) => {
    if (isRemoteUrl(path)) throw invalidArgType(name, `a local path: s3://, gs:// and az:// targets work with ${REMOTE_ENTRY_POINTS}`, path);
    return fn(path as never, ...rest);
  }) as unknown as F;
}

export const writeFileSync = localOnly(writeFileSyncLocal, 'filename');
export const writeFileAtomicSync = localOnly(writeFileAtomicSyncLocal, 'filename');
export const openAtomic = localOnly(openAtomicLocal);
export const openAtomicSync = localOnly(openAtomicSyncLocal);
export const atomicWrite = localOnly(atomicWriteLocal);
export const sweep = localOnly(sweepLocal, 'dir');
export const lock = localOnly(lockLocal);
export const tryLock = localOnly(tryLockLocal);
export const withLock = localOnly(withLockLocal);
