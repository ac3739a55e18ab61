#!/usr/bin/env node
// The tests' servers and tools, provisioned in one place: moto_server (a real
// S3-compatible server for test/s3.test.ts) and pyarrow + numpy (independent readers that
// check our Parquet, Arrow and npy files) from PyPI; fake-gcs-server (the GCS emulator of
// test/store.test.ts) by `go install`, into Go's bin directory; Azurite (the Azure
// emulator) is an npm devDependency, only checked here. They live in one venv outside the tree, made on first
// use (30 s to 2 min, network needed) and reused after (0.5 s):
//   ${AW_TEST_VENV:-${XDG_CACHE_HOME:-~/.cache}/atomicwriter/test-venv}
// vitest's globalSetup (test/global-setup.ts) calls provision(), so `npm test`,
// `npx vitest run …`, .ci/run and .ci/node-versions all take this one path; when it
// cannot be done (no python3, no venv module, no network) the tests that need a tool are
// skipped and the run ends by naming them and the command that installs what is missing.
//
//   npm run test:deps (node scripts/test-deps.mjs)   provision now, showing pip's output
//   node scripts/test-deps.mjs --env                 then print `export AW_PYTHON=… AW_MOTO_SERVER=…`
//
// AW_PYTHON / AW_MOTO_SERVER, when set, are used as given (nothing is installed for them).
// AW_TEST_DEPS=off: install nothing (use what exists). AW_REQUIRE_TEST_DEPS=1: a missing
// tool is an error (CI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { azuriteBinary, fakeGcsBinary, goBinDir } from '../test/fixtures/emulators.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Where the venv lives: outside the tree, so clones and worktrees share one. */
export function venvDir() {
  if (process.env.AW_TEST_VENV) return process.env.AW_TEST_VENV;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'atomicwriter', 'test-venv');
}

/** What each tool is for: the tests that are skipped without it. */
const TOOLS = [
  {
    name: 'moto_server',
    env: 'AW_MOTO_SERVER',
    modules: ['moto', 'flask'],
    pip: ['moto[server]'],
    needed: 'the S3 tests (test/s3.test.ts, s3:// paths in other files)',
    bin: (venv) => join(venv, 'bin', 'moto_server'),
  },
  {
    name: 'pyarrow and numpy',
    env: 'AW_PYTHON',
    modules: ['pyarrow', 'numpy'],
    pip: ['pyarrow', 'numpy'],
    needed: 'the independent-reader checks (pyarrow reads our Parquet and Arrow, numpy our npy)',
    bin: (venv) => join(venv, 'bin', 'python'),
  },
];

/** Modules among `modules` that `python` cannot find (all of them if python does not run). */
function missingModules(python, modules) {
  const probe = 'import importlib.util as u, sys; print(" ".join(m for m in sys.argv[1:] if u.find_spec(m) is None))';
  const r = spawnSync(python, ['-c', probe, ...modules], { encoding: 'utf8' });
  if (r.status !== 0) return modules;
  return r.stdout.split(/\s+/).filter(Boolean);
}

function lastLine(text) {
  const lines = String(text ?? '').trim().split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1] ?? '';
}

/**
 * Makes sure every tool exists; installs what is missing into venvDir().
 * Resolves to { env, missing }: env holds AW_PYTHON / AW_MOTO_SERVER for the tools that
 * are there; missing lists { name, needed, why, fix } for those that are not.
 * `verbose` shows pip's own output (the CLI); otherwise one line per slow step.
 */
