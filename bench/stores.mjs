// GCS and Azure benchmarks against the local emulators (fake-gcs-server, Azurite, both on
// 127.0.0.1, started here as the tests start them):
//  1. upload of one file: atomicwriter's writeFile('gs://…' / 'az://…') (staged through
//     the core, CRC32C or per-block MD5 the service checks, conditional commit possible)
//     against the SDK's own plain upload of the same file (GCS `bucket.upload`, Azure
//     `uploadFile`) with the same part size and concurrency;
//  2. updateJson on one object, sequentially in this process, against the SDK's plain
//     read-then-write (no condition: the unsafe floor of two round trips), and 4
//     processes updating the same object (test/fixtures/s3-counter.mjs: updates/s,
//     retries per update).
// Contenders interleaved, medians of rounds. An emulator is not the cloud: the numbers
// say what our layer costs on top of the SDK's (read as ratios), not what GCS or Azure do.
// `node bench/stores.mjs [rounds] [MiB] [updates]`; results in bench/results/stores.md.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync, createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UPLOAD } from './lib.mjs';
import { startAzurite, startFakeGcs } from '../test/fixtures/emulators.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { MiB, PART, QUEUE, BUCKET } = UPLOAD;
const require = createRequire(import.meta.url);
const aw = require('../dist/index.js');

const [mode, ...rest] = process.argv.slice(2);
const rounds = Number(mode ?? 3);
const sizeMiB = Number(rest[0] ?? 256);
const updates = Number(rest[1] ?? 100);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function makeFile(dir, size) {
  const path = join(dir, 'payload.bin');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < size / MiB; i++) {
    for (let j = 0; j < MiB; j += 4) chunk.writeUInt32LE((i * MiB + j) * 2654435761 >>> 0, j);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return path;
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function child(args, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`counter exited ${code}`))));
  });
}

async function gcsSetup() {
  const server = await startFakeGcs();
  const { Storage } = require('@google-cloud/storage');
  const sdk = new Storage({ apiEndpoint: server.endpoint, projectId: 'aw-bench' });
  await sdk.createBucket(BUCKET);
  const env = { STORAGE_EMULATOR_HOST: server.endpoint };
  return {
    name: 'GCS (fake-gcs-server 1.56.1)',
    scheme: 'gs',
    server,
    env,
    sdkLabel: '`bucket.upload(file, { resumable, chunkSize })`',
    plainUpload: (file, key) => sdk.bucket(BUCKET).upload(file, { destination: key, resumable: true, chunkSize: PART, validation: false }),
    plainUpdate: async (key) => {
      const f = sdk.bucket(BUCKET).file(key);
      const [text] = await f.download().catch(() => [Buffer.from('{"n":0}')]);
      await f.save(JSON.stringify({ n: JSON.parse(text).n + 1 }), { resumable: false });
    },
  };
}

