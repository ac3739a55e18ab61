// Async writes settle through one completion queue per JS thread (crates/node/src/
// completions.rs): many finished writes, one wake-up of the JS thread. What that must
// keep: each promise gets its own result or its own Node-style error, a pending write
// keeps the process alive and an idle one lets it exit, and a worker thread ended with
// writes in flight takes nothing else down.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aw, repoRoot, runNode, scratch } from './helpers.js';

const entry = JSON.stringify(join(repoRoot, 'index.mjs'));

describe('batched completions', () => {
  it('64 writes in flight, half of them failing, each settle with their own outcome', async () => {
    const dir = scratch('aw-batch-');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) => aw(i % 2 ? join(dir, 'missing', `f${i}`) : join(dir, `f${i}`), `content ${i}`)),
    );
    outcomes.forEach((o, i) => {
      if (i % 2) {
        expect(o.status).toBe('rejected');
        const err = (o as PromiseRejectedResult).reason as NodeJS.ErrnoException;
        expect([err.code, err.syscall, err.path]).toEqual(['ENOENT', 'open', join(dir, 'missing', `f${i}`)]);
      } else {
        expect(o.status).toBe('fulfilled');
        expect(readFileSync(join(dir, `f${i}`), 'utf8')).toBe(`content ${i}`);
      }
    });
  });

  it('a write nobody awaits keeps the process alive until it lands; then the process exits', async () => {
    const dir = scratch('aw-batch-alive-');
    const file = join(dir, 'f');
    // Nothing else holds the event loop: if the queue never let go of it the child would
    // hang (killed after 20 s); if it did not hold it, the write would not land.
    const script = `import(${entry}).then((m) => { m.writeFile(${JSON.stringify(file)}, 'x'.repeat(1 << 20)); });`;
    const started = Date.now();
    const result = await runNode(['-e', script], { timeout: 20_000 });
    expect(result.signal, result.stderr).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(file).length).toBe(1 << 20);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a worker thread terminated with writes in flight: the process goes on, its own writes settle', async () => {
    const dir = scratch('aw-batch-worker-');
    const script = `
      const { Worker } = require('node:worker_threads');
      const dir = ${JSON.stringify(dir)};
      const w = new Worker(\`import(${entry.replace(/"/g, "'")}).then((m) => {
        for (let i = 0; i < 64; i++) m.writeFile(${JSON.stringify(dir)} + '/w' + i, 'w'.repeat(4096));
        require('node:worker_threads').parentPort.postMessage('started');
      });\`, { eval: true });
      w.on('message', async () => {
        await w.terminate();
        const m = await import(${entry});
        await Promise.all(Array.from({ length: 64 }, (_, i) => m.writeFile(dir + '/m' + i, 'm')));
        await new Promise((r) => setTimeout(r, 200)); // the worker's writes finish meanwhile
        console.log('ok');
      });`;
    const result = await runNode(['-e', script], { timeout: 60_000 });
    expect(result.signal, result.stderr).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('ok');
    for (let i = 0; i < 64; i++) expect(readFileSync(join(dir, `m${i}`), 'utf8')).toBe('m');
  });
});
