'use strict'
// napi-rs's platform name (the .node suffix and the npm package suffix) for each Rust
// target this package may publish: shared by the loader's error and the release scripts.
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'armv7-unknown-linux-gnueabihf': 'linux-arm-gnueabihf',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
  'aarch64-pc-windows-msvc': 'win32-arm64-msvc',
  'x86_64-unknown-freebsd': 'freebsd-x64',
}

function platformOf(target) {
  return PLATFORMS[target]
}

module.exports = { PLATFORMS, platformOf }
