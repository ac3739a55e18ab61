// npm run bench: every contender side by side, interleaved round by round (A B C A B C
// ...), each measurement in a fresh process, medians reported as ratios in
// bench/RESULTS.md. `node bench/run.mjs [rounds] [scenario ...]`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIOS, buildC, here, measure as measureIn, median } from './lib.mjs';

const args = process.argv.slice(2);
const rounds = Number(args[0]) || 5;
const only = args.slice(1);

const PLAN = {
  seq1k: ['atomicwriter', 'atomicwriter-sync', 'write-file-atomic', 'write-file-atomic-sync', 'atomically', 'fs-dirsync', 'c'],
  c64: ['atomicwriter', 'write-file-atomic', 'atomically', 'fs-dirsync', 'c'],
  nofsync: ['atomicwriter', 'write-file-atomic', 'atomically'],
  '1m': ['atomicwriter', 'write-file-atomic', 'atomically', 'fs-plain-fsync', 'c'],
  '512m': ['atomicwriter', 'write-file-atomic', 'fs-plain-fsync', 'dd'],
};

const workDir = join(here, '.work');
const cExe = buildC(workDir);
const measure = (contender, scenario) => measureIn(contender, scenario, { base: workDir, cExe });

const results = {};
for (const [scenario, contenders] of Object.entries(PLAN)) {
  if (only.length && !only.includes(scenario)) continue;
  results[scenario] = Object.fromEntries(contenders.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round: whoever runs right after a large write's cleanup
    // pays for its freed blocks (discard) otherwise.
    const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]);
    for (const c of order) {
      const m = measure(c, scenario);
      results[scenario][c].push(m);
      process.stderr.write(`${scenario} ${c} round ${r + 1}: ${(m.ops / m.seconds).toFixed(1)} ops/s\n`);
    }
  }
}

// Require time: fresh processes, interleaved.
const requireTimes = { atomicwriter: [], 'write-file-atomic': [] };
if (!only.length || only.includes('require')) {
  for (let r = 0; r < rounds * 4; r++) {
    for (const [name, spec] of [['atomicwriter', join(here, '..', 'dist', 'index.js')], ['write-file-atomic', 'write-file-atomic']]) {
      const code = `const t=performance.now();require(${JSON.stringify(spec)});console.log(performance.now()-t)`;
      requireTimes[name].push(Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: join(here, '..') })));
    }
  }
}

const summary = { rounds, date: new Date().toISOString(), node: process.version, scenarios: {}, requireMs: {} };
for (const [scenario, byContender] of Object.entries(results)) {
  summary.scenarios[scenario] = Object.fromEntries(
    Object.entries(byContender).map(([c, ms]) => [
      c,
      {
        opsPerSec: median(ms.map((m) => m.ops / m.seconds)),
        mibPerSec: median(ms.map((m) => (m.ops * sizeOf(scenario)) / m.seconds / 2 ** 20)),
        maxRssMiB: median(ms.map((m) => m.maxRssMiB)),
      },
    ]),
  );
}
for (const [name, ts] of Object.entries(requireTimes)) if (ts.length) summary.requireMs[name] = median(ts);

function sizeOf(scenario) {
  return SCENARIOS[scenario].size;
}

mkdirSync(join(here, 'results'), { recursive: true });
// Saved before the 2 GiB step, which can take the machine's memory; a partial run
// (some scenarios named) never overwrites the last full run's results.
if (!only.length) writeFileSync(join(here, 'results', 'write.json'), JSON.stringify(summary, null, 2) + '\n');
// Which contenders can write a single buffer larger than 2 GiB at all.
if (!only.length || only.includes('2g')) {
  summary.twoGiB = {};
  for (const c of ['atomicwriter', 'atomicwriter-sync', 'write-file-atomic', 'write-file-atomic-sync', 'atomically']) {
    try {
      measure(c, '2g');
      summary.twoGiB[c] = 'ok';
    } catch (err) {
      summary.twoGiB[c] = String(err.stderr || err.message).match(/(RangeError|Error)[^\n]*/)?.[0]?.slice(0, 120) ?? 'failed';
    }
    process.stderr.write(`2g ${c}: ${summary.twoGiB[c]}\n`);
  }
}

// A partial run (some scenarios named) only prints: results/ keeps the last full run.
if (!only.length) {
  writeFileSync(join(here, 'results', 'write.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(here, 'results', 'write.md'), report(summary));
}
console.log(report(summary));

function report(s) {
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const lines = [`Command: \`node bench/run.mjs ${args.join(' ')}\` — ${s.date}, Node ${s.node}, medians of ${s.rounds} interleaved rounds.`, ''];
  const titles = {
    seq1k: '1 KiB durable overwrite, sequential (writes/s)',
    c64: '1 KiB durable overwrite, 64 concurrent callers (writes/s)',
    nofsync: '1 KiB overwrite with `fsync: false`, sequential (writes/s)',
    '1m': '1 MiB durable overwrite (MiB/s)',
    '512m': '512 MiB durable write (MiB/s, peak RSS)',
  };
  for (const [scenario, rows] of Object.entries(s.scenarios)) {
    const big = scenario === '1m' || scenario === '512m';
    const ours = rows.atomicwriter;
    lines.push(`### ${titles[scenario]}`, '', '| contender | median | atomicwriter ÷ this | peak RSS MiB |', '|---|---:|---:|---:|');
    for (const [c, r] of Object.entries(rows)) {
      const v = big ? r.mibPerSec : r.opsPerSec;
      const o = big ? ours.mibPerSec : ours.opsPerSec;
      lines.push(`| ${c} | ${fmt(v)} | ${(o / v).toFixed(2)}× | ${r.maxRssMiB.toFixed(0)} |`);
    }
    lines.push('');
  }
  if (Object.keys(s.requireMs).length) {
    lines.push('### `require()` time (ms, fresh process)', '', '| module | median ms |', '|---|---:|');
    for (const [m, v] of Object.entries(s.requireMs)) lines.push(`| ${m} | ${v.toFixed(2)} |`);
    lines.push('');
  }
  if (s.twoGiB) {
    lines.push('### One buffer of 2 GiB + 1 byte', '', '| contender | result |', '|---|---|');
    for (const [c, v] of Object.entries(s.twoGiB)) lines.push(`| ${c} | ${v} |`);
    lines.push('');
  }
  return lines.join('\n');
}
