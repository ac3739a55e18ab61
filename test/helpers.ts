import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterEach } from 'vitest';

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
