// Runs inside the crash-trial guest (as `node guest.mjs <subject> <delay s>`, from
// init.sh): runs the write loop of every API of the subject at once, each printing
// `ACK <api> <n>` on the serial console once write n has resolved, and `delay` seconds
// after all have started, crashes the kernel with sysrq `c` (or, with a negative delay,
// writes on until the host cuts the power). A write is reported only
// after it resolved, so every ACK the host sees is a write the API promised was durable.
// One process (node starts slowly under TCG); writeFileSync runs in a worker thread so
// it does not stall the asynchronous loops.
//
// The crash comes from a thread of its own (CRASHER), not from a timer on the main
// thread: under TCG the main thread's timers once ran 30 s to over a minute late (the
// library's completions held its event loop, fixed since; bench/notes/crash-vm.md),
// which pushed a CI boot past the host's deadline, and a crash must not depend on the
// code under test. That thread also watches the writers: if no write was acknowledged in
// the STALL_MS before the crash, it first reports every thread's state, wait channel and
// kernel stack, so the host can tell a kernel stall (threads in D) from writers stuck in
// user space.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SUBJECTS, apisOf } from './subjects.mjs';

const DATA = '/data';
// Slot 0: writes acknowledged (all threads); slot 1: ms since READY at which the main
// thread's timers last ran.
const shared = isMainThread ? new SharedArrayBuffer(8) : workerData.shared;
const counters = new Int32Array(shared);
const STALL_MS = 10_000;
const CRASHER = `
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const counters = new Int32Array(workerData.shared);
const read = (f) => { try { return readFileSync(f, 'utf8').trim(); } catch (e) { return e.code; } };
// Through the kernel log, not the console's tty: a write to a stuck tty would block this
// thread too (KERN_CRIT: printed despite loglevel=3).
const log = (line) => { try { writeFileSync('/dev/kmsg', '<2>' + line.slice(0, 900)); } catch {} };
// READY as the main thread saw it (the crash is due delay s after it).
const readyAt = workerData.readyAt;
let acks = Atomics.load(counters, 0);
let movedAt = readyAt;
const watch = setInterval(() => {
  const n = Atomics.load(counters, 0);
  if (n !== acks) [acks, movedAt] = [n, Date.now()];
}, 100);
setTimeout(() => {
  clearInterval(watch);
  const now = Date.now();
  log('CRASHER main thread timers last ran ' + (now - readyAt - Atomics.load(counters, 1)) + ' ms ago');
  if (now - movedAt < ${STALL_MS}) return writeFileSync('/proc/sysrq-trigger', 'c');
  log('STALL no write acknowledged for ' + (now - movedAt) + ' ms');
  for (const t of readdirSync('/proc/self/task')) {
    const stat = read('/proc/self/task/' + t + '/stat');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    const stack = read('/proc/self/task/' + t + '/stack').split('\\n').slice(0, 6).map((l) => l.replace(/^\\[<[0-9a-f]+>\\] /, '')).join(' < ');
    log('STALL-THREAD ' + t + ' ' + comm + ' state ' + state + ' wchan ' + read('/proc/self/task/' + t + '/wchan') + ' stack ' + stack);
  }
  writeFileSync('/proc/sysrq-trigger', 'w');
  setTimeout(() => writeFileSync('/proc/sysrq-trigger', 'c'), 2000);
}, Math.max(0, readyAt + workerData.delay * 1000 - Date.now()));
`;
// Straight to the console with write(2): nothing buffered that a crash could swallow
// after the line was counted as said.
const say = (line) => writeFileSync(1, line + '\n');

function loop(api) {
  return SUBJECTS[api].write(join(DATA, api), (n) => {
    say(`ACK ${api} ${n}`);
    Atomics.add(counters, 0, 1);
  });
}

if (!isMainThread) {
  parentPort.postMessage('started');
  await loop(workerData.api);
} else {
  const [, , subject, delayArg] = process.argv;
  const delay = Number(delayArg);
  const apis = apisOf(subject);
  // Which commit our durable writes take on this filesystem (one device flush or two),
  // so the log says which path a boot tested.
  say(`ONE-FLUSH ${createRequire(import.meta.url)('../../native/binding.js').oneFlushAt(DATA)}`);
  const starting = apis.map((api) => {
    if (api !== 'writeFileSync') {
      loop(api).catch((e) => say(`WRITER-EXIT ${api} ${e.stack}`));
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { api, shared } });
      worker.once('message', resolve);
      worker.on('error', (e) => say(`WRITER-EXIT ${api} ${e.stack}`));
    });
  });
  await Promise.all(starting);
  // A negative delay: the power model, where the host cuts the disk and kills QEMU.
  say(delay >= 0 ? `READY ${subject} crash in ${delay} s` : `READY ${subject} host cuts the power`);
  if (delay >= 0) {
    const readyAt = Date.now();
    new Worker(CRASHER, { eval: true, workerData: { delay, shared, readyAt } });
    setInterval(() => Atomics.store(counters, 1, Date.now() - readyAt), 100).unref();
  }
}
