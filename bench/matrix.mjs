// The write benchmark across the filesystems users run: it makes them itself (4 GiB
// sparse images on loop devices with direct I/O, so the image file's page cache does not
// absorb the syncs: ext4 with its default journal, xfs, btrfs; plus tmpfs and the
// filesystem bench/ is on), and runs on each, side by side in interleaved rounds, every
// contender of bench/run.mjs's write scenarios. Per contender: median throughput, CPU per
// write (user + sys of the timed part, all threads, from getrusage or /proc), and syscalls
// per write (`strace -f -c` of one short extra round, minus a zero-write baseline).
//
//   sudo node bench/matrix.mjs [--rounds 5] [--fs ext4,xfs,btrfs,tmpfs,root]
//        [--scenarios seq1k,c64,1m,512m] [--scale 1] [--no-strace] [--out bench/results/matrix]
//
// --scale multiplies each scenario's write count (0.25 for a quick look). Loop devices and
// tmpfs need root; without it only `root` (bench/.work) runs. Writes <out>.json and <out>.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, relative } from 'node:path';
import { SCENARIOS, buildC, here, measure, median, scratchWithUndo } from './lib.mjs';

const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
}
const rounds = Number(option('rounds', 5));
const scale = Number(option('scale', 1));
const withStrace = !argv.includes('--no-strace');
const out = option('out', join(here, 'results', 'matrix'));
const isRoot = process.getuid?.() === 0;
const fsNames = option('fs', isRoot ? 'ext4,xfs,btrfs,tmpfs,root' : 'root').split(',');
const scenarioNames = option('scenarios', 'seq1k,c64,1m,512m').split(',');

// Per scenario, who runs. `c` is bench/c/durable_write.c with the scenario's concurrency
// as its thread count: 1 thread sequentially, 64 threads against our 64 callers.
const PLAN = {
  seq1k: ['atomicwriter', 'atomicwriter-sync', 'write-file-atomic', 'atomically', 'fs-dirsync', 'c'],
  c64: ['atomicwriter', 'write-file-atomic', 'atomically', 'fs-dirsync', 'c'],
  '1m': ['atomicwriter', 'atomicwriter-sync', 'write-file-atomic', 'atomically', 'fs-dirsync', 'c'],
  '512m': ['atomicwriter', 'atomicwriter-sync', 'write-file-atomic', 'atomically', 'fs-dirsync', 'dd'],
};
// The short round strace counts (strace slows everything; only the counts are used).
const STRACE_WRITES = { seq1k: 50, c64: 256, '1m': 10, '512m': 1 };

for (const s of scenarioNames) if (!PLAN[s]) throw new Error(`unknown scenario ${s} (known: ${Object.keys(PLAN).join(', ')})`);
if (withStrace) execFileSync('strace', ['-V'], { stdio: 'ignore' });

const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

// ---- Filesystems: made here, removed at the end (and on Ctrl-C).
const { dir: scratchBase, undo, cleanup } = scratchWithUndo('aw-matrix-');

function umount(mnt) {
  // A worker's last close can trail its exit by a moment: retry, then detach lazily.
  for (let i = 0; i < 20; i++) {
    try {
      return sh('umount', mnt);
    } catch {
      execFileSync('sleep', ['0.1']);
    }
  }
  sh('umount', '-l', mnt);
}

const MKFS = { ext4: ['mkfs.ext4', '-q', '-F'], xfs: ['mkfs.xfs', '-q', '-f'], btrfs: ['mkfs.btrfs', '-q', '-f'] };

