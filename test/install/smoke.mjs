// The installed package, exercised for real: run from a directory where `npm install
// atomicwriter hyparquet` put them in node_modules (never the repository: see run.sh). Works
// under Node, Bun, Deno (`deno run -A`) and Windows node.exe under Wine. Children are this
// same file started by the same runtime, so the multi-process checks cross real processes.
//   node smoke.mjs            -> one line per check, then "N passed, N failed"; exit 1 on a failure
// Env: AW_SMOKE_DIR (scratch dir, default a fresh one in the OS temp dir),
//      AW_SMOKE_LAUNCHER (runs the children: qemu-aarch64-static where binfmt_misc is absent,
//      a musl loader), AW_SMOKE_EXEC (the runtime the children run, default process.execPath),
//      AW_SMOKE_HOLDER (Windows: a program that holds a file open without delete sharing).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(process.cwd(), 'package.json'));
const script = fileURLToPath(import.meta.url);
const runtime = globalThis.Deno ? 'deno' : process.versions.bun ? 'bun' : 'node';

// --- children -------------------------------------------------------------------------
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'child-counter') {
  const { updateJson } = require('atomicwriter');
  const [file, times] = rest;
  for (let i = 0; i < Number(times); i++) {
    await updateJson(file, (c) => ({ n: (c?.n ?? 0) + 1, pids: [...new Set([...(c?.pids ?? []), process.pid])] }), { defaultData: {} });
  }
  process.exit(0);
}
if (mode === 'child-trylock') {
  const { tryLock } = require('atomicwriter');
  const held = await tryLock(rest[0]);
  console.log(held ? 'got' : 'busy');
  if (held) await held.release();
  process.exit(0);
}
if (mode === 'child-lock-wait') {
  const { lock, tryLock } = require('atomicwriter');
  // Says "busy" once it has seen the lock held, so the parent releases only while this waits.
  const first = await tryLock(rest[0]);
  console.log(first ? 'got' : 'busy');
  if (first) process.exit(1);
  const t0 = Date.now();
  const held = await lock(rest[0], { timeout: 20_000 });
  console.log(`waited ${Date.now() - t0}`);
  await held.release();
  process.exit(0);
}

// --- checks ---------------------------------------------------------------------------
const scratch = process.env.AW_SMOKE_DIR || mkdtempSync(join(tmpdir(), 'aw-smoke-'));
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    results.push({ name, ok: true });
    console.log(`ok - ${name}${note ? ` (${note})` : ''} [${Date.now() - t0} ms]`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`not ok - ${name}: ${err && err.stack ? err.stack : err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
const file = (name) => join(scratch, name);
// This same runtime running this same file (Deno needs `run -A`).
function self(args, { onStdout, ...opts } = {}) {
  const argv = runtime === 'deno' ? ['run', '-A', script, ...args] : [script, ...args];
  return new Promise((resolve, reject) => {
    // Under qemu-user with no binfmt_misc, an aarch64 binary runs only through the launcher.
    const launcher = process.env.AW_SMOKE_LAUNCHER;
    // Started through a loader (ld-musl node ...), process.execPath is the loader itself.
    const exe = process.env.AW_SMOKE_EXEC || process.execPath;
    const [cmd, cmdArgs] = launcher ? [launcher, [exe, ...argv]] : [exe, argv];
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (onStdout) onStdout(out);
    });
    child.stderr.on('data', (d) => (errOut += d));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child ${args[0]} exited ${code ?? signal}: ${errOut}`))));
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let aw;
await check('require("atomicwriter") loads the platform package, no local build', () => {
  aw = require('atomicwriter');
  assert(typeof aw === 'function' && typeof aw.sync === 'function', 'the default export is the write-file-atomic function');
  const root = require.resolve('atomicwriter/package.json').replace(/package\.json$/, '');
  const local = readdirSync(join(root, 'native')).filter((f) => f.endsWith('.node'));
  assert(local.length === 0, `no .node inside the root package (found ${local})`);
  const { version, optionalDependencies } = require('atomicwriter/package.json');
  // A published root lists its platform packages; a root packed from the repository (the
  // release workflow's test jobs, which install the package dir beside it) does not.
  const candidates = optionalDependencies
    ? Object.keys(optionalDependencies)
    : readdirSync(join(root, '..')).filter((n) => n.startsWith('atomicwriter-'));
  const installed = candidates.filter((p) => {
    try {
      require.resolve(`${p}/package.json`);
      return true;
    } catch {
      return false;
    }
  });
  assert(installed.length === 1, `exactly one platform package installed (got ${installed})`);
  const pkg = require(`${installed[0]}/package.json`);
  assert(pkg.version === version && (!optionalDependencies || optionalDependencies[installed[0]] === version), 'exact version');
  return `${installed[0]}@${pkg.version}, ${runtime} ${process.versions.bun || process.versions.deno || process.version} on ${process.platform}-${process.arch}`;
});
if (!aw) finish();

await check('write-file-atomic callback, promise and .sync', async () => {
  await new Promise((res, rej) => aw(file('cb.txt'), 'callback', (err) => (err ? rej(err) : res())));
  assert(readFileSync(file('cb.txt'), 'utf8') === 'callback', 'callback content');
  await aw(file('p.json'), JSON.stringify({ a: 1 }), { encoding: 'utf8', mode: 0o600 });
  assert(JSON.parse(readFileSync(file('p.json'), 'utf8')).a === 1, 'promise content');
  aw.sync(file('s.bin'), Buffer.from([1, 2, 3]));
  assert(readFileSync(file('s.bin')).equals(Buffer.from([1, 2, 3])), 'sync content');
  let tmp;
  await aw(file('p.json'), 'replaced', { tmpfileCreated: (t) => (tmp = t) });
  assert(readFileSync(file('p.json'), 'utf8') === 'replaced', 'replace content');
  assert(typeof tmp === 'string', 'tmpfileCreated called');
  const left = readdirSync(scratch).filter((f) => f.includes('.tmp'));
  assert(left.length === 0, `no temp left (${left})`);
});

