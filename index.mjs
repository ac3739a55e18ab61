// ESM entry: the same CommonJS module object, so classes and state are shared
// (`instanceof` holds across `import` and `require`).
import api from './dist/index.js';

export default api;
export const { sync, writeFile, writeFileSync, openAtomic, openAtomicSync, atomicWrite, AtomicFile, sweep,
  createWriteStream, writeDataset, verify, isComplete,
  lock, tryLock, withLock, FileLock, FileLockError, FileLockTimeoutError, writeJson, readJson, updateJson,
  write, registerFormat, probeConditionalWrites } = api;
