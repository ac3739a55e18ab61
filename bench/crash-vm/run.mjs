// npm run crashtest:vm — OS crashes (power-loss model) under QEMU software emulation.
//
// Each trial boots Debian's stock kernel with a fresh data disk (ext4 noauto_da_alloc,
// xfs or btrfs; `cache=unsafe`, so the host page cache is the disk and only the guest's
// own caches die), runs writers that print `ACK <api> <n>` on the serial console once
// write n resolved, and crashes the guest kernel (sysrq c) a random 0.2-12 s after they
// start (a tenth of the xfs trials wait 30-40 s, past xfs's periodic log flush). Then the
// host loop-mounts the image (journal replay) and checks every target: whole, and at
// least the last acknowledged generation; `sweep` must then leave only the targets.
//
// Subjects: `atomicwriter` boots all five durable APIs at once, each in its own
// directory; `writeFile`, ... one API alone; `write-file-atomic` and `atomically` run
// alone, so that no directory fsync of ours persists their renames for them.
//
//   node bench/crash-vm/run.mjs [--trials 100] [--peer-trials 20] [--alone-trials 10]
//        [--fs ext4,xfs,btrfs] [--subjects atomicwriter,write-file-atomic,atomically,
//        writeFile,...] [--parallel 2] [--max-delay 12] [--smoke] [--merge]
// --trials counts boots of `atomicwriter` (all five APIs) per filesystem; --alone-trials
// boots of each API alone, which no other API's directory fsync can cover for.
// Writes bench/results/crash-vm.md and .json (not with --smoke; with --merge, the boots
// of the last results for the cells this run does not boot are kept). Exit 1 if any
// atomicwriter API tore or lost a write, or a trial did not crash as planned.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FILESYSTEMS, buildImages } from './image.mjs';
import { PEERS, SUBJECTS, apisOf, seedAll } from './subjects.mjs';
import { sweep } from '../../index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '100' },
    'peer-trials': { type: 'string', default: '20' },
    'alone-trials': { type: 'string', default: '10' },
    fs: { type: 'string', default: 'ext4,xfs,btrfs' },
    subjects: { type: 'string', default: 'atomicwriter,write-file-atomic,atomically,writeFile,writeFileSync,createWriteStream,updateJson,writeDataset' },
    parallel: { type: 'string', default: String(Math.max(1, os.cpus().length)) },
    'max-delay': { type: 'string', default: '12' },
    smoke: { type: 'boolean', default: false },
    merge: { type: 'boolean', default: false },
  },
});
const smoke = values.smoke;
const kinds = values.fs.split(',');
const subjects = smoke ? ['atomicwriter'] : values.subjects.split(',');
for (const fs of kinds) if (!FILESYSTEMS[fs]) throw new Error(`unknown filesystem ${fs}; one of ${Object.keys(FILESYSTEMS)}`);
for (const s of subjects) if (s !== 'atomicwriter' && !SUBJECTS[s]) throw new Error(`unknown subject ${s}`);
const trialsOf = (subject) => {
  if (smoke) return 1;
  if (subject === 'atomicwriter') return Number(values.trials);
  return Number(values[PEERS.includes(subject) ? 'peer-trials' : 'alone-trials']);
};
const maxDelay = Number(values['max-delay']);
const sh = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// Images copied from one pristine image share a filesystem UUID, which xfs and btrfs
// refuse to mount twice at once: one mounted image at a time.
let mountQueue = Promise.resolve();
function withMounted(img, fs, fn) {
  const turn = mountQueue.then(async () => {
    const mnt = mkdtempSync(join(os.tmpdir(), 'aw-vm-mnt-'));
    sh('mount', ['-o', fs === 'xfs' ? 'loop,nouuid' : 'loop', '-t', fs, img, mnt]);
    try {
      return await fn(mnt);
    } finally {
      sh('umount', [mnt]);
      rmSync(mnt, { recursive: true });
    }
  });
  mountQueue = turn.catch(() => {});
  return turn;
}

