// The tests' Python tools (scripts/test-deps.mjs): provisioned once and reused, and when
// they cannot be, the run says what it did not test and how to install it.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { venvDir } from '../scripts/test-deps.mjs';
import { repoRoot, runNode, scratch } from './helpers.js';

const script = join(repoRoot, 'scripts', 'test-deps.mjs');

/** The environment without any tool the globalSetup handed us. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ['AW_PYTHON', 'AW_MOTO_SERVER', 'AW_REQUIRE_TEST_DEPS', 'AW_REQUIRE_S3', 'AW_TEST_DEPS_REPORT', 'AW_TEST_DEPS']) if (!(k in extra)) delete env[k];
  return env;
}

describe('test tools', () => {
  it('without python3 on PATH: names each tool, what it tests and the fix; exits 1, no venv made', async () => {
    const dir = scratch();
    const emptyPath = join(dir, 'bin');
    mkdirSync(emptyPath);
    const venv = join(dir, 'venv');
    const r = await runNode([script], { env: cleanEnv({ PATH: emptyPath, AW_TEST_VENV: venv }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the S3 tests');
    expect(r.stderr).toContain('no moto_server (python3 is not installed)');
    expect(r.stderr).toContain('no pyarrow and numpy (python3 is not installed)');
    expect(r.stderr).toContain('install: install Python 3 with its venv module (Debian/Ubuntu: apt-get install python3-venv)');
    expect(existsSync(venv)).toBe(false);
  });

  it('a venv path that cannot be made (under a regular file) is reported with the fix, not thrown', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'file'), '');
    const venv = join(dir, 'file', 'venv');
    const r = await runNode([script], { env: cleanEnv({ AW_TEST_VENV: venv }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no moto_server (cannot make ${venv}: EEXIST`); // mkdir -p meets the file
    expect(r.stderr).toContain('install: AW_TEST_VENV=<a writable directory> npm run test:deps');
    expect(r.stderr).not.toContain('    at '); // no stack trace: a report, not a crash
  });

  it('a vitest run that lacks them ends by naming the skipped tests and the install command', async () => {
    const dir = scratch();
    const r = await runNode([join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/formats-npy.test.ts'], {
      env: cleanEnv({ AW_TEST_DEPS: 'off', AW_TEST_VENV: join(dir, 'venv'), PATH: join(dir, 'nothing'), NO_COLOR: '1' }),
    });
    expect(r.status).toBe(0);
    const tail = r.stdout.slice(r.stdout.lastIndexOf('Duration'));
    expect(tail).toContain('1 skipped test(s):');
    expect(tail).toContain('test/formats-npy.test.ts: 1 ("npy > numpy loads every TypedArray kind');
    expect(tail).toContain('no pyarrow and numpy (AW_TEST_DEPS=off and it is not installed)');
    expect(tail).toContain('install: npm run test:deps');
  });

  it('AW_REQUIRE_TEST_DEPS=1 (CI): a missing tool fails the run before any test', async () => {
    const dir = scratch();
    const r = await runNode([join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/formats-npy.test.ts'], {
      env: cleanEnv({ AW_TEST_DEPS: 'off', AW_REQUIRE_TEST_DEPS: '1', AW_TEST_VENV: join(dir, 'venv'), PATH: join(dir, 'nothing'), NO_COLOR: '1' }),
    });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('AW_REQUIRE_TEST_DEPS=1');
    expect(r.stdout + r.stderr).not.toContain('✓');
  });

  // The venv this run's globalSetup made (or found) is reused as it is: no venv, no pip.
  it.skipIf(!existsSync(join(venvDir(), 'bin', 'moto_server')))('a provisioned venv is reused without installing anything', async () => {
    const started = Date.now();
    const r = await runNode([script], { env: cleanEnv({}) });
    expect(r.stderr).not.toContain('creating');
    expect(r.stderr).not.toContain('pip install');
    expect(r.stderr).toContain(`AW_MOTO_SERVER=${join(venvDir(), 'bin', 'moto_server')}`);
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
