// npm run crashtest:vm — OS crashes and power cuts under QEMU software emulation.
//
// Two models (--model):
//   os     (default) the data disk is a file on `cache=unsafe`, so the host page cache is
//          the disk and only the guest's own caches die: the guest kernel is crashed
//          (sysrq c) a random 0.2-12 s after the writers start (a tenth of the xfs trials
//          wait 30-40 s, past xfs's periodic log flush). Models an OS crash.
//   power  the data disk is served over NBD by bench/crash-vm/power-disk.mjs, in this
//          process: a disk with a volatile write cache (the guest sees "write back" and
//          sends flushes). At a random moment as above the host freezes the disk, keeps
//          the ACK lines it had read by then, and kills QEMU with SIGKILL; then it checks
//          several persisted images of that one cut (power-disk.mjs KINDS: only what was
//          flushed; a prefix of the unflushed writes; a random subset; all of them; with
//          torn 4 KiB sectors). Models a power cut on a disk that honours flushes.
// Writers print `ACK <api> <n>` on the serial console once write n has resolved. Then the
// host loop-mounts each image (journal replay) and checks every target: whole, and at
// least the last acknowledged generation; `sweep` must then leave only the targets.
//
// Subjects: `atomicwriter` boots all five durable APIs at once, each in its own
// directory; `writeFile`, ... one API alone; `write-file-atomic` and `atomically` run
// alone, so that no directory fsync of ours persists their renames for them; `no-fsync`
// and `no-dir-fsync` are the model's self-test (writers that must lose writes).
//
//   node bench/crash-vm/run.mjs [--model os|power] [--trials 100] [--peer-trials 20]
//        [--alone-trials 10] [--control-trials 10] [--os-control-trials 0]
//        [--os-controls no-fsync,no-dir-fsync] [--fs ext4,ext4-defaults,xfs,btrfs]
//        [--subjects atomicwriter,write-file-atomic,atomically,writeFile,...,no-fsync]
//        [--parallel 2] [--max-delay 12] [--min-delay 0.2] [--snapshots 24] [--snapshot-every 10] [--smoke] [--merge] [--log FILE] [--report]
// (the os model's default subjects are our APIs and the peers; the power model's is
// `atomicwriter` alone; --os-control-trials adds OS-crash boots of the self-test's
// writers to a power run, into the same log).
// --trials counts boots of `atomicwriter` (all five APIs) per filesystem; --alone-trials
// boots of each API alone, which no other API's directory fsync can cover for.
// The os model writes bench/results/crash-vm.md and .json (not with --smoke or --log;
// with --merge, the boots of the last results for the cells this run does not boot are
// kept). The power model appends every boot, as it finishes, to --log (default
// bench/results/crash-power.jsonl, which an os-model run given --log can share) and
// renders bench/results/crash-power.md from the whole log; --report only renders.
// Either prints one JSON line per filesystem and subject of this run at the end. Exit 1
// if any atomicwriter API tore or lost a write, or a trial did not run as planned.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DATA_BYTES, FILESYSTEMS, buildImages } from './image.mjs';
import { IMAGES_PER_CUT, VolatileDisk } from './power-disk.mjs';
import { cutsOf, renderPower } from './report.mjs';
import { CONTROLS, PEERS, SUBJECTS, apisOf, seedAll } from './subjects.mjs';
import { sweep } from '../../index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'os' },
    trials: { type: 'string', default: '100' },
    'peer-trials': { type: 'string', default: '20' },
    'alone-trials': { type: 'string', default: '10' },
    'control-trials': { type: 'string', default: '10' },
    'os-control-trials': { type: 'string', default: '0' },
    'os-controls': { type: 'string', default: 'no-fsync,no-dir-fsync' },
    fs: { type: 'string', default: 'ext4,xfs,btrfs' },
    subjects: { type: 'string', default: 'atomicwriter,write-file-atomic,atomically,writeFile,writeFileSync,createWriteStream,updateJson,writeDataset' },
    parallel: { type: 'string', default: String(Math.max(1, os.cpus().length)) },
    'max-delay': { type: 'string', default: '12' },
    'min-delay': { type: 'string', default: '0.2' },
    snapshots: { type: 'string', default: '24' },
    'snapshot-every': { type: 'string', default: '10' },
    smoke: { type: 'boolean', default: false },
    merge: { type: 'boolean', default: false },
    log: { type: 'string' },
    report: { type: 'boolean', default: false },
  },
});
const model = values.model;
if (model !== 'os' && model !== 'power') throw new Error(`--model is os or power, not ${model}`);
const power = model === 'power';
const logFile = values.smoke ? null : values.log ? resolve(values.log) : power ? join(root, 'bench', 'results', 'crash-power.jsonl') : null;
// A log of its own (--log) renders beside it, so crash-power.md stays the main log's.
const powerMd = values.log ? logFile.replace(/\.jsonl$/, '') + '.md' : join(root, 'bench', 'results', 'crash-power.md');
// The log as the rendered page names it (the main log's page also carries its history).
const logName = logFile ? relative(root, logFile) : 'this run (not logged)';
if (values.report) {
  writeFileSync(powerMd, renderPower(readLog(logFile ?? join(root, 'bench', 'results', 'crash-power.jsonl')), { log: logFile ? logName : 'bench/results/crash-power.jsonl' }));
  console.error(`wrote ${powerMd}`);
  process.exit(0);
}
const smoke = values.smoke;
const kinds = values.fs.split(',');
// --smoke: `atomicwriter` once per filesystem, unless --subjects / --trials say otherwise.
const given = (flag) => process.argv.some((a) => a === flag || a.startsWith(`${flag}=`));
// --model power without --subjects: `atomicwriter` only (`--model power --trials 3` is
// three boots per filesystem; peers and the self-test are asked for by name).
const subjects = (smoke || values.model === 'power') && !given('--subjects') ? ['atomicwriter'] : values.subjects.split(',');
for (const fs of kinds) if (!FILESYSTEMS[fs]) throw new Error(`unknown filesystem ${fs}; one of ${Object.keys(FILESYSTEMS)}`);
for (const s of subjects) if (s !== 'atomicwriter' && !SUBJECTS[s]) throw new Error(`unknown subject ${s}`);
const trialsOf = (subject) => {
  if (smoke && !given('--trials')) return 1;
  if (subject === 'atomicwriter') return Number(values.trials);
  if (CONTROLS.includes(subject)) return Number(values['control-trials']);
  return Number(values[PEERS.includes(subject) ? 'peer-trials' : 'alone-trials']);
};
const maxDelay = Number(values['max-delay']);
// --min-delay (default 0.2 s): a later earliest cut leaves more writes, so more io cuts, per boot.
const minDelay = Number(values['min-delay']);
// Power model: up to SNAPSHOTS io cuts per boot, each at a random 1st to SNAPSHOT_EVERY-th
// write after the one before (--snapshots, --snapshot-every: more cuts per boot when the
// guest writes slowly on a loaded host; each is a cut like any other).
const SNAPSHOTS = Number(values.snapshots);
const SNAPSHOT_EVERY = Number(values['snapshot-every']);
// Longest a guest may take to boot and start its writers, and how long after its crash
// was due (counted from READY) the host kills a guest that is still running.
const BOOT_LIMIT_S = 600;
const LATE_S = 90;
const sh = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const ours = (api) => !PEERS.includes(api) && !CONTROLS.includes(api);

