import { pathToFileURL } from 'node:url';

// Optional encoders are required on first use, never at `require('atomicwriter')`.
// A missing one fails the write before the disk is touched, naming the package.

export function optionalRequire<T>(pkg: string, format: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as T;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String((err as Error).message).includes(pkg)) throw err;
    const error = new Error(`The ${format} format needs the package "${pkg}": npm install ${pkg}`, { cause: err }) as Error & { code: string };
    error.code = 'ERR_MISSING_DEPENDENCY';
    throw error;
  }
}

// A real dynamic import: TypeScript turns `import()` into `require()` in this CommonJS
// build, and some encoders are ESM only (or have a separate ESM instance).
const importUrl = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

export function importFile<T>(path: string): Promise<T> {
  return importUrl(pathToFileURL(path).href) as Promise<T>;
}