async function azureSetup() {
  const server = await startAzurite();
  const { BlobServiceClient } = require('@azure/storage-blob');
  const sdk = BlobServiceClient.fromConnectionString(server.connectionString);
  await sdk.getContainerClient(BUCKET).create();
  const blob = (key) => sdk.getContainerClient(BUCKET).getBlockBlobClient(key);
  return {
    name: 'Azure Blob (Azurite 3.35.0)',
    scheme: 'az',
    server,
    env: { AZURE_STORAGE_CONNECTION_STRING: server.connectionString },
    sdkLabel: '`blockBlobClient.uploadFile(file, { blockSize, concurrency })`',
    plainUpload: (file, key) => blob(key).uploadFile(file, { blockSize: PART, concurrency: QUEUE }),
    plainUpdate: async (key) => {
      const text = await blob(key).downloadToBuffer().catch(() => Buffer.from('{"n":0}'));
      const next = JSON.stringify({ n: JSON.parse(text).n + 1 });
      await blob(key).upload(next, next.length);
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'aw-bench-stores-'));
const file = makeFile(dir, sizeMiB * MiB);
const lines = [
  '# Object-store benchmarks: GCS and Azure emulators',
  '',
  `\`node bench/stores.mjs ${rounds} ${sizeMiB} ${updates}\`, ${new Date().toISOString().slice(0, 10)}. Emulators on 127.0.0.1, same machine (2 cores, shared);`,
  'medians of interleaved rounds. Emulators are not the cloud: read the ratios (what our layer adds to the SDK), not the absolute rates.',
  '',
];
try {
  for (const setup of [gcsSetup, azureSetup]) {
    const p = await setup();
    Object.assign(process.env, p.env);
    try {
      const ours = [];
      const plain = [];
      for (let r = 0; r < rounds; r++) {
        // Interleaved, the order alternating: neither always runs on a warmer server.
        const pair = [
          async () => ours.push(await timed(() => aw.writeFile(`${p.scheme}://${BUCKET}/up/ours-${r}.bin`, createReadStream(file, { highWaterMark: MiB }), { partSize: PART, concurrency: QUEUE }))),
          async () => plain.push(await timed(() => p.plainUpload(file, `up/plain-${r}.bin`))),
        ];
        for (const run of r % 2 ? pair.reverse() : pair) await run();
      }
      const mibs = (ms) => (sizeMiB / (ms / 1000)).toFixed(1);
      const u = [];
      const pu = [];
      for (let r = 0; r < rounds; r++) {
        u.push(await timed(async () => {
          for (let i = 0; i < updates; i++) await aw.updateJson(`${p.scheme}://${BUCKET}/n/ours-${r}.json`, (v) => ({ n: v.n + 1 }), { defaultData: { n: 0 } });
        }));
        pu.push(await timed(async () => {
          for (let i = 0; i < updates; i++) await p.plainUpdate(`n/plain-${r}.json`);
        }));
      }
      const perSec = (ms) => (updates / (ms / 1000)).toFixed(0);
      const counterUrl = `${p.scheme}://${BUCKET}/n/four-${Date.now()}.json`;
      const perChild = Math.max(1, Math.floor(updates / 4));
      let retries = 0;
      const fourMs = await timed(async () => {
        const out = await Promise.all(Array.from({ length: 4 }, () => child([join(here, '..', 'test', 'fixtures', 's3-counter.mjs'), counterUrl, String(perChild)], p.env)));
        retries = out.reduce((a, o) => a + o.retries, 0);
      });
      const final = await aw.readJson(counterUrl);
      lines.push(
        `## ${p.name}`,
        '',
        `Upload of ${sizeMiB} MiB (parts of 8 MiB, 4 in flight):`,
        '',
        '| contender | median | throughput | vs SDK |',
        '|---|---|---|---|',
        `| atomicwriter \`writeFile('${p.scheme}://…', readStream)\` (staged via the core, checksum the service checks) | ${(median(ours) / 1000).toFixed(2)} s | ${mibs(median(ours))} MiB/s | ${(median(ours) / median(plain)).toFixed(2)}× |`,
        `| SDK ${p.sdkLabel} of the same file | ${(median(plain) / 1000).toFixed(2)} s | ${mibs(median(plain))} MiB/s | 1.00× |`,
        '',
        `updateJson, ${updates} sequential updates of one object:`,
        '',
        '| contender | median | updates/s | vs plain |',
        '|---|---|---|---|',
        `| atomicwriter \`updateJson\` (read with version, conditional put, first call also probes) | ${(median(u) / 1000).toFixed(2)} s | ${perSec(median(u))} | ${(median(u) / median(pu)).toFixed(2)}× |`,
        `| SDK read, then unconditional write (loses updates under contention) | ${(median(pu) / 1000).toFixed(2)} s | ${perSec(median(pu))} | 1.00× |`,
        '',
        `4 processes × ${perChild} updateJson on one object: ${(4 * perChild / (fourMs / 1000)).toFixed(0)} updates/s including process start, ${(retries / (4 * perChild)).toFixed(2)} retries per update, final n = ${final.n} (expected ${4 * perChild}).`,
        '',
      );
      process.stderr.write(`${p.name} done\n`);
    } finally {
      await p.server.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'stores.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);
