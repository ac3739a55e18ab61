#!/usr/bin/env bash
# Builds the native addon for every published target from this one Linux x86_64 machine,
# checks each artifact, and lays out the per-platform npm packages (npm/<platform>/) the
# napi-rs way: `napi create-npm-dirs`, then `napi artifacts` copies the .node files in.
#
#   scripts/build-platforms.sh [target ...]     (default: every target in package.json)
#
# How each target is built (only what the registries here serve: PyPI, crates.io, Debian):
# - Linux gnu (x64, arm64): cargo-zigbuild with zig from PyPI, against glibc 2.17 stubs, so
#   the binary loads on any glibc >= 2.17 (RHEL 7+, Debian 8+, Ubuntu 14.04+, Amazon Linux 2).
# - Linux musl (x64, arm64): cargo-zigbuild, dynamically linked against musl (-crt-static off:
#   Node on Alpine dlopen()s the addon into a process that already has musl).
# - macOS (x64, arm64): cargo-zigbuild with zig as compiler (zstd's C) and linker, with zig's
#   own macOS libc headers and libSystem stubs (macOS 11 and later); the addon resolves
#   N-API from the host at load time (-undefined dynamic_lookup), so no SDK.
# - Windows x64: rustc's x86_64-pc-windows-gnu with Debian's mingw-w64, shipped as the
#   win32-x64-msvc package that the loader asks for on the official node.exe. The MSVC
#   toolchain (cargo-xwin) needs a download from outside the registries; the release
#   workflow builds the real MSVC binary on a Windows runner.
# Builds run one at a time under `nice` (2 shared cores), into target/platforms so the
# development build in target/ is not invalidated.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${AW_TOOLS:-${TMPDIR:-/tmp}/atomicwriter-dist-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/platforms}"
ARTIFACTS="$PWD/artifacts"

step() { printf '\n== %s\n' "$*"; STEP_START=$SECONDS; }
took() { printf '== %s: %ss\n' "$1" "$((SECONDS - STEP_START))"; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(node -p "require('./package.json').napi.targets.join('\n')")
fi

step "tools"
need=()
for t in "${targets[@]}"; do
  case "$t" in
    *-windows-*) command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64) ;;
    *-apple-*) command -v llvm-nm >/dev/null || need+=(llvm) ;; # Mach-O exports
  esac
done
command -v file >/dev/null || need+=(file)
command -v readelf >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo # hosted CI runners
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -x "$TOOLS/venv/bin/cargo-zigbuild" ]; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q ziglang cargo-zigbuild
fi
export PATH="$TOOLS/venv/bin:$PATH" # cargo-zigbuild finds zig through python-zig
rust_triples=()
for t in "${targets[@]}"; do
  case "$t" in x86_64-pc-windows-msvc) rust_triples+=(x86_64-pc-windows-gnu) ;; *) rust_triples+=("$t") ;; esac
done
rustup target add "${rust_triples[@]}" >/dev/null
took "tools"

# The platform suffix napi-rs gives each target (the loader looks for these names).
platform_of() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
    aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
    x86_64-unknown-linux-musl) echo linux-x64-musl ;;
    aarch64-unknown-linux-musl) echo linux-arm64-musl ;;
    x86_64-apple-darwin) echo darwin-x64 ;;
    aarch64-apple-darwin) echo darwin-arm64 ;;
    x86_64-pc-windows-msvc) echo win32-x64-msvc ;;
    *) echo "no build recipe for $1" >&2; return 1 ;;
  esac
}

build_one() {
  local target="$1" platform out
  platform="$(platform_of "$target")"
  case "$target" in
    *-linux-gnu)
      nice -n 10 cargo zigbuild --quiet --release -p atomicwriter-node --target "$target.2.17"
      out="$CARGO_TARGET_DIR/$target/release/libatomicwriter_node.so" ;;
    *-linux-musl)
      RUSTFLAGS="-C target-feature=-crt-static" \
        nice -n 10 cargo zigbuild --quiet --release -p atomicwriter-node --target "$target"
      out="$CARGO_TARGET_DIR/$target/release/libatomicwriter_node.so" ;;
    *-apple-darwin)
      # chrono (via parquet) reads the time zone through CoreFoundation, which the link
      # names as a framework; there is no macOS SDK here, so a text stub declares it (the
      # install name every macOS has, and the seven functions iana-time-zone calls).
      local sdk="$CARGO_TARGET_DIR/macos-sdk-stub"
      local fw="$sdk/System/Library/Frameworks/CoreFoundation.framework"
      if [ ! -f "$fw/CoreFoundation.tbd" ]; then
        mkdir -p "$fw"
        cat >"$fw/CoreFoundation.tbd" <<'TBD'
--- !tapi-tbd
tbd-version: 4
targets: [ x86_64-macos, arm64-macos ]
install-name: '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation'
current-version: 1971
exports:
  - targets: [ x86_64-macos, arm64-macos ]
    symbols: [ _CFRelease, _CFStringGetBytes, _CFStringGetCStringPtr, _CFStringGetLength,
               _CFTimeZoneCopySystem, _CFTimeZoneGetName, _CFTimeZoneResetSystem ]
...
TBD
      fi
      SDKROOT="$sdk" MACOSX_DEPLOYMENT_TARGET=11.0 \
        nice -n 10 cargo zigbuild --quiet --release -p atomicwriter-node --target "$target"
      out="$CARGO_TARGET_DIR/$target/release/libatomicwriter_node.dylib" ;;
    x86_64-pc-windows-msvc)
      # napi-build insists on a libnode.dll to link against for windows-gnu, but napi-sys
      # resolves every N-API function from the host process at load time (dyn-symbols), so
      # nothing is imported from it: an empty stand-in satisfies the linker, and
      # check-artifact.mjs fails the build if the DLL ever shows up in the import table.
      local stub="$CARGO_TARGET_DIR/libnode-stub"
      if [ ! -f "$stub/libnode.dll" ]; then
        mkdir -p "$stub"
        echo 'int atomicwriter_libnode_stub;' >"$stub/stub.c"
        x86_64-w64-mingw32-gcc -shared -o "$stub/libnode.dll" "$stub/stub.c"
      fi
      LIBNODE_PATH="$stub" nice -n 10 cargo build --quiet --release -p atomicwriter-node --target x86_64-pc-windows-gnu
      out="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/release/atomicwriter_node.dll" ;;
  esac
  mkdir -p "$ARTIFACTS/bindings-$target"
  cp "$out" "$ARTIFACTS/bindings-$target/atomicwriter.$platform.node"
}

for target in "${targets[@]}"; do
  step "build $target"
  build_one "$target"
  took "build $target"
  node scripts/check-artifact.mjs "$target" "$ARTIFACTS/bindings-$target/atomicwriter.$(platform_of "$target").node"
done

step "npm packages"
# create-npm-dirs writes npm/<platform>/package.json (os, cpu, libc, version from the root);
# artifacts copies artifacts/**/atomicwriter.<platform>.node into them, and refuses unless
# every target in package.json has one. A partial build (targets given) copies its own.
npx napi create-npm-dirs >/dev/null
if [ $# -eq 0 ]; then
  npx napi artifacts --output-dir artifacts --npm-dir npm
else
  for target in "${targets[@]}"; do
    p="$(platform_of "$target")"
    cp "$ARTIFACTS/bindings-$target/atomicwriter.$p.node" "npm/$p/"
  done
fi
node scripts/check-artifacts-present.mjs "${targets[@]}"
took "npm packages"
