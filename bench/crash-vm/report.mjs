// Renders bench/results/crash-power.md from the boot log (crash-power.jsonl): every
// boot of the power model, and the os-model boots of the self-test that share the log.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILESYSTEMS } from './image.mjs';
import { KINDS } from './power-disk.mjs';
import { CONTROLS, PEERS, SUBJECTS, apisOf } from './subjects.mjs';

const notes = join(dirname(fileURLToPath(import.meta.url)), '..', 'notes', 'crash-vm-power.md');
const reruns = join(dirname(fileURLToPath(import.meta.url)), '..', 'notes', 'crash-power-reruns.md');
const ours = (api) => !PEERS.includes(api) && !CONTROLS.includes(api);
const fsOrder = Object.keys(FILESYSTEMS);
const apiOrder = Object.keys(SUBJECTS);
const name = (api) => (ours(api) ? `\`${api}\`` : api);

/**
 * The cuts of a power boot: its io snapshots and the final cut, each with its own
 * acknowledged writes and images (a boot logged before snapshots existed had one).
 */
export const cutsOf = (r) => r.cuts ?? [{ mode: r.cutMode, acked: r.acked, disk: r.disk, images: r.images ?? [] }];

/** Per (model, filesystem, API, how it ran): boots, cuts, checked images, verdicts. */
function tally(records) {
  const cells = new Map();
  for (const r of records) {
    for (const api of apisOf(r.subject)) {
      const ran = r.subject === 'atomicwriter' ? 'with the other four APIs' : 'alone';
      const key = `${r.model}|${r.fs}|${api}|${ran}`;
      const c = cells.get(key) ?? { model: r.model, fs: r.fs, api, ran, boots: 0, bootErrors: 0, bootsFailed: 0, cuts: 0, cutsFailed: 0, cutsAcked: 0, images: 0, imageErrors: 0, acked: 0, newer: 0, torn: 0, lost: 0, leftAfterSweep: 0, byKind: {}, failures: [] };
      cells.set(key, c);
      c.boots++;
      if (r.error) {
        c.bootErrors++;
        c.failures.push(`boot ${r.trial}: ${r.error.split('\n')[0]}`);
        continue;
      }
      const checks = r.model === 'power' ? cutsOf(r).flatMap((cut) => cut.images) : [{ kind: 'os', apis: r.apis }];
      const cutImages = r.model === 'power' ? cutsOf(r).map((cut) => cut.images) : [[{ apis: r.apis }]];
      c.cuts += cutImages.length;
      // Rates are over the cuts after at least one ACK (a cut before the first can only tear).
      const afterAck = cutImages.filter((ims) => ims.some((im) => im.apis?.[api]?.acked > 0));
      c.cutsAcked += afterAck.length;
      c.cutsFailed += afterAck.filter((ims) => ims.some((im) => ['torn', 'lost'].includes(im.apis?.[api]?.verdict))).length;
      if (checks.some((im) => ['torn', 'lost'].includes(im.apis?.[api]?.verdict))) c.bootsFailed++;
      for (const im of checks) {
        const k = (c.byKind[im.kind] ??= { images: 0, torn: 0, lost: 0, errors: 0 });
        c.images++;
        k.images++;
        if (im.error) {
          c.imageErrors++;
          k.errors++;
          c.failures.push(`boot ${r.trial} (cut at ${r.delay} s), image ${im.kind}: ${im.error}`);
          continue;
        }
        const x = im.apis[api];
        c[x.verdict]++;
        if (x.verdict === 'torn' || x.verdict === 'lost') k[x.verdict]++;
        c.leftAfterSweep += x.leftAfterSweep ?? 0;
        if (x.message) c.failures.push(`boot ${r.trial} (final cut at ${r.delay} s), image ${im.kind}${im.torn ? ` (${im.torn} torn writes)` : ''}: ${x.message}`);
      }
    }
  }
  return [...cells.values()].sort((a, b) => a.model.localeCompare(b.model) || fsOrder.indexOf(a.fs) - fsOrder.indexOf(b.fs) || apiOrder.indexOf(a.api) - apiOrder.indexOf(b.api) || a.ran.localeCompare(b.ran));
}

