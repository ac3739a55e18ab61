// Large streamed writes: throughput and peak RSS.
//
//   node bench/stream.mjs throughput [GiB=4] [rounds=3]
//     the same bytes streamed from a generator (one 1 MiB buffer, yielded N times)
//     by each contender, interleaved round by round, each in a fresh process:
//     atomicwriter writeFile(generator), atomicwriter createWriteStream + pipeline,
//     fs.createWriteStream + fsync, fs-write-stream-atomic (renames, never syncs),
//     and `dd if=/dev/zero bs=1M conv=fsync`. Medians; ratio to dd.
//   node bench/stream.mjs big [GiB=10]
//     one writeFile of a generator of that size; peak RSS must stay <= 128 MiB.
//   node bench/stream.mjs buffer [GiB=2.5]
//     one writeFile of a single Buffer of that size (read back: size and CRC32C).
//   node bench/stream.mjs prealloc [GiB=4] [rounds=3]
//     does preallocating help? `dd conv=fsync` vs `fallocate -l` then `dd conv=notrunc,fsync`.
//
// Every file is written under bench/.work (same filesystem as the repo); `sync` runs
// before each measurement so one run's writeback does not land in the next.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const MIB = 1 << 20;
const work = join(here, '.work');

function chunk() {
  const buf = Buffer.allocUnsafe(MIB);
  for (let i = 0; i < MIB; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 0, i);
  return buf;
}

function* chunks(count, buf = chunk()) {
  for (let i = 0; i < count; i++) yield buf;
}

const NODE_CONTENDERS = {
  async 'atomicwriter-writeFile'(path, count) {
    const { writeFile } = await import('../index.mjs');
    await writeFile(path, chunks(count));
  },
  async 'atomicwriter-createWriteStream'(path, count) {
    const { createWriteStream: atomicStream } = await import('../index.mjs');
    await pipeline(Readable.from(chunks(count)), atomicStream(path));
  },
  async 'fs.createWriteStream+fsync'(path, count) {
    const fd = openSync(path, 'w');
    await pipeline(Readable.from(chunks(count)), createWriteStream(path, { fd, autoClose: false }));
    fsyncSync(fd);
    closeSync(fd);
  },
  async 'fs-write-stream-atomic'(path, count) {
    const { createRequire } = await import('node:module');
    const writeStreamAtomic = createRequire(import.meta.url)('fs-write-stream-atomic');
    const stream = writeStreamAtomic(path);
    // It emits 'finish' only after its rename; pipeline waits for that.
    await pipeline(Readable.from(chunks(count)), stream);
  },
};

