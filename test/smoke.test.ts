import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

describe('writeFileAtomic', () => {
  it('writes and replaces, leaving no temp', async () => {
    const dir = scratch();
    const file = join(dir, 'a.txt');
    await aw(file, 'one');
    await aw.writeFile(file, 'two');
    aw.sync(file, 'three');
    expect(readFileSync(file, 'utf8')).toBe('three');
    expect(entries(dir)).toEqual(['a.txt']);
  });
});
