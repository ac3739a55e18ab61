import { spawn } from 'node:child_process';
import { repoRoot } from './helpers.js';

/**
 * Starts `node args...`, waits for it to print `ready`, then kills it with SIGKILL
 * after `delayMs` (unless it exited first). `finished`: it printed its `"done"` line.
 */
export function killAfter(args: string[], delayMs: number): Promise<{ finished: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (timer === undefined && stdout.includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (status !== null && status !== 0) reject(new Error(`fixture failed (${status}): ${stderr}`));
      else resolve({ finished: stdout.includes('"done"'), stdout, stderr });
    });
  });
}

/** The `ms` a fixture reported on its last line. */
export function reportedMs(stdout: string): number {
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number }).ms;
}
