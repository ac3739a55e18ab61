// S3 benchmarks against a local moto_server (127.0.0.1; set AW_MOTO_SERVER):
//  1. upload of a 1 GiB file: atomicwriter's writeFile('s3://…') (staged through the
//     core, CRC32C checksums S3 verifies, multipart, abort on failure) against a
//     bare @aws-sdk/lib-storage `Upload` of the same file with the same part size and
//     concurrency. Each run in a fresh process; contenders interleaved; medians; peak RSS.
//  2. updateJson on one S3 object from 4 processes: updates/s and retries per update.
// `node bench/s3.mjs [rounds] [MiB] [updatesPerWriter]`; results in bench/results/s3.md.
// Not part of `npm test` (it moves gigabytes); the machine may be shared: see the notes.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, openSync, writeSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UPLOAD } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { MiB, PART, QUEUE, BUCKET } = UPLOAD;
const require = createRequire(import.meta.url);

const [mode, ...rest] = process.argv.slice(2);

if (mode === '--upload') {
  // Worker: one upload, prints {ms, maxRssMiB}.
  const [contender, file, size] = rest;
  const key = `${contender}-${process.pid}.bin`;
  const start = process.hrtime.bigint();
  if (contender === 'staging-only') {
    // What ours does before its upload starts: the same stream into a local staged file (no sync).
    const aw = require('../dist/index.js');
    await aw.writeFile(`${file}.staged`, createReadStream(file, { highWaterMark: MiB }), { fsync: false });
    rmSync(`${file}.staged`);
  } else if (contender === 'atomicwriter') {
    const aw = require('../dist/index.js');
    await aw.writeFile(`s3://${BUCKET}/${key}`, createReadStream(file, { highWaterMark: MiB }), { partSize: PART, concurrency: QUEUE });
  } else {
    const { S3Client } = require('@aws-sdk/client-s3');
    const { Upload } = require('@aws-sdk/lib-storage');
    const client = new S3Client({ forcePathStyle: true });
    await new Upload({ client, params: { Bucket: BUCKET, Key: key, Body: createReadStream(file, { highWaterMark: MiB }), ContentLength: Number(size) }, partSize: PART, queueSize: QUEUE }).done();
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

if (mode === '--counter') {
  const [url, count] = rest;
  const aw = require('../dist/index.js');
  let calls = 0;
  for (let i = 0; i < Number(count); i++) {
    await aw.updateJson(url, (v) => {
      calls++;
      return { n: v.n + 1 };
    }, { defaultData: { n: 0 }, maxRetries: 1000 });
  }
  process.stdout.write(JSON.stringify({ retries: calls - Number(count) }));
  process.exit(0);
}

// --- driver ---------------------------------------------------------------------
const rounds = Number(mode) || 3;
const sizeMiB = Number(rest[0]) || 1024;
const updates = Number(rest[1]) || 100;
const moto = process.env.AW_MOTO_SERVER;
if (!moto) throw new Error('set AW_MOTO_SERVER to a moto_server binary (pip install "moto[server]")');

// A fresh server for every measurement: moto keeps objects in memory and temp files,
// and one 1 GiB run must not slow down the next.
async function startServer() {
  const server = spawn(moto, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let seen = '';
    const onData = (c) => {
      seen += c;
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.once('exit', () => reject(new Error(seen)));
  });
  server.stdout.resume();
  server.stderr.resume();
  const env = { ...process.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
  const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({ forcePathStyle: true, endpoint: env.AWS_ENDPOINT_URL, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const stop = () =>
    new Promise((resolve) => {
      client.destroy();
      if (server.exitCode !== null) return resolve();
      server.once('exit', resolve);
      server.kill('SIGKILL');
    });
  return { env, client, stop };
}

const work = join(here, '.work');
mkdirSync(work, { recursive: true });
const dir = mkdtempSync(join(work, 's3-'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  // Incompressible-looking content (a cheap xorshift), so nothing can shortcut it.
  const file = join(dir, 'src.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MiB);
  let x = 2463534242;
  for (let i = 0; i < sizeMiB; i++) {
    for (let j = 0; j < MiB; j += 4) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      chunk.writeUInt32LE(x, j);
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const bytes = sizeMiB * MiB;

  const contenders = ['atomicwriter', 'lib-storage', 'staging-only'];
  const runs = Object.fromEntries(contenders.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 ? [...contenders].reverse() : contenders) {
      const srv = await startServer();
      let out;
      try {
        out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--upload', c, file, String(bytes)], { env: srv.env, encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000 });
      } finally {
        await srv.stop();
      }
      const res = JSON.parse(out.trim().split('\n').pop());
      runs[c].push(res);
      process.stderr.write(`${c} round ${r + 1}: ${(bytes / MiB / (res.ms / 1000)).toFixed(1)} MiB/s, peak RSS ${res.maxRssMiB.toFixed(0)} MiB\n`);
    }
  }
  const row = (c) => {
    const ms = median(runs[c].map((x) => x.ms));
    return { ms, mibps: bytes / MiB / (ms / 1000), rss: Math.max(...runs[c].map((x) => x.maxRssMiB)) };
  };
  const ours = row('atomicwriter');
  const base = row('lib-storage');

  // updateJson, 4 processes.
  const srv = await startServer();
  const { env } = srv;
  const url = `s3://${BUCKET}/counter.json`;
  const start = process.hrtime.bigint();
  const outs = await Promise.all(
    Array.from({ length: 4 }, () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--counter', url, String(updates)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        child.stdout.on('data', (c) => (text += c));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`counter exited ${code}`))));
      }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const total = 4 * updates;
  const retries = outs.reduce((s, o) => s + o.retries, 0);
  const { GetObjectCommand } = require('@aws-sdk/client-s3');
  const final = JSON.parse(await (await srv.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'counter.json' }))).Body.transformToString());
  await srv.stop();

  const md = `# S3 benchmarks

Local \`moto_server\` on 127.0.0.1, a fresh one per run (an in-process Python server: it, not the network, is
the bottleneck, so the numbers compare the clients, not S3). ${cpus().length} cores, shared
with other jobs while this ran: treat differences under ~10 % as noise. Node ${process.version}.
\`node bench/s3.mjs ${rounds} ${sizeMiB} ${updates}\`, ${new Date().toISOString().slice(0, 10)}.

## ${sizeMiB} MiB upload (median of ${rounds}, fresh process each, interleaved)

Part size 8 MiB, 4 parts in flight for both.

| contender | time | throughput | ratio | peak RSS |
|---|---:|---:|---:|---:|
| atomicwriter \`writeFile('s3://…', readStream)\` (staged via the core, CRC32C per part, S3-verified) | ${(ours.ms / 1000).toFixed(2)} s | ${ours.mibps.toFixed(1)} MiB/s | ${(ours.mibps / base.mibps).toFixed(2)}× | ${ours.rss.toFixed(0)} MiB |
| bare \`@aws-sdk/lib-storage\` \`Upload\` of the same file | ${(base.ms / 1000).toFixed(2)} s | ${base.mibps.toFixed(1)} MiB/s | 1.00× | ${base.rss.toFixed(0)} MiB |
| (breakdown) ours' local staging step alone, no upload | ${(row('staging-only').ms / 1000).toFixed(2)} s | ${row('staging-only').mibps.toFixed(1)} MiB/s | – | ${row('staging-only').rss.toFixed(0)} MiB |

Every run (MiB/s): ${contenders.map((c) => `${c} ${runs[c].map((x) => (bytes / MiB / (x.ms / 1000)).toFixed(1)).join(', ')}`).join('; ')}.

Target: ≥ 0.9× lib-storage's throughput with bounded memory. Ours does more work: the
bytes are first written to a local staging file through the core (then read back for
the upload), which lib-storage does not do; in exchange the upload can be retried from
the staged copy and a failed one leaves no partial object.

## updateJson on one S3 object, 4 processes × ${updates}

| updates | wall time | updates/s | retries (412s) per update | final value |
|---:|---:|---:|---:|---:|
| ${total} | ${seconds.toFixed(2)} s | ${(total / seconds).toFixed(1)} | ${(retries / total).toFixed(2)} | ${final.n} |

Each update is GET (with ETag) + PUT with \`If-Match\`; a lost race (412) backs off with
full jitter and reads again. No update was lost: the final value is exactly ${total} iff
it says ${total} above.
`;
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 's3.md'), md);
  process.stdout.write(md);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