await check('bad arguments throw synchronously, disk errors come through the promise', async () => {
  let threw = false;
  try {
    aw(file('x'), 'x', { mode: 'rw' });
  } catch (e) {
    threw = e instanceof TypeError;
  }
  assert(threw, 'TypeError thrown synchronously for a bad mode');
  assert(!existsSync(file('x')), 'nothing written');
  const err = await aw(file('no/such/dir/f'), 'x').then(() => null, (e) => e);
  assert(err && err.code === 'ENOENT' && err.syscall && err.path, `ENOENT with syscall and path (got ${err && err.code})`);
});

await check('updateJson: 2 processes x 20 increments, none lost', async () => {
  const counter = file('counter.json');
  await Promise.all([self(['child-counter', counter, '20']), self(['child-counter', counter, '20'])]);
  const v = JSON.parse(readFileSync(counter, 'utf8'));
  assert(v.n === 40, `counter is ${v.n}, want 40`);
  assert(v.pids.length === 2, 'both processes wrote');
  return `n=${v.n}`;
});

await check('lock: another process sees it held, then waits for it', async () => {
  const { lock } = aw;
  const path = file('job.lock');
  const held = await lock(path);
  assert((await self(['child-trylock', path])) === 'busy', 'tryLock in another process fails while held');
  let sawBusy;
  const busy = new Promise((res) => (sawBusy = res));
  const waiter = self(['child-lock-wait', path], { onStdout: (out) => out.startsWith('busy') && sawBusy() });
  await busy;
  await sleep(500);
  await held.release();
  const waited = Number((await waiter).split('\n').pop().split(' ')[1]);
  assert(waited >= 300, `the other process waited for the release (${waited} ms)`);
  assert((await self(['child-trylock', path])) === 'got', 'free after release');
  return `waited ${waited} ms`;
});

await check('createWriteStream publishes on finish, not before', async () => {
  const target = file('stream.log');
  const ws = aw.createWriteStream(target);
  for (let i = 0; i < 100; i++) ws.write(`line ${i}\n`);
  assert(!existsSync(target), 'nothing at the target before end()');
  await new Promise((res, rej) => {
    ws.on('error', rej);
    ws.on('close', res);
    ws.end('end\n');
  });
  const text = readFileSync(target, 'utf8');
  assert(text.startsWith('line 0\n') && text.endsWith('line 99\nend\n'), 'whole content');
});

await check('writeDataset + verify (and verify catches a changed part)', async () => {
  const dir = file('ds');
  await aw.writeDataset(dir, async (stage) => {
    await stage.write('part-0.txt', 'alpha\n');
    await stage.write('sub/part-1.json', { b: 2 });
  });
  const good = await aw.verify(dir);
  assert(good.ok && good.checked === 2, `verify ok (${JSON.stringify(good.problems)})`);
  writeFileSync(join(dir, 'part-0.txt'), 'ALPHA\n');
  const bad = await aw.verify(dir);
  assert(!bad.ok && bad.problems.some((p) => p.name === 'part-0.txt'), 'the changed part is reported');
});

await check('Parquet write, read back by hyparquet', async () => {
  const { parquetReadObjects } = await import(pathToImport(require.resolve('hyparquet')));
  const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, score: i / 4 }));
  const res = await aw.write(rows, file('t.parquet'));
  assert(res.rows === 50, `50 rows written (${res.rows})`);
  const buf = readFileSync(file('t.parquet'));
  const back = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
  assert(back.length === 50 && Number(back[49].id) === 49 && back[49].name === 'n49' && back[49].score === 12.25, 'rows round-trip');
  return `${buf.length} bytes`;
});

if (process.platform === 'win32' && process.env.AW_SMOKE_HOLDER) {
  await check('Windows: a reader holding the target open (no delete sharing) is waited out', async () => {
    const target = file('held.txt');
    writeFileSync(target, 'old');
    // stderr piped, not inherited: under Wine a child given the parent's file as stderr
    // never starts.
    const holder = spawn(process.env.AW_SMOKE_HOLDER, [target, '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let holderErr = '';
    holder.stderr.on('data', (d) => (holderErr += d));
    const closed = new Promise((res) => holder.on('close', res));
    await new Promise((res, rej) => {
      holder.on('error', rej);
      holder.stdout.once('data', res); // "held"
      closed.then((code) => rej(new Error(`holder exited ${code} before holding: ${holderErr}`)));
    });
    const t0 = Date.now();
    await aw(target, 'new');
    const took = Date.now() - t0;
    await closed;
    assert(readFileSync(target, 'utf8') === 'new', 'new content');
    assert(took >= 500, `the write waited for the holder (${took} ms)`);
    return `published after ${took} ms`;
  });
}

finish();

function pathToImport(p) {
  return process.platform === 'win32' ? `file:///${p.replace(/\\/g, '/')}` : p;
}
function finish() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (!process.env.AW_SMOKE_DIR) rmSync(scratch, { recursive: true, force: true });
  console.log(`smoke: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
