// One measurement in a fresh process: `node bench/worker.mjs CONTENDER SCENARIO DIR`.
// Prints one JSON line: {ops, seconds, maxRssMiB}. run.mjs interleaves these.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const [contender, scenario, dir] = process.argv.slice(2);

const SCENARIOS = {
  seq1k: { size: 1024, writes: 300, concurrency: 1, fsync: true },
  c64: { size: 1024, writes: 2048, concurrency: 64, fsync: true },
  nofsync: { size: 1024, writes: 5000, concurrency: 1, fsync: false },
  '1m': { size: 1 << 20, writes: 40, concurrency: 1, fsync: true },
  '512m': { size: 512 << 20, writes: 1, concurrency: 1, fsync: true },
  '2g': { size: 2 ** 31 + 1, writes: 1, concurrency: 1, fsync: false },
};

// The hand-rolled version a careful user writes with plain fs: temp, write,
// fdatasync, rename, directory fsync.
async function fsDirsync(file, data, { fsync }) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await fs.promises.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    if (fsync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  if (fsync) {
    const d = await fs.promises.open(join(file, '..'), 'r');
    await d.sync();
    await d.close();
  }
}

// Not atomic: what a user writes without atomicity, with a sync for durability.
async function plainFsync(file, data) {
  const fh = await fs.promises.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function contenderFn(name) {
  switch (name) {
    case 'atomicwriter': {
      const aw = require('../dist/index.js');
      return (file, data, o) => aw(file, data, { fsync: o.fsync });
    }
    case 'atomicwriter-sync': {
      const aw = require('../dist/index.js');
      return (file, data, o) => aw.sync(file, data, { fsync: o.fsync });
    }
    case 'write-file-atomic': {
      const wfa = require('write-file-atomic');
      return (file, data, o) => wfa(file, data, { fsync: o.fsync });
    }
    case 'write-file-atomic-sync': {
      const wfa = require('write-file-atomic');
      return (file, data, o) => wfa.sync(file, data, { fsync: o.fsync });
    }
    case 'atomically': {
      const { writeFile } = await import('atomically');
      return (file, data, o) => writeFile(file, data, { fsync: o.fsync });
    }
    case 'fs-dirsync':
      return fsDirsync;
    case 'fs-plain-fsync':
      return plainFsync;
    default:
      throw new Error(`unknown contender ${name}`);
  }
}

const s = SCENARIOS[scenario];
if (!s) throw new Error(`unknown scenario ${scenario}`);
let ops;
let seconds;
if (contender === 'c' || contender === 'dd') {
  const exe = process.env.BENCH_C_EXE;
  if (contender === 'c') {
    const out = execFileSync(exe, [dir, String(s.writes), String(s.size), String(s.concurrency), s.fsync ? '1' : '0'], { encoding: 'utf8' });
    [ops, seconds] = out.trim().split(' ').map(Number);
  } else {
    const t = performance.now();
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'dd.bin')}`, `bs=${1 << 20}`, `count=${s.size >> 20}`, 'conv=fsync'], { stdio: 'ignore' });
    seconds = (performance.now() - t) / 1000;
    ops = 1;
  }
} else {
  const write = await contenderFn(contender);
  const data = Buffer.alloc(s.size, 'x');
  const perWorker = Math.floor(s.writes / s.concurrency);
  const t = performance.now();
  await Promise.all(
    Array.from({ length: s.concurrency }, async (_, w) => {
      const file = join(dir, `f${w}.bin`);
      for (let i = 0; i < perWorker; i++) await write(file, data, s);
    }),
  );
  seconds = (performance.now() - t) / 1000;
  ops = perWorker * s.concurrency;
}
const maxRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ contender, scenario, ops, seconds, maxRssMiB }));