/** Makes filesystem `name`; returns { dir, info } with how it was made and mounted. */
function makeFilesystem(name) {
  if (name === 'root') {
    const dir = join(here, '.work');
    mkdirSync(dir, { recursive: true });
    return { dir, info: { made: 'the filesystem bench/ is on', ...mountOf(dir) } };
  }
  const mnt = join(scratchBase, `mnt-${name}`);
  mkdirSync(mnt);
  if (name === 'tmpfs') {
    sh('mount', '-t', 'tmpfs', '-o', 'size=2G', 'tmpfs', mnt);
    undo(() => umount(mnt));
    return { dir: mnt, info: { made: 'mount -t tmpfs -o size=2G', ...mountOf(mnt) } };
  }
  if (!MKFS[name]) throw new Error(`unknown filesystem ${name} (known: ext4, xfs, btrfs, tmpfs, root)`);
  const image = join(scratchBase, `${name}.img`);
  sh('truncate', '-s', '4G', image);
  undo(() => rmSync(image, { force: true }));
  const dev = sh('losetup', '--direct-io=on', '--find', '--show', image);
  undo(() => detachIfOurs(dev, image));
  sh(...MKFS[name], dev);
  sh('mount', dev, mnt);
  undo(() => umount(mnt));
  const dio = sh('losetup', '--list', '--noheadings', '--output', 'DIO', dev);
  return { dir: mnt, info: { made: `truncate -s 4G; losetup --direct-io=on (DIO=${dio}); ${MKFS[name].join(' ')}`, device: dev, ...mountOf(mnt) } };
}

// A loop device number is reused as soon as it is free: another program's image may be on
// `dev` by now (if ours was detached by hand), and detaching that would pull a disk from
// under it. Only a device still backed by our image is detached.
function detachIfOurs(dev, image) {
  let backing = '';
  try {
    backing = sh('losetup', '--list', '--noheadings', '--output', 'BACK-FILE', dev).replace(/ \(deleted\)$/, '');
  } catch {
    return;
  }
  if (backing === image) sh('losetup', '-d', dev);
  else process.stderr.write(`cleanup: ${dev} is no longer ${image} (${backing || 'free'}); left alone\n`);
}

function mountOf(dir) {
  const [source, fstype, options] = sh('findmnt', '--noheadings', '--output', 'SOURCE,FSTYPE,OPTIONS', '--target', dir).split(/\s+/);
  // ext4 is journaled when jbd2 runs for its device: the point of this matrix.
  const journal = fstype === 'ext4' ? existsSync(`/proc/fs/jbd2/${basename(source)}-8`) : undefined;
  return { source, fstype, options, journal };
}

// ---- Measurements.
const cExe = buildC(join(here, '.work'));

/** The scenario's write count at this --scale (whole rounds of its callers). */
function writesFor(scenario) {
  const { writes, concurrency } = SCENARIOS[scenario];
  return Math.max(concurrency, Math.round((writes * scale) / concurrency) * concurrency);
}

/** Syscalls per write: strace -f -c of `writes` writes minus a zero-write run. */
function syscallsPerWrite(contender, scenario, base) {
  const count = (writes) => {
    const file = join(scratchBase, `strace-${process.pid}.txt`);
    measure(contender, scenario, { base, cExe, writes, prefix: ['strace', '-f', '-c', '-o', file] });
    const byName = {};
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // % time, seconds, usecs/call, calls, [errors], syscall
      const t = line.trim().split(/\s+/);
      if (!/^\d+\.\d+$/.test(t[0] ?? '') || t.at(-1) === 'total') continue;
      byName[t.at(-1)] = Number(t[3]);
    }
    rmSync(file, { force: true });
    return byName;
  };
  const writes = Math.max(SCENARIOS[scenario].concurrency, STRACE_WRITES[scenario]);
  const [full, none] = [count(writes), count(0)];
  const perCall = Object.entries(full)
    .map(([name, n]) => [name, (n - (none[name] ?? 0)) / writes])
    .filter(([, n]) => n > 0.05)
    .sort((a, b) => b[1] - a[1]);
  return { total: perCall.reduce((sum, [, n]) => sum + n, 0), top: Object.fromEntries(perCall.slice(0, 8).map(([k, n]) => [k, Number(n.toFixed(2))])) };
}