// ---- worker mode: one contender in this process, report seconds and peak RSS ----
if (process.argv[2] === '--worker') {
  const [, , , contender, path, countArg] = process.argv;
  const count = Number(countArg);
  // Loading modules is not part of the write.
  await import('../index.mjs');
  (await import('node:module')).createRequire(import.meta.url)('fs-write-stream-atomic');
  const start = process.hrtime.bigint();
  await NODE_CONTENDERS[contender](path, count);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (statSync(path).size !== count * MIB) throw new Error(`${contender} wrote ${statSync(path).size} bytes`);
  console.log(JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS of the command. */
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  return { seconds, maxRssMiB: Number(lines[lines.length - 1]) / 1024, stdout: r.stdout };
}

function run(contender, path, count) {
  rmSync(path, { force: true });
  execFileSync('sync');
  if (contender === 'dd') return timed('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${count}`, 'conv=fsync', 'status=none']);
  if (contender === 'fallocate+dd') {
    const t0 = process.hrtime.bigint();
    execFileSync('fallocate', ['-l', String(count * MIB), path]);
    const r = timed('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${count}`, 'conv=notrunc,fsync', 'status=none']);
    return { ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }
  const out = execFileSync(process.execPath, [self, '--worker', contender, path, String(count)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

function table(title, contenders, results, baseName) {
  const base = median(results[baseName].map((r) => r.seconds));
  const lines = [`\n${title}\n`, '| contender | median s | MiB/s | ratio to ' + baseName + ' (throughput) | peak RSS MiB |', '|---|---:|---:|---:|---:|'];
  for (const c of contenders) {
    const secs = median(results[c].map((r) => r.seconds));
    const bytes = results[c][0].bytes;
    const rss = Math.max(...results[c].map((r) => r.maxRssMiB));
    lines.push(`| ${c} | ${secs.toFixed(2)} | ${(bytes / MIB / secs).toFixed(0)} | ${(base / secs).toFixed(2)}x | ${rss.toFixed(0)} |`);
  }
  return lines.join('\n');
}

function compare(contenders, gib, rounds, title, baseName) {
  mkdirSync(work, { recursive: true });
  const count = Math.round(gib * 1024);
  const path = join(work, 'stream.bin');
  const results = Object.fromEntries(contenders.map((c) => [c, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const c of contenders) {
        const m = { ...run(c, path, count), bytes: count * MIB };
        results[c].push(m);
        process.stderr.write(`round ${r + 1} ${c}: ${m.seconds.toFixed(2)} s, ${(count / m.seconds).toFixed(0)} MiB/s, RSS ${m.maxRssMiB.toFixed(0)} MiB\n`);
      }
    }
  } finally {
    rmSync(path, { force: true });
  }
  console.log(table(title, contenders, results, baseName));
}

const [mode = 'throughput', sizeArg, roundsArg] = process.argv.slice(2);
if (mode === 'throughput') {
  const gib = Number(sizeArg) || 4;
  compare(['atomicwriter-writeFile', 'atomicwriter-createWriteStream', 'fs.createWriteStream+fsync', 'fs-write-stream-atomic', 'dd'], gib, Number(roundsArg) || 3, `${gib} GiB streamed, ${Number(roundsArg) || 3} rounds`, 'dd');
} else if (mode === 'prealloc') {
  const gib = Number(sizeArg) || 4;
  compare(['dd', 'fallocate+dd'], gib, Number(roundsArg) || 3, `${gib} GiB: does preallocation help?`, 'dd');
} else if (mode === 'big') {
  const gib = Number(sizeArg) || 10;
  mkdirSync(work, { recursive: true });
  const path = join(work, 'big.bin');
  try {
    const m = run('atomicwriter-writeFile', path, Math.round(gib * 1024));
    console.log(`\n${gib} GiB writeFile(generator): ${m.seconds.toFixed(1)} s, ${((gib * 1024) / m.seconds).toFixed(0)} MiB/s, peak RSS ${m.maxRssMiB.toFixed(0)} MiB (limit 128 MiB: ${m.maxRssMiB <= 128 ? 'met' : 'NOT met'})`);
  } finally {
    rmSync(path, { force: true });
  }
} else if (mode === 'buffer') {
  const gib = Number(sizeArg) || 2.5;
  mkdirSync(work, { recursive: true });
  const path = join(work, 'buffer.bin');
  try {
    const script = `
      const aw = require(${JSON.stringify(join(here, '..', 'dist', 'index.js'))});
      const { native } = require(${JSON.stringify(join(here, '..', 'dist', 'native.js'))});
      const size = Math.round(${gib} * 1024 ** 3);
      const buf = Buffer.alloc(size, 0x5a);
      buf.write('head'); buf.write('tail', size - 4);
      const t0 = Date.now();
      aw.writeFile(${JSON.stringify(path)}, buf).then(async () => {
        const seconds = (Date.now() - t0) / 1000;
        const digest = await native().digestFile(${JSON.stringify(path)});
        const { crc32c } = require('@aws-crypto/crc32c');
        const expected = crc32c(buf) >>> 0;
        console.log(JSON.stringify({ seconds, size, written: digest.bytes, crcMatches: digest.crc32c === expected }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: join(here, '..') });
    const r = JSON.parse(out.trim().split('\n').pop());
    console.log(`\nSingle ${gib} GiB Buffer via writeFile: ${r.seconds.toFixed(1)} s; file size ${r.written} of ${r.size}; CRC32C (core) equals @aws-crypto/crc32c of the buffer: ${r.crcMatches}`);
  } finally {
    rmSync(path, { force: true });
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
