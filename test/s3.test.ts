// s3:// targets against a real S3-compatible server (moto_server on 127.0.0.1).
// Objects are read back with a separate SDK client, never through our code.

import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aw, fixture, lastJson, patternedChunks, run, runNode, scratch } from './helpers.js';
import { haveMoto, s3Env, startMoto, TEST_SECRET, type S3Server } from './s3-server.js';

const require = createRequire(import.meta.url);
const sdk = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

const MiB = 1 << 20;
const BUCKET = 'aw-test';
const suite = haveMoto ? describe : describe.skip;

let server: S3Server;
let client: InstanceType<typeof sdk.S3Client>;
const savedEnv: Record<string, string | undefined> = {};

async function body(key: string, bucket = BUCKET): Promise<Buffer> {
  const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new sdk.HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

async function openUploads(prefix: string): Promise<number> {
  const out = await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Uploads ?? []).length;
}

suite('s3:// targets', () => {
  beforeAll(async () => {
    server = await startMoto();
    const env = s3Env(server.endpoint);
    for (const [k, v] of Object.entries(env)) {
      savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
    client = new sdk.S3Client({ forcePathStyle: true, endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'reader', secretAccessKey: 'reader' } });
    await client.send(new sdk.CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.stop();
  });

  describe('bad arguments throw before anything happens', () => {
    it.each(['s3://', 's3://bucket', 's3://bucket/', 's3://Bad_Bucket/k', 's3://bucket/dir/'])('%s', (url) => {
      const staging = scratch();
      const o = { stagingDir: staging } as object;
      expect(() => aw.writeFile(url, 'x', o)).toThrow(TypeError);
      expect(() => aw.writeJson(url, {}, o)).toThrow(TypeError);
      expect(() => aw.write([{ a: 1 }], url, { format: 'csv', ...o })).toThrow(TypeError);
      expect(() => aw.createWriteStream(url, o)).toThrow(TypeError);
      expect(() => aw.updateJson(url, (v) => v, o)).toThrow(TypeError);
      expect(readdirSync(staging)).toEqual([]);
    });
    it('dataset and verify URLs need a bucket and a prefix', () => {
      expect(() => aw.writeDataset('s3://', () => {})).toThrow(TypeError);
      expect(() => aw.writeDataset('s3://bucket', () => {})).toThrow(TypeError);
      expect(() => aw.verify('s3://bucket/')).toThrow(TypeError);
      expect(() => aw.isComplete('s3://')).toThrow(TypeError);
    });
    it('bad options and data throw synchronously, leaving no staging directory', () => {
      const staging = scratch();
      expect(() => aw.writeFile(`s3://${BUCKET}/k`, 'x', { ifNoneMatch: 'etag' as '*', stagingDir: staging } as object)).toThrow(TypeError);
      expect(() => aw.writeFile(`s3://${BUCKET}/k`, 'x', { partSize: 1024, stagingDir: staging } as object)).toThrow(RangeError);
      expect(() => aw.writeFile(`s3://${BUCKET}/k`, { not: 'bytes' } as never, { stagingDir: staging } as object)).toThrow(TypeError);
      expect(() => aw.writeJson(`s3://${BUCKET}/k.json`, { stream: (async function* () {})() }, { stagingDir: staging } as object)).toThrow(TypeError);
      expect(readdirSync(staging)).toEqual([]);
    });
    it('other functions refuse s3:// instead of writing a local "s3:" directory', () => {
      expect(() => aw.writeFileSync(`s3://${BUCKET}/k`, 'x')).toThrow(TypeError);
      expect(() => aw.openAtomic(`s3://${BUCKET}/k`)).toThrow(TypeError);
    });
  });

  describe('round trips', () => {
    it('writeFile: string, buffer, stream; results carry the ETag', async () => {
      const staging = scratch();
      const r1 = (await aw.writeFile(`s3://${BUCKET}/rt/a.txt`, 'héllo', { stagingDir: staging } as object)) as unknown as { etag: string; url: string };
      expect(r1.url).toBe(`s3://${BUCKET}/rt/a.txt`);
      expect(r1.etag).toBe(`"${createHash('md5').update('héllo').digest('hex')}"`);
      expect((await body('rt/a.txt')).toString()).toBe('héllo');
      await aw.writeFile(`s3://${BUCKET}/rt/b.bin`, new Uint16Array([1, 2, 3]), { stagingDir: staging } as object);
      expect([...(await body('rt/b.bin'))]).toEqual([1, 0, 2, 0, 3, 0]);
      await aw.writeFile(`s3://${BUCKET}/rt/c.txt`, Readable.from(['a', 'b', 'c']), { stagingDir: staging } as object);
      expect((await body('rt/c.txt')).toString()).toBe('abc');
      await aw(`s3://${BUCKET}/rt/compat.txt`, 'compat', { stagingDir: staging } as object);
      expect((await body('rt/compat.txt')).toString()).toBe('compat');
      expect(readdirSync(staging)).toEqual([]);
    });

    it('writeJson and updateJson', async () => {
      await aw.writeJson(`s3://${BUCKET}/rt/v.json`, { a: [1, 2] });
      expect(JSON.parse((await body('rt/v.json')).toString())).toEqual({ a: [1, 2] });
      const next = await aw.updateJson<{ a: number[] }>(`s3://${BUCKET}/rt/v.json`, (v) => ({ a: [...v.a, 3] }));
      expect(next).toEqual({ a: [1, 2, 3] });
      expect(JSON.parse((await body('rt/v.json')).toString())).toEqual({ a: [1, 2, 3] });
      const created = await aw.updateJson(`s3://${BUCKET}/rt/new.json`, (v: { n: number }) => ({ n: v.n + 1 }), { defaultData: { n: 41 } });
      expect(created).toEqual({ n: 42 });
      expect(JSON.parse((await body('rt/new.json')).toString())).toEqual({ n: 42 });
    });

    it('readJson: an object, a missing one with and without a default, a reviver, bad JSON', async () => {
      await aw.writeJson(`s3://${BUCKET}/rt/read.json`, { a: 1, when: '2026-01-02' });
      expect(await aw.readJson(`s3://${BUCKET}/rt/read.json`)).toEqual({ a: 1, when: '2026-01-02' });
      const revived = await aw.readJson<{ when: Date }>(`s3://${BUCKET}/rt/read.json`, { reviver: (k, v) => (k === 'when' ? new Date(v as string) : v) });
      expect(revived.when).toBeInstanceOf(Date);
      expect(await aw.readJson(`s3://${BUCKET}/rt/absent.json`, { default: { none: true } })).toEqual({ none: true });
      await expect(aw.readJson(`s3://${BUCKET}/rt/absent.json`)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(aw.readJson(`s3://aw-no-such-bucket-here/x.json`, { default: 1 })).rejects.toMatchObject({ code: 'ENOENT' });
      await aw.writeFile(`s3://${BUCKET}/rt/bad.json`, '{"a": ');
      await expect(aw.readJson(`s3://${BUCKET}/rt/bad.json`)).rejects.toMatchObject({ code: 'EJSONPARSE', path: `s3://${BUCKET}/rt/bad.json` });
    });

    it('write(): formats by extension, a plugin, and a marker verify checks', async () => {
      await aw.write([{ a: 1, b: 'x,y' }], `s3://${BUCKET}/rt/t.csv`);
      expect(parseCsv(await body('rt/t.csv'), { columns: true })).toEqual([{ a: '1', b: 'x,y' }]);
      await aw.write([{ a: 1 }, { a: 2 }], `s3://${BUCKET}/rt/t.ndjson`);
      expect((await body('rt/t.ndjson')).toString().trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ a: 1 }, { a: 2 }]);
      aw.registerFormat({ name: 's3-upper', extensions: ['upper'], serialize: async (data: unknown, sink: { write(c: string): Promise<void> }) => sink.write(String(data).toUpperCase()) } as never);
      const r = (await aw.write('shout', `s3://${BUCKET}/rt/x.upper`, { marker: true })) as unknown as { etag: string; format: string; path: string };
      expect(r.format).toBe('s3-upper');
      expect(r.path).toBe(`s3://${BUCKET}/rt/x.upper`);
      expect((await body('rt/x.upper')).toString()).toBe('SHOUT');
      const manifest = JSON.parse((await body('rt/_SUCCESS')).toString());
      expect(manifest.files).toMatchObject([{ name: 'x.upper', bytes: 5, etag: r.etag }]);
      expect(await aw.isComplete(`s3://${BUCKET}/rt/x.upper`)).toBe(true);
      const v = await aw.verify(`s3://${BUCKET}/rt/x.upper`);
      expect(v.ok).toBe(true);
      expect(v.checked).toBe(1);
    });

    it('createWriteStream uploads before finish, and a destroyed stream uploads nothing', async () => {
      const staging = scratch();
      const stream = aw.createWriteStream(`s3://${BUCKET}/rt/stream.txt`, { stagingDir: staging } as object);
      const closed = new Promise((resolve) => stream.on('close', resolve));
      stream.write('one ');
      stream.end('two');
      await new Promise((resolve, reject) => stream.on('finish', resolve).on('error', reject));
      expect((stream as unknown as { s3: { etag: string } }).s3.etag).toMatch(/^"/);
      expect((await body('rt/stream.txt')).toString()).toBe('one two');
      await closed;
      const gone = aw.createWriteStream(`s3://${BUCKET}/rt/never.txt`, { stagingDir: staging } as object);
      const goneClosed = new Promise((resolve) => gone.on('close', resolve));
      gone.on('error', () => {});
      gone.write('x');
      gone.destroy();
      await goneClosed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await exists('rt/never.txt')).toBe(false);
      expect(readdirSync(staging)).toEqual([]);
    });

    it('writeDataset to a prefix: parts, then _SUCCESS with ETags; verify and isComplete', async () => {
      const staging = scratch();
      const url = `s3://${BUCKET}/ds/`;
      const result = await aw.writeDataset(
        url,
        async (stage) => {
          await stage.write('part-0.csv', [{ x: 1 }, { x: 2 }]);
          await stage.write('sub/part-1.bin', Buffer.alloc(1000, 1));
        },
        { stagingDir: staging } as object,
      );
      expect(result.path).toBe(url);
      expect((await body('ds/sub/part-1.bin')).equals(Buffer.alloc(1000, 1))).toBe(true);
      const manifest = JSON.parse((await body('ds/_SUCCESS')).toString());
      expect(manifest.filenames).toEqual(['part-0.csv', 'sub/part-1.bin']);
      for (const f of manifest.files) expect(f.etag).toMatch(/^"/);
      expect(await aw.isComplete(url)).toBe(true);
      const ok = await aw.verify(url);
      expect(ok.ok).toBe(true);
      expect(ok.checked).toBe(2);
      expect(readdirSync(staging)).toEqual([]);
      // Replaced behind the manifest's back: verify notices.
      await client.send(new sdk.PutObjectCommand({ Bucket: BUCKET, Key: 'ds/sub/part-1.bin', Body: Buffer.alloc(1000, 2) }));
      const bad = await aw.verify(url);
      expect(bad.ok).toBe(false);
      expect(bad.problems.map((p) => [p.name, p.code])).toEqual([['sub/part-1.bin', 'ECHECKSUM']]);
      await client.send(new sdk.DeleteObjectCommand({ Bucket: BUCKET, Key: 'ds/part-0.csv' }));
      expect((await aw.verify(url)).problems.map((p) => p.code)).toContain('ENOENT');
      await client.send(new sdk.DeleteObjectCommand({ Bucket: BUCKET, Key: 'ds/_SUCCESS' }));
      expect(await aw.isComplete(url)).toBe(false);
      expect((await aw.verify(url)).problems[0].code).toBe('ENOMARKER');
    });

    it('a dataset callback that throws uploads nothing', async () => {
      const staging = scratch();
      await expect(
        aw.writeDataset(`s3://${BUCKET}/ds-fail/`, async (stage) => {
          await stage.write('p.txt', 'x');
          throw new Error('boom');
        }, { stagingDir: staging } as object),
      ).rejects.toThrow('boom');
      expect(await exists('ds-fail/p.txt')).toBe(false);
      expect(readdirSync(staging)).toEqual([]);
    });
  });

  describe('conditional writes', () => {
    it('16 racing create-only writers: exactly one wins, the others get EPRECONDITION', async () => {
      const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => aw.writeFile(`s3://${BUCKET}/race/one.txt`, `writer ${i}`, { ifNoneMatch: '*' } as object)));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('EPRECONDITION');
      expect((await body('race/one.txt')).toString()).toBe(`writer ${won[0]}`);
    });

    it('create-only multipart: another writer winning mid-upload fails the Complete with EPRECONDITION', async () => {
      // The pre-check passes (no object yet); the rival's PUT lands while our parts go up.
      let rivalDone: Promise<unknown> | undefined;
      const racing = {
        send: (command: { constructor: { name: string } }, options?: { abortSignal?: AbortSignal }) => {
          if (command.constructor.name === 'UploadPartCommand') rivalDone ??= client.send(new sdk.PutObjectCommand({ Bucket: BUCKET, Key: 'cond/late.bin', Body: 'rival' }));
          if (command.constructor.name === 'CompleteMultipartUploadCommand') return rivalDone!.then(() => client.send(command as never, options));
          return client.send(command as never, options);
        },
      };
      const err = await aw.writeFile(`s3://${BUCKET}/cond/late.bin`, Buffer.alloc(6 * MiB, 1), { s3: racing, ifNoneMatch: '*', multipartThreshold: 5 * MiB, partSize: 5 * MiB }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EPRECONDITION', statusCode: 412 });
      expect((err as Error).message).toContain('CompleteMultipartUpload');
      expect((err as Error).message).not.toContain('before the upload started');
      expect((await body('cond/late.bin')).toString()).toBe('rival');
      expect(await openUploads('cond/')).toBe(0);
    });

    it('exclusive: true is create-only on S3 too (PutObject and multipart)', async () => {
      await aw.writeFile(`s3://${BUCKET}/cond/x.bin`, Buffer.alloc(6 * MiB, 1), { exclusive: true, multipartThreshold: 5 * MiB, partSize: 5 * MiB } as object);
      await expect(aw.writeFile(`s3://${BUCKET}/cond/x.bin`, 'other', { exclusive: true })).rejects.toMatchObject({ code: 'EPRECONDITION', statusCode: 412 });
      await expect(
        aw.writeFile(`s3://${BUCKET}/cond/x.bin`, Buffer.alloc(6 * MiB, 2), { ifNoneMatch: '*', multipartThreshold: 5 * MiB, partSize: 5 * MiB } as object),
      ).rejects.toMatchObject({ code: 'EPRECONDITION' });
      expect((await body('cond/x.bin')).equals(Buffer.alloc(6 * MiB, 1))).toBe(true);
      expect(await openUploads('cond/')).toBe(0);
    });

    it('ifMatch: compare and swap with the ETag a write returned', async () => {
      const first = (await aw.writeFile(`s3://${BUCKET}/cond/cas.txt`, 'v1')) as unknown as { etag: string };
      const second = (await aw.writeFile(`s3://${BUCKET}/cond/cas.txt`, 'v2', { ifMatch: first.etag } as object)) as unknown as { etag: string };
      await expect(aw.writeFile(`s3://${BUCKET}/cond/cas.txt`, 'v3', { ifMatch: first.etag } as object)).rejects.toMatchObject({ code: 'EPRECONDITION' });
      expect((await body('cond/cas.txt')).toString()).toBe('v2');
      await expect(
        aw.writeFile(`s3://${BUCKET}/cond/cas.txt`, Buffer.alloc(6 * MiB), { ifMatch: first.etag, multipartThreshold: 5 * MiB } as object),
      ).rejects.toMatchObject({ code: 'EPRECONDITION' });
      await aw.writeFile(`s3://${BUCKET}/cond/cas.txt`, Buffer.alloc(6 * MiB, 3), { ifMatch: second.etag, multipartThreshold: 5 * MiB } as object);
      expect((await body('cond/cas.txt')).equals(Buffer.alloc(6 * MiB, 3))).toBe(true);
    });

    // No retry: its flakes (n = 199) were moto's, whose conditional PUT was not atomic;
    // test/fixtures/moto-serialized.py makes it atomic, as S3 is.
    it('4 processes x 50 updateJson increments end at exactly 200', async () => {
      const key = `counter/n-${Date.now()}.json`; // a fresh key for each attempt
      const url = `s3://${BUCKET}/${key}`;
      const children = await Promise.all(Array.from({ length: 4 }, () => runNode([fixture('s3-counter.mjs'), url, '50'], { env: { ...process.env } })));
      for (const c of children) expect(c.status, c.stderr).toBe(0);
      expect(JSON.parse((await body(key)).toString())).toEqual({ n: 200 });
      // Every child finished its 50 (each printed how many rounds it lost and retried).
      for (const c of children) expect(typeof lastJson<{ retries: number }>(c).retries).toBe('number');
    });
  });

  describe('failures', () => {
    it('an error names the URL, S3 code and status, and never the secret', async () => {
      const err = await aw.writeFile('s3://no-such-bucket-aw/k.txt', 'x').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ENOENT', s3Code: 'NoSuchBucket', statusCode: 404, path: 's3://no-such-bucket-aw/k.txt' });
      expect(inspect(err, { depth: Infinity, showHidden: true })).not.toContain(TEST_SECRET);
      expect(JSON.stringify(err)).not.toContain(TEST_SECRET);
      const pre = await aw.writeFile(`s3://${BUCKET}/race/one.txt`, 'x', { ifNoneMatch: '*' } as object).catch((e: unknown) => e);
      expect(inspect(pre, { depth: Infinity, showHidden: true })).not.toContain(TEST_SECRET);
    });

    it('the CLI writes and verifies s3:// from stdin, and prints neither the secret nor the key id on success or failure', async () => {
      const env = { ...process.env, ...s3Env(server.endpoint), AWS_ACCESS_KEY_ID: 'AKIAAWTESTKEYID12345', NODE_DEBUG: '' };
      const cli = (stdin: string, args: string) => run('sh', ['-c', `printf '%s' "$AW_STDIN" | "${process.execPath}" bin/atomicwriter.js ${args}`], { env: { ...env, AW_STDIN: stdin } });
      const ok = await cli('{"x":1}\n{"x":2}\n', `write s3://${BUCKET}/cli/rows.ndjson --marker`);
      expect(ok.status, ok.stderr).toBe(0);
      expect((await body('cli/rows.ndjson')).toString()).toBe('{"x":1}\n{"x":2}\n');
      const verified = await run(process.execPath, ['bin/atomicwriter.js', 'verify', `s3://${BUCKET}/cli/`, '--json'], { env });
      expect(verified.status, verified.stderr).toBe(0);
      const failed = await cli('x', 'write s3://no-such-bucket-aw/cli.txt');
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toMatch(/ENOENT/);
      expect(failed.stderr).toContain('s3://no-such-bucket-aw/cli.txt');
      for (const out of [ok, verified, failed]) {
        expect(out.stdout + out.stderr).not.toContain(TEST_SECRET);
        expect(out.stdout + out.stderr).not.toContain('AKIAAWTESTKEYID12345');
      }
    });

    it('missing SDK: local writes work, s3:// says what to install, nothing loads the SDK early', async () => {
      const dir = scratch();
      const result = await runNode([fixture('s3-no-sdk.mjs'), `${dir}/f.txt`]);
      const out = lastJson<{ local: boolean; code: string; message: string; sdkLoaded: boolean }>(result);
      expect(out.local).toBe(true);
      expect(out.code).toBe('ERR_S3_SDK_MISSING');
      expect(out.message).toContain('npm install @aws-sdk/client-s3');
      expect(out.sdkLoaded).toBe(false);
    });

    describe('connection cut mid-upload (loopback proxy)', () => {
      let proxy: Server;
      let mode: 'cut' | 'pass' = 'cut';
      let cuts = 0;
      let proxyClient: InstanceType<typeof sdk.S3Client>;
      const sockets = new Set<Socket>();

      beforeAll(async () => {
        proxy = createServer((down) => {
          const up = connect(server.port, '127.0.0.1');
          sockets.add(down).add(up);
          let sent = 0;
          const limit = 1 * MiB;
          down.on('data', (chunk: Buffer) => {
            sent += chunk.length;
            if (mode === 'cut' && sent > limit) {
              cuts++;
              down.destroy();
              up.destroy();
              return;
            }
            up.write(chunk);
          });
          up.pipe(down);
          const close = (): void => {
            down.destroy();
            up.destroy();
          };
          down.on('error', close).on('close', close);
          up.on('error', close).on('close', close);
        });
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        const { port } = proxy.address() as { port: number };
        proxyClient = new sdk.S3Client({
          forcePathStyle: true,
          endpoint: `http://127.0.0.1:${port}`,
          region: 'us-east-1',
          maxAttempts: 2,
          credentials: { accessKeyId: 'awtestkey', secretAccessKey: TEST_SECRET },
        });
      });

      afterAll(async () => {
        for (const s of sockets) s.destroy();
        proxyClient?.destroy();
        await new Promise((resolve) => proxy?.close(resolve));
      });

      it.each([
        ['PutObject', 3 * MiB],
        ['multipart', 24 * MiB],
      ])('%s: no object, no open upload, no staged file, a clear error; the retry succeeds', async (_kind, size) => {
        const key = `cut/${_kind}.bin`;
        const url = `s3://${BUCKET}/${key}`;
        const staging = scratch();
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i += 4096) data.writeUInt32LE(i, i);
        const options = { s3: proxyClient, stagingDir: staging, multipartThreshold: 16 * MiB, partSize: 8 * MiB };
        mode = 'cut';
        cuts = 0;
        const err = (await aw.writeFile(url, data, options as object).catch((e: unknown) => e)) as Error & { code: string; path: string };
        expect(err).toBeInstanceOf(Error);
        expect(cuts).toBeGreaterThan(0);
        expect(err.path).toBe(url);
        expect(err.message).toContain(url);
        expect(err.code).not.toBe('EPRECONDITION');
        expect(inspect(err, { depth: Infinity, showHidden: true })).not.toContain(TEST_SECRET);
        expect(await exists(key)).toBe(false);
        expect(await openUploads('cut/')).toBe(0);
        expect(readdirSync(staging)).toEqual([]);
        mode = 'pass';
        await aw.writeFile(url, data, options as object);
        expect((await body(key)).equals(data)).toBe(true);
        expect(readdirSync(staging)).toEqual([]);
      });
    });
  });

  it('CompleteMultipartUpload answering 200 with an error body fails the write and aborts the upload', async () => {
    // An HTTP proxy that forwards everything to the server except Complete, which it
    // answers as S3 does when it fails after sending its 200 status line.
    let completes = 0;
    const proxy = createHttpServer((req, res) => {
      const isComplete = req.method === 'POST' && /[?&]uploadId=/.test(req.url ?? '');
      if (isComplete) {
        completes++;
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>x</RequestId></Error>');
        });
        return;
      }
      const up = httpRequest({ host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as { port: number };
    const viaProxy = new sdk.S3Client({ forcePathStyle: true, endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', maxAttempts: 2, credentials: { accessKeyId: 'k', secretAccessKey: TEST_SECRET } });
    try {
      const staging = scratch();
      const err = await aw.writeFile(`s3://${BUCKET}/c200/x.bin`, Buffer.alloc(6 * MiB, 5), { s3: viaProxy, multipartThreshold: 5 * MiB, stagingDir: staging }).catch((e: unknown) => e);
      expect(completes).toBeGreaterThan(0);
      expect(err).toMatchObject({ code: 'ES3', s3Code: 'InternalError', path: `s3://${BUCKET}/c200/x.bin` });
      expect(await exists('c200/x.bin')).toBe(false);
      expect(await openUploads('c200/')).toBe(0);
      expect(readdirSync(staging)).toEqual([]);
    } finally {
      viaProxy.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('an aborted signal stops an upload in flight: ABORT_ERR, no object, upload aborted, staging removed', async () => {
    const ac = new AbortController();
    // The real client, with the signal pulled as the first part goes out.
    const pulling = {
      send: (command: { constructor: { name: string } }, options?: { abortSignal?: AbortSignal }) => {
        if (command.constructor.name === 'UploadPartCommand') ac.abort();
        return client.send(command as never, options);
      },
    };
    const staging = scratch();
    const err = await aw.writeFile(`s3://${BUCKET}/abort/x.bin`, Buffer.alloc(12 * MiB, 9), { s3: pulling, signal: ac.signal, multipartThreshold: 5 * MiB, partSize: 5 * MiB, stagingDir: staging }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(await exists('abort/x.bin')).toBe(false);
    expect(await openUploads('abort/')).toBe(0);
    expect(readdirSync(staging)).toEqual([]);
  });

  // moto accepts any checksum (it verifies none, not even Content-MD5), so what S3 does
  // with a wrong one cannot be shown here; what is shown is that every request carries
  // the right CRC32C, by an independent implementation (@aws-crypto/crc32c).
  it.each([
    ['PutObjectCommand', 2 * MiB],
    ['UploadPartCommand', 12 * MiB],
  ])('every %s carries the CRC32C of its bytes', async (kind, size) => {
    const { crc32c } = require('@aws-crypto/crc32c') as { crc32c(data: Uint8Array): number };
    const seen: Array<{ body: Buffer; checksum: string | undefined; algorithm?: string; part?: number }> = [];
    const recording = {
      send: (command: { constructor: { name: string }; input: { Body?: Buffer; ChecksumCRC32C?: string; ChecksumAlgorithm?: string; PartNumber?: number } }, options?: { abortSignal?: AbortSignal }) => {
        if (command.constructor.name === kind) seen.push({ body: command.input.Body as Buffer, checksum: command.input.ChecksumCRC32C, part: command.input.PartNumber ?? 0 });
        if (command.constructor.name === 'CreateMultipartUploadCommand') seen.push({ body: Buffer.alloc(0), checksum: undefined, algorithm: command.input.ChecksumAlgorithm });
        return client.send(command as never, options);
      },
    };
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 512) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await aw.writeFile(`s3://${BUCKET}/crc/${kind}.bin`, data, { s3: recording, multipartThreshold: 5 * MiB, partSize: 5 * MiB });
    const bodies = seen.filter((x) => x.algorithm === undefined).sort((a, b) => a.part! - b.part!);
    expect(bodies.length).toBe(kind === 'PutObjectCommand' ? 1 : 3);
    if (kind === 'UploadPartCommand') expect(seen.find((x) => x.algorithm)?.algorithm).toBe('CRC32C');
    expect(Buffer.concat(bodies.map((x) => x.body)).equals(data)).toBe(true);
    for (const { body, checksum } of bodies) {
      const expected = Buffer.alloc(4);
      expected.writeUInt32BE(crc32c(body) >>> 0);
      expect(checksum).toBe(expected.toString('base64'));
    }
    expect((await body(`crc/${kind}.bin`)).equals(data)).toBe(true);
  });

  it('a versioned bucket gives a versionId', async () => {
    await client.send(new sdk.CreateBucketCommand({ Bucket: 'aw-versioned' }));
    await client.send(new sdk.PutBucketVersioningCommand({ Bucket: 'aw-versioned', VersioningConfiguration: { Status: 'Enabled' } }));
    const a = await aw.writeFile('s3://aw-versioned/k.txt', 'one');
    const b = await aw.writeFile('s3://aw-versioned/k.txt', Buffer.alloc(6 * MiB, 1), { multipartThreshold: 5 * MiB });
    expect(typeof a.versionId).toBe('string');
    expect(typeof b.versionId).toBe('string');
    expect(a.versionId).not.toBe(b.versionId);
    const old = await client.send(new sdk.GetObjectCommand({ Bucket: 'aw-versioned', Key: 'k.txt', VersionId: a.versionId! }));
    expect(await old.Body!.transformToString()).toBe('one');
  });

  it('a 200 MiB multipart upload from a stream arrives whole', async () => {
    const staging = scratch();
    const hash = createHash('sha256');
    const size = 200 * MiB;
    const chunks = (): AsyncGenerator<Buffer> => patternedChunks(size, hash);
    const r = (await aw.writeFile(`s3://${BUCKET}/big/200.bin`, chunks(), { stagingDir: staging } as object)) as unknown as { etag: string };
    expect(r.etag).toMatch(/-25"$/);
    const head = await client.send(new sdk.HeadObjectCommand({ Bucket: BUCKET, Key: 'big/200.bin' }));
    expect(head.ContentLength).toBe(size);
    const out = await client.send(new sdk.GetObjectCommand({ Bucket: BUCKET, Key: 'big/200.bin' }));
    const check = createHash('sha256');
    for await (const chunk of out.Body as AsyncIterable<Buffer>) check.update(chunk);
    expect(check.digest('hex')).toBe(hash.digest('hex'));
    expect(readdirSync(staging)).toEqual([]);
  }, 180_000);
});
