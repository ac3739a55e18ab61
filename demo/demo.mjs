// npm run demo: what atomicwriter promises, shown in well under a minute.
//   1. a durable atomic write, and its speed next to write-file-atomic's protocol
//   2. a child killed with SIGKILL in the middle of a 1 GiB write: the old file stays
//   3. 4 processes incrementing one JSON counter: no lost update
//   4. a dataset published whole, with a _SUCCESS manifest that verifies
//   5. the same protocol against an S3 server: AWS_ENDPOINT_URL's, or a local moto_server
//      started for the demo when one is installed (.ci/run installs one)
//   6. gs:// and az:// through the same seam, against fake-gcs-server and Azurite on
//      127.0.0.1 when they are installed: a write, a refused create-only, the probe
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { motoBinary, startMoto } from '../test/fixtures/moto.mjs';
import { azuriteBinary, fakeGcsBinary, startAzurite, startFakeGcs } from '../test/fixtures/emulators.mjs';
import writeFileAtomic, { writeFile, sweep, updateJson, readJson, writeDataset, verify, isComplete, write, probeConditionalWrites } from 'atomicwriter';

const dir = mkdtempSync(join(tmpdir(), 'atomicwriter-demo-'));
const say = (...args) => console.log(...args);
const started = performance.now();

function node(code, opts = {}) {
  return spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
}
const exited = (child) => new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