function readLog(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// A checker's descriptor can outlive its promise by a moment (a replaced file is closed
// on a core thread after the commit): retry a busy unmount for up to 2 s, then detach it
// lazily, saying so, rather than fail the whole run.
function unmount(mnt) {
  for (let i = 0; i < 20; i++) {
    try {
      return void sh('umount', [mnt]);
    } catch (e) {
      if (!/busy/.test(String(e.stderr ?? ''))) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  console.error(`crash-vm: ${mnt} stayed busy for 2 s; detached lazily (umount -l)`);
  sh('umount', ['-l', mnt]);
}

// Images copied from one pristine image share a filesystem UUID, which xfs and btrfs
// refuse to mount twice at once: one mounted image at a time.
let mountQueue = Promise.resolve();
function withMounted(img, fs, fn) {
  const turn = mountQueue.then(async () => {
    const mnt = mkdtempSync(join(os.tmpdir(), 'aw-vm-mnt-'));
    const type = FILESYSTEMS[fs].type;
    try {
      sh('mount', ['-o', type === 'xfs' ? 'loop,nouuid' : 'loop', '-t', type, img, mnt]);
    } catch (e) {
      rmSync(mnt, { recursive: true });
      throw new Error(`unmountable: ${String(e.stderr ?? e.message).trim().split('\n').pop()}`);
    }
    try {
      return await fn(mnt);
    } finally {
      unmount(mnt);
      rmSync(mnt, { recursive: true });
    }
  });
  mountQueue = turn.catch(() => {});
  return turn;
}

function delayFor(fs, i) {
  if (FILESYSTEMS[fs].type === 'xfs' && i % 10 === 9) return 30 + Math.random() * 10;
  return minDelay + Math.random() * (maxDelay - minDelay);
}

/**
 * Boots one guest and returns its console lines once it has crashed (or hung, or failed).
 * With `disk` (the power model) the host cuts: `delay` s after READY it freezes the disk
 * and, in the same synchronous step, takes the ACKs read so far as the acknowledged ones,
 * then kills QEMU. Nothing read after that counts.
 */
function boot(img, fs, subject, delay, disk, socket, dir) {
  const data = disk
    ? ['-blockdev', `driver=nbd,node-name=data,server.type=unix,server.path=${socket},export=data`, '-device', 'virtio-blk-pci,drive=data,write-cache=on']
    : ['-drive', `file=${img},if=none,id=data,format=raw,cache=unsafe`, '-device', 'virtio-blk-pci,drive=data'];
  // no_timer_check: on a loaded host, TCG can miss the kernel's IO-APIC timer check,
  // which then panics at boot ("IO-APIC + timer doesn't work").
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-m', '1024', '-smp', '1',
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-nic', 'none', '-no-reboot',
    '-kernel', images.kernel, '-initrd', images.initrd,
    '-append', `console=ttyS0 quiet loglevel=3 panic=-1 oops=panic mitigations=off no_timer_check aw.fs=${FILESYSTEMS[fs].type} aw.opts=${FILESYSTEMS[fs].options} aw.subject=${subject} aw.delay=${disk ? -1 : delay.toFixed(2)}`,
    ...data,
    '-drive', `file=${images.pkg},if=none,id=pkg,format=raw,readonly=on`, '-device', 'virtio-blk-pci,drive=pkg',
  ];
  return new Promise((resolve, reject) => {
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const spawnedAt = Date.now();
    let bootMs = null;
    const lines = [];
    let partial = '';
    const acked = {};
    let cut = null;
    // Cuts taken without stopping the guest, at random writes after READY (`io` cuts, in
    // the middle of the guest's I/O), before the final one at a random moment.
    const snapshots = [];
    const nextWrites = () => 1 + Math.floor(Math.random() * SNAPSHOT_EVERY);
    const takeSnapshot = () => {
      if (cut) return;
      const snap = disk.snapshot(join(dir, `cut-${snapshots.length}.img`));
      snapshots.push({ mode: 'io', atMs: Date.now() - readyAt, acked: { ...acked }, snap });
      if (snapshots.length < SNAPSHOTS) disk.arm(nextWrites(), takeSnapshot);
    };
    let readyAt = 0;
    const onData = (s) => {
      const parts = (partial + s).split(/\r?\n/);
      partial = parts.pop();
      for (const l of parts) {
        lines.push(cut ? `${l} [after the cut]` : l);
        if (cut) continue;
        const m = /^ACK (\S+) (\d+)$/.exec(l.trim());
        if (m) acked[m[1]] = Number(m[2]);
        if (l.startsWith('READY')) {
          bootMs = Date.now() - spawnedAt;
          // From here the guest has `delay` s to crash (its crasher thread sees to it).
          clearTimeout(timer);
          timer = setTimeout(() => qemu.kill('SIGKILL'), (delay + LATE_S) * 1000);
          if (disk) {
            readyAt = Date.now();
            disk.arm(nextWrites(), takeSnapshot);
            setTimeout(powerCut, delay * 1000);
          }
        }
      }
    };
    const powerCut = () => {
      if (cut) return;
      const stats = disk.cut();
      cut = { mode: 'time', atMs: Date.now() - readyAt, acked: { ...acked }, stats, snap: disk.frozenState() };
      qemu.kill('SIGKILL');
    };
    qemu.stdout.setEncoding('latin1').on('data', onData);
    qemu.stderr.setEncoding('latin1').on('data', onData);
    // Until READY, the boot itself: 8-11 s under TCG, but 64-100 s while the library's
    // completions starved the guest's event loop (bench/notes/crash-vm.md), when a CI boot
    // was killed at delay + 120 s from the start with its writers still writing: counted
    // from the start, a slow boot ate the crash's time.
    let timer = setTimeout(() => qemu.kill('SIGKILL'), BOOT_LIMIT_S * 1000);
    qemu.on('error', reject);
    qemu.on('close', () => {
      clearTimeout(timer);
      if (partial) lines.push(cut ? `${partial} [after the cut]` : partial);
      // The os model: the guest crashed itself, so every ACK it printed came before the crash.
      resolve({ lines, acked: disk ? cut?.acked ?? {} : acked, cut, snapshots, bootMs });
    });
  });
}

/** Mounts one persisted image and checks every API of the subject on it, then sweeps. */
async function checkImage(img, fs, subject, acked) {
  const apis = {};
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
      let temps = [];
      try {
        temps = readdirSync(apiDir).filter((n) => !targets.includes(n));
      } catch (e) {
        r.verdict = 'lost';
        r.message = `lost: ${e.message}`;
        apis[api] = r;
        continue;
      }
      r.tempsLeft = temps.length;
      // sweep counts a temp's age on the host's clock; the guest's (set from the RTC,
      // whole seconds) can run ahead of it, so a temp can look written in the future.
      const now = Date.now();
      r.futureMs = Math.max(0, ...temps.map((n) => lstatSync(join(apiDir, n)).mtimeMs - now));
      if (r.futureMs > 0) await new Promise((resolve) => setTimeout(resolve, r.futureMs + 50));
      await sweep(apiDir, { olderThan: 0 });
      const after = readdirSync(apiDir).filter((n) => !targets.includes(n));
      r.leftAfterSweep = after.length;
      apis[api] = r;
    }
  });
  return apis;
}

