#!/usr/bin/env bash
# Publishes the root package and its platform packages, platforms first, the napi-rs way, and
# refuses before publishing anything unless every platform binary is present.
#   scripts/publish.sh            (registry and auth: npm's config, e.g. NPM_CONFIG_USERCONFIG)
# Env: AW_NPM_DIR   the platform package dirs (default npm/, from scripts/build-platforms.sh)
#      AW_TARGETS   limit the release to these Rust targets (a local partial flow; the
#                   release workflow publishes all of package.json's napi.targets)
#      AW_DRY_RUN=1 stage and check only.
# The repository is never modified: the root is staged from `npm pack` (dist/ must be
# built), `napi prepublish` writes the exact-version optionalDependencies into the staged
# package.json and publishes each npm/<platform> package, then the root goes last.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
napi="$repo/node_modules/.bin/napi"

stage="$(mktemp -d "${TMPDIR:-/tmp}/aw-publish-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
npm pack --ignore-scripts --silent --pack-destination "$stage" >/dev/null
tar -xzf "$stage"/atomicwriter-*.tgz -C "$stage" # -> $stage/package
# napi only touches package dirs inside the project it runs in: npm/ goes inside the staged
# root (not shipped in it: `files` lists what is).
cp -r "${AW_NPM_DIR:-npm}" "$stage/package/npm"

# napi prepublish reads the head commit (for GitHub releases, which this does not make): point
# it at this repository's history, and keep it off GitHub's API.
prepublish() {
  GIT_DIR="$(git -C "$repo" rev-parse --absolute-git-dir)" env -u GITHUB_REPOSITORY \
    "$napi" prepublish --cwd "$stage/package" --npm-dir npm -t npm "$@"
}

if [ -n "${AW_TARGETS:-}" ]; then
  AW_TARGETS="$AW_TARGETS" node -e '
    const fs = require("fs"), f = process.argv[1], p = JSON.parse(fs.readFileSync(f, "utf8"));
    p.napi.targets = process.env.AW_TARGETS.split(/\s+/).filter(Boolean);
    fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n");' "$stage/package/package.json"
fi

# 1. Every binary present, versions in step, before anything leaves this machine.
node scripts/check-artifacts-present.mjs --npm-dir "$stage/package/npm" --package "$stage/package/package.json"
if [ "${AW_DRY_RUN:-}" = 1 ]; then
  prepublish --dry-run
  echo "dry run: staged in $stage, nothing published"
  exit 0
fi
# 2. Platform packages (napi prepublish runs `npm publish` in each) and the optionalDependencies.
prepublish
# 3. The root names every platform package at exactly its version: only then publish it.
node scripts/check-artifacts-present.mjs --npm-dir "$stage/package/npm" --package "$stage/package/package.json" --require-optional
(cd "$stage/package" && npm publish --ignore-scripts)
node -e 'const p = require(process.argv[1]); console.log(`published ${p.name}@${p.version} with ${Object.keys(p.optionalDependencies).join(", ")}`)' "$stage/package/package.json"
