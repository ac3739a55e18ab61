// `require('atomicwriter')` is write-file-atomic's function itself, with `.sync` and
// the named API attached; index.mjs re-exports the same object for ESM.

import { atomicWrite, AtomicFile, openAtomic, openAtomicSync } from './file/atomic-file';
import { sweep } from './file/sweep';
import { FileLock, FileLockError, FileLockTimeoutError, lock, tryLock, withLock } from './lock';
import { readJson, updateJson, writeJson } from './json';
import { writeFile, writeFileAtomic, writeFileAtomicSync, writeFileSync } from './file/write-file';
import type * as Stream from './file/stream';
import type * as Dataset from './dataset';
import type * as Manifest from './manifest';
import type * as Write from './formats/write';
import type * as Registry from './formats/registry';

// Streams, datasets, manifests and formats load on first use: most programs only
// write files, and `require('atomicwriter')` stays cheaper than write-file-atomic's.
function lazy<M>(load: () => M): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= load());
}
/* eslint-disable @typescript-eslint/no-require-imports */
const stream = lazy(() => require('./file/stream') as typeof Stream);
const dataset = lazy(() => require('./dataset') as typeof Dataset);
const manifest = lazy(() => require('./manifest') as typeof Manifest);
const formats = lazy(() => require('./formats/write') as typeof Write);
const registry = lazy(() => require('./formats/registry') as typeof Registry);
/* eslint-enable @typescript-eslint/no-require-imports */

const createWriteStream = ((...args: Parameters<typeof Stream.createWriteStream>) => stream().createWriteStream(...args)) as typeof Stream.createWriteStream;
const writeDataset = ((...args: Parameters<typeof Dataset.writeDataset>) => dataset().writeDataset(...args)) as typeof Dataset.writeDataset;
const verify = ((...args: Parameters<typeof Manifest.verify>) => manifest().verify(...args)) as typeof Manifest.verify;
const isComplete = ((...args: Parameters<typeof Manifest.isComplete>) => manifest().isComplete(...args)) as typeof Manifest.isComplete;
const write = ((...args: Parameters<typeof Write.write>) => formats().write(...args)) as typeof Write.write;
const registerFormat = ((...args: Parameters<typeof Registry.registerFormat>) => registry().registerFormat(...args)) as typeof Registry.registerFormat;

const api = Object.assign(writeFileAtomic, {
  // write-file-atomic's loose options and `String(data)`; the named writeFileSync is strict.
  sync: writeFileAtomicSync,
  writeFile,
  writeFileSync,
  openAtomic,
  openAtomicSync,
  atomicWrite,
  AtomicFile,
  sweep,
  createWriteStream,
  writeDataset,
  verify,
  isComplete,
  lock,
  tryLock,
  withLock,
  FileLock,
  FileLockError,
  FileLockTimeoutError,
  writeJson,
  readJson,
  updateJson,
  write,
  registerFormat,
});
Object.defineProperty(api, 'default', { value: api, enumerable: false });

export = api;
