// A/B of one build against another on the same directory: `n` durable 1 KiB writeFile
// calls, `callers` at a time; prints writes/s and CPU per write (user + sys, this
// process, all threads). Interleave runs of two checkouts by hand, e.g.
//   for r in $(seq 10); do for v in old new; do node bench/completions-ab.mjs /work/$v /mnt/x/$v 4096 64; done; done
// (bench/RESULTS.md, the completions change).
import { createRequire } from 'node:module';

const [root, dir, n = '4096', callers = '64'] = process.argv.slice(2);
const aw = createRequire(import.meta.url)(root + '/dist/index.js');
const N = Number(n);
const C = Number(callers);
let next = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(
  Array.from({ length: C }, async () => {
    while (next < N) {
      const i = next++;
      await aw.writeFile(`${dir}/f${i % C}`, Buffer.alloc(1024, i & 255));
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ perSec: Math.round(N / seconds), cpuUsPerWrite: Math.round((cpu.user + cpu.system) / N) }));
