#!/usr/bin/env node
// Refuses (exit 1) unless every platform package in npm/ is complete: its .node file is
// there, its version is the root's, and the root's optionalDependencies (added by
// `napi prepublish`; checked with --require-optional) name it at exactly that version. Run
// before anything is published: a multi-package publish is not atomic, and a root whose
// optional dependency is missing installs everywhere and loads nowhere.
//   node scripts/check-artifacts-present.mjs [--package <root package.json>] [--npm-dir <dir>]
//                                            [--require-optional] [target ...]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const repo = resolve(fileURLToPath(import.meta.url), '../..');
const { platformOf } = createRequire(import.meta.url)('../native/targets.js');
const args = process.argv.slice(2);
let rootPath = join(repo, 'package.json');
let npmDir = join(repo, 'npm');
let checkOptional = false;
for (let i = 0; i < args.length; ) {
  if (args[i] === '--package') rootPath = resolve(args.splice(i, 2)[1]);
  else if (args[i] === '--npm-dir') npmDir = resolve(args.splice(i, 2)[1]);
  else if (args[i] === '--require-optional') checkOptional = !!args.splice(i, 1);
  else i++;
}
const root = JSON.parse(readFileSync(rootPath, 'utf8'));
const targets = args.length ? args : root.napi.targets;
const missing = [];
for (const target of targets) {
  const platform = platformOf(target);
  if (!platform) throw new Error(`unknown target ${target}`);
  const dir = join(npmDir, platform);
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    missing.push(`${target}: no ${pkgFile} (run napi create-npm-dirs)`);
    continue;
  }
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const binary = join(dir, `${root.napi.binaryName}.${platform}.node`);
  if (!existsSync(binary)) missing.push(`${target}: no ${binary} (the build or napi artifacts did not run)`);
  if (pkg.version !== root.version) missing.push(`${target}: ${pkg.name}@${pkg.version}, root is ${root.version} (napi version)`);
  if (checkOptional && root.optionalDependencies?.[pkg.name] !== root.version) {
    missing.push(`${target}: root optionalDependencies["${pkg.name}"] is ${root.optionalDependencies?.[pkg.name]}, want exactly ${root.version}`);
  }
}
if (missing.length) {
  console.error(`not publishing: ${missing.length} problem(s) with the platform packages\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log(`all ${targets.length} platform packages present at ${root.version}`);
