// Many writes finishing while the JavaScript of earlier ones runs must not hold the event
// loop in our completions' callback: timers and I/O get their turn between two drains
// (crates/node/src/completions.rs). Node's threadsafe function calls a callback again in
// the same tick when it is called while the callback runs, up to 1,000 times; with 32
// writers whose continuations spin 2 ms each, a 10 ms timer was held back 2.9 s under
// Node and 1.5 s under Bun before the drains yielded (127 and 194 ms after: one drain,
// 32 continuations, per turn of the loop). The yield goes through node:timers'
// setImmediate: a drain handed to the global one, replaced by fake timers, never ran.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { aw, lastJson, repoRoot, runNode, scratch } from './helpers.js';

// The child: `writers` loops of writeFile, each spinning `busyMs` after every write, for
// `seconds`; a 10 ms interval records how late it ran at worst.
const CHILD = `
const [root, dir, writers, busyMs, seconds] = process.argv.slice(1);
const aw = require(root + '/dist/index.js');
const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
let stop = false;
let writes = 0;
async function writer(i) {
  while (!stop) {
    await aw.writeFile(dir + '/f' + i, 'x' + writes, { fsync: false });
    writes++;
    spin(Number(busyMs));
  }
}
let last = performance.now();
let worst = 0;
const tick = setInterval(() => {
  const now = performance.now();
  worst = Math.max(worst, now - last - 10);
  last = now;
}, 10);
const all = Array.from({ length: Number(writers) }, (_, i) => writer(i));
setTimeout(async () => {
  stop = true;
  await Promise.all(all);
  clearInterval(tick);
  console.log(JSON.stringify({ worstLagMs: Math.round(worst), writes }));
}, Number(seconds) * 1000);
`;

describe('the event loop keeps turning under a stream of completions', () => {
  // First in the file: the binding loads under fake timers, which replace the global
  // setImmediate; its drains go through node:timers' own, so the writes still settle.
  it('writes settle under fake timers, the binding loaded while they were installed', async () => {
    const dir = scratch();
    vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout', 'setInterval'] });
    try {
      await Promise.all(Array.from({ length: 64 }, (_, i) => aw.writeFile(join(dir, `f${i % 8}`), `v${i}`, { fsync: false })));
      await aw.writeFile(join(dir, 'last'), 'done');
    } finally {
      vi.useRealTimers();
    }
    expect(readFileSync(join(dir, 'last'), 'utf8')).toBe('done');
  });

  it('a 10 ms timer runs within 750 ms while 32 writers keep finishing (2 ms of JavaScript after each write)', async () => {
    const dir = scratch();
    const r = lastJson<{ worstLagMs: number; writes: number }>(await runNode(['-e', CHILD, repoRoot, dir, '32', '2', '3']));
    console.log(`worst timer lag ${r.worstLagMs} ms over ${r.writes} writes`);
    expect(r.writes).toBeGreaterThan(100);
    expect(r.worstLagMs).toBeLessThan(750);
  });
});
