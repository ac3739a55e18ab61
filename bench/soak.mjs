// Soak (not part of `npm test`): many small durable writes from 64 concurrent callers,
// watching memory (RSS drift) and descriptors (/proc/self/fd before and after); then
// 10,000 writes started at once, in a child under a low `ulimit -n`, none of which may
// fail with EMFILE.
//
//   node bench/soak.mjs [--writes 1000000] [--callers 64] [--burst 10000]
//                       [--burst-ulimit 128] [--dir DIR] [--out bench/results/soak.md]
//
// Writes go to a directory on the disk under test (default: the OS temp dir), each
// caller overwriting its own 16 files in turn with ~100 bytes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const aw = require('../dist/index.js');

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '1000000' },
    callers: { type: 'string', default: '64' },
    burst: { type: 'string', default: '10000' },
    'burst-ulimit': { type: 'string', default: '128' },
    'burst-only': { type: 'boolean', default: false },
    dir: { type: 'string' },
    out: { type: 'string', default: join(here, 'results', 'soak.md') },
  },
});
const WRITES = Number(values.writes);
const CALLERS = Number(values.callers);
const BURST = Number(values.burst);
const FILES_PER_CALLER = 16;

const fdCount = () => readdirSync('/proc/self/fd').length;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const tally = (results) => {
  const t = {};
  for (const r of results) {
    const k = r.status === 'fulfilled' ? 'ok' : String(r.reason?.code ?? r.reason);
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
};

/** 10,000 (BURST) writes to distinct files, all started in the same tick. */
async function burst(base) {
  const dir = mkdtempSync(join(base, 'aw-burst-'));
  const fdsBefore = fdCount();
  const start = performance.now();
  const results = await Promise.allSettled(Array.from({ length: BURST }, (_, i) => aw.writeFile(join(dir, `b${i}`), `burst ${i}\n`)));
  const seconds = (performance.now() - start) / 1000;
  const temps = readdirSync(dir).filter((n) => n.startsWith('.')).length;
  const files = readdirSync(dir).length;
  rmSync(dir, { recursive: true, force: true });
  return { outcomes: tally(results), seconds, temps, files, fdsBefore, fdsAfter: fdCount() };
}

if (values['burst-only']) {
  const base = values.dir ?? tmpdir();
  console.log(JSON.stringify({ ...(await burst(base)), limit: execFileSync('sh', ['-c', 'ulimit -n']).toString().trim() }));
  process.exit(0);
}

const base = values.dir ?? mkdtempSync(join(tmpdir(), 'aw-soak-'));
const filesystem = spawnSync('df', ['-T', base], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/)[1] ?? '?';
console.log(`soak: ${WRITES.toLocaleString('en')} durable writes, ${CALLERS} callers, in ${base} (${filesystem})`);

// Warm up (the addon, the core's threads, the page cache) before the baseline.
await Promise.all(Array.from({ length: CALLERS }, (_, c) => aw.writeFile(join(base, `c${c}-0`), 'warm')));
globalThis.gc?.();
const fdsBefore = fdCount();
const rssBefore = rssMiB();
const samples = [];
let done = 0;
let failed = 0;
const errors = {};
const start = performance.now();
const checkpoint = Math.max(1, Math.floor(WRITES / 10));

async function caller(c) {
  for (let n = 0; ; n++) {
    const i = done++;
    if (i >= WRITES) return;
    try {
      await aw.writeFile(join(base, `c${c}-${n % FILES_PER_CALLER}`), `caller ${c} write ${n} ${'x'.repeat(64)}\n`);
    } catch (err) {
      failed++;
      errors[err.code] = (errors[err.code] ?? 0) + 1;
    }
    if ((i + 1) % checkpoint === 0) {
      const s = { writes: i + 1, seconds: (performance.now() - start) / 1000, rss: rssMiB(), fds: fdCount() };
      samples.push(s);
      console.log(`  ${s.writes.toLocaleString('en')} writes, ${s.seconds.toFixed(1)} s, RSS ${s.rss.toFixed(1)} MiB, ${s.fds} fds`);
    }
  }
}
await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
const seconds = (performance.now() - start) / 1000;
// Let the core's idle threads and any pending closes settle before counting.
await new Promise((r) => setTimeout(r, 500));
globalThis.gc?.();
const fdsAfter = fdCount();
const rssAfter = rssMiB();
const tempsLeft = readdirSync(base).filter((n) => n.startsWith('.')).length;
const firstTenth = samples[0]?.rss ?? rssBefore;
if (!values.dir) rmSync(base, { recursive: true, force: true });

// The burst, in a child under a low descriptor limit (and once here, unlimited).
const limit = values['burst-ulimit'];
const child = spawnSync('bash', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, fileURLToPath(import.meta.url), '--burst-only', '--burst', String(BURST), ...(values.dir ? ['--dir', values.dir] : [])], {
  encoding: 'utf8',
});
const limited = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
const here10k = await burst(values.dir ?? tmpdir());

