// One measurement in a fresh process: `node bench/worker.mjs CONTENDER SCENARIO DIR`.
// Prints one JSON line: {ops, seconds, cpuSeconds, maxRssMiB}; cpuSeconds is user + sys
// of the timed part only (every thread of this process, or of the C/dd child).
// BENCH_WRITES overrides the scenario's count (matrix.mjs: 0 for a strace baseline).
// run.mjs and matrix.mjs interleave these.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS } from './lib.mjs';

const require = createRequire(import.meta.url);
const [contender, scenario, dir] = process.argv.slice(2);

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
    case 'write-file-atomic-8': {
      const wfa = require('write-file-atomic-8');
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

const base = SCENARIOS[scenario];
if (!base) throw new Error(`unknown scenario ${scenario}`);
const s = process.env.BENCH_WRITES === undefined ? base : { ...base, writes: Number(process.env.BENCH_WRITES) };

/** User + system CPU seconds of the waited-for children (/proc: clock ticks, 100 Hz). */
function childrenCpu() {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime
}

let ops;
let seconds;
let cpuSeconds;
if (contender === 'c' || contender === 'dd') {
  const exe = process.env.BENCH_C_EXE;
  if (contender === 'c') {
    const out = execFileSync(exe, [dir, String(s.writes), String(s.size), String(s.concurrency), s.fsync ? '1' : '0'], { encoding: 'utf8' });
    [ops, seconds, cpuSeconds] = out.trim().split(' ').map(Number);
  } else {
    const t = performance.now();
    const cpu = childrenCpu();
    // count=0 (a strace baseline) still starts dd, so its own start-up cancels out.
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'dd.bin')}`, `bs=${1 << 20}`, `count=${(s.size >> 20) * s.writes}`, 'conv=fsync'], { stdio: 'ignore' });
    seconds = (performance.now() - t) / 1000;
    cpuSeconds = childrenCpu() - cpu;
    ops = s.writes;
  }
} else {
  const write = await contenderFn(contender);
  const data = Buffer.alloc(s.size, 'x');
  const perWorker = Math.floor(s.writes / s.concurrency);
  const cpu = process.cpuUsage();
  const t = performance.now();
  await Promise.all(
    Array.from({ length: s.concurrency }, async (_, w) => {
      const file = join(dir, `f${w}.bin`);
      for (let i = 0; i < perWorker; i++) await write(file, data, s);
    }),
  );
  seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  cpuSeconds = (used.user + used.system) / 1e6;
  ops = perWorker * s.concurrency;
}
const maxRssMiB = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ contender, scenario, ops, seconds, cpuSeconds, maxRssMiB }));