/** Per (model, filesystem, subject): the numbers of the run's JSON lines. */
function summary(records) {
  const rows = new Map();
  for (const r of records) {
    const key = `${r.model}|${r.fs}|${r.subject}`;
    const x = rows.get(key) ?? { model: r.model, fs: r.fs, subject: r.subject, boots: 0, time: 0, io: 0, cuts: 0, images: 0, checks: 0, torn: 0, lost: 0, errors: 0 };
    rows.set(key, x);
    x.boots++;
    if (r.error) {
      x.errors++;
      continue;
    }
    const cuts = r.model === 'power' ? cutsOf(r) : [{ mode: 'crash', images: [{ apis: r.apis }] }];
    for (const cut of cuts) {
      x.cuts++;
      if (cut.mode === 'time' || cut.mode === 'io') x[cut.mode]++;
    }
    for (const im of cuts.flatMap((cut) => cut.images)) {
      x.images++;
      for (const a of Object.values(im.apis ?? {})) {
        x.checks++;
        if (a.verdict === 'torn') x.torn++;
        if (a.verdict === 'lost') x.lost++;
      }
    }
  }
  const subjectOrder = ['atomicwriter', ...apiOrder];
  return [...rows.values()].sort((a, b) => b.model.localeCompare(a.model) || subjectOrder.indexOf(a.subject) - subjectOrder.indexOf(b.subject) || fsOrder.indexOf(a.fs) - fsOrder.indexOf(b.fs));
}

/** A peer's rate in the OS-crash run of bench/results/crash-vm.json (its own boots). */
function osCrashRun(api) {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'crash-vm.json');
  if (!existsSync(file)) return '-';
  const cells = JSON.parse(readFileSync(file, 'utf8')).cells.filter((c) => c.api === api);
  const bad = cells.reduce((s, c) => s + c.torn + c.lost, 0);
  const n = cells.reduce((s, c) => s + c.trials - c.errors, 0);
  return `${bad} of ${n} (${pct(bad, n)}; crash-vm.md, ext4 noauto_da_alloc, xfs, btrfs)`;
}

const pct = (n, d) => (d ? `${((100 * n) / d).toFixed(0)} %` : '-');

/**
 * `log`: the log's path as the header names it. The main log (crash-power.jsonl) carries
 * the history of the full run (bench/notes/crash-vm-power.md, at the end) and, at the top,
 * the dated reruns on later code, each from a log of its own (bench/notes/crash-power-reruns.md);
 * a log of its own (--log) gets neither, and says which delays and snapshots its boots had.
 */
