// Builds (once, cached under bench/.vm/) what the OS-crash trials boot:
//   - vmlinux: Debian's stock 6.1 kernel, uncompressed (QEMU boots it through its PVH
//     entry point, ~3 s faster under TCG than decompressing the bzImage);
//   - initramfs.cpio: busybox, the modules for virtio disks, ext4, xfs and btrfs in load
//     order, and bench/crash-vm/init.sh as /init;
//   - pkg.img: a read-only ext4 root with the host's `node`, the shared libraries it and
//     our addon link, this package (dist/, native/, index.mjs), the peers and the guest
//     script;
//   - data-<fs>.img: a freshly made filesystem per kind, copied for every trial.
// Debian packages it needs (qemu-system-x86, busybox-static, xfsprogs, btrfs-progs,
// e2fsprogs, kmod) are installed with apt-get when missing.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const cacheDir = join(root, 'bench', '.vm');

const TOOLS = { 'qemu-system-x86_64': 'qemu-system-x86', busybox: 'busybox-static', 'mkfs.xfs': 'xfsprogs', 'mkfs.btrfs': 'btrfs-progs', 'mkfs.ext4': 'e2fsprogs', depmod: 'kmod', cpio: 'cpio' };
// The guest mounts each data disk with these options. ext4's default replace-via-rename
// heuristic (auto_da_alloc) flushes data before a rename on its own and so hides a
// missing fsync; noauto_da_alloc shows what the protocol itself guarantees.
// `ext4-defaults` is ext4 mounted with its default options (the power-cut trials run both).
export const FILESYSTEMS = {
  ext4: { type: 'ext4', mkfs: ['mkfs.ext4', '-q', '-F'], options: 'noauto_da_alloc', label: 'ext4 (noauto_da_alloc)' },
  'ext4-defaults': { type: 'ext4', mkfs: ['mkfs.ext4', '-q', '-F'], options: 'defaults', label: 'ext4 (defaults)' },
  xfs: { type: 'xfs', mkfs: ['mkfs.xfs', '-q', '-f'], options: 'defaults', label: 'xfs' },
  btrfs: { type: 'btrfs', mkfs: ['mkfs.btrfs', '-q', '-f'], options: 'defaults', label: 'btrfs' },
};
export const DATA_BYTES = 512 << 20; // xfs wants at least 300 MB
// ext4 always: the package disk is ext4.
const BASE_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'crc32c-intel', 'ext4'];
const MODULES = { ext4: [], xfs: ['xfs'], btrfs: ['xxhash64', 'btrfs'] };

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...opts });
const has = (cmd) => {
  try {
    run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};

function installTools() {
  const missing = Object.entries(TOOLS).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (!missing.length) return;
  console.error(`crash-vm: installing ${missing.join(' ')} from Debian`);
  aptUpdate();
  run('apt-get', ['install', '-y', '-qq', ...new Set(missing)], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

let updated = false;
function aptUpdate() {
  if (!updated) run('apt-get', ['update', '-qq']);
  updated = true;
}

/** Debian's current 6.1 kernel (what linux-image-amd64 depends on), extracted. */
function kernel() {
  const dir = join(cacheDir, 'kernel');
  const ready = join(dir, 'ready');
  if (!existsSync(ready)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let depends = run('apt-cache', ['depends', 'linux-image-amd64']).toString();
    if (!depends.includes('Depends:')) {
      aptUpdate(); // a fresh machine may have no package lists yet
      depends = run('apt-cache', ['depends', 'linux-image-amd64']).toString();
    }
    const pkg = /Depends: (linux-image-[\w.-]+-amd64)\b/.exec(depends)?.[1];
    if (!pkg) throw new Error(`crash-vm: no kernel package in 'apt-cache depends linux-image-amd64':\n${depends}`);
    run('apt-get', ['download', '-qq', pkg], { cwd: dir });
    const deb = readdirSync(dir).find((n) => n.endsWith('.deb'));
    run('dpkg-deb', ['-x', deb, 'root'], { cwd: dir });
    rmSync(join(dir, deb));
    const version = readdirSync(join(dir, 'root', 'lib', 'modules'))[0];
    run('depmod', ['-b', join(dir, 'root'), version]);
    // The bzImage holds an xz stream; its payload is the ELF vmlinux.
    const bz = readFileSync(join(dir, 'root', 'boot', `vmlinuz-${version}`));
    const at = bz.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    if (at < 0) throw new Error('crash-vm: no xz stream in the kernel image');
    writeFileSync(join(dir, 'vmlinux'), execFileSync('xz', ['-dc', '--single-stream'], { input: bz.subarray(at), maxBuffer: 1 << 30 }));
    writeFileSync(join(dir, 'version'), version);
    writeFileSync(ready, pkg);
  }
  return { dir, version: readFileSync(join(dir, 'version'), 'utf8'), vmlinux: join(dir, 'vmlinux'), pkg: readFileSync(ready, 'utf8') };
}

/** busybox + the modules (in dependency order) + /init. */
function initramfs(k) {
  const out = join(cacheDir, 'initramfs.cpio');
  const init = join(here, 'init.sh');
  if (existsSync(out) && statSync(out).mtimeMs > statSync(init).mtimeMs) return out;
  const tree = join(cacheDir, 'initramfs');
  rmSync(tree, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'dev', 'sys', 'root', 'modules']) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(run('sh', ['-c', 'command -v busybox']).toString().trim(), join(tree, 'bin', 'busybox'));
  chmodSync(join(tree, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(tree, 'bin', 'sh'));
  // One load order per filesystem, so a boot loads only what its data disk needs.
  for (const [fs, modules] of Object.entries(MODULES)) {
    const order = [];
    const lines = run('modprobe', ['-d', join(k.dir, 'root'), '-S', k.version, '--show-depends', '-a', ...BASE_MODULES, ...modules]).toString().split('\n');
    for (const line of lines) {
      const path = /^insmod (\S+)/.exec(line)?.[1];
      if (!path) continue;
      const name = path.split('/').pop();
      if (order.includes(name)) continue;
      copyFileSync(path, join(tree, 'modules', name));
      order.push(name);
    }
    writeFileSync(join(tree, 'modules', `${fs}.order`), order.join('\n') + '\n');
  }
  copyFileSync(init, join(tree, 'init'));
  chmodSync(join(tree, 'init'), 0o755);
  run('sh', ['-c', `find . | cpio -o -H newc --quiet > ${JSON.stringify(out)}`], { cwd: tree });
  return out;
}

/** A package and its dependencies, recursively, from node_modules. */
function packageClosure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
  for (const dep of Object.keys(manifest.dependencies ?? {})) packageClosure(dep, seen);
  return seen;
}

const sharedLibraries = (file) =>
  run('ldd', [file]).toString().split('\n').map((l) => /(\/\S+) \(0x/.exec(l)?.[1]).filter(Boolean);

/** The read-only root the guest chroots into: node, its libraries, the package, the peers. */
function pkgImage() {
  const out = join(cacheDir, 'pkg.img');
  const tree = join(cacheDir, 'pkg');
  rmSync(tree, { recursive: true, force: true });
  for (const d of ['proc', 'dev', 'tmp', 'data', 'bin', 'usr/bin']) mkdirSync(join(tree, d), { recursive: true });
  copyFileSync(process.execPath, join(tree, 'usr', 'bin', 'node'));
  chmodSync(join(tree, 'usr', 'bin', 'node'), 0o755);
  copyFileSync(join(cacheDir, 'initramfs', 'bin', 'busybox'), join(tree, 'bin', 'busybox'));
  chmodSync(join(tree, 'bin', 'busybox'), 0o755);
  const addon = readdirSync(join(root, 'native')).filter((n) => n.endsWith('.node')).map((n) => join(root, 'native', n));
  for (const lib of new Set([process.execPath, ...addon].flatMap(sharedLibraries))) {
    mkdirSync(join(tree, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(tree, lib));
  }
  const app = join(tree, 'app');
  for (const p of ['package.json', 'index.mjs', 'dist', 'native', 'bench/crash-vm', 'test/fixtures/dataset-content.mjs', 'test/fixtures/crash-payload.mjs']) {
    mkdirSync(dirname(join(app, p)), { recursive: true });
    cpSync(join(root, p), join(app, p), { recursive: true });
  }
  for (const name of new Set([...packageClosure('write-file-atomic'), ...packageClosure('atomically')])) {
    cpSync(join(root, 'node_modules', name), join(app, 'node_modules', name), { recursive: true });
  }
  rmSync(out, { force: true });
  run('mkfs.ext4', ['-q', '-F', '-d', tree, '-L', 'awpkg', out, '400M']);
  return out;
}

/** A pristine image of each filesystem kind; trials copy it. */
function dataImages(kinds) {
  const images = {};
  for (const fs of kinds) {
    const out = join(cacheDir, `data-${fs}.img`);
    if (!existsSync(out)) {
      writeFileSync(out, '');
      execFileSync('truncate', ['-s', String(DATA_BYTES), out]);
      run(FILESYSTEMS[fs].mkfs[0], [...FILESYSTEMS[fs].mkfs.slice(1), out]);
    }
    images[fs] = out;
  }
  return images;
}

/** Everything a trial needs; the package image is rebuilt each run (it holds the code under test). */
export function buildImages(kinds) {
  mkdirSync(cacheDir, { recursive: true });
  installTools();
  const k = kernel();
  const initrd = initramfs(k);
  return { kernel: k.vmlinux, kernelPackage: k.pkg, kernelVersion: k.version, initrd, pkg: pkgImage(), data: dataImages(kinds) };
}
