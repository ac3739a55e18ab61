// `require('atomicwriter')` is write-file-atomic's function itself, with `.sync` and
// the named API attached; index.mjs re-exports the same object for ESM.

import { AtomicFile } from './file/atomic-file';
import { FileLock, FileLockError, FileLockTimeoutError } from './lock';
import type * as Registry from './formats/registry';
// Every entry point that takes a path is routed (local file or object store) in route.ts.
import {
  atomicWrite,
  createWriteStream,
  isComplete,
  openAtomic,
  openAtomicSync,
  probeConditionalWrites,
  readJson,
  sweep,
  tryLock,
  lock,
  updateJson,
  verify,
  withLock,
  write,
  writeDataset,
  writeFile,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFileSync,
  writeJson,
} from './route';

// The format registry loads on first use, like the modules route.ts loads lazily.
let registry: typeof Registry | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadRegistry = (): typeof Registry => (registry ??= require('./formats/registry') as typeof Registry);
const registerFormat = ((...args: Parameters<typeof Registry.registerFormat>) => loadRegistry().registerFormat(...args)) as typeof Registry.registerFormat;

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
  probeConditionalWrites,
});
Object.defineProperty(api, 'default', { value: api, enumerable: false });

export = api;
