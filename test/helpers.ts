import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterEach } from 'vitest';

const require = createRequire(import.meta.url);

/** The package as a CommonJS user gets it. */
export const aw: typeof import('../index.js') = require('../dist/index.js');

const dirs: string[] = [];

/** A scratch directory, removed after the test. */
export function scratch(prefix = 'aw-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Names in `dir`, sorted: a leftover temp shows up here. */
export function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}
