// Pieces the write benchmarks share (run.mjs on one directory, matrix.mjs across
// filesystems): the scenarios, the C loop's build, one measurement in a fresh process,
// and the median.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

/** What one measurement writes (worker.mjs runs them). */
export const SCENARIOS = {
  seq1k: { size: 1024, writes: 300, concurrency: 1, fsync: true },
  c64: { size: 1024, writes: 2048, concurrency: 64, fsync: true },
  nofsync: { size: 1024, writes: 5000, concurrency: 1, fsync: false },
  '1m': { size: 1 << 20, writes: 40, concurrency: 1, fsync: true },
  '512m': { size: 512 << 20, writes: 1, concurrency: 1, fsync: true },
  '2g': { size: 2 ** 31 + 1, writes: 1, concurrency: 1, fsync: false },
};

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Builds bench/c/durable_write.c into `workDir`; returns the executable's path. */
export function buildC(workDir) {
  mkdirSync(workDir, { recursive: true });
  const exe = join(workDir, 'durable_write');
  execFileSync('cc', ['-O2', '-pthread', '-o', exe, join(here, 'c', 'durable_write.c')]);
  return exe;
}

/**
 * One measurement: worker.mjs CONTENDER SCENARIO in a fresh process and a fresh
 * directory under `base`, removed after. `prefix` wraps the worker (e.g. strace), `writes`
 * overrides the scenario's count. Resolves to the worker's JSON line.
 */
export function measure(contender, scenario, { base, cExe, prefix = [], writes } = {}) {
  // Start every measurement from a clean page cache state: nothing dirty left over.
  execFileSync('sync');
  const dir = mkdtempSync(join(base, 'run-'));
  try {
    const argv = [...prefix, process.execPath, join(here, 'worker.mjs'), contender, scenario, dir];
    const out = execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      env: { ...process.env, BENCH_C_EXE: cExe, ...(writes === undefined ? {} : { BENCH_WRITES: String(writes) }) },
      maxBuffer: 1 << 26,
    });
    return JSON.parse(out.trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The object-store upload benchmarks' shape (s3.mjs, stores.mjs): the same for every contender. */
export const UPLOAD = { MiB: 1 << 20, PART: 8 << 20, QUEUE: 4, BUCKET: 'aw-bench' };

/**
 * A scratch directory under the OS tmpdir for benchmarks that make filesystems (loop
 * images, mounts): `undo(fn)` registers a step, `undoAll()` runs the steps registered so
 * far last-first (each failure reported, the rest still run), `cleanup()` does that and
 * removes the directory; on SIGINT/SIGTERM too.
 */
export function scratchWithUndo(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const steps = [];
  const undoAll = () => {
    for (const step of steps.splice(0).reverse()) {
      try {
        step();
      } catch (err) {
        process.stderr.write(`cleanup: ${err.message}\n`);
      }
    }
  };
  const cleanup = () => {
    undoAll();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanup();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
  return { dir, undo: (step) => steps.push(step), undoAll, cleanup };
}