export async function provision({ verbose = false, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const venv = venvDir();
  const env = {};
  const missing = [];
  const wanted = [];
  for (const tool of TOOLS) {
    const given = process.env[tool.env];
    if (!given) {
      // A system python3 that already has the readers will do; moto needs the venv's python
      // (test/fixtures/moto-serialized.py runs beside its moto_server).
      if (tool.env === 'AW_PYTHON' && missingModules('python3', tool.modules).length === 0) env[tool.env] = 'python3';
      else wanted.push(tool);
      continue;
    }
    // An explicit setting wins; a broken one is reported, not replaced behind the caller's back.
    const ok = existsSync(given) && (tool.env !== 'AW_PYTHON' || missingModules(given, tool.modules).length === 0);
    if (ok) env[tool.env] = given;
    else missing.push({ ...describe(tool), why: `${tool.env}=${given} does not provide ${tool.modules.join(', ')}`, fix: `unset ${tool.env} (then npm test installs it) or point it at a working one` });
  }

  const python = join(venv, 'bin', 'python');
  const lacking = () => wanted.filter((t) => !existsSync(t.bin(venv)) || missingModules(python, t.modules).length > 0);
  let todo = lacking();
  if (todo.length > 0 && process.env.AW_TEST_DEPS !== 'off') {
    try {
      // Two test runs at once (worktrees, CI jobs) must not build the same venv together.
      const release = await lockVenv(venv);
      try {
        todo = lacking(); // the other run may have made it meanwhile
        if (todo.length > 0) install(venv, todo, { verbose, log, missing });
      } finally {
        await release();
      }
    } catch (err) {
      // A cache directory that cannot be written (a read-only HOME) must not stop the tests.
      for (const t of todo) missing.push({ ...describe(t), why: `cannot make ${venv}: ${err.message}`, fix: 'AW_TEST_VENV=<a writable directory> npm run test:deps' });
    }
    todo = lacking();
  } else if (todo.length > 0) {
    for (const t of todo) missing.push({ ...describe(t), why: 'AW_TEST_DEPS=off and it is not installed', fix: 'npm run test:deps' });
  }
  for (const tool of wanted) {
    if (!todo.includes(tool)) env[tool.env] = tool.bin(venv);
    else if (!missing.some((m) => m.name === tool.name)) missing.push({ ...describe(tool), why: 'not found after installing', fix: 'npm run test:deps' });
  }
  provisionEmulators({ env, missing, verbose, log });
  return { env, missing };
}

const FAKE_GCS = 'github.com/fsouza/fake-gcs-server@v1.56.1';
const EMULATORS_NEEDED = 'the GCS and Azure tests (test/store.test.ts)';

/** fake-gcs-server: `go install` once (1-3 min, Go module proxy), then found in Go's bin directory. */
function provisionEmulators({ env, missing, verbose, log }) {
  let gcs = fakeGcsBinary();
  if (!gcs && process.env.AW_TEST_DEPS !== 'off') {
    log(`test-deps: go install ${FAKE_GCS} (once, 1-3 min; AW_TEST_DEPS=off skips this)`);
    const r = spawnSync('go', ['install', FAKE_GCS], { encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
    if (r.error) missing.push({ name: 'fake-gcs-server', needed: EMULATORS_NEEDED, why: 'go is not installed', fix: `install Go, then go install ${FAKE_GCS}` });
    else if (r.status !== 0) missing.push({ name: 'fake-gcs-server', needed: EMULATORS_NEEDED, why: `go install failed: ${lastLine(r.stderr)}`, fix: `go install ${FAKE_GCS}` });
    gcs = fakeGcsBinary();
  }
  if (gcs) env.AW_FAKE_GCS_SERVER = gcs;
  else if (!missing.some((m) => m.name === 'fake-gcs-server')) missing.push({ name: 'fake-gcs-server', needed: EMULATORS_NEEDED, why: `not in ${goBinDir()}`, fix: `go install ${FAKE_GCS} (or set AW_FAKE_GCS_SERVER)` });
  if (!azuriteBinary()) missing.push({ name: 'azurite', needed: EMULATORS_NEEDED, why: 'node_modules/.bin/azurite-blob is missing', fix: 'npm install' });
}

function describe(tool) {
  return { name: tool.name, needed: tool.needed };
}

/** Creates the venv if needed and pip-installs each tool; failures go into `missing`. */
function install(venv, tools, { verbose, log, missing }) {
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    const probe = spawnSync('python3', ['-c', 'import venv, ensurepip'], { encoding: 'utf8' });
    if (probe.error) {
      for (const t of tools) missing.push({ ...describe(t), why: 'python3 is not installed', fix: 'install Python 3 with its venv module (Debian/Ubuntu: apt-get install python3-venv), then rerun' });
      return;
    }
    if (probe.status !== 0) {
      for (const t of tools) missing.push({ ...describe(t), why: 'python3 has no venv/ensurepip module', fix: 'apt-get install python3-venv (Debian/Ubuntu), then rerun' });
      return;
    }
    log(`test-deps: creating ${venv} (once, 30 s to 2 min; AW_TEST_DEPS=off skips this)`);
    rmSync(venv, { recursive: true, force: true }); // a venv a killed run left half-made
    mkdirSync(dirname(venv), { recursive: true });
    const made = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
    if (made.status !== 0) {
      rmSync(venv, { recursive: true, force: true });
      for (const t of tools) missing.push({ ...describe(t), why: `python3 -m venv failed: ${lastLine(made.stderr)}`, fix: 'npm run test:deps' });
      return;
    }
  }
  for (const tool of tools) {
    log(`test-deps: pip install ${tool.pip.join(' ')} into ${venv}`);
    // Few retries: offline, pip's defaults would retry for minutes before the tests start.
    const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '2', '--timeout', '30', ...(verbose ? [] : ['-q']), ...tool.pip];
    const r = spawnSync(python, args, { encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
    if (r.status !== 0) missing.push({ ...describe(tool), why: `pip install ${tool.pip.join(' ')} failed: ${lastLine(r.stderr) || `exit ${r.status}`}`, fix: 'npm run test:deps' });
  }
}

/**
 * A cross-process lock beside the venv, taken with the package's own lock() (released by the
 * kernel if this process dies). Without a build (dist/) there is nothing to test anyway, so
 * then no lock is taken.
 */
async function lockVenv(venv) {
  let aw;
  try {
    aw = createRequire(import.meta.url)(join(repoRoot, 'dist', 'index.js'));
  } catch {
    return async () => {};
  }
  mkdirSync(dirname(venv), { recursive: true });
  const held = await aw.lock(`${venv}.lock`, { timeout: 15 * 60_000 });
  return () => held.release();
}

/** The closing words of a run that could not have every tool: what was skipped and the fix. */
export function missingReport(missing) {
  if (missing.length === 0) return '';
  const lines = ['', 'Not tested here, because a tool is missing:'];
  for (const m of missing) lines.push(`  - ${m.needed}: no ${m.name} (${m.why})`, `      install: ${m.fix}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { env, missing } = await provision({ verbose: true });
  for (const [k, v] of Object.entries(env)) process.stderr.write(`test-deps: ${k}=${v}\n`);
  if (missing.length > 0) process.stderr.write(`${missingReport(missing)}\n`);
  if (process.argv.includes('--env')) for (const [k, v] of Object.entries(env)) console.log(`export ${k}=${JSON.stringify(v)}`);
  process.exitCode = missing.length > 0 ? 1 : 0;
}