const lines = [
  '# Soak',
  '',
  `\`node bench/soak.mjs --writes ${WRITES}\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${filesystem} at ${values.dir ?? tmpdir()}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores (shared with other jobs while it ran; the rates are not benchmarks).`,
  WRITES < 1_000_000 ? `Run with ${WRITES.toLocaleString('en')} writes, not the 1,000,000 the script defaults to (time budget); \`--writes 1000000\` runs the full soak.` : '',
  '',
  '## Small durable writes, concurrent callers',
  '',
  '| writes | callers | seconds | writes/s | failed | temps left | RSS before | RSS at 10% | RSS after | drift after 10% | fds before | fds after |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  `| ${WRITES.toLocaleString('en')} | ${CALLERS} | ${seconds.toFixed(1)} | ${Math.round(WRITES / seconds).toLocaleString('en')} | ${failed}${failed ? ` ${JSON.stringify(errors)}` : ''} | ${tempsLeft} | ${rssBefore.toFixed(1)} MiB | ${firstTenth.toFixed(1)} MiB | ${rssAfter.toFixed(1)} MiB | ${(rssAfter - firstTenth).toFixed(1)} MiB | ${fdsBefore} | ${fdsAfter} |`,
  '',
  'Drift is counted from the 10% sample: the first writes grow the allocator, the core\'s threads (up to 128) and V8\'s heap to their working size. Mid-run descriptor counts include the temps and directories of the writes in flight; "fds after" is counted once they are done.',
  '',
  'RSS and descriptors at every tenth:',
  '',
  '| writes | seconds | RSS MiB | fds |',
  '|---:|---:|---:|---:|',
  ...samples.map((s) => `| ${s.writes.toLocaleString('en')} | ${s.seconds.toFixed(1)} | ${s.rss.toFixed(1)} | ${s.fds} |`),
  '',
  `## ${BURST.toLocaleString('en')} writes started at once`,
  '',
  'Each to its own file, all started in one tick. Under a low `ulimit -n` the opens that find no',
  'descriptor wait for one (src/binding/fd-wait.ts) instead of failing with EMFILE.',
  '',
  '| descriptor limit | outcomes | seconds | files | temps left | fds before | fds after |',
  '|---|---|---:|---:|---:|---:|---:|',
  `| ${limited.limit ?? limit} (child under \`ulimit -n ${limit}\`) | ${JSON.stringify(limited.outcomes)} | ${limited.seconds?.toFixed(1)} | ${limited.files} | ${limited.temps} | ${limited.fdsBefore} | ${limited.fdsAfter} |`,
  `| ${execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()} (this process) | ${JSON.stringify(here10k.outcomes)} | ${here10k.seconds.toFixed(1)} | ${here10k.files} | ${here10k.temps} | ${here10k.fdsBefore} | ${here10k.fdsAfter} |`,
  '',
].filter((l, i, all) => l !== '' || all[i - 1] !== '');
writeFileSync(values.out, lines.join('\n') + '\n');
console.log(lines.join('\n'));
const ok = failed === 0 && tempsLeft === 0 && !('EMFILE' in (limited.outcomes ?? { EMFILE: 1 })) && !('EMFILE' in here10k.outcomes);
process.exit(ok ? 0 : 1);
