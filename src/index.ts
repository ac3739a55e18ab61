// `require('atomicwriter')` is write-file-atomic's function itself, with `.sync` and
// the named API attached; index.mjs re-exports the same object for ESM.

import { atomicWrite, AtomicFile, openAtomic, openAtomicSync } from './atomic-file';
import { sweep } from './sweep';
import { createWriteStream } from './stream';
import { writeDataset } from './dataset';
import './dataset-formats';
import { isComplete, verify } from './manifest';
import { FileLock, FileLockError, FileLockTimeoutError, lock, tryLock, withLock } from './lock';
import { readJson, updateJson, writeJson } from './json';
import { writeFile, writeFileAtomic, writeFileSync } from './write-file';
import { write } from './write';
import { registerFormat } from './formats/registry';

const api = Object.assign(writeFileAtomic, {
  sync: writeFileSync,
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