const results = { date: new Date().toISOString(), node: process.version, kernel: sh('uname', '-r'), command: `node bench/matrix.mjs ${argv.join(' ')}`.trim(), rounds, scale, filesystems: {} };
try {
  for (const fsName of fsNames) {
    const { dir, info } = makeFilesystem(fsName);
    // The machine is shared: the load on either side of each filesystem's runs is reported.
    const fsResult = { info, scenarios: {}, load: { before: loadavg().map((x) => Number(x.toFixed(2))) } };
    results.filesystems[fsName] = fsResult;
    process.stderr.write(`== ${fsName}: ${info.fstype} ${info.options}\n`);
    for (const scenario of scenarioNames) {
      const contenders = PLAN[scenario];
      const runs = Object.fromEntries(contenders.map((c) => [c, []]));
      const writes = writesFor(scenario);
      for (let r = 0; r < rounds; r++) {
        // Rotate the order each round (A B C, B C A, ...): whoever follows a large write's
        // cleanup pays for its freed blocks otherwise.
        for (const c of contenders.map((_, i) => contenders[(i + r) % contenders.length])) {
          const m = measure(c, scenario, { base: dir, cExe, writes });
          runs[c].push(m);
          const mib = (m.ops * SCENARIOS[scenario].size) / m.seconds / 2 ** 20;
          process.stderr.write(`${fsName} ${scenario} ${c} round ${r + 1}: ${(m.ops / m.seconds).toFixed(1)} writes/s, ${mib.toFixed(1)} MiB/s, ${((m.cpuSeconds / m.ops) * 1e6).toFixed(0)} µs CPU/write\n`);
        }
      }
      fsResult.scenarios[scenario] = Object.fromEntries(
        contenders.map((c) => {
          const ms = runs[c];
          const row = {
            writesPerSec: median(ms.map((m) => m.ops / m.seconds)),
            mibPerSec: median(ms.map((m) => (m.ops * SCENARIOS[scenario].size) / m.seconds / 2 ** 20)),
            cpuMicrosPerWrite: median(ms.map((m) => (m.cpuSeconds / m.ops) * 1e6)),
            maxRssMiB: median(ms.map((m) => m.maxRssMiB)),
            writes: ms[0].ops,
          };
          if (withStrace) row.syscalls = syscallsPerWrite(c, scenario, dir);
          return [c, row];
        }),
      );
    }
    fsResult.load.after = loadavg().map((x) => Number(x.toFixed(2)));
  }
} finally {
  cleanup();
}

mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(`${out}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${out}.md`, report(results));
process.stdout.write(report(results));
process.stderr.write(`wrote ${relative(process.cwd(), out)}.json and .md\n`);

function report(r) {
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const titles = {
    seq1k: '1 KiB durable overwrite, sequential (writes/s)',
    c64: '1 KiB durable overwrite, 64 concurrent callers (writes/s; `c` has 64 threads)',
    '1m': '1 MiB durable overwrite (MiB/s)',
    '512m': '512 MiB durable write (MiB/s; `dd` is `dd bs=1M conv=fsync`)',
  };
  const lines = [
    `Command: \`${r.command}\` — ${r.date}, Node ${r.node}, Linux ${r.kernel}; medians of ${r.rounds} interleaved round(s), write counts × ${r.scale}.`,
    '',
  ];
  for (const [fsName, { info, scenarios, load }] of Object.entries(r.filesystems)) {
    lines.push(`## ${fsName}`, '', `${info.made}; mounted \`${info.fstype}\` \`${info.options}\`${info.journal === undefined ? '' : `; journal: ${info.journal ? 'yes (jbd2)' : 'NO'}`}.`, '');
    if (load) lines.push(`Load average (1, 5, 15 min) before: ${load.before.join(', ')}; after: ${(load.after ?? []).join(', ')}.`, '');
    for (const [scenario, rows] of Object.entries(scenarios)) {
      const big = scenario === '1m' || scenario === '512m';
      const value = (row) => (big ? row.mibPerSec : row.writesPerSec);
      const ours = value(rows.atomicwriter);
      lines.push(`### ${titles[scenario]}`, '', '| contender | median | atomicwriter ÷ this | CPU µs/write | syscalls/write | top syscalls per write | peak RSS MiB |', '|---|---:|---:|---:|---:|---|---:|');
      for (const [c, row] of Object.entries(rows)) {
        const sc = row.syscalls;
        const top = sc ? Object.entries(sc.top).map(([k, n]) => `${k} ${n}`).join(', ') : '';
        lines.push(`| ${c} | ${fmt(value(row))} | ${(ours / value(row)).toFixed(2)}× | ${row.cpuMicrosPerWrite.toFixed(0)} | ${sc ? sc.total.toFixed(1) : '–'} | ${top} | ${row.maxRssMiB.toFixed(0)} |`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
