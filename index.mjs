// ESM entry: the same CommonJS module object, so classes and state are shared
// (`instanceof` holds across `import` and `require`).
import api from './dist/index.js';

export default api;
export const { sync, writeFile, writeFileSync, openAtomic, openAtomicSync, atomicWrite, AtomicFile, sweep } = api;
