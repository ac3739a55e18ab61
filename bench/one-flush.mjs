// The one-flush commit measured: on loop-mounted journaled ext4 and xfs (4 GiB sparse
// images, losetup --direct-io=on, default mkfs options), 1 KiB durable overwrites
// sequentially and with 64 callers, medians of interleaved rounds of
//   atomicwriter / atomicwriter-sync           the one-flush commit (the default there)
//   atomicwriter-2f / atomicwriter-sync-2f     ATOMICWRITER_ONE_FLUSH=0: fdatasync + directory fsync
//   write-file-atomic-8                        fsync + rename, no directory fsync (not durable)
//   c                                          bench/c/durable_write.c: fdatasync + rename + fsync(dir)
//   c-wait                                     the same built with -DWAIT_DATA: sync_file_range-and-wait
//                                              in place of fdatasync (the C limit of one flush)
//
//   sudo node bench/one-flush.mjs [--rounds 5] [--fs ext4,xfs] [--scenarios seq1k,c64] [--scale 1]
// Writes bench/results/one-flush.json and .md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SCENARIOS, here, measure, median, scratchWithUndo } from './lib.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const rounds = Number(option('rounds', 5));
const scale = Number(option('scale', 1));
const fsNames = option('fs', 'ext4,xfs').split(',');
const scenarios = option('scenarios', 'seq1k,c64').split(',');
const CONTENDERS = ['atomicwriter', 'atomicwriter-2f', 'atomicwriter-sync', 'atomicwriter-sync-2f', 'write-file-atomic-8', 'c', 'c-wait'];
const MKFS = { ext4: ['mkfs.ext4', '-q', '-F'], xfs: ['mkfs.xfs', '-q', '-f'] };

const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const { dir: work, undo, undoAll, cleanup } = scratchWithUndo('aw-one-flush-');

const cc = (name, defines) => {
  const exe = join(work, name);
  execFileSync('cc', ['-O2', '-pthread', ...defines, '-o', exe, join(here, 'c', 'durable_write.c')]);
  return exe;
};
const cExe = { c: cc('durable_write', []), 'c-wait': cc('durable_write_wait', ['-DWAIT_DATA']) };

function one(contender, scenario, base) {
  const twoFlush = contender.endsWith('-2f');
  const name = twoFlush ? contender.slice(0, -3) : contender;
  if (twoFlush) process.env.ATOMICWRITER_ONE_FLUSH = '0'; // read by measure()'s child only
  try {
    const writes = Math.max(SCENARIOS[scenario].concurrency, Math.round(SCENARIOS[scenario].writes * scale));
    return measure(name.startsWith('c') && name !== 'c' ? 'c' : name, scenario, { base, cExe: cExe[name] ?? cExe.c, writes });
  } finally {
    delete process.env.ATOMICWRITER_ONE_FLUSH;
  }
}

const results = { date: new Date().toISOString(), kernel: sh('uname', '-r'), node: process.version, command: `node bench/one-flush.mjs ${argv.join(' ')}`.trim(), rounds, scale, filesystems: {} };
try {
  for (const fs of fsNames) {
    const image = join(work, `${fs}.img`);
    sh('truncate', '-s', '4G', image);
    sh(MKFS[fs][0], ...MKFS[fs].slice(1), image);
    const loop = sh('losetup', '--direct-io=on', '-f', '--show', image);
    undo(() => sh('losetup', '-d', loop));
    const mnt = join(work, `${fs}-mnt`);
    mkdirSync(mnt);
    sh('mount', loop, mnt);
    undo(() => sh('umount', mnt));
    const oneFlush = createRequire(import.meta.url)('../native/binding.js').oneFlushAt(mnt);
    if (!oneFlush) throw new Error(`${fs}: the one-flush commit is not on at ${mnt}`);
    const byScenario = {};
    for (const scenario of scenarios) {
      // 64 callers of a sync API would only take turns: the sync API runs sequentially only.
      const contenders = CONTENDERS.filter((c) => scenario === 'seq1k' || !c.includes('sync'));
      const samples = Object.fromEntries(contenders.map((c) => [c, []]));
      for (let r = 0; r < rounds; r++) {
        // Interleaved, in a rotating order, so drift in the machine's load hits all alike.
        const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]);
        for (const c of order) samples[c].push(one(c, scenario, mnt));
        process.stderr.write(`${fs} ${scenario} round ${r + 1}/${rounds}: ${order.map((c) => `${c} ${Math.round(samples[c].at(-1).ops / samples[c].at(-1).seconds)}`).join(', ')}\n`);
      }
      byScenario[scenario] = Object.fromEntries(
        contenders.map((c) => [c, { writesPerSec: median(samples[c].map((m) => m.ops / m.seconds)), cpuMicrosPerWrite: median(samples[c].map((m) => (m.cpuSeconds / m.ops) * 1e6)), rounds: samples[c].map((m) => Math.round(m.ops / m.seconds)) }]),
      );
    }
    results.filesystems[fs] = byScenario;
    undoAll(); // unmount and detach before the next
  }
} finally {
  cleanup();
}

const out = join(here, 'results', 'one-flush');
writeFileSync(`${out}.json`, JSON.stringify(results, null, 2) + '\n');
const lines = [`Command: \`${results.command}\` — ${results.date}, Node ${results.node}, Linux ${results.kernel}; medians of ${rounds} interleaved rounds, write counts × ${scale}; 1 KiB durable overwrites; loop images with direct I/O.`, ''];
for (const [fs, byScenario] of Object.entries(results.filesystems)) {
  for (const [scenario, m] of Object.entries(byScenario)) {
    const wfa = m['write-file-atomic-8'].writesPerSec;
    lines.push(`#### ${fs}, ${scenario === 'seq1k' ? 'sequential' : '64 callers'}`, '', '| contender | writes/s (median) | ÷ write-file-atomic 8 | ÷ two-flush (same API / C) | CPU µs/write | rounds |', '|---|---:|---:|---:|---:|---|');
    const pair = { atomicwriter: 'atomicwriter-2f', 'atomicwriter-sync': 'atomicwriter-sync-2f', 'c-wait': 'c' };
    for (const [c, v] of Object.entries(m)) {
      const vs = pair[c] ? (v.writesPerSec / m[pair[c]].writesPerSec).toFixed(2) : '';
      lines.push(`| ${c} | ${Math.round(v.writesPerSec)} | ${(v.writesPerSec / wfa).toFixed(2)} | ${vs} | ${Math.round(v.cpuMicrosPerWrite)} | ${v.rounds.join(', ')} |`);
    }
    lines.push('');
  }
}
writeFileSync(`${out}.md`, lines.join('\n'));
console.log(lines.join('\n'));