async function trial({ fs, subject, i, model }, slot) {
  const power = model === 'power';
  const dir = join(os.tmpdir(), `aw-vm-${process.pid}-${slot}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const img = join(dir, 'data.img');
  const socket = join(dir, 'nbd.sock');
  let disk = null;
  if (power) {
    disk = new VolatileDisk(seeded[fs], join(dir, 'current.img'), join(dir, 'durable.img'), DATA_BYTES);
    await disk.listen(socket);
  } else {
    execFileSync('cp', ['--sparse=always', seeded[fs], img]);
  }
  const delay = delayFor(fs, i);
  const cutMode = power ? 'time' : 'crash';
  const t0 = Date.now();
  const { lines, acked, cut, snapshots, bootMs } = await boot(img, fs, subject, delay, disk, socket, dir);
  const seconds = (Date.now() - t0) / 1000;
  const ready = lines.some((l) => l.startsWith('READY'));
  const crashed = power ? cut !== null : lines.some((l) => l.includes('sysrq: Trigger a crash'));
  const writeCache = /^WRITE-CACHE (.*)$/.exec(lines.find((l) => l.startsWith('WRITE-CACHE')) ?? '')?.[1]?.trim();
  const writerDied = lines.filter((l) => l.startsWith('WRITER-EXIT'));
  const oneFlush = /^ONE-FLUSH (\w+)/.exec(lines.find((l) => l.startsWith('ONE-FLUSH')) ?? '')?.[1];
  const result = { model, fs, subject, trial: i, cutMode, delay: Number(delay.toFixed(2)), seconds: Number(seconds.toFixed(1)), bootSeconds: bootMs === null ? null : Number((bootMs / 1000).toFixed(1)), writeCache, oneFlush, ...(power ? { snapshots: SNAPSHOTS, snapshotEvery: SNAPSHOT_EVERY } : {}), acked, apis: {} };
  // The power model is void unless the guest believed its disk caches writes, and a
  // write acknowledged by a writer that fsyncs came after a flush reached the disk.
  const fsyncedAcks = Object.entries(acked).filter(([api, n]) => api !== 'no-fsync' && n > 0).length;
  const cacheOk = !power || (writeCache === 'write back' && (cut?.stats.flushes > 0 || !fsyncedAcks));
  // The guest's crasher thread (guest.mjs) saw no write acknowledged for 10 s before the
  // crash: a thread in D was held by the kernel (its stack says where), and the disk is
  // checked as after any crash; with none, the writers were stuck in user space, which is
  // a failure of ours. It also says how late the main thread's timers were running.
  const late = lines.map((l) => /CRASHER main thread timers last ran (-?\d+) ms ago/.exec(l)).find(Boolean);
  if (late) result.mainTimersLateMs = Number(late[1]);
  const stallThreads = lines.filter((l) => l.includes('STALL-THREAD')).map((l) => l.slice(l.indexOf('STALL-THREAD') + 13));
  if (lines.some((l) => l.includes('STALL no write acknowledged'))) {
    const held = stallThreads.filter((t) => / state D /.test(t));
    result.stall = { kernel: held.length > 0, threads: stallThreads };
    if (!held.length) result.error = `no write acknowledged for 10 s before the crash, and no thread held by the kernel (stuck in user space): ${stallThreads.join(' || ')}`;
  }
  if (result.error) {
    result.console = lines.slice(-60);
  } else if (!ready || !crashed || writerDied.length || !cacheOk) {
    const said = lines.filter((l) => l.trim() && !/^\[\s*\d/.test(l));
    result.error = `the guest did not run as planned (ready ${ready}, crashed ${crashed}, write cache ${writeCache}, flushes ${cut?.stats.flushes}); last words: ${JSON.stringify(said.slice(-3).join(' | '))}${writerDied.length ? `; ${writerDied.join('; ')}` : ''}`;
    result.console = lines.slice(-40);
  } else if (!power) {
    result.apis = await checkImage(img, fs, subject, acked);
  } else {
    result.disk = cut.stats;
    result.acksAfterCut = lines.filter((l) => l.includes('[after the cut]') && l.startsWith('ACK')).length;
    result.cuts = [];
    for (const c of [...snapshots, cut]) {
      const images = [];
      // Several images of each cut, each checked once: with few unflushed writes, kinds
      // coincide (with none, every kind is the flushed state).
      const seen = new Set();
      for (const kind of IMAGES_PER_CUT) {
        const choice = c.snap.choose(kind);
        if (seen.has(choice.key)) continue;
        seen.add(choice.key);
        const out = join(dir, `${kind}.img`);
        c.snap.persist(choice, out);
        const image = choice.kept;
        try {
          image.apis = await checkImage(out, fs, subject, c.acked);
        } catch (e) {
          image.error = e.message;
        }
        rmSync(out, { force: true });
        images.push(image);
      }
      c.snap.drop();
      result.cuts.push({ mode: c.mode, atMs: c.atMs, acked: c.acked, disk: c.snap.stats, images });
    }
  }
  disk?.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const started = Date.now();
const images = buildImages([...new Set(kinds)]);
// Seed generation 0 of every subject into each pristine image once; the unmount makes it durable.
const seeded = {};
for (const fs of kinds) {
  const img = join(dirname(images.data[fs]), `seeded-${fs}-${process.pid}.img`);
  execFileSync('cp', ['--sparse=always', images.data[fs], img]);
  await withMounted(img, fs, (mnt) => seedAll(mnt));
  seeded[fs] = img;
}
console.error(`crash-vm: images ready in ${((Date.now() - started) / 1000).toFixed(1)} s (kernel ${images.kernelPackage}, model ${model})`);

// The plan, interleaved (filesystems and subjects alternate) so a slow spell of the
// machine does not land on one cell.
const plan = [];
const most = Math.max(...subjects.map(trialsOf));
for (let i = 0; i < most; i++) for (const subject of subjects) for (const fs of kinds) if (i < trialsOf(subject)) plan.push({ fs, subject, i, model });
// --os-control-trials: the self-test's writers under the OS-crash model too, in the same
// run and log, for the side-by-side rates.
const osControls = power ? Number(values['os-control-trials']) : 0;
const osItems = [];
for (let i = 0; i < osControls; i++) for (const subject of values['os-controls'].split(',')) for (const fs of kinds) osItems.push({ fs, subject, i, model: 'os' });
const spread = plan.length / (osItems.length + 1);
for (let j = osItems.length - 1; j >= 0; j--) plan.splice(Math.round((j + 1) * spread), 0, osItems[j]);

/** The per-image checks of a boot: one for the os model, one per persisted image for power. */
const checksOf = (r) => (r.model === 'power' ? cutsOf(r).flatMap((c) => c.images.map((im) => ({ kind: im.kind, error: im.error, apis: im.apis ?? {} }))) : [{ kind: 'os', apis: r.apis }]);

const results = [];
let next = 0;
const parallel = Math.min(Number(values.parallel), plan.length);
await Promise.all(
  Array.from({ length: parallel }, async (_, slot) => {
    while (next < plan.length) {
      const item = plan[next++];
      const { fs, subject, i } = item;
      const r = await trial(item, slot);
      results.push(r);
      // A smoke boots each cell once, so a void boot (the guest went silent: not even its
      // crasher thread spoke, see trial()) would leave the cell untested; it is retried once, and
      // counted as void, not as an error, if the retry runs. A stall the crasher saw is
      // never retried: it is checked, or it is an error.
      if (smoke && r.error && !r.stall && !item.retry) {
        r.void = true;
        plan.push({ ...item, retry: true });
      }
      if (logFile) appendFileSync(logFile, JSON.stringify({ ...r, date: new Date().toISOString(), kernel: images.kernelPackage }) + '\n');
      const verdicts = (api) => {
        const n = {};
        for (const c of checksOf(r)) n[c.error ? 'image errors' : c.apis[api].verdict] = (n[c.error ? 'image errors' : c.apis[api].verdict] ?? 0) + 1;
        return Object.entries(n).map(([v, k]) => `${k} ${v}`).join(', ');
      };
      const summary = r.error
        ? `ERROR ${r.error.split('\n')[0]}`
        : r.model === 'power'
        ? apisOf(r.subject).map((api) => `${api}: ${verdicts(api)}`).join('; ')
        : checksOf(r).map((c) => `${r.model === 'power' ? `${c.kind}: ` : ''}${c.error ?? Object.entries(c.apis).map(([a, x]) => `${a} ${x.verdict} (ack ${x.acked}, disk ${x.onDisk ?? '-'})`).join(', ')}`).join('; ');
      const diskSays = r.disk ? ` [${r.disk.flushes} flushes; ${cutsOf(r).length} cuts, ${cutsOf(r).map((c) => c.disk.unflushedWrites).join('/')} unflushed writes]` : '';
      const stallSays = r.stall ? ` [stalled; held by the kernel: ${r.stall.threads.filter((t) => / state D /.test(t)).join(' || ') || 'none'}]` : '';
      console.error(`[${results.length}/${plan.length}] ${r.model} ${fs} ${subject} #${i}${item.retry ? ' (retry of a void boot)' : ''} ${r.cutMode} at ${r.delay} s, ${r.seconds} s (boot ${r.bootSeconds} s${r.mainTimersLateMs !== undefined ? `, main-thread timers ${r.mainTimersLateMs} ms late` : ''})${diskSays}${stallSays}: ${r.void ? 'VOID ' : ''}${summary}`);
    }
  }),
);
for (const fs of kinds) rmSync(seeded[fs], { force: true });