function delayFor(fs, i) {
  if (fs === 'xfs' && i % 10 === 9) return 30 + Math.random() * 10;
  return 0.2 + Math.random() * (maxDelay - 0.2);
}

/** Boots one guest and returns its console lines once it has crashed (or hung, or failed). */
function boot(img, fs, subject, delay) {
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-m', '1024', '-smp', '1',
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-nic', 'none', '-no-reboot',
    '-kernel', images.kernel, '-initrd', images.initrd,
    '-append', `console=ttyS0 quiet loglevel=3 panic=-1 oops=panic mitigations=off aw.fs=${fs} aw.opts=${FILESYSTEMS[fs].options} aw.subject=${subject} aw.delay=${delay.toFixed(2)}`,
    '-drive', `file=${img},if=virtio,format=raw,cache=unsafe`,
    '-drive', `file=${images.pkg},if=virtio,format=raw,readonly=on`,
  ];
  return new Promise((resolve, reject) => {
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    qemu.stdout.setEncoding('latin1').on('data', (s) => (out += s));
    qemu.stderr.setEncoding('latin1').on('data', (s) => (out += s));
    const timer = setTimeout(() => qemu.kill('SIGKILL'), (delay + 120) * 1000);
    qemu.on('error', reject);
    qemu.on('close', () => {
      clearTimeout(timer);
      resolve(out.split(/\r?\n/));
    });
  });
}

