// Special files at `_SUCCESS`: a FIFO (mkfifo), a unix socket (a listening
// net.Server) and a device node (a copy of /dev/null made with mknod) beside a file
// written with `marker: true` are someone's channel, not a stale marker. The marked
// write must refuse them (EINVAL, the marker's path, what was found) before the data
// is published, never remove or replace them, and leave the data file as it was: by
// `write()`, the internal `writeWithMarker`, a create-only write, and the CLI's
// `--marker`. A dataset whose `_SUCCESS` is one of them is not a dataset to replace.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, entries, fileIdentity, hasCommand, isRoot, listenUnix, repoRoot, run, scratch } from './helpers.js';

const require = createRequire(import.meta.url);
// The single-file marker helpers that `write(..., {marker: true})` uses (not public API).
const manifestModule: typeof import('../src/manifest/index.js') = require('../dist/manifest/index.js');

const kinds: Array<[string, string, string, (path: string) => Promise<void>, boolean]> = [
  ['a FIFO', 'fifo', 'is a FIFO', async (p) => void spawnSync('mkfifo', [p]), hasCommand('mkfifo')],
  ['a unix socket', 'socket', 'is a socket', (p) => listenUnix(p), true],
  ['a copy of /dev/null (mknod c 1 3)', 'char', 'is a character device', async (p) => void spawnSync('mknod', [p, 'c', '1', '3']), isRoot && hasCommand('mknod')],
];

/** A directory with `x.json` (old content, unless `withFile` is false) and the special file at `_SUCCESS`. */
async function planted(make: (path: string) => Promise<void>, kind: string, withFile = true) {
  const dir = scratch('aw-marker-');
  const file = join(dir, 'x.json');
  const marker = join(dir, '_SUCCESS');
  if (withFile) writeFileSync(file, 'old');
  await make(marker);
  const before = fileIdentity(marker);
  expect(before.startsWith(`${kind}:`)).toBe(true);
  return { dir, file, marker, before };
}

/** The special file is the same one, `x.json` (when planted) still old, and `dir` holds just `names`. */
function expectKept({ dir, file, marker, before }: { dir: string; file: string; marker: string; before: string }, names: string[]): void {
  expect(fileIdentity(marker)).toBe(before);
  if (names.includes('x.json')) expect(readFileSync(file, 'utf8')).toBe('old');
  expect(entries(dir)).toEqual(names);
}

/** The write failed with EINVAL for the marker, saying what is there. */
async function expectRefused(write: Promise<unknown>, marker: string, found: string): Promise<void> {
  const err = await write.then(() => null, (e: NodeJS.ErrnoException) => e);
  expect(err).toMatchObject({ code: 'EINVAL', path: marker });
  expect(err!.message).toContain(`${marker} ${found}, not a regular file`);
}

describe('a special file at _SUCCESS is refused by a marked write, and kept', () => {
  for (const [what, kind, found, make, available] of kinds) {
    describe.skipIf(!available)(what, () => {
      it('write(data, file, { marker: true }) rejects with EINVAL; neither the file nor _SUCCESS is replaced', async () => {
        const place = await planted(make, kind);
        await expectRefused(aw.write({ a: 1 }, place.file, { marker: true }), place.marker, found);
        expectKept(place, ['_SUCCESS', 'x.json']);
      });

      it('a create-only marked write (exclusive: true) rejects before publishing the file', async () => {
        const place = await planted(make, kind, false);
        await expectRefused(aw.write({ a: 1 }, place.file, { marker: true, exclusive: true }), place.marker, found);
        expectKept(place, ['_SUCCESS']);
      });

      it('writeWithMarker and removeMarker refuse it too', async () => {
        const place = await planted(make, kind);
        const produced = manifestModule.writeWithMarker(place.file, async (f) => {
          await f.write('new');
        });
        await expectRefused(produced, place.marker, found);
        await expectRefused(manifestModule.removeMarker(place.file), place.marker, found);
        expectKept(place, ['_SUCCESS', 'x.json']);
      });

      it('the CLI (echo hi | atomicwriter write x.txt --marker) exits 1 and publishes nothing', async () => {
        const { dir, marker, before } = await planted(make, kind, false);
        const file = join(dir, 'x.txt');
        const bin = join(repoRoot, 'bin', 'atomicwriter.js');
        const result = await run('bash', ['-c', 'echo hi | "$0" "$1" write "$2" --marker', process.execPath, bin, file]);
        expect(result.status, result.stderr).toBe(1);
        expect(result.stderr).toContain(`${marker} ${found}, not a regular file`);
        expect(fileIdentity(marker)).toBe(before);
        expect(entries(dir)).toEqual(['_SUCCESS']);
      });

      it('writeDataset does not take a directory whose _SUCCESS is one for a dataset (ENOTEMPTY), and leaves it', async () => {
        const { dir, marker, before } = await planted(make, kind);
        await expect(aw.writeDataset(dir, (stage) => stage.write('p', 'x'))).rejects.toMatchObject({ code: 'ENOTEMPTY' });
        expect(fileIdentity(marker)).toBe(before);
        expect(entries(dir)).toEqual(['_SUCCESS', 'x.json']);
      });
    });
  }

  it('control: a regular stale _SUCCESS is replaced by the new manifest', async () => {
    const dir = scratch('aw-marker-');
    const file = join(dir, 'x.json');
    writeFileSync(join(dir, '_SUCCESS'), 'stale');
    await aw.write({ a: 1 }, file, { marker: true });
    expect(JSON.parse(readFileSync(join(dir, '_SUCCESS'), 'utf8')).filenames).toEqual(['x.json']);
    expect(entries(dir)).toEqual(['_SUCCESS', 'x.json']);
  });
});
