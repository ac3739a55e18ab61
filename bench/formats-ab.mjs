// Before/after for one format change: the same `bench/formats.mjs --case` measurements
// from two trees (this one, and a copy of an earlier commit with its own dist/),
// interleaved round by round with nodejs-polars, each a fresh process. Prints medians.
//
//   node bench/formats-ab.mjs BEFORE_TREE [rounds=3] [cases=csv/atomicwriter,ndjson/atomicwriter]
//
// A before tree: git archive <commit> | tar -x -C DIR; link node_modules, copy native/,
// then `npx tsc -p tsconfig.build.json` there (the addon of this tree serves both when
// the change added to it only).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const before = resolve(process.argv[2] ?? '');
const rounds = Number(process.argv[3]) || 3;
const cases = (process.argv[4] ?? 'csv/atomicwriter,ndjson/atomicwriter').split(',');
if (!process.argv[2]) throw new Error('usage: node bench/formats-ab.mjs BEFORE_TREE [rounds] [cases]');

const work = join(here, '.work');
mkdirSync(work, { recursive: true });
const contenders = cases.flatMap((name) => [
  ['before', join(before, 'bench', 'formats.mjs'), name],
  ['after', join(here, 'formats.mjs'), name],
  ['polars', join(here, 'formats.mjs'), `${name.split('/')[0]}/nodejs-polars`],
]);
const results = new Map();
for (let r = 0; r < rounds; r++) {
  for (const [label, script, name] of contenders) {
    const dir = mkdtempSync(join(work, 'ab-'));
    try {
      const out = execFileSync(process.execPath, [script, '--case', name, dir], { encoding: 'utf8' });
      const m = JSON.parse(out.trim().split('\n').pop());
      const key = `${name.split('/')[0]} ${label}`;
      results.set(key, [...(results.get(key) ?? []), m]);
      process.stderr.write(`round ${r + 1} ${key}: ${m.ms.toFixed(0)} ms, peak RSS ${m.peakRssMiB.toFixed(0)} MiB\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log('| case | median ms (all rounds) | ÷ nodejs-polars | peak RSS MiB | bytes |\n|---|---|---|---|---|');
for (const [key, ms] of results) {
  const polars = median(results.get(`${key.split(' ')[0]} polars`).map((m) => m.ms));
  const t = median(ms.map((m) => m.ms));
  const all = ms.map((m) => m.ms.toFixed(0)).join(', ');
  console.log(`| ${key} | ${t.toFixed(0)} (${all}) | ${(t / polars).toFixed(2)}x | ${median(ms.map((m) => m.peakRssMiB)).toFixed(0)} | ${ms[0].bytes} |`);
}
