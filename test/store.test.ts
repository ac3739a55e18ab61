// gs:// and az:// targets against real emulators on 127.0.0.1 (fake-gcs-server, Azurite):
// the suite test/s3.test.ts runs against moto, through the same seam. Objects are read
// back with each provider's own SDK, never through our code.

import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aw, fixture, lastJson, patternedChunks, run, runNode, scratch } from './helpers.js';
import { azureProvider, CuttingProxy, gcsProvider, type Provider } from './store-servers.js';

const MiB = 1 << 20;
const BUCKET = 'aw-test';

for (const p of [gcsProvider(), azureProvider()]) {
  const suite = p.available ? describe : describe.skip;
  const url = (key: string): `${Provider['scheme']}://${string}` => `${p.scheme}://${BUCKET}/${key}`;

  suite(`${p.scheme}:// targets, ${p.name}`, () => {
    const savedEnv: Record<string, string | undefined> = {};
    let env: Record<string, string> = {};

    beforeAll(async () => {
      env = await p.start(BUCKET);
      for (const [k, v] of Object.entries(env)) {
        savedEnv[k] = process.env[k];
        process.env[k] = v;
      }
    }, 90_000);

    afterAll(async () => {
      for (const [k, v] of Object.entries(savedEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await p.stop();
    });

    it('the emulator honours create-only under a race: 16 creators, exactly one wins (so no serialising is needed)', async () => {
      expect(await p.raceRaw('raw-race/one.txt', 16)).toBe(1);
    });

    it('bad URLs and options throw before anything happens', () => {
      const staging = scratch();
      const o = { stagingDir: staging } as object;
      for (const bad of [`${p.scheme}://`, `${p.scheme}://${BUCKET}`, `${p.scheme}://${BUCKET}/`, `${p.scheme}://Bad_Bucket/k`, `${p.scheme}://${BUCKET}/dir/`]) {
        expect(() => aw.writeFile(bad, 'x', o)).toThrow(TypeError);
        expect(() => aw.updateJson(bad, (v) => v, o)).toThrow(TypeError);
      }
      expect(() => aw.writeFile(url('k'), 'x', { ifNoneMatch: 'etag' as '*', stagingDir: staging } as object)).toThrow(TypeError);
      expect(() => aw.writeFile(url('k'), 'x', { [p.scheme === 'gs' ? 'gcs' : 'azure']: {}, stagingDir: staging } as object)).toThrow(TypeError);
      expect(() => aw.writeFileSync(url('k'), 'x')).toThrow(TypeError);
      expect(() => aw.openAtomic(url('k'))).toThrow(TypeError);
      expect(readdirSync(staging)).toEqual([]);
    });

    it('writeFile (string, stream), writeJson, readJson, updateJson; results carry the version', async () => {
      const staging = scratch();
      const r = await aw.writeFile(url('rt/a.txt'), 'héllo', { stagingDir: staging } as object);
      expect(r.url).toBe(url('rt/a.txt'));
      expect(typeof r.version).toBe('string');
      expect((await p.body('rt/a.txt')).toString()).toBe('héllo');
      await aw.writeFile(url('rt/c.txt'), Readable.from(['a', 'b', 'c']), { stagingDir: staging } as object);
      expect((await p.body('rt/c.txt')).toString()).toBe('abc');
      await aw.writeJson(url('rt/v.json'), { a: [1, 2] });
      expect(await aw.readJson(url('rt/v.json'))).toEqual({ a: [1, 2] });
      expect(await aw.updateJson<{ a: number[] }>(url('rt/v.json'), (v) => ({ a: [...v.a, 3] }))).toEqual({ a: [1, 2, 3] });
      expect(JSON.parse((await p.body('rt/v.json')).toString())).toEqual({ a: [1, 2, 3] });
      expect(await aw.updateJson(url('rt/new.json'), (v: { n: number }) => ({ n: v.n + 1 }), { defaultData: { n: 41 } })).toEqual({ n: 42 });
      expect(await aw.readJson(url('rt/absent.json'), { default: { none: true } })).toEqual({ none: true });
      await expect(aw.readJson(url('rt/absent.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(aw.readJson(`${p.scheme}://aw-no-such-bucket/x.json`, { default: 1 })).rejects.toMatchObject({ code: 'ENOENT' });
      expect(readdirSync(staging)).toEqual([]);
    });

    it('ifNoneMatch and ifMatch: create-only, and compare and swap with the version a write returned', async () => {
      const first = await aw.writeFile(url('cond/cas.txt'), 'v1', { ifNoneMatch: '*' } as object);
      await expect(aw.writeFile(url('cond/cas.txt'), 'again', { exclusive: true })).rejects.toMatchObject({ code: 'EPRECONDITION' });
      const second = await aw.writeFile(url('cond/cas.txt'), 'v2', { ifMatch: first.version } as object);
      await expect(aw.writeFile(url('cond/cas.txt'), 'v3', { ifMatch: first.version } as object)).rejects.toMatchObject({ code: 'EPRECONDITION' });
      expect((await p.body('cond/cas.txt')).toString()).toBe('v2');
      // In parts (GCS resumable, Azure blocks): the condition holds on the one commit.
      await expect(aw.writeFile(url('cond/cas.txt'), Buffer.alloc(6 * MiB), { ifMatch: first.version, multipartThreshold: 5 * MiB, partSize: 5 * MiB } as object)).rejects.toMatchObject({ code: 'EPRECONDITION' });
      await aw.writeFile(url('cond/cas.txt'), Buffer.alloc(6 * MiB, 3), { ifMatch: second.version, multipartThreshold: 5 * MiB, partSize: 5 * MiB } as object);
      expect((await p.body('cond/cas.txt')).equals(Buffer.alloc(6 * MiB, 3))).toBe(true);
    });

    it('16 racing create-only writers: exactly one wins, the others get EPRECONDITION', async () => {
      const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => aw.writeFile(url('race/one.txt'), `writer ${i}`, { ifNoneMatch: '*' } as object)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('EPRECONDITION');
      expect((await p.body('race/one.txt')).toString()).toBe(`writer ${won[0]}`);
    });

    it('4 processes x 50 updateJson increments end at exactly 200', async () => {
      const key = `counter/n-${Date.now()}.json`;
      const children = await Promise.all(Array.from({ length: 4 }, () => runNode([fixture('s3-counter.mjs'), url(key), '50'], { env: { ...process.env, ...env }, timeout: 300_000 })));
      for (const c of children) expect(c.status, c.stderr).toBe(0);
      expect(JSON.parse((await p.body(key)).toString())).toEqual({ n: 200 });
      for (const c of children) expect(typeof lastJson<{ retries: number }>(c).retries).toBe('number');
    }, 320_000);

    it('write() with a marker, createWriteStream, and verify on the object', async () => {
      await aw.write([{ a: 1, b: 'x,y' }], url('fmt/t.csv'), { marker: true });
      expect(parseCsv(await p.body('fmt/t.csv'), { columns: true })).toEqual([{ a: '1', b: 'x,y' }]);
      expect(JSON.parse((await p.body('fmt/_SUCCESS')).toString()).files).toMatchObject([{ name: 't.csv' }]);
      expect(await aw.isComplete(url('fmt/t.csv'))).toBe(true);
      expect((await aw.verify(url('fmt/t.csv'))).ok).toBe(true);
      const stream = aw.createWriteStream(url('fmt/stream.txt'));
      stream.end('one two');
      await new Promise((resolve, reject) => stream.on('finish', resolve).on('error', reject));
      expect(stream.uploaded?.url).toBe(url('fmt/stream.txt'));
      expect((await p.body('fmt/stream.txt')).toString()).toBe('one two');
    });

    it('writeDataset: parts, then _SUCCESS; verify and isComplete, and verify sees a part replaced or removed', async () => {
      const staging = scratch();
      const ds = url('ds/');
      await aw.writeDataset(
        ds,
        async (stage) => {
          await stage.write('part-0.csv', [{ x: 1 }, { x: 2 }]);
          await stage.write('sub/part-1.bin', Buffer.alloc(1000, 1));
        },
        { stagingDir: staging } as object,
      );
      expect((await p.body('ds/sub/part-1.bin')).equals(Buffer.alloc(1000, 1))).toBe(true);
      expect(JSON.parse((await p.body('ds/_SUCCESS')).toString()).filenames).toEqual(['part-0.csv', 'sub/part-1.bin']);
      expect(await aw.isComplete(ds)).toBe(true);
      const ok = await aw.verify(ds);
      expect(ok.ok).toBe(true);
      expect(ok.checked).toBe(2);
      expect(readdirSync(staging)).toEqual([]);
      await p.putRaw('ds/sub/part-1.bin', Buffer.alloc(1000, 2));
      expect((await aw.verify(ds)).problems.map((x) => [x.name, x.code])).toEqual([['sub/part-1.bin', 'ECHECKSUM']]);
      await p.removeRaw('ds/part-0.csv');
      expect((await aw.verify(ds)).problems.map((x) => x.code)).toContain('ENOENT');
      await p.removeRaw('ds/_SUCCESS');
      expect(await aw.isComplete(ds)).toBe(false);
      expect((await aw.verify(ds)).problems[0]!.code).toBe('ENOMARKER');
      // A callback that throws uploads nothing.
      await expect(aw.writeDataset(url('ds-fail/'), async (stage) => {
        await stage.write('p.txt', 'x');
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await p.exists('ds-fail/p.txt')).toBe(false);
    });

    it('a 64 MiB upload from a stream (in parts) arrives whole', async () => {
      const hash = createHash('sha256');
      const size = 64 * MiB;
      const chunks = (): AsyncGenerator<Buffer> => patternedChunks(size, hash);
      await aw.writeFile(url('big/64.bin'), chunks(), { multipartThreshold: 16 * MiB, partSize: 8 * MiB } as object);
      const back = await p.body('big/64.bin');
      expect(back.length).toBe(size);
      expect(createHash('sha256').update(back).digest('hex')).toBe(hash.digest('hex'));
    }, 180_000);

    describe('connection cut mid-upload (loopback proxy)', () => {
      const proxy = new CuttingProxy(() => p.port(), 1 * MiB);
      let via: unknown;
      beforeAll(async () => {
        via = p.clientVia(await proxy.listen());
      });
      afterAll(() => proxy.close());

      it.each([
        ['one request', 3 * MiB],
        ['in parts', 24 * MiB],
      ])('%s: no object, no staged file, a clear error; the retry succeeds', async (kind, size) => {
        const key = `cut/${kind.replace(' ', '-')}.bin`;
        const staging = scratch();
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i += 4096) data.writeUInt32LE(i, i);
        const options = { [p.scheme === 'gs' ? 'gcs' : 'azure']: via, stagingDir: staging, multipartThreshold: 16 * MiB, partSize: 8 * MiB };
        proxy.mode = 'cut';
        proxy.cuts = 0;
        const err = (await aw.writeFile(url(key), data, options as object).catch((e: unknown) => e)) as Error & { code: string; path: string };
        expect(err).toBeInstanceOf(Error);
        expect(proxy.cuts).toBeGreaterThan(0);
        expect(err.path).toBe(url(key));
        expect(err.message).toContain(url(key));
        expect(err.code).not.toBe('EPRECONDITION');
        if (p.secret) expect(inspect(err, { depth: Infinity, showHidden: true })).not.toContain(p.secret);
        expect(await p.exists(key)).toBe(false);
        expect(readdirSync(staging)).toEqual([]);
        proxy.mode = 'pass';
        await aw.writeFile(url(key), data, options as object);
        expect((await p.body(key)).equals(data)).toBe(true);
        expect(readdirSync(staging)).toEqual([]);
      }, 120_000);
    });

    it('a byte changed on the wire is refused by the service (our checksum), leaving no object', async () => {
      const corrupting = new CuttingProxy(() => p.port(), 1 * MiB);
      corrupting.mode = 'corrupt';
      const client = p.clientVia(await corrupting.listen());
      try {
        const data = Buffer.alloc(3 * MiB, 7);
        const err = (await aw.writeFile(url('corrupt/x.bin'), data, { [p.scheme === 'gs' ? 'gcs' : 'azure']: client } as object).catch((e: unknown) => e)) as { statusCode?: number };
        expect(corrupting.cuts).toBe(1);
        expect(err).toBeInstanceOf(Error);
        expect(err.statusCode).toBe(400);
        expect(await p.exists('corrupt/x.bin')).toBe(false);
      } finally {
        await corrupting.close();
      }
    });

    it('errors name the URL and code, never a credential; the CLI writes, verifies and probes, printing none', async () => {
      const err = await aw.writeFile(`${p.scheme}://aw-no-such-bucket/k.txt`, 'x').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ENOENT', statusCode: 404, path: `${p.scheme}://aw-no-such-bucket/k.txt` });
      const cliEnv = { ...process.env, ...env, NODE_DEBUG: '' };
      const cli = (stdin: string, args: string) => run('sh', ['-c', `printf '%s' "$AW_STDIN" | "${process.execPath}" bin/atomicwriter.js ${args}`], { env: { ...cliEnv, AW_STDIN: stdin } });
      const ok = await cli('{"x":1}\n', `write ${url('cli/rows.ndjson')} --marker`);
      expect(ok.status, ok.stderr).toBe(0);
      expect((await p.body('cli/rows.ndjson')).toString()).toBe('{"x":1}\n');
      const verified = await run(process.execPath, ['bin/atomicwriter.js', 'verify', url('cli/'), '--json'], { env: cliEnv });
      expect(verified.status, verified.stderr).toBe(0);
      const probed = await run(process.execPath, ['bin/atomicwriter.js', 'probe', `${p.scheme}://${BUCKET}`], { env: cliEnv });
      expect(probed.status, probed.stderr).toBe(0);
      expect(probed.stdout).toContain('conditional writes are honoured');
      const failed = await cli('x', `write ${p.scheme}://aw-no-such-bucket/cli.txt`);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain(`${p.scheme}://aw-no-such-bucket/cli.txt`);
      if (p.secret) for (const out of [err, ok, verified, probed, failed]) expect(inspect(out, { depth: Infinity, showHidden: true })).not.toContain(p.secret);
    });
  });
}

it('without the SDKs: local writes work, each scheme says what to install, and no SDK loads', async () => {
  const dir = scratch();
  const out = lastJson<{ local: boolean; errors: Record<string, { code: string; message: string }>; sdkLoaded: string[] }>(await runNode([fixture('store-no-sdk.mjs'), `${dir}/f.txt`]));
  expect(out.local).toBe(true);
  expect(out.errors.s3).toMatchObject({ code: 'ERR_S3_SDK_MISSING' });
  expect(out.errors.gs).toMatchObject({ code: 'ERR_GCS_SDK_MISSING' });
  expect(out.errors.az).toMatchObject({ code: 'ERR_AZURE_SDK_MISSING' });
  expect(out.errors.gs!.message).toContain('npm install @google-cloud/storage');
  expect(out.errors.az!.message).toContain('npm install @azure/storage-blob');
  expect(out.sdkLoaded).toEqual([]);
});
