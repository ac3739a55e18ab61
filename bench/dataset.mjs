// Dataset of 100 parts x 1 MiB: atomicwriter's writeDataset (staging directory,
// CRC32C of every part, every part and directory synced, _SUCCESS last, publish by
// rename/exchange) against writing the same parts with plain fs and fsync (no
// atomicity, no marker). Contenders interleave round by round, each run in a fresh
// process; medians. `node bench/dataset.mjs [rounds] [parts] [partKiB]`.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, promises as fsp, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [roundsArg, partsArg, kibArg, worker, contender, dirArg] = process.argv.slice(2);

const CONTENDERS = {
  // The dataset replaces an existing one (the common case for a pipeline step).
  async atomicwriter(dir, parts, data) {
    const { writeDataset } = await import('../index.mjs');
    await writeDataset(join(dir, 'ds'), (stage) => stage.write('seed', 'x'));
    const start = process.hrtime.bigint();
    await writeDataset(join(dir, 'ds'), async (stage) => {
      await Promise.all(Array.from({ length: parts }, (_, i) => stage.write(`part-${i}.bin`, data)));
    });
    return process.hrtime.bigint() - start;
  },
  'atomicwriter-sequential': async (dir, parts, data) => {
    const { writeDataset } = await import('../index.mjs');
    await writeDataset(join(dir, 'ds'), (stage) => stage.write('seed', 'x'));
    const start = process.hrtime.bigint();
    await writeDataset(join(dir, 'ds'), async (stage) => {
      for (let i = 0; i < parts; i++) await stage.write(`part-${i}.bin`, data);
    });
    return process.hrtime.bigint() - start;
  },
  // Plain fs, one part after another: write, fsync; the directory synced once at the end.
  'fs-fsync-sequential': async (dir, parts, data) => {
    const start = process.hrtime.bigint();
    const ds = join(dir, 'ds');
    mkdirSync(ds);
    for (let i = 0; i < parts; i++) {
      const fd = openSync(join(ds, `part-${i}.bin`), 'w');
      writeSync(fd, data);
      fsyncSync(fd);
      closeSync(fd);
    }
    const d = openSync(ds, 'r');
    fsyncSync(d);
    closeSync(d);
    return process.hrtime.bigint() - start;
  },
  // Plain fs, all parts at once (libuv's pool runs 4 fsyncs in parallel).
  'fs-fsync-concurrent': async (dir, parts, data) => {
    const start = process.hrtime.bigint();
    const ds = join(dir, 'ds');
    mkdirSync(ds);
    await Promise.all(
      Array.from({ length: parts }, async (_, i) => {
        const fh = await fsp.open(join(ds, `part-${i}.bin`), 'w');
        await fh.writeFile(data);
        await fh.sync();
        await fh.close();
      }),
    );
    const d = openSync(ds, 'r');
    fsyncSync(d);
    closeSync(d);
    return process.hrtime.bigint() - start;
  },
};

if (worker === '--worker') {
  await import('../index.mjs'); // loading the package is not part of the write
  const data = Buffer.alloc(Number(kibArg) * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const ns = await CONTENDERS[contender](dirArg, Number(partsArg), data);
  console.log(JSON.stringify({ seconds: Number(ns) / 1e9 }));
  process.exit(0);
}

const rounds = Number(roundsArg) || 7;
const parts = Number(partsArg) || 100;
const kib = Number(kibArg) || 1024;
const work = join(here, '.work');
mkdirSync(work, { recursive: true });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const times = Object.fromEntries(Object.keys(CONTENDERS).map((c) => [c, []]));
for (let r = 0; r < rounds; r++) {
  for (const c of Object.keys(CONTENDERS)) {
    const dir = mkdtempSync(join(work, 'ds-'));
    try {
      execFileSync('sync');
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '', String(parts), String(kib), '--worker', c, dir], { encoding: 'utf8' });
      const { seconds } = JSON.parse(out.trim().split('\n').pop());
      times[c].push(seconds);
      process.stderr.write(`round ${r + 1} ${c}: ${(seconds * 1000).toFixed(1)} ms\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const base = median(times['fs-fsync-sequential']);
console.log(`\nDataset: ${parts} parts x ${kib} KiB, ${rounds} rounds, medians (ratio to fs-fsync-sequential)\n`);
console.log('| contender | median ms | min ms | ratio |');
console.log('|---|---:|---:|---:|');
for (const [c, xs] of Object.entries(times)) {
  console.log(`| ${c} | ${(median(xs) * 1000).toFixed(1)} | ${(Math.min(...xs) * 1000).toFixed(1)} | ${(median(xs) / base).toFixed(2)}x |`);
}
