// Path shapes and where their errors arrive. A path that can only name a directory (a
// trailing `/`, a final `.` or `..`) fails as `fs.writeFileSync` fails on it, and
// creates or replaces nothing. What the disk says about a path (ELOOP, EISDIR, ENOTDIR)
// always arrives through the promise or the callback, never as a synchronous throw;
// only bad arguments throw.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { aw, entries, scratch } from './helpers.js';

function setup(): string {
  const dir = scratch();
  writeFileSync(join(dir, 'config.json'), 'old');
  mkdirSync(join(dir, 'sub'));
  symlinkSync('config.json', join(dir, 'link'));
  symlinkSync('loop-b', join(dir, 'loop-a'));
  symlinkSync('loop-a', join(dir, 'loop-b'));
  return dir;
}

function fsCode(path: string): string | undefined {
  try {
    writeFileSync(path, 'x');
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

const shapes = ['config.json/', 'new/', 'link/', 'sub/', 'sub/.', 'sub/..', 'sub//', 'config.json/.', 'config.json/..', 'missing/.', 'missing/..', 'missing/x/', 'config.json/../config.json', 'missing/../config.json'];

/** Each API called so that a synchronous throw and a rejection are told apart. */
type Api = (path: string) => Promise<unknown>;
const apis: Array<[string, Api]> = [
  ['writeFile', (p) => aw.writeFile(p, 'new')],
  ['writeFileSync', (p) => new Promise((resolve) => resolve(aw.writeFileSync(p, 'new')))],
  ['writeJson', (p) => aw.writeJson(p, 1, { mkdir: false })],
  ['updateJson', (p) => aw.updateJson(p, () => 1, { mkdir: false })],
  ['write', (p) => aw.write('x', p, { format: 'text', mkdir: false })],
  ['openAtomic', (p) => aw.openAtomic(p)],
  [
    'createWriteStream',
    (p) => {
      const stream = aw.createWriteStream(p);
      stream.end('x');
      return finished(stream);
    },
  ],
  ['writeDataset', (p) => aw.writeDataset(p, () => {}, { mkdir: false })],
  ['write-file-atomic callback', (p) => new Promise<void>((resolve, reject) => void aw(p, 'new', (err?: Error | null) => (err ? reject(err) : resolve())))],
  ['write-file-atomic promise', (p) => aw(p, 'new')],
];

describe('a path that names a directory fails as fs.writeFileSync does, changing nothing', () => {
  for (const shape of shapes) {
    it(`'${shape}'`, async () => {
      const dir = setup();
      const path = `${dir}/${shape}`;
      // Not join(): it would normalize the very shapes under test away.
      const given = path;
      const expected = fsCode(given);
      const before = entries(dir);
      for (const [name, api] of apis.slice(0, 2).concat(apis.slice(-2))) {
        const outcome = await api(given).then(
          () => undefined,
          (err: NodeJS.ErrnoException) => err.code,
        );
        expect(outcome, name).toBe(expected);
      }
      if (expected === undefined) return;
      expect(entries(dir)).toEqual(before);
      expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('old');
    });
  }

  it("fs's own answers here (the contract the cases above follow)", () => {
    const dir = setup();
    expect(fsCode(join(dir, 'config.json') + '/')).toBe('EISDIR');
    expect(fsCode(join(dir, 'new') + '/')).toBe('EISDIR');
    expect(fsCode(`${dir}/config.json/.`)).toBe('ENOTDIR');
    expect(fsCode(`${dir}/missing/.`)).toBe('ENOENT');
    expect(entries(dir)).toEqual(['config.json', 'link', 'loop-a', 'loop-b', 'sub']);
  });
});

describe('disk errors about the path arrive through the promise or callback', () => {
  const bad: Array<[string, (dir: string) => string, string]> = [
    ['a symlink loop', (d) => `${d}/loop-a`, 'ELOOP'],
    ["'sub/..'", (d) => `${d}/sub/..`, 'EISDIR'],
    ["'/'", () => '/', 'EISDIR'],
    ['a file in the middle', (d) => `${d}/config.json/x`, 'ENOTDIR'],
  ];
  for (const [what, make, code] of bad) {
    for (const [name, api] of apis) {
      if (name === 'writeFileSync') continue;
      if (name === 'writeDataset' && /(\/|\/\.\.?)$/.test(make('d'))) {
        // A dataset's name must be its last component: `sub/..` and `/` are refused as
        // bad arguments before the disk is touched (they would name a directory the
        // dataset replaces whole), so they throw, as other bad arguments do.
        it(`${name}: ${what} is a bad argument, thrown before the disk is touched`, () => {
          const dir = setup();
          expect(() => api(make(dir))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
          expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('old');
        });
        continue;
      }
      it(`${name}: ${what} rejects with ${code}, never throws`, async () => {
        const dir = setup();
        let settled: Promise<unknown> | undefined;
        expect(() => {
          settled = api(make(dir));
        }).not.toThrow();
        await expect(settled).rejects.toMatchObject({ code });
        expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('old');
      });
    }
  }

  it('the write-file-atomic callback gets ELOOP exactly once', async () => {
    const dir = setup();
    const calls: unknown[] = [];
    await new Promise<void>((resolve) => {
      aw(join(dir, 'loop-a'), 'x', (err?: Error | null) => {
        calls.push(err);
        setTimeout(resolve, 20);
      });
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ code: 'ELOOP', path: join(dir, 'loop-a') });
  });

  it('bad argument types still throw synchronously', () => {
    expect(() => aw.writeFile(42 as never, 'x')).toThrow(TypeError);
    expect(() => aw.openAtomic({} as never)).toThrow(TypeError);
    expect(() => aw.writeDataset('x', 'not a function' as never)).toThrow(TypeError);
  });
});
