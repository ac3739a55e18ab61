'use strict'
// The addon loader: napi-rs's generated loader (napi-binding.js, written by `npm run
// build:native`) picks the binary for this platform: a local native/atomicwriter.<platform>.node
// in a clone, else the platform package npm installed from the root's optionalDependencies
// (atomicwriter-linux-x64-gnu and so on). When neither fits, its error ("Cannot find native
// binding. npm has a bug related to optional dependencies…") does not say what this machine
// is nor what exists, so it is replaced by one that does, with the loader's errors as `cause`.

let binding
try {
  binding = require('./napi-binding.js')
} catch (err) {
  binding = muslOnGlibcHost(err)
}
module.exports = binding

// napi-rs tells musl from glibc by reading /usr/bin/ldd first: a musl Node on a glibc
// distribution (a musllinux wheel, a copied Alpine binary) is taken for glibc and offered
// the gnu package, which it cannot load. process.report names the C library this process
// really runs on; when that is musl, load the musl package the same way.
function muslOnGlibcHost(err) {
  const here = describePlatform()
  if (here.libc !== 'musl') throw noBinaryError(err)
  const pkg = require('../package.json')
  const name = `${(pkg.napi && pkg.napi.packageName) || pkg.name}-${here.key}`
  try {
    return require(name)
  } catch (muslErr) {
    throw noBinaryError(new AggregateError([err, muslErr], `${name}: ${muslErr.message}`))
  }
}

function noBinaryError(cause) {
  const pkg = require('../package.json')
  const prefix = (pkg.napi && pkg.napi.packageName) || pkg.name
  const here = describePlatform()
  const { platformOf } = require('./targets.js')
  const published = ((pkg.napi && pkg.napi.targets) || []).map(platformOf).filter(Boolean)
  const wanted = `${prefix}-${here.key}`
  const installed = isInstalled(wanted)
  let advice
  if (published.includes(here.key) && installed === false) {
    advice =
      `${wanted}@${pkg.version} is published for this platform but is not installed: npm skips optional ` +
      `dependencies when installing with --omit=optional or --no-optional, or from a lock file made on another ` +
      `platform (https://github.com/npm/cli/issues/4828). Reinstall: \`rm -rf node_modules package-lock.json && npm install\`.`
  } else if (published.includes(here.key)) {
    advice =
      `${wanted} is installed but did not load (see the cause below): reinstall it, and if that does not help, ` +
      `open an issue with this message.`
  } else {
    const tracker = (pkg.bugs && pkg.bugs.url) || "atomicwriter's issue tracker"
    advice =
      `No prebuilt binary is published for ${here.key}. Open an issue at ${tracker} with this message, ` +
      `or build it yourself: in a clone of the repository with Rust (cargo) installed, \`npm install\` builds ` +
      `native/atomicwriter.${here.key}.node, and \`npm install /path/to/that/clone\` uses it.`
  }
  const error = new Error(
    `atomicwriter: no native binary for this platform: ${here.text}.\n` +
      `Published binaries: ${published.join(', ')}.\n${advice}`,
    { cause },
  )
  error.code = 'ERR_ATOMICWRITER_NO_BINARY'
  error.platform = here
  return error
}

// os, arch, libc (with its version when glibc) and the Node ABI: what decides which
// binary can load. The key is napi-rs's platform name (linux-x64-gnu, darwin-arm64, …).
function describePlatform() {
  const { platform, arch } = process
  let libc = null
  let libcVersion = null
  let abi = null
  if (platform === 'linux') {
    const report = process.report && typeof process.report.getReport === 'function' ? safeReport() : null
    libcVersion = report && report.header && report.header.glibcVersionRuntime
    libc = libcVersion ? 'gnu' : isMusl(report) ? 'musl' : 'unknown libc'
  }
  if (platform === 'win32') abi = 'msvc'
  if (platform === 'linux' && arch === 'arm') abi = 'gnueabihf'
  const key = [platform, arch, platform === 'linux' ? libc : abi].filter(Boolean).join('-')
  const runtime = process.versions.bun
    ? `Bun ${process.versions.bun}`
    : process.versions.deno
      ? `Deno ${process.versions.deno}`
      : `Node ${process.version}`
  const text =
    `os ${platform}, arch ${arch}` +
    (platform === 'linux' ? `, libc ${libc}${libcVersion ? ` ${libcVersion}` : ''}` : '') +
    `, ${runtime} (ABI ${process.versions.modules}, N-API ${process.versions.napi})`
  return { key, os: platform, arch, libc, libcVersion, abi: process.versions.modules, napi: process.versions.napi, text }
}

function safeReport() {
  try {
    process.report.excludeNetwork = true
    return process.report.getReport()
  } catch {
    return null
  }
}

// What this process has loaded decides (see muslOnGlibcHost); /usr/bin/ldd only without a report.
function isMusl(report) {
  if (report && Array.isArray(report.sharedObjects)) return report.sharedObjects.some((f) => /libc\.musl-|ld-musl-/.test(f))
  try {
    return require('fs').readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    return false
  }
}

function isInstalled(name) {
  try {
    require.resolve(`${name}/package.json`)
    return true
  } catch {
    return false
  }
}
