// Runs inside the crash-trial guest (as `node guest.mjs <subject> <delay s>`, from
// init.sh): runs the write loop of every API of the subject at once, each printing
// `ACK <api> <n>` on the serial console once write n has resolved, and `delay` seconds
// after all have started, crashes the kernel with sysrq `c` (or, with a negative delay,
// writes on until the host cuts the power). A write is reported only
// after it resolved, so every ACK the host sees is a write the API promised was durable.
// One process (node starts slowly under TCG); writeFileSync runs in a worker thread so
// it does not stall the asynchronous loops.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SUBJECTS, apisOf } from './subjects.mjs';

const DATA = '/data';
// Straight to the console with write(2): nothing buffered that a crash could swallow
// after the line was counted as said.
const say = (line) => writeFileSync(1, line + '\n');

function loop(api) {
  return SUBJECTS[api].write(join(DATA, api), (n) => say(`ACK ${api} ${n}`));
}

if (!isMainThread) {
  parentPort.postMessage('started');
  await loop(workerData);
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
      const worker = new Worker(new URL(import.meta.url), { workerData: api });
      worker.once('message', resolve);
      worker.on('error', (e) => say(`WRITER-EXIT ${api} ${e.stack}`));
    });
  });
  await Promise.all(starting);
  // A negative delay: the power model, where the host cuts the disk and kills QEMU.
  say(delay >= 0 ? `READY ${subject} crash in ${delay} s` : `READY ${subject} host cuts the power`);
  if (delay >= 0) setTimeout(() => writeFileSync('/proc/sysrq-trigger', 'c'), delay * 1000);
}
