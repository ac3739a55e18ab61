// The loader when no binary fits this machine: the error names the platform (os, arch,
// libc, Node ABI), lists the published targets and says what to do. The platform is forced
// for real in a child Node: a preload redefines process.platform/process.arch before the
// generated napi-rs loader reads them, so it looks for a package that is not there.
import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { repoRoot, runNode, scratch } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

async function loadAs(platform: string, arch: string, extraEnv: Record<string, string> = {}) {
  const dir = scratch('aw-loader-');
  const preload = join(dir, 'fake-platform.cjs');
  writeFileSync(preload, `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });\nObject.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });\n`);
  // Through the public API: the binding loads on the first write, which must throw the
  // loader's error (not a TypeError from a half-loaded module).
  const probe = `
    const aw = require(${JSON.stringify(join(repoRoot, 'dist/index.js'))});
    try { aw.sync(${JSON.stringify(join(dir, 'f'))}, 'x'); console.log(JSON.stringify({ loaded: true })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, platform: e.platform, cause: !!e.cause })); }`;
  const env = { ...process.env, ...extraEnv };
  delete (env as Record<string, string | undefined>).NAPI_RS_NATIVE_LIBRARY_PATH;
  const res = await runNode(['--require', preload, '-e', probe], { env });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as { code?: string; message: string; platform: Record<string, string>; cause: boolean; loaded?: boolean };
}

describe('no binary for this platform', () => {
  it('an unknown platform: names os, arch, Node ABI; lists the published targets; says to open an issue or build', async () => {
    const err = await loadAs('aix', 'ppc64');
    expect(err.code).toBe('ERR_ATOMICWRITER_NO_BINARY');
    expect(err.message).toContain('os aix, arch ppc64');
    expect(err.message).toContain(`ABI ${process.versions.modules}, N-API ${process.versions.napi}`);
    // The runtime by its own name: Bun reports a Node version (v26.3.0) it is not.
    expect(err.message).toContain(process.versions.bun ? `Bun ${process.versions.bun} (ABI` : `Node ${process.version}`);
    expect(err.message).toContain('Published binaries: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl, darwin-x64, darwin-arm64, win32-x64-msvc.');
    expect(err.message).toContain('No prebuilt binary is published for aix-ppc64');
    expect(err.message).toMatch(/Open an issue .* or build it yourself: in a clone .*cargo/);
    expect(err.cause).toBe(true); // napi-rs's own errors, for whoever digs
    expect(pkg.napi.targets.length).toBe(7);
  });

  it('a published platform whose package npm did not install: names libc and the package, says how to reinstall', async () => {
    // linux arm64 gnu on this x64 machine: published, not installed (as after --omit=optional
    // or a lock file made elsewhere); the local build is x64 and is not picked.
    const err = await loadAs('linux', 'arm64');
    expect(err.code).toBe('ERR_ATOMICWRITER_NO_BINARY');
    expect(err.message).toMatch(/os linux, arch arm64, libc gnu \d+\.\d+/);
    expect(err.message).toContain(`atomicwriter-linux-arm64-gnu@${pkg.version} is published for this platform but is not installed`);
    expect(err.message).toContain('npm install');
    expect(err.platform.key).toBe('linux-arm64-gnu');
  });

  it('the real platform still loads (the wrapper changes only the failure)', async () => {
    const ok = await loadAs(process.platform, process.arch);
    expect(ok.loaded).toBe(true);
  });
});
