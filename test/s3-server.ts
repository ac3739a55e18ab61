// A real S3-compatible server for the S3 tests: moto_server (PyPI `moto[server]`) on
// 127.0.0.1, on a port it picks itself (`-p 0`), read from what it prints, stopped
// after the tests. `.ci/run` installs it and sets AW_MOTO_SERVER; without it the S3
// tests are skipped (and fail under AW_REQUIRE_S3=1, as in CI).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function motoBinary(): string | undefined {
  const candidates = [process.env.AW_MOTO_SERVER, join(process.env.TMPDIR ?? tmpdir(), 'atomicwriter-s3-venv/bin/moto_server'), '/tmp/atomicwriter-s3-venv/bin/moto_server'];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

export const haveMoto = motoBinary() !== undefined;
if (!haveMoto && process.env.AW_REQUIRE_S3 === '1') throw new Error('AW_REQUIRE_S3=1 but moto_server was not found: set AW_MOTO_SERVER');

export interface S3Server {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<S3Server> {
  const bin = motoBinary();
  if (!bin) throw new Error('moto_server not found (pip install "moto[server]" and set AW_MOTO_SERVER)');
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`moto_server did not report its port:\n${seen}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`moto_server exited (${code}):\n${seen}`)));
  });
  // Keep reading its log so a full pipe never stalls it.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Test credentials for the local server (moto accepts any); the secret is recognizable so tests can look for leaks. */
export const TEST_SECRET = 'aw-test-secret-DO-NOT-LEAK-9f3c1e';

export function s3Env(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'awtestkey', AWS_SECRET_ACCESS_KEY: TEST_SECRET, AWS_REGION: 'us-east-1' };
}
