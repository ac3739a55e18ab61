import { chmodSync, copyFileSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll } from 'vitest';

const require = createRequire(import.meta.url);

/** The package as a CommonJS user gets it. */
export const aw: typeof import('../index.js') = require('../dist/index.js');

const dirs: string[] = [];

/** A scratch directory, removed after the test. */
export function scratch(prefix = 'aw-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A fresh scratch directory holding `name` with `content`: the old file a test replaces. */
export function scratchFile(name: string, content: string | Buffer): { dir: string; file: string } {
  const dir = scratch();
  const file = join(dir, name);
  writeFileSync(file, content);
  return { dir, file };
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Names in `dir`, sorted: a leftover temp shows up here. */
export function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

// ---- Child processes and environment probes (shared by the fault, crash, strace,
// thread and module tests). Imports are hoisted, so they may sit down here.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The package root: children started here resolve `atomicwriter` to this package. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export function fixture(name: string): string {
  return join(repoRoot, 'test', 'fixtures', name);
}

export const isRoot = process.getuid?.() === 0;

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output; a hung child is killed after `timeout` ms. */
export function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, timeout: 120_000, killSignal: 'SIGKILL', ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Runs `node args...` in the package root. */
export function runNode(args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return run(process.execPath, args, options);
}

/** The last line of a child's stdout, parsed as JSON (fixtures report that way). */
export function lastJson<T = Record<string, unknown>>(result: RunResult): T {
  const lines = result.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]!) as T;
  } catch {
    throw new Error(`child printed no JSON (status ${result.status}, signal ${result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Names in `dir` that start with a dot: our named temps (and any other debris). */
export function dotEntries(dir: string): string[] {
  return entries(dir).filter((name) => name.startsWith('.'));
}

// ---- Another user: uid 65534, for EACCES and attack tests (planted links, FIFOs, swaps).
// The checkout may sit where that user cannot go (under /root, or any 0700 directory), so
// whatever its process runs (the package, fixtures, a script) is a copy in a directory
// under the temp dir that every user can traverse. Every test that runs code as the other
// user goes through asOtherUser (node scripts) or runAsOtherUser (any command).

export const OTHER_UID = 65534;
/** True where the tests can play the other user: root, with setpriv (util-linux). */
export const canActAsOtherUser = isRoot && hasCommand('setpriv');
/** The command prefix that drops to OTHER_UID, its group and no supplementary groups. */
export const asOtherUserPrefix = ['setpriv', `--reuid=${OTHER_UID}`, `--regid=${OTHER_UID}`, '--clear-groups'];

let stage: string | undefined;
let inlineCount = 0;

afterAll(() => {
  if (stage !== undefined) rmSync(stage, { recursive: true, force: true });
  stage = undefined;
});

/** Throws unless every directory above `path` lets other users through (o+x). */
function assertTraversable(path: string, fix: string): void {
  for (let d = dirname(path); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) throw new Error(`${d} is not traversable by other users, so uid ${OTHER_UID} cannot reach ${path}: ${fix}`);
    if (d === dirname(d)) return;
  }
}

/** Makes `path` and everything in it readable (and directories traversable) by everyone. */
function openToAll(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openToAll(join(path, name));
  } else {
    chmodSync(path, (st.mode & 0o777) | 0o444);
  }
}

/**
 * A copy of the package laid out as in the checkout (package.json, index.mjs, dist/,
 * native/, bin/, test/fixtures/<files>) that OTHER_UID can read: a fixture's relative
 * imports ('../../index.mjs') and `import 'atomicwriter'` both resolve inside it. `files`
 * are names in test/fixtures to copy in. The devDependencies are not copied: a child of
 * the other user has the package and Node's built-ins only.
 * Made once per test file, removed after it.
 */
export function otherUserStage(files: string[] = []): string {
  if (stage === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'aw-other-user-'));
    assertTraversable(dir, 'set TMPDIR to a directory under one that is (such as /tmp)');
    assertTraversable(process.execPath, 'run the tests with a Node installed outside it');
    for (const name of ['package.json', 'index.mjs', 'dist', 'bin', join('native', 'binding.js'), join('test', 'package.json')]) {
      cpSync(join(repoRoot, name), join(dir, name), { recursive: true });
    }
    for (const name of readdirSync(join(repoRoot, 'native')).filter((n) => n.endsWith('.node') || n.endsWith('.js'))) {
      copyFileSync(join(repoRoot, 'native', name), join(dir, 'native', name));
    }
    mkdirSync(join(dir, 'test', 'fixtures'), { recursive: true });
    // `import 'atomicwriter'` from test/fixtures: test/package.json, not the package's,
    // is the nearest scope there, so a self-reference would not resolve; this does.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync('..', join(dir, 'node_modules', 'atomicwriter'));
    openToAll(dir);
    stage = dir;
  }
  for (const name of files) {
    if (name.includes('/') || name.includes(sep)) throw new Error(`files: ${name}: give a name in test/fixtures`);
    const to = join(stage, 'test', 'fixtures', name);
    copyFileSync(fixture(name), to);
    chmodSync(to, 0o644);
  }
  return stage;
}

export interface OtherUserOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Arguments after the script. */
  args?: string[];
  /** More names in test/fixtures the script imports or reads (copied beside it). */
  files?: string[];
}

/**
 * Runs any command as OTHER_UID (e.g. `runAsOtherUser('ln', ['-s', victim, link])` to plant
 * a link in a sticky directory). Its cwd defaults to the staged copy, never the checkout.
 */
export function runAsOtherUser(cmd: string, args: string[], options: Omit<SpawnOptions, 'stdio'> = {}): Promise<RunResult> {
  if (!canActAsOtherUser) throw new Error('runAsOtherUser needs root and setpriv: guard the test with canActAsOtherUser');
  return run(asOtherUserPrefix[0]!, [...asOtherUserPrefix.slice(1), cmd, ...args], { cwd: otherUserStage(), ...options });
}

/**
 * The command line that runs a Node script as OTHER_UID from the staged copy, for a
 * caller that spawns it itself (an attacker that runs alongside a write and is killed
 * after). `script` is either the name of a file in test/fixtures ('write.mjs') or the
 * source of an ES module, which can `import aw from 'atomicwriter'`.
 */
export function otherUserNode(script: string, files: string[] = []): { cmd: string; args: string[]; cwd: string } {
  if (!canActAsOtherUser) throw new Error('asOtherUser needs root and setpriv: guard the test with canActAsOtherUser');
  const isFixtureName = /^[\w.-]+\.(mjs|cjs|js)$/.test(script);
  const dir = otherUserStage(isFixtureName ? [script, ...files] : files);
  let path = join(dir, 'test', 'fixtures', basename(script));
  if (!isFixtureName) {
    path = resolve(dir, 'test', 'fixtures', `inline-${process.pid}-${++inlineCount}.mjs`);
    writeFileSync(path, script, { mode: 0o644 });
  }
  return { cmd: asOtherUserPrefix[0]!, args: [...asOtherUserPrefix.slice(1), process.execPath, path], cwd: dir };
}

/**
 * Runs a Node script as OTHER_UID to completion and collects its output (parse a JSON
 * last line with lastJson); see otherUserNode for `script`. It runs from the staged copy
 * (otherUserStage), so it works wherever the checkout is.
 */
export function asOtherUser(script: string, options: OtherUserOptions = {}): Promise<RunResult> {
  const { args = [], files = [], ...spawnOptions } = options;
  const { cmd, args: argv, cwd } = otherUserNode(script, files);
  return run(cmd, [...argv, ...args], { cwd, ...spawnOptions });
}

/** A scratch directory shared like /tmp: world-writable and sticky (1777), for planting attacks. */
export function stickyScratch(prefix = 'aw-sticky-'): string {
  const dir = scratch(prefix);
  chmodSync(dir, 0o1777);
  return dir;
}

// ---- Special files planted at paths the library opens (FIFOs, sockets, devices).
import { createServer, type Server } from 'node:net';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A unix socket at `path` (a listening server, closed after the test). */
export function listenUnix(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(path, resolve));
}

/** What is at `path`: its type, inode, device and mode, so that a replacement shows. */
export function fileIdentity(path: string): string {
  const st = lstatSync(path);
  const kind = st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'char' : st.isFile() ? 'file' : 'other';
  return `${kind}:${st.ino}:${st.rdev}:${st.mode.toString(8)}`;
}

/** `size` bytes (whole MiB) in 1 MiB chunks, each distinct; every chunk goes through `hash` as it is yielded. */
export async function* patternedChunks(size: number, hash: { update(chunk: Buffer): unknown }): AsyncGenerator<Buffer> {
  const MiB = 1 << 20;
  for (let offset = 0; offset < size; offset += MiB) {
    const chunk = Buffer.alloc(MiB, offset / MiB);
    chunk.writeUInt32LE(offset, 0);
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * A tmpfs of `size` (`'1m'`) mounted on a fresh directory for the whole describe block
 * it is called in (needs root), unmounted and removed after it. `mounted` gets the mount
 * point once it is mounted (a test file keeps it in a variable). Not a scratch() dir:
 * those are removed after every test.
 */
export function tmpfsForSuite(prefix: string, size: string, mounted: (mnt: string) => void | Promise<void>): void {
  let mnt = '';
  beforeAll(async () => {
    mnt = mkdtempSync(join(tmpdir(), prefix));
    const result = await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
    if (result.status !== 0) throw new Error(`mount failed: ${result.stderr}`);
    await mounted(mnt);
  });
  afterAll(async () => {
    if (!mnt) return;
    const result = await run('umount', [mnt]);
    if (result.status !== 0) throw new Error(`umount failed: ${result.stderr}`);
    rmdirSync(mnt);
  });
}

/**
 * Resolves once `pid` holds a file open in `dir` (its temp, named or O_TMPFILE) with at
 * least `bytes` in it: the write is under way, and has taken in that much (polled every
 * 10 ms, `attempts` times).
 */
export async function untilWriting(pid: number, dir: string, bytes = 0, attempts = 2000): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      // not started yet
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!target.startsWith(dir + '/') || target.endsWith('/stdin')) continue;
      try {
        if (statSync(`/proc/${pid}/fd/${fd}`).size >= bytes) return;
      } catch {
        // closed meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never had a temp in ${dir} with ${bytes} bytes`);
}
