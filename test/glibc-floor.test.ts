// The published Linux gnu binaries are linked against glibc 2.17 stubs
// (scripts/build-platforms.sh) so that they load on RHEL 7, Debian 8 and Amazon Linux 2.
// A call to a libc function that glibc 2.17 does not have fails that build's check, and had
// it shipped, would kill the process there ("symbol lookup error"). The cross build is not
// part of CI (minutes per target), so this reads the development build in native/: linked
// against this machine's newer glibc, its dynamic symbol table names every libc function
// the code calls directly, and none may be one that arrived after 2.17 (those go through
// syscall(2), as crates/core/src/sys/unix.rs does for renameat2 and getrandom). Weak
// references are std's own: looked up at run time and checked for null before use.
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';

// Linux libc functions added after glibc 2.17, with the release that added them.
const AFTER_2_17: Record<string, string> = {
  getrandom: '2.25',
  getentropy: '2.25',
  explicit_bzero: '2.25',
  preadv2: '2.26',
  pwritev2: '2.26',
  reallocarray: '2.26',
  copy_file_range: '2.27',
  memfd_create: '2.27',
  mlock2: '2.27',
  pkey_alloc: '2.27',
  pkey_mprotect: '2.27',
  renameat2: '2.28',
  statx: '2.28',
  fcntl64: '2.28',
  posix_spawn_file_actions_addchdir_np: '2.29',
  gettid: '2.30',
  tgkill: '2.30',
  close_range: '2.34',
  closefrom: '2.34',
  execveat: '2.34',
  _Fork: '2.34',
  epoll_pwait2: '2.35',
  pidfd_open: '2.36',
  pidfd_send_signal: '2.36',
  arc4random: '2.36',
  strlcpy: '2.38',
};

/** Strong undefined symbols of a shared object, as `objdump -T` lists them: [name, version]. */
function strongImports(file: string): [string, string][] {
  return execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => /\*UND\*/.test(l) && !/^\S+\s+w\s/.test(l))
    .map((l) => {
      const name = l.trim().split(/\s+/).pop()!;
      return [name, /\((GLIBC_[\d.]+)\)/.exec(l)?.[1] ?? ''];
    });
}

describe.runIf(process.platform === 'linux')('the Linux addon and the glibc 2.17 floor', () => {
  const addons = readdirSync(join(repoRoot, 'native')).filter((f) => /^atomicwriter\.linux-.*-gnu\.node$/.test(f));

  it('the development build is there to read', () => {
    expect(addons.length).toBe(1);
  });

  it('calls no libc function that glibc 2.17 lacks (renameat2, getrandom, ... go through syscall(2))', () => {
    const imports = strongImports(join(repoRoot, 'native', addons[0]));
    // The table is read for real: the addon imports libc's write, versioned.
    expect(imports.some(([name, version]) => name === 'write' && version.startsWith('GLIBC_'))).toBe(true);
    const newer = imports.filter(([name]) => name in AFTER_2_17).map(([name, version]) => `${name}@${version} (glibc ${AFTER_2_17[name]})`);
    expect(newer).toEqual([]);
  });
});
