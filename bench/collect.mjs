// Assembles bench/RESULTS.md from the per-benchmark reports in bench/results/*.md
// (each written by its benchmark with the command that produced it) and the notes in
// bench/notes/*.md (analysis of targets out of reach).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const SECTIONS = [
  ['write', 'Durable writes (issue: core engine)'],
  ['lock', 'Locks and JSON updates'],
  ['stream', 'Streams and large files'],
  ['dataset', 'Datasets'],
  ['formats', 'Formats'],
  ['crash', 'Crash trials (SIGKILL at random points)'],
  ['crash-vm', 'OS crash trials (QEMU, sysrq crash, journal replay)'],
  ['s3', 'S3'],
  ['soak', 'Soak'],
];

const parts = [
  '# Benchmark results',
  '',
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, ext4 root filesystem.`,
  'Every figure is a median of interleaved runs in fresh processes; ratios are atomicwriter ÷ the other, so above 1 means atomicwriter is faster (for RSS, lower is better).',
  'Each section names the command that produced it. Timings on this shared virtual machine are noisy: read the ratios, not the absolute numbers.',
  '',
];
for (const [name, title] of SECTIONS) {
  const file = join(here, 'results', `${name}.md`);
  if (!existsSync(file)) continue;
  parts.push(`## ${title}`, '', readFileSync(file, 'utf8').trim(), '');
  const notes = join(here, 'notes', `${name}.md`);
  if (existsSync(notes)) parts.push(readFileSync(notes, 'utf8').trim(), '');
}
for (const extra of readdirSync(join(here, 'results')).filter((f) => f.endsWith('.md') && !SECTIONS.some(([n]) => `${n}.md` === f))) {
  parts.push(`## ${extra.replace(/\.md$/, '')}`, '', readFileSync(join(here, 'results', extra), 'utf8').trim(), '');
}
writeFileSync(join(here, 'RESULTS.md'), parts.join('\n'));
console.log(`wrote ${join(here, 'RESULTS.md')}`);