// One JSON line per filesystem and subject of this run, for scripts: cuts = instants the
// power went (os: one crash per boot), images = persisted states checked (os: one per
// boot), torn / lost = API checks that tore / lost a write.
let failed = false;
for (const m of ['power', 'os']) for (const fs of kinds) {
  for (const subject of [...subjects, ...CONTROLS.filter((c) => !subjects.includes(c))]) {
    const rs = results.filter((r) => r.model === m && r.fs === fs && r.subject === subject);
    if (!rs.length) continue;
    const line = { model: m, fs, subject, boots: rs.length, cuts: 0, images: 0, checks: 0, torn: 0, lost: 0, errors: 0 };
    for (const r of rs) {
      if (r.void && rs.some((o) => o !== r && o.trial === r.trial && !o.void)) {
        line.voidRetried = (line.voidRetried ?? 0) + 1;
        continue;
      }
      if (r.stall) line.stalled = (line.stalled ?? 0) + 1;
      if (r.error) {
        line.errors++;
        continue;
      }
      line.cuts += m === 'power' ? cutsOf(r).length : 1;
      for (const c of checksOf(r)) {
        line.images++;
        if (c.error) {
          line.errors++;
          continue;
        }
        for (const x of Object.values(c.apis)) {
          line.checks++;
          if (x.verdict === 'torn') line.torn++;
          if (x.verdict === 'lost') line.lost++;
          if (ours(subject) && x.leftAfterSweep) line.leftAfterSweep = (line.leftAfterSweep ?? 0) + x.leftAfterSweep;
        }
      }
    }
    if (line.errors || (ours(subject) && (line.torn || line.lost || line.leftAfterSweep))) failed = true;
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

if (power || logFile) {
  if (logFile && !smoke) {
    writeFileSync(powerMd, renderPower(readLog(logFile), { log: logName }));
    console.error(`appended ${results.length} boots to ${logFile}; wrote ${powerMd}`);
  } else if (smoke) {
    console.log(renderPower(results.map((r) => ({ ...r, kernel: images.kernelPackage })), { log: logName }));
  }
  if (failed) process.exitCode = 1;
} else {
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
const oursCell = (c) => ours(c.api);
failed ||= table.some((c) => c.errors || (oursCell(c) && (c.torn || c.lost || c.leftAfterSweep)));
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
  ...table.map((c) => `| ${FILESYSTEMS[c.fs].label} | ${oursCell(c) ? `\`${c.api}\`` : c.api} | ${c.ran} | ${c.trials - c.errors} | ${c.torn} | ${c.lost} | ${c.acked} | ${c.newer} | ${c.trials - c.errors ? (c.acks / (c.trials - c.errors)).toFixed(1) : '-'} | ${c.tempsLeft} | ${oursCell(c) ? c.leftAfterSweep : 'n/a'} | ${c.errors} |`),
  '',
  ...Object.entries(SUBJECTS).filter(([n]) => table.some((c) => c.api === n)).map(([n, s]) => `- ${PEERS.includes(n) ? n : `\`${n}\``}: ${s.description}.`),
  '',
  ...table.flatMap((c) => c.failures.slice(0, 10).map((f) => `- ${oursCell(c) ? 'FAILURE' : 'peer'} ${c.fs} \`${c.api}\` ${f}`)),
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
if (failed) process.exitCode = 1;
}
