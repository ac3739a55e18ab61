import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { aw, entries, lastJson, runNode, scratch, scratchFile } from './helpers.js';

// Plugins live in one registry per process; names here are unique to this file.
let registered = false;
function registerYaml(): void {
  if (registered) return;
  registered = true;
  aw.registerFormat({
    name: 'yaml',
    extensions: ['.yaml', '.yml'],
    async serialize(data, sink) {
      // A document per array element shows the sink taking many pieces.
      if (Array.isArray(data)) {
        for (const doc of data) await sink.write(`---\n${YAML.stringify(doc)}`);
      } else {
        await sink.write(YAML.stringify(data));
      }
    },
  });
}

describe('registerFormat', () => {
  it('a YAML plugin (the `yaml` package) gets atomic writes, mkdir and the marker', async () => {
    registerYaml();
    const dir = scratch();
    const file = join(dir, 'deep', 'er', 'config.yaml');
    const value = { name: 'ü', list: [1, 'two', null], nested: { ok: true } };
    const result = await aw.write(value, file, { marker: true });
    expect(result.format).toBe('yaml');
    expect(YAML.parse(readFileSync(file, 'utf8'))).toEqual(value);
    expect(entries(join(dir, 'deep', 'er'))).toEqual(['_SUCCESS', 'config.yaml']);
    const manifest = JSON.parse(readFileSync(join(dir, 'deep', 'er', '_SUCCESS'), 'utf8'));
    expect(manifest.files).toEqual([expect.objectContaining({ name: 'config.yaml', bytes: statSync(file).size, format: 'yaml' })]);

    await aw.write([{ a: 1 }, { b: 2 }], join(dir, 'docs.yml'));
    expect(YAML.parseAllDocuments(readFileSync(join(dir, 'docs.yml'), 'utf8')).map((d) => d.toJSON())).toEqual([{ a: 1 }, { b: 2 }]);
    await aw.write({ x: 1 }, join(dir, 'named.conf'), { format: 'YAML' });
    expect(YAML.parse(readFileSync(join(dir, 'named.conf'), 'utf8'))).toEqual({ x: 1 });
  });

  it('a writeTo plugin (an encoder that only writes to a path) is published atomically', async () => {
    aw.registerFormat({
      name: 'pathonly',
      extensions: ['.po1'],
      writeTo(tmpPath, data) {
        writeFileSync(tmpPath, `path:${String(data)}`);
      },
    });
    const dir = scratch();
    await aw.write('v1', join(dir, 'a.po1'));
    expect(readFileSync(join(dir, 'a.po1'), 'utf8')).toBe('path:v1');
    expect(entries(dir)).toEqual(['a.po1']);
  });

  it('duplicates are refused unless override: true', () => {
    const plugin = { name: 'dup1', extensions: ['.dup1'], serialize: async () => {} };
    aw.registerFormat(plugin);
    expect(() => aw.registerFormat(plugin)).toThrow(/already registered.*override: true/);
    expect(() => aw.registerFormat({ name: 'dup2', extensions: ['dup1'], serialize: async () => {} })).toThrow(/extension ".dup1" already belongs to the format "dup1"/);
    expect(() => aw.registerFormat({ name: 'csv', serialize: async () => {} })).toThrow(/already registered/);
    aw.registerFormat({ ...plugin, override: true });
    expect(() => aw.registerFormat({ name: 'bad name!', serialize: async () => {} })).toThrow(TypeError);
    expect(() => aw.registerFormat({ name: 'both', serialize: async () => {}, writeTo: () => {} } as never)).toThrow(/exactly one/);
    expect(() => aw.registerFormat({ name: 'neither' } as never)).toThrow(/exactly one/);
  });

  it('an unknown format is a TypeError naming the known ones, before the disk is touched', () => {
    const dir = join(scratch(), 'not-created');
    let error: (TypeError & { code?: string }) | undefined;
    try {
      aw.write({}, join(dir, 'x.unknownext'));
    } catch (err) {
      error = err as TypeError;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error?.code).toBe('ERR_UNKNOWN_FORMAT');
    expect(error?.message).toMatch(/"\.unknownext".*Known formats: .*csv.*json.*parquet/);
    expect(() => aw.write({}, join(dir, 'noext'))).toThrow(/no extension/);
    expect(() => aw.write({}, join(dir, 'x.json'), { format: 'nope' })).toThrow(/Unknown format "nope"/);
    expect(() => readFileSync(dir)).toThrow(/ENOENT/);
  });

  it('a plugin that throws halfway leaves the old file and no temp', async () => {
    aw.registerFormat({
      name: 'halfway',
      extensions: ['.half'],
      async serialize(_data, sink) {
        await sink.write(Buffer.alloc(3 << 20, 1)); // some bytes really reach the temp
        throw new Error('plugin failed');
      },
    });
    aw.registerFormat({
      name: 'halfpath',
      writeTo(tmpPath) {
        writeFileSync(tmpPath, 'partial');
        throw new Error('path plugin failed');
      },
    });
    const { dir, file } = scratchFile('keep.half', 'old');
    await expect(aw.write(1, file)).rejects.toThrow('plugin failed');
    await expect(aw.write(1, file, { format: 'halfpath' })).rejects.toThrow('path plugin failed');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['keep.half']);
  });

  it('validate runs before the disk is touched', () => {
    aw.registerFormat({
      name: 'picky',
      validate(data) {
        if (typeof data !== 'number') throw new TypeError('picky wants a number');
      },
      serialize: async (data, sink) => sink.write(String(data)),
    });
    const dir = join(scratch(), 'missing');
    expect(() => aw.write('x', join(dir, 'p'), { format: 'picky' })).toThrow('picky wants a number');
    expect(() => readFileSync(dir)).toThrow(/ENOENT/);
  });
});

