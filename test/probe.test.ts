// The conditional-write probe against an honest server (moto, whose conditional PUT is
// made atomic by test/fixtures/moto-serialized.py, as on S3) and a dishonest one: moto
// behind a loopback HTTP proxy of ours that strips If-None-Match and If-Match, as servers
// that accept the headers and ignore them do (s3rver, gofakes3, older MinIO).

import { createServer, request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aw, run } from './helpers.js';
import { haveMoto, s3Env, startMoto, TEST_SECRET, type S3Server } from './s3-server.js';

const require = createRequire(import.meta.url);
const sdk = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
const BUCKET = 'aw-probe';
const suite = haveMoto ? describe : describe.skip;

suite('probeConditionalWrites', () => {
  let server: S3Server;
  let proxy: Server;
  let proxyPort = 0;
  let requests = 0;
  let honest: InstanceType<typeof sdk.S3Client>;
  let dishonest: InstanceType<typeof sdk.S3Client>;
  const credentials = { accessKeyId: 'awtestkey', secretAccessKey: TEST_SECRET };

  beforeAll(async () => {
    server = await startMoto();
    honest = new sdk.S3Client({ forcePathStyle: true, endpoint: server.endpoint, region: 'us-east-1', credentials });
    await honest.send(new sdk.CreateBucketCommand({ Bucket: BUCKET }));
    proxy = createServer((req, res) => {
      requests++;
      const headers = { ...req.headers };
      delete headers['if-none-match'];
      delete headers['if-match'];
      const up = request({ host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as { port: number }).port;
    dishonest = new sdk.S3Client({ forcePathStyle: true, endpoint: `http://127.0.0.1:${proxyPort}`, region: 'us-east-1', credentials });
  }, 60_000);

  afterAll(async () => {
    honest?.destroy();
    dishonest?.destroy();
    await new Promise((resolve) => proxy?.close(resolve));
    await server?.stop();
  });

  async function keys(prefix: string): Promise<string[]> {
    const out = await honest.send(new sdk.ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (out.Contents ?? []).map((c) => c.Key!);
  }

  it('an honest server passes every check, and the probe leaves no object behind', async () => {
    const result = await aw.probeConditionalWrites(`s3://${BUCKET}`, { s3: honest });
    expect(result).toMatchObject({ target: `s3://${BUCKET}`, safe: true, failed: [], checks: { createOnly: true, staleIfMatch: true, raceWinners: 1 } });
    expect(await keys('.atomicwriter-probe/')).toEqual([]);
    // And conditional writes go through there.
    await aw.writeFile(`s3://${BUCKET}/ok/once.txt`, 'one', { s3: honest, ifNoneMatch: '*' });
    await expect(aw.writeFile(`s3://${BUCKET}/ok/once.txt`, 'two', { s3: honest, ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'EPRECONDITION' });
  });

  it('a server that ignores the headers fails all three checks, by name', async () => {
    const result = await aw.probeConditionalWrites(`s3://${BUCKET}/any/key`, { s3: dishonest });
    expect(result.safe).toBe(false);
    expect(result.checks.createOnly).toBe(false);
    expect(result.checks.staleIfMatch).toBe(false);
    expect(result.checks.raceWinners).toBe(result.checks.racers);
    expect(result.failed.join('\n')).toMatch(/second create-only write/);
    expect(result.failed.join('\n')).toMatch(/stale version succeeded/);
    expect(result.failed.join('\n')).toMatch(/8 of 8 racing create-only writers succeeded/);
    expect(await keys('.atomicwriter-probe/')).toEqual([]);
  });

  it('there, conditional writes fail with EUNSAFE_ENDPOINT before anything is written; the answer is cached; plain writes still work', async () => {
    const err = (await aw.writeFile(`s3://${BUCKET}/unsafe/a.txt`, 'x', { s3: dishonest, ifNoneMatch: '*' }).catch((e: unknown) => e)) as Error & { code: string; path: string };
    expect(err).toMatchObject({ code: 'EUNSAFE_ENDPOINT', path: `s3://${BUCKET}/unsafe/a.txt` });
    expect(err.message).toContain('second create-only write');
    expect(err.message).toContain('trustConditionalWrites');
    expect(err.message).not.toContain(TEST_SECRET);
    expect(await keys('unsafe/')).toEqual([]);
    // Cached for the endpoint and bucket: no further probe requests.
    const before = requests;
    await expect(aw.updateJson(`s3://${BUCKET}/unsafe/n.json`, () => ({ n: 1 }), { s3: dishonest } as object)).rejects.toMatchObject({ code: 'EUNSAFE_ENDPOINT' });
    await expect(aw.writeFile(`s3://${BUCKET}/unsafe/b.txt`, 'x', { s3: dishonest, exclusive: true })).rejects.toMatchObject({ code: 'EUNSAFE_ENDPOINT' });
    expect(requests - before).toBe(1); // updateJson's read; nothing else
    expect(await keys('unsafe/')).toEqual([]);
    await aw.writeFile(`s3://${BUCKET}/unsafe/plain.txt`, 'plain', { s3: dishonest });
    expect(await keys('unsafe/')).toEqual(['unsafe/plain.txt']);
  });

  it('trustConditionalWrites: true opts out, and shows what the probe guards against', async () => {
    await aw.writeFile(`s3://${BUCKET}/trusted/a.txt`, 'one', { s3: dishonest, ifNoneMatch: '*', trustConditionalWrites: true });
    // The server says yes to a second create-only write: exactly the lie the probe catches.
    await aw.writeFile(`s3://${BUCKET}/trusted/a.txt`, 'two', { s3: dishonest, ifNoneMatch: '*', trustConditionalWrites: true });
    const out = await honest.send(new sdk.GetObjectCommand({ Bucket: BUCKET, Key: 'trusted/a.txt' }));
    expect(await out.Body!.transformToString()).toBe('two');
    expect(() => aw.writeFile(`s3://${BUCKET}/k`, 'x', { trustConditionalWrites: 'yes' } as never)).toThrow(TypeError);
  });

  it('atomicwriter probe: exit 0 on the honest server, 1 on the dishonest one naming what failed; no credential printed', async () => {
    const env = (endpoint: string) => ({ ...process.env, ...s3Env(endpoint), NODE_DEBUG: '' });
    const good = await run(process.execPath, ['bin/atomicwriter.js', 'probe', `s3://${BUCKET}`], { env: env(server.endpoint) });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('honoured');
    const bad = await run(process.execPath, ['bin/atomicwriter.js', 'probe', `s3://${BUCKET}`, '--json'], { env: env(`http://127.0.0.1:${proxyPort}`) });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ safe: false });
    const text = await run(process.execPath, ['bin/atomicwriter.js', 'probe', `s3://${BUCKET}`], { env: env(`http://127.0.0.1:${proxyPort}`) });
    expect(text.status).toBe(1);
    expect(text.stderr).toContain('NOT honoured');
    expect(text.stderr).toContain('racing create-only writers');
    const usage = await run(process.execPath, ['bin/atomicwriter.js', 'probe', '/tmp/x'], { env: env(server.endpoint) });
    expect(usage.status).toBe(2);
    for (const out of [good, bad, text]) expect(out.stdout + out.stderr).not.toContain(TEST_SECRET);
  });
});
