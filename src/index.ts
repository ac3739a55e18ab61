// `require('atomicwriter')` is write-file-atomic's function itself, with `.sync` and
// the named API attached; index.mjs re-exports the same object for ESM.

import { atomicWrite, AtomicFile, openAtomic, openAtomicSync } from './atomic-file';
import { sweep } from './sweep';
import { writeFile, writeFileAtomic, writeFileSync } from './write-file';

const api = Object.assign(writeFileAtomic, {
  sync: writeFileSync,
  writeFile,
  writeFileSync,
  openAtomic,
  openAtomicSync,
  atomicWrite,
  AtomicFile,
  sweep,
});
Object.defineProperty(api, 'default', { value: api, enumerable: false });

export = api;