describe('write()', () => {
  it('creates parent directories unless mkdir: false; write options apply', async () => {
    const dir = scratch();
    await expect(aw.write({ a: 1 }, join(dir, 'no', 'x.json'), { mkdir: false })).rejects.toMatchObject({ code: 'ENOENT' });
    await aw.write({ a: 1 }, join(dir, 'yes', 'x.json'), { mode: 0o640 });
    expect(statSync(join(dir, 'yes', 'x.json')).mode & 0o777).toBe(0o640);
    await expect(aw.write({ a: 2 }, join(dir, 'yes', 'x.json'), { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(JSON.parse(readFileSync(join(dir, 'yes', 'x.json'), 'utf8'))).toEqual({ a: 1 });
  });

  it('an abort signal during a long serialization publishes nothing', async () => {
    const { dir, file } = scratchFile('a.csv', 'old');
    const controller = new AbortController();
    async function* rows() {
      for (let i = 0; i < 1_000_000; i++) {
        if (i === 200_000) controller.abort();
        yield { i };
      }
    }
    await expect(aw.write(rows(), file, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['a.csv']);
  });

  it("require('atomicwriter') loads no encoder; a write loads only its own", async () => {
    const probe = `
      const Module = require('node:module');
      const seen = new Set();
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) { seen.add(request); return resolve.call(this, request, ...rest); };
      const heavy = () => [...seen].filter((r) => /apache-arrow|hyparquet|nodejs-polars|zstd-codec|parquet-wasm|yaml/.test(r));
      const aw = require('./dist/index.js');
      const atLoad = heavy();
      const out = require('node:path').join(require('node:os').tmpdir(), 'aw-lazy-' + process.pid + '.csv');
      aw.write([{ a: 1 }], out).then(() => {
        require('node:fs').rmSync(out);
        const afterCsv = heavy();
        console.log(JSON.stringify({ atLoad, afterCsv }));
      });
    `;
    const result = lastJson<{ atLoad: string[]; afterCsv: string[] }>(await runNode(['-e', probe]));
    expect(result).toEqual({ atLoad: [], afterCsv: [] });
  });
});