export function renderPower(records, { log = 'bench/results/crash-power.jsonl' } = {}) {
  const main = log === 'bench/results/crash-power.jsonl';
  const power = records.filter((r) => r.model === 'power');
  const delays = power.map((r) => r.delay).filter((d) => typeof d === 'number');
  const settings = [...new Set(power.filter((r) => r.snapshots !== undefined).map((r) => `up to ${r.snapshots} at a random 1st-${r.snapshotEvery}th write after the last`))];
  const timing = main
    ? '(6 or 8 s in this log; 1 in 10 xfs boots: 30-40 s)'
    : `(in this log the final cuts came ${delays.length ? `${Math.min(...delays)}-${Math.max(...delays)}` : '-'} s after the writers started)`;
  const snapshotText = main
    ? 'up to 24 more cuts are taken without stopping the guest, each at a random 1st-10th write after the last (up to 12, at a 1st-12th write, in the boots logged before 11:07 UTC)'
    : `more cuts are taken without stopping the guest (in this log: ${settings.join('; ') || 'none'})`;
  const historyText = main ? ' (boots logged before these snapshots existed have the final cut only, three in four of them at a random 1st-32nd write after the delay)' : '';
  const cells = tally(records);
  const powerCells = cells.filter((c) => c.model === 'power' && !CONTROLS.includes(c.api));
  const controlCells = cells.filter((c) => CONTROLS.includes(c.api));
  const ok = power.filter((r) => !r.error);
  const images = ok.reduce((s, r) => s + cutsOf(r).reduce((t, c) => t + c.images.length, 0), 0);
  const cutCount = ok.reduce((s, r) => s + cutsOf(r).length, 0);
  const allCuts = ok.flatMap(cutsOf);
  const mean = (f) => (ok.length ? (ok.reduce((s, r) => s + f(r), 0) / ok.length).toFixed(1) : '-');
  const tornWrites = allCuts.reduce((s, c) => s + c.images.reduce((t, im) => t + im.torn, 0), 0);
  const dates = records.map((r) => r.date).filter(Boolean).sort();
  const kernel = records.find((r) => r.kernel)?.kernel ?? '?';
  const kindCols = KINDS.map((k) => `lost/torn in ${k}`);
  const md = [
    ...(main && existsSync(reruns) ? [readFileSync(reruns, 'utf8').trim(), '', '### The full run (2026-12-03 10:40-12:16 UTC, the code before the btrfs named temp and the one-flush commit)', ''] : []),
    `${power.length} power-model boots (${ok.length} ran as planned), ${cutCount} cuts, ${images} persisted images checked, from ${dates[0] ?? '-'} to ${dates.at(-1) ?? '-'}; generated by \`npm run crashtest:vm -- --model power\` (bench/crash-vm/run.mjs, rendered by report.mjs from ${log}, one line per boot). Guest: Debian's \`${kernel}\` under \`qemu-system-x86_64 -accel tcg -cpu max\`, 1 vCPU, 1 GiB; host Linux ${os.release()}, Node ${process.version}.`,
    '',
    `**The model** (bench/crash-vm/power-disk.mjs): the guest's data disk is served over NBD on a Unix socket by the harness itself, advertising FLUSH and FUA; QEMU's virtio-blk device has \`write-cache=on\`, and every boot checks that the guest kernel reports the disk's cache as \`write back\` and that its flushes reached the server (a boot without either is void). Writes since the last FLUSH are volatile. A random \`--min-delay\` to \`--max-delay\` after the writers start ${timing} the host freezes the disk, takes the \`ACK\` lines it has read by then as the acknowledged writes (a guest ACK comes after its fsyncs returned, that is after their flushes were answered), and kills QEMU with SIGKILL. Before that final cut, ${snapshotText} (\`io\` cuts, amid the guest's I/O): a copy of the durable image, the unflushed log and the ACKs read by then, which is all a cut at that instant would leave${historyText}. For every cut it writes several persisted images, each the flushed state plus a subset of the unflushed writes: \`flushed\` (none), \`prefix\` (the first k in submission order, the next one torn), \`random\` (each with p = 1/2, a quarter of those kept torn), \`all\` (every write, the OS-crash state). A torn write keeps a random part of its 4 KiB sectors. When nothing was unflushed at the cut, the one image is \`flushed\`. Each image is loop-mounted (journal replay), checked and swept as in the OS-crash trials (bench/results/crash-vm.md).`,
    '',
    "**Not covered:** a disk that acknowledges a flush it did not perform (out of scope: no software can be durable on it); a sector half-written (sectors are atomic at 4 KiB here); a cut during journal replay; media errors. See the notes below.",
    '',
    `Per boot, ${mean((r) => r.disk.flushes)} flushes reached the disk before the final cut on average; per cut, ${allCuts.length ? (allCuts.reduce((s, c) => s + c.disk.unflushedWrites, 0) / allCuts.length).toFixed(1) : '-'} writes were unflushed (at most ${Math.max(0, ...allCuts.map((c) => c.disk.unflushedWrites))}); ${allCuts.filter((c) => c.disk.unflushedWrites > 0).length} of ${allCuts.length} cuts had unflushed writes; ${tornWrites} torn writes over all images; ${ok.reduce((s, r) => s + (r.disk.fuaWrites ?? 0), 0)} FUA writes in all.`,
    '',
    '### Summary: one row per filesystem and subject (what the run prints as JSON lines)',
    '',
    'A cut is one instant the power went: the final one of a boot, at a random moment (`time`), or one of the snapshots taken at random writes before it (`io`); the os model has one crash per boot. Images: the persisted states checked, several per cut. A check is one API on one image (five per image for `atomicwriter`). Void boots: the guest did not run as planned (no check).',
    '',
    '| model | filesystem | subject | boots | cuts (time + io) | images | checks | torn | lost acknowledged | void boots |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...summary(records).map((x) => `| ${x.model} | ${FILESYSTEMS[x.fs].label} | ${x.subject === 'atomicwriter' ? 'atomicwriter (five APIs at once)' : x.subject} | ${x.boots} | ${x.cuts}${x.model === 'power' ? ` (${x.time} + ${x.io})` : ''} | ${x.images} | ${x.checks} | ${x.torn} | ${x.lost} | ${x.errors} |`),
    '',
    '### Our APIs and the peers under the power model',
    '',
    `| filesystem | API | ran | boots | cuts | images | torn | lost acknowledged | ${kindCols.join(' | ')} | acked | newer | left after sweep | errors |`,
    `|---|---|---|---:|---:|---:|---:|---:|${KINDS.map(() => '---:|').join('')}---:|---:|---:|---:|`,
    ...powerCells.map((c) => `| ${FILESYSTEMS[c.fs].label} | ${name(c.api)} | ${c.ran} | ${c.boots - c.bootErrors} | ${c.cuts} | ${c.images} | ${c.torn} | ${c.lost} | ${KINDS.map((k) => (c.byKind[k] ? `${c.byKind[k].lost}/${c.byKind[k].torn} of ${c.byKind[k].images}` : '-')).join(' | ')} | ${c.acked} | ${c.newer} | ${ours(c.api) ? c.leftAfterSweep : 'n/a'} | ${c.bootErrors + c.imageErrors} |`),
    '',
    '### Self-test of the model: writers that must lose',
    '',
    'Under the OS-crash model (`--model os`, same log) one crash is one cut and one check; under the power model a cut fails when any of its images tore or lost the acknowledged write (the model promises only what was flushed). Rates are over the cuts that came after at least one ACK (a cut before the first can only tear). The peers are in the rows below for comparison; their OS-crash rates are in bench/results/crash-vm.md.',
    '',
    '| model | filesystem | writer | boots | boots that tore or lost | cuts | cuts after an ACK | cuts that tore or lost | checks (images) | torn | lost acknowledged |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...[...controlCells, ...cells.filter((c) => PEERS.includes(c.api))].map((c) => `| ${c.model} | ${FILESYSTEMS[c.fs].label} | ${c.api} | ${c.boots - c.bootErrors} | ${c.bootsFailed} (${pct(c.bootsFailed, c.boots - c.bootErrors)}) | ${c.cuts} | ${c.cutsAcked} | ${c.cutsFailed} (${pct(c.cutsFailed, c.cutsAcked)} of those) | ${c.images} | ${c.torn} | ${c.lost} |`),
    '',
    'All filesystems together:',
    '',
    '| writer | OS-crash model: crashes that tore or lost | power model: cuts that tore or lost | power model: images that tore or lost |',
    '|---|---:|---:|---:|',
    ...[...CONTROLS, ...PEERS].map((w) => {
      const sum = (m, f) => cells.filter((c) => c.api === w && c.model === m).reduce((s, c) => s + f(c), 0);
      const bad = (m) => `${sum(m, (c) => c.cutsFailed)} of ${sum(m, (c) => c.cutsAcked)} (${pct(sum(m, (c) => c.cutsFailed), sum(m, (c) => c.cutsAcked))})`;
      return `| ${w} | ${sum('os', (c) => c.cuts) ? bad('os') : osCrashRun(w)} | ${bad('power')} | ${sum('power', (c) => c.torn + c.lost)} of ${sum('power', (c) => c.images - c.imageErrors)} |`;
    }),
    '',
    ...Object.entries(SUBJECTS).filter(([n]) => cells.some((c) => c.api === n)).map(([n, s]) => `- ${name(n)}: ${s.description}.`),
    '',
    ...cells.filter((c) => ours(c.api)).flatMap((c) => c.failures.slice(0, 20).map((f) => `- FAILURE ${c.model} ${c.fs} \`${c.api}\` ${f}`)),
    ...cells.filter((c) => !ours(c.api)).flatMap((c) => c.failures.slice(0, 3).map((f) => `- ${c.api} ${c.model} ${c.fs}: ${f}`)),
    '',
    ...(main && existsSync(notes) ? [readFileSync(notes, 'utf8').trim(), ''] : ['How the model works and how far it can be trusted: bench/notes/crash-vm-power.md (the notes of the full run, rendered in bench/results/crash-power.md).', '']),
  ];
  return md.join('\n');
}