try {
  say(`atomicwriter demo (scratch directory ${dir})\n`);

  // 1. A durable write, then a short throughput comparison.
  const config = join(dir, 'config.json');
  await writeFileAtomic(config, JSON.stringify({ version: 1 }) + '\n');
  say(`1. writeFileAtomic('config.json') -> ${readFileSync(config, 'utf8').trim()}`);
  say('   temp in the same directory, every byte written, fdatasync, rename, directory fsync');
  const wfa = (await import('write-file-atomic').catch(() => null))?.default;
  const payload = Buffer.alloc(1024, 'x');
  const rate = async (fn) => {
    const t = performance.now();
    for (let i = 0; i < 200; i++) await fn(join(dir, 'rate.bin'), payload);
    return 200 / ((performance.now() - t) / 1000);
  };
  const ours = await rate((f, d) => writeFileAtomic(f, d));
  say(`   200 durable 1 KiB overwrites: atomicwriter ${ours.toFixed(0)}/s (with the directory fsync)`);
  if (wfa) say(`                                 write-file-atomic ${(await rate((f, d) => wfa(f, d))).toFixed(0)}/s (without it)`);
  say('');

  // 2. SIGKILL in the middle of a 1 GiB write.
  const big = join(dir, 'big.bin');
  await writeFile(big, Buffer.alloc(1 << 20, 'o'));
  const child = node(`
    import { writeFile } from 'atomicwriter';
    const data = Buffer.alloc(1 << 30, 'n');
    console.log('writing');
    await writeFile(${JSON.stringify(big)}, data);
    console.log('done');
  `);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill('SIGKILL');
  await exited(child);
  const after = readFileSync(big);
  const verdict = after.length === 1 << 20 && after.every((b) => b === 0x6f) ? 'the old 1 MiB file, intact' : after.length === 1 << 30 ? 'the new 1 GiB file, whole' : `A TORN FILE of ${after.length} bytes`;
  say(`2. a child writing 1 GiB over big.bin was killed with SIGKILL mid-write: big.bin is ${verdict}`);
  say(`   left in the directory: ${readdirSync(dir).join(', ')}; orphaned temps swept: ${(await sweep(dir, { olderThan: 0 })).length}`);
  say('');

  // 3. 4 processes x 100 increments of one counter.
  const counter = join(dir, 'counter.json');
  const workers = Array.from({ length: 4 }, () =>
    node(`
      import { updateJson } from 'atomicwriter';
      for (let i = 0; i < 100; i++) await updateJson(${JSON.stringify(counter)}, (c) => ({ n: c.n + 1 }), { defaultData: { n: 0 } });
    `),
  );
  const t3 = performance.now();
  await Promise.all(workers.map(exited));
  const { n } = await readJson(counter);
  say(`3. 4 processes x 100 updateJson increments (lock on counter.json.lock, durable write each):`);
  say(`   counter = ${n} ${n === 400 ? '(no lost update)' : '(LOST UPDATES)'} in ${((performance.now() - t3) / 1000).toFixed(1)} s`);
  say('');

  // 4. A dataset: parts staged in a hidden sibling, _SUCCESS last, published whole.
  const ds = join(dir, 'events');
  await writeDataset(ds, async (stage) => {
    for (let p = 0; p < 4; p++) {
      const rows = Array.from({ length: 1000 }, (_, i) => ({ part: p, i, name: `row ${i}` }));
      await stage.write(`part-${p}.csv`, rows, { format: 'csv' });
    }
  });
  const report = await verify(ds);
  const manifest = JSON.parse(readFileSync(join(ds, '_SUCCESS'), 'utf8'));
  say(`4. writeDataset('events') -> ${readdirSync(ds).sort().join(', ')}`);
  say(`   _SUCCESS lists ${manifest.files.length} parts with ${manifest.files[0].checksum.split(':')[0]} checksums; isComplete = ${await isComplete(ds)}; verify ok = ${report.ok}`);
  const single = await write([{ a: 1 }, { a: 2 }], join(dir, 'out.ndjson'), { marker: true });
  say(`   write(rows, 'out.ndjson', {marker: true}) -> ${single.format}, ${statSync(join(dir, 'out.ndjson')).size} bytes, verify ok = ${(await verify(join(dir, 'out.ndjson'))).ok}`);
  say('');

  // 5. S3: the server AWS_ENDPOINT_URL names, else a local moto_server when one is installed.
  await s3Demo(workers.length);
  // 6. GCS and Azure emulators, when installed.
  await storesDemo();
  say(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function s3Demo(processes) {
  // The SDK's notice that its 2027 releases need Node 22 is not this demo's news.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let server;
  if (!process.env.AWS_ENDPOINT_URL && motoBinary()) {
    server = await startMoto();
    // moto accepts any credentials; these never leave this process tree.
    Object.assign(process.env, { AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: 'demo', AWS_SECRET_ACCESS_KEY: 'demo', AWS_REGION: 'us-east-1' });
  }
  if (!process.env.AWS_ENDPOINT_URL) {
    say('5. S3: no server. Set AWS_ENDPOINT_URL (and ATOMICWRITER_DEMO_BUCKET), or install a local one with');
    say(`   npm run test:deps   (a venv with moto_server in ~/.cache/atomicwriter, once)`);
    say('   and run the demo again: it starts moto_server on 127.0.0.1 and stops it after.');
    return;
  }
  try {
    const bucket = process.env.ATOMICWRITER_DEMO_BUCKET ?? 'atomicwriter-demo';
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((e) => {
      if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
    });
    client.destroy();
    const where = server ? `moto_server at ${server.endpoint}` : process.env.AWS_ENDPOINT_URL;
    const url = `s3://${bucket}/demo/config.json`;
    const result = await writeFile(url, JSON.stringify({ version: 2 }));
    say(`5. S3 (${where}): writeFile('${url}')`);
    say(`   staged in a local temp, synced, uploaded with a CRC32C checksum: etag ${result.etag}`);
    const created = await writeFile(url, 'again', { exclusive: true }).then(() => 'replaced it (WRONG)', (e) => `refused: ${e.code}`);
    say(`   writeFile(same url, {exclusive: true}) -> ${created} (If-None-Match: *)`);
    const counterUrl = `s3://${bucket}/demo/counter.json`;
    const children = Array.from({ length: processes }, () =>
      node(`
        import { updateJson } from 'atomicwriter';
        for (let i = 0; i < 25; i++) await updateJson(${JSON.stringify(counterUrl)}, (c) => ({ n: c.n + 1 }), { defaultData: { n: 0 }, maxRetries: 1000 });
      `),
    );
    const codes = await Promise.all(children.map(exited));
    const { n } = await readJson(counterUrl);
    say(`   ${processes} processes x 25 updateJson increments of ${counterUrl} (If-Match on the ETag, retried on conflict):`);
    say(`   counter = ${n} ${n === processes * 25 ? '(no lost update)' : `(LOST UPDATES; exits ${codes})`}`);
  } finally {
    await server?.stop();
  }
}

async function storesDemo() {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const stores = [
    fakeGcsBinary() && { scheme: 'gs', name: 'fake-gcs-server', start: startFakeGcs, setup: async (srv) => {
      const { Storage } = require('@google-cloud/storage');
      await new Storage({ apiEndpoint: srv.endpoint, projectId: 'demo' }).createBucket('atomicwriter-demo');
      process.env.STORAGE_EMULATOR_HOST = srv.endpoint;
    } },
    azuriteBinary() && { scheme: 'az', name: 'Azurite', start: startAzurite, setup: async (srv) => {
      const { BlobServiceClient } = require('@azure/storage-blob');
      await BlobServiceClient.fromConnectionString(srv.connectionString).getContainerClient('atomicwriter-demo').create();
      process.env.AZURE_STORAGE_CONNECTION_STRING = srv.connectionString;
    } },
  ].filter(Boolean);
  if (stores.length === 0) return say('6. gs:// and az://: no emulator installed (go install github.com/fsouza/fake-gcs-server@v1.56.1; npm install brings Azurite)');
  for (const store of stores) {
    const server = await store.start();
    try {
      await store.setup(server);
      const url = `${store.scheme}://atomicwriter-demo/demo/config.json`;
      const result = await writeFile(url, JSON.stringify({ version: 3 }), { ifNoneMatch: '*' });
      const again = await writeFile(url, 'again', { exclusive: true }).then(() => 'replaced it (WRONG)', (e) => `refused: ${e.code}`);
      const probe = await probeConditionalWrites(`${store.scheme}://atomicwriter-demo`);
      say(`6${stores.indexOf(store) === 0 ? 'a' : 'b'}. ${store.scheme}:// (${store.name} at ${server.endpoint}): writeFile create-only -> version ${result.version}; again -> ${again}`);
      say(`   probe: ${probe.safe ? 'conditional writes honoured' : `NOT honoured: ${probe.failed.join('; ')}`} (${probe.checks.raceWinners} of ${probe.checks.racers} racing creators won)`);
    } finally {
      await server.stop();
    }
  }
}
