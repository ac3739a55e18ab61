#!/usr/bin/env node
// Checks one built addon before it goes into a platform package: the file type matches the
// target, the N-API entry point napi_register_module_v1 is exported, and on Linux gnu no
// glibc symbol newer than the floor (2.17) is referenced, nor any glibc function without a
// version (a wrapper the 2.17 stubs lack, which an older glibc would not have at run time).
//   node scripts/check-artifact.mjs <rust-target> <file.node>
// Prints one line of facts; exits 1 with the reason when a check fails.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';

const GLIBC_FLOOR = [2, 17];
const [target, file] = process.argv.slice(2);
if (!target || !file) {
  console.error('usage: check-artifact.mjs <rust-target> <file.node>');
  process.exit(2);
}
const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const failures = [];
const facts = [];

const expectedType = {
  'x86_64-unknown-linux-gnu': /ELF 64-bit LSB shared object, x86-64/,
  'aarch64-unknown-linux-gnu': /ELF 64-bit LSB shared object, ARM aarch64/,
  'x86_64-unknown-linux-musl': /ELF 64-bit LSB shared object, x86-64/,
  'aarch64-unknown-linux-musl': /ELF 64-bit LSB shared object, ARM aarch64/,
  'x86_64-apple-darwin': /Mach-O 64-bit (x86_64 )?dynamically linked shared library( x86_64)?/,
  'aarch64-apple-darwin': /Mach-O 64-bit (arm64 )?dynamically linked shared library( arm64)?/,
  'x86_64-pc-windows-msvc': /PE32\+ executable \(DLL\).*x86-64/,
}[target];
if (!expectedType) failures.push(`no checks known for ${target}`);
const type = run('file', ['-b', file]).trim();
facts.push(type.split(',').slice(0, 2).join(','));
if (expectedType && !expectedType.test(type)) failures.push(`file type "${type}" is not ${expectedType}`);

if (target.includes('-linux-')) {
  const dyn = run('readelf', ['--dyn-syms', '--wide', file]).split('\n');
  if (!dyn.some((l) => /\bFUNC\b.*\bGLOBAL\b.*\s\d+\s+napi_register_module_v1$/.test(l.trim()))) {
    failures.push('napi_register_module_v1 is not exported');
  }
  const needed = [...run('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
  facts.push(`needs ${needed.join(' ')}`);
  const versions = [...run('objdump', ['-T', file]).matchAll(/\(GLIBC_([\d.]+)\)/g)].map((m) => m[1].split('.').map(Number));
  if (target.endsWith('-gnu')) {
    const newest = versions.reduce((a, b) => (cmp(a, b) >= 0 ? a : b), [0]);
    facts.push(`GLIBC floor ${newest.join('.')}`);
    if (cmp(newest, GLIBC_FLOOR) > 0) failures.push(`references GLIBC_${newest.join('.')} > ${GLIBC_FLOOR.join('.')}`);
    // A strong undefined symbol with no version: anything but N-API (resolved from node) is a
    // libc function that the floor's stubs did not have. Weak ones (std's statx, gettid) are
    // looked up and checked for null before use.
    const unversioned = run('objdump', ['-T', file])
      .split('\n')
      .filter((l) => /\*UND\*/.test(l) && !/\(GLIBC_|\(GCC_/.test(l) && !/^\S+\s+w\s/.test(l))
      .map((l) => l.trim().split(/\s+/).pop())
      .filter((name) => name && !name.startsWith('napi_') && !name.startsWith('node_api_') && !/^_?_?(gmon_start|ITM_|cxa_finalize)/.test(name));
    if (unversioned.length) failures.push(`unversioned libc references (newer than glibc ${GLIBC_FLOOR.join('.')}): ${unversioned.join(', ')}`);
  } else {
    facts.push('musl');
    if (versions.length) failures.push('a musl build references glibc symbol versions');
    if (!needed.some((n) => /musl|^libc\.so/.test(n))) failures.push(`does not link musl's libc (needs ${needed.join(' ')})`);
  }
} else if (target.includes('-apple-')) {
  const syms = run('llvm-nm', ['-gU', file]);
  if (!/\s_napi_register_module_v1$/m.test(syms)) failures.push('_napi_register_module_v1 is not exported');
  const minos = run('llvm-objdump', ['--macho', '--private-headers', file]).match(/\bminos\s+(\d+\.\d+)/);
  if (minos) facts.push(`macOS >= ${minos[1]}`);
  // Only what every Mac has: libSystem, the frameworks, /usr/lib (the first line is the file's own id).
  const dylibs = run('llvm-objdump', ['--macho', '--dylibs-used', file]).split('\n').slice(2).map((l) => l.trim().split(' (')[0]).filter(Boolean);
  facts.push(`links ${dylibs.map((d) => d.split('/').pop()).join(' ')}`);
  const foreign = dylibs.filter((d) => !/^\/(usr\/lib|System\/Library)\//.test(d));
  if (foreign.length) failures.push(`links non-system libraries: ${foreign.join(', ')}`);
} else if (target.includes('-windows-')) {
  const pe = run('objdump', ['-p', file]);
  const exportTable = pe.slice(pe.indexOf('[Ordinal/Name Pointer] Table'));
  if (!/\bnapi_register_module_v1\b/.test(exportTable)) failures.push('napi_register_module_v1 is not exported');
  const dlls = [...pe.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
  facts.push(`imports ${dlls.join(' ')}`);
  // A mingw build must not need mingw's runtime DLLs, which no Windows machine has, nor
  // libnode.dll: N-API comes from the host process (node.exe, or Electron) at load time.
  const foreign = dlls.filter((d) => /libgcc|libwinpthread|libstdc\+\+|libnode|node\.exe/i.test(d));
  if (foreign.length) failures.push(`needs mingw runtime DLLs: ${foreign.join(', ')}`);
}

facts.push(`${(statSync(file).size / 1e6).toFixed(2)} MB`);
console.log(`${target}: ${failures.length ? 'FAIL' : 'ok'}: ${facts.join('; ')}`);
for (const f of failures) console.error(`  ${target}: ${f}`);
process.exit(failures.length ? 1 : 0);

function cmp(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