async function trial(fs, subject, i, slot) {
  const dir = join(os.tmpdir(), `aw-vm-${process.pid}-${slot}`);
  mkdirSync(dir, { recursive: true });
  const img = join(dir, 'data.img');
  execFileSync('cp', ['--sparse=always', seeded[fs], img]);
  const delay = delayFor(fs, i);
  const t0 = Date.now();
  const lines = await boot(img, fs, subject, delay);
  const seconds = (Date.now() - t0) / 1000;
  const acked = {};
  for (const l of lines) {
    const m = /^ACK (\S+) (\d+)$/.exec(l.trim());
    if (m) acked[m[1]] = Number(m[2]);
  }
  const ready = lines.some((l) => l.startsWith('READY'));
  const crashed = lines.some((l) => l.includes('sysrq: Trigger a crash'));
  const writerDied = lines.filter((l) => l.startsWith('WRITER-EXIT'));
  const result = { fs, subject, trial: i, delay: Number(delay.toFixed(2)), seconds: Number(seconds.toFixed(1)), apis: {} };
  if (!ready || !crashed || writerDied.length) {
    const said = lines.filter((l) => l.trim() && !/^\[\s*\d/.test(l));
    result.error = `the guest did not run as planned (ready ${ready}, crashed ${crashed}); last words: ${JSON.stringify(said.slice(-3).join(' | '))}${writerDied.length ? `; ${writerDied.join('; ')}` : ''}`;
    result.console = lines.slice(-40);
    rmSync(dir, { recursive: true, force: true });
    return result;
  }
  await withMounted(img, fs, async (mnt) => {
    for (const api of apisOf(subject)) {
      const apiDir = join(mnt, api);
      const r = { acked: acked[api] ?? 0 };
      try {
        r.onDisk = await SUBJECTS[api].check(apiDir, r.acked);
        r.verdict = r.onDisk === r.acked ? 'acked' : 'newer';
      } catch (e) {
        r.verdict = String(e.message).startsWith('lost') ? 'lost' : 'torn';
        r.message = e.message;
      }
      const targets = SUBJECTS[api].targets;
      const temps = readdirSync(apiDir).filter((n) => !targets.includes(n));
      r.tempsLeft = temps.length;
      // sweep counts a temp's age on the host's clock; the guest's (set from the RTC,
      // whole seconds) can run ahead of it, so a temp can look written in the future.
      const now = Date.now();
      r.futureMs = Math.max(0, ...temps.map((n) => lstatSync(join(apiDir, n)).mtimeMs - now));
      if (r.futureMs > 0) await new Promise((resolve) => setTimeout(resolve, r.futureMs + 50));
      await sweep(apiDir, { olderThan: 0 });
      const after = readdirSync(apiDir).filter((n) => !targets.includes(n));
      r.leftAfterSweep = after.length;
      result.apis[api] = r;
    }
  });
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const started = Date.now();
const images = buildImages(kinds);
// Seed generation 0 of every subject into each pristine image once; the unmount makes it durable.
const seeded = {};
for (const fs of kinds) {
  const img = join(dirname(images.data[fs]), `seeded-${fs}.img`);
  execFileSync('cp', ['--sparse=always', images.data[fs], img]);
  await withMounted(img, fs, (mnt) => seedAll(mnt));
  seeded[fs] = img;
}
console.error(`crash-vm: images ready in ${((Date.now() - started) / 1000).toFixed(1)} s (kernel ${images.kernelPackage})`);

// The plan, interleaved (filesystems and subjects alternate) so a slow spell of the
// machine does not land on one cell.
const plan = [];
const most = Math.max(...subjects.map(trialsOf));
for (let i = 0; i < most; i++) for (const subject of subjects) for (const fs of kinds) if (i < trialsOf(subject)) plan.push({ fs, subject, i });

const results = [];
let next = 0;
const parallel = Math.min(Number(values.parallel), plan.length);
await Promise.all(
  Array.from({ length: parallel }, async (_, slot) => {
    while (next < plan.length) {
      const { fs, subject, i } = plan[next++];
      const r = await trial(fs, subject, i, slot);
      results.push(r);
      const summary = r.error ? `ERROR ${r.error.split('\n')[0]}` : Object.entries(r.apis).map(([a, x]) => `${a} ${x.verdict} (ack ${x.acked}, disk ${x.onDisk ?? '-'})`).join(', ');
      console.error(`[${results.length}/${plan.length}] ${fs} ${subject} #${i} crash at ${r.delay} s, ${r.seconds} s: ${summary}`);
    }
  }),
);

// --merge: keep the earlier run's boots of every (filesystem, subject) this run did not
// boot, e.g. after a fix that concerns one filesystem only.
const resultsFile = join(root, 'bench', 'results', 'crash-vm.json');
const commands = [];
let allTrials = results;
if (values.merge && existsSync(resultsFile)) {
  const earlier = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const rerun = new Set(plan.map((p) => `${p.fs}|${p.subject}`));
  const kept = earlier.trials.filter((t) => !rerun.has(`${t.fs}|${t.subject}`));
  allTrials = [...kept, ...results];
  commands.push(...(earlier.commands ?? [earlier.command]).map((c) => `${c} (kept: ${[...new Set(kept.map((t) => t.fs))].join(', ') || 'nothing'})`));
}

// Tally per (filesystem, API, how it ran).
const cells = new Map();
for (const r of allTrials) {
  for (const api of apisOf(r.subject)) {
    const key = `${r.fs}|${api}|${r.subject === 'atomicwriter' ? 'together' : 'alone'}`;
    const c = cells.get(key) ?? { fs: r.fs, api, ran: r.subject === 'atomicwriter' ? 'with the other four APIs' : 'alone', trials: 0, errors: 0, acked: 0, newer: 0, torn: 0, lost: 0, acks: 0, tempsLeft: 0, leftAfterSweep: 0, failures: [] };
    cells.set(key, c);
    c.trials++;
    if (r.error) {
      c.errors++;
      c.failures.push(`trial ${r.trial}: ${r.error.split('\n')[0]}`);
      continue;
    }
    const x = r.apis[api];
    c[x.verdict]++;
    c.acks += x.acked;
    c.tempsLeft += x.tempsLeft;
    c.leftAfterSweep += x.leftAfterSweep;
    if (x.message) c.failures.push(`trial ${r.trial} (crash at ${r.delay} s): ${x.message}`);
  }
}
const fsOrder = Object.keys(FILESYSTEMS);
const table = [...cells.values()].sort((a, b) => fsOrder.indexOf(a.fs) - fsOrder.indexOf(b.fs) || Object.keys(SUBJECTS).indexOf(a.api) - Object.keys(SUBJECTS).indexOf(b.api));
const ours = (c) => !PEERS.includes(c.api);
const failed = table.some((c) => c.errors || (ours(c) && (c.torn || c.lost || c.leftAfterSweep)));
const command = `node bench/crash-vm/run.mjs${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`;
commands.push(command);
const minutes = ((Date.now() - started) / 60000).toFixed(1);
const secondsPerTrial = results.length ? (results.reduce((s, r) => s + r.seconds, 0) / results.length).toFixed(1) : '-';

const md = [
  `Command${commands.length > 1 ? 's' : ''}: ${commands.map((c) => `\`${c}\``).join(' then ')} — ${new Date().toISOString()}; this run: ${results.length} guest crashes in ${minutes} min (${secondsPerTrial} s per boot, ${parallel} at once). Guest: Debian's \`${images.kernelPackage}\` (${images.kernelVersion}) under \`qemu-system-x86_64 -accel tcg -cpu max\`, 1 vCPU, 1 GiB, data disk virtio \`cache=unsafe\`; host Linux ${os.release()}, Node ${process.version} in both.`,
  '',
  `Each boot runs writers that print \`ACK <api> <n>\` on the serial console once write n has resolved, then the guest kernel is crashed with \`echo c > /proc/sysrq-trigger\` a random 0.2-${maxDelay} s after the writers start (1 in 10 xfs trials: 30-40 s, past xfs's periodic log flush). The host then loop-mounts the image (journal replay) and checks each target with independent readers: whole (payload header, size and fill; JSON.parse and derived padding; \`verify\` and every part against version.txt) and at least the last acknowledged generation. "acked" / "newer": the disk holds the last acknowledged write / the one in flight after it. Temps left: orphaned named temps the crash left in the directory, which \`sweep\` must remove.`,
  '',
  '| filesystem | API | ran | crashes | torn | lost acknowledged | acked | newer | acknowledged writes per crash | temps left | left after sweep | boot errors |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...table.map((c) => `| ${FILESYSTEMS[c.fs].label} | ${ours(c) ? `\`${c.api}\`` : c.api} | ${c.ran} | ${c.trials - c.errors} | ${c.torn} | ${c.lost} | ${c.acked} | ${c.newer} | ${c.trials - c.errors ? (c.acks / (c.trials - c.errors)).toFixed(1) : '-'} | ${c.tempsLeft} | ${ours(c) ? c.leftAfterSweep : 'n/a'} | ${c.errors} |`),
  '',
  ...Object.entries(SUBJECTS).filter(([n]) => table.some((c) => c.api === n)).map(([n, s]) => `- ${PEERS.includes(n) ? n : `\`${n}\``}: ${s.description}.`),
  '',
  ...table.flatMap((c) => c.failures.slice(0, 10).map((f) => `- ${ours(c) ? 'FAILURE' : 'peer'} ${c.fs} \`${c.api}\` ${f}`)),
  '',
];
const json = { command: commands.join(' then '), commands, date: new Date().toISOString(), kernel: images.kernelPackage, host: os.release(), node: process.version, maxDelay, cells: table, trials: allTrials };
if (smoke) {
  console.log(md.join('\n'));
} else {
  writeFileSync(join(root, 'bench', 'results', 'crash-vm.md'), md.join('\n'));
  writeFileSync(join(root, 'bench', 'results', 'crash-vm.json'), JSON.stringify(json, null, 1) + '\n');
  console.log(md.join('\n'));
  console.error(`wrote bench/results/crash-vm.md and crash-vm.json in ${minutes} min`);
}
for (const fs of kinds) rmSync(seeded[fs], { force: true });
if (failed) process.exitCode = 1;
