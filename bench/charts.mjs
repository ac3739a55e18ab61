// Renders the benchmark results in bench/results/ as SVG bar charts in bench/charts/
// (hand-written SVG, no browser, no dependency), for the README. Runs after
// bench/collect.mjs in `npm run bench`; `node bench/charts.mjs` redraws from whatever
// results are there. The markdown reports are the source where a benchmark was rerun in
// parts (write.md holds the later 1 MiB / 512 MiB / require reruns that write.json lacks).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const results = join(here, 'results');
const outDir = join(here, 'charts');

// --- reading the reports ---

/** Every table of a markdown report: its heading, the commands in force, its rows and the note after it. */
function mdTables(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const tables = [];
  let heading = '';
  let commands = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^#{2,3} /.test(line)) heading = line.replace(/^#+ /, '').trim();
    if (/^(Command|Commands):/.test(line)) commands = [...line.matchAll(/`(node [^`]+)`/g)].map((m) => m[1]);
    if (!line.startsWith('|') || !lines[i + 1]?.startsWith('|---')) continue;
    const cells = (l) => l.split('|').slice(1, -1).map((c) => c.trim());
    const header = cells(line);
    const rows = [];
    for (i += 2; lines[i]?.startsWith('|'); i++) rows.push(cells(lines[i]));
    // A parenthesised line right after a table (e.g. "(rerun: `...`)") belongs to it.
    let note = '';
    for (let j = i; j < lines.length && j < i + 3; j++) {
      if (lines[j].startsWith('(')) note = lines[j];
      if (lines[j].startsWith('|') || lines[j].startsWith('#')) break;
    }
    tables.push({ heading, commands, header, rows, note });
  }
  return tables;
}

const num = (cell) => Number(String(cell).replace(/[,\s×x]|ms|MiB\/s|s$/g, ''));
const column = (table, name) => table.header.findIndex((h) => h.toLowerCase().startsWith(name));
const plain = (label) => label.replace(/`/g, '');

// --- drawing ---

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const textWidth = (s, size) => String(s).length * size * 0.56;

/** Splits a line at spaces into lines of at most `max` characters. */
function wrap(line, max) {
  const lines = [];
  let cur = '';
  for (const word of line.split(' ')) {
    if (cur && cur.length + 1 + word.length > max) {
      lines.push(cur);
      cur = '   ' + word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  return [...lines, cur];
}

function fmt(v) {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toPrecision(3);
}

// Colours by kind of contender: ours stands out, the limits are dark, peers grey.
function colour(label) {
  const l = label.toLowerCase();
  if (l.startsWith('atomicwriter')) return '#2563eb';
  if (/^(c\b|c:|c,|dd)/.test(l) || l.includes('dd conv')) return '#374151';
  if (l.includes('polars')) return '#d97706';
  return '#9ca3af';
}

/**
 * One SVG of stacked panels, each a horizontal bar chart.
 * panel: { heading, unit, better: 'higher' | 'lower', note?, bars: [{ label, value, text?, segments? }] }
 * A bar with `segments` ([{ value, colour, name }]) is drawn stacked.
 */
function chart({ title, source, panels, legend }) {
  const W = 960;
  const font = 13;
  const labelW = Math.min(430, Math.max(...panels.flatMap((p) => p.bars.map((b) => textWidth(b.label, font)))) + 16);
  const x0 = labelW + 8;
  const valueW = Math.max(...panels.flatMap((p) => p.bars.map((b) => textWidth(b.text ?? fmt(b.value), font) * 1.08)));
  const barMax = Math.max(200, W - x0 - valueW - 24);
  const barH = 20;
  const gap = 6;
  const out = [];
  let y = 34;
  out.push(`<text x="16" y="${y}" font-size="18" font-weight="bold">${esc(title)}</text>`);
  for (const line of source.flatMap((l) => wrap(l, 150))) {
    y += 18;
    out.push(`<text x="16" y="${y}" font-size="12" fill="#4b5563">${esc(line)}</text>`);
  }
  if (legend) {
    y += 22;
    let lx = 16;
    for (const [name, c] of legend) {
      if (lx + 30 + textWidth(name, 12) > W) {
        y += 18;
        lx = 16;
      }
      out.push(`<rect x="${lx}" y="${y - 11}" width="12" height="12" fill="${c}"/><text x="${lx + 17}" y="${y}" font-size="12">${esc(name)}</text>`);
      lx += 30 + textWidth(name, 12);
    }
  }
  for (const panel of panels) {
    y += 34;
    const hint = panel.better ? ` (${panel.better} is better)` : '';
    out.push(`<text x="16" y="${y}" font-size="15" font-weight="bold">${esc(panel.heading)}<tspan dx="6" font-weight="normal" fill="#4b5563">— ${esc(panel.unit + hint)}</tspan></text>`);
    if (panel.note) {
      y += 16;
      out.push(`<text x="16" y="${y}" font-size="11" fill="#6b7280">${esc(panel.note)}</text>`);
    }
    y += 10;
    const max = Math.max(...panel.bars.map((b) => b.value), 1e-9);
    for (const bar of panel.bars) {
      const w = Math.max(1, (bar.value / max) * barMax);
      out.push(`<text x="${labelW}" y="${y + barH - 6}" font-size="${font}" text-anchor="end">${esc(bar.label)}</text>`);
      if (bar.segments) {
        let sx = x0;
        for (const s of bar.segments) {
          const sw = (s.value / max) * barMax;
          if (sw <= 0) continue;
          out.push(`<rect x="${sx.toFixed(1)}" y="${y}" width="${sw.toFixed(1)}" height="${barH}" fill="${s.colour}"><title>${esc(`${s.name}: ${s.value}`)}</title></rect>`);
          if (sw > textWidth(s.value, 11) + 6) out.push(`<text x="${(sx + sw / 2).toFixed(1)}" y="${y + barH - 6}" font-size="11" fill="#fff" text-anchor="middle">${s.value}</text>`);
          sx += sw;
        }
      } else {
        out.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${bar.colour ?? colour(bar.label)}"/>`);
      }
      out.push(`<text x="${(x0 + w + 6).toFixed(1)}" y="${y + barH - 6}" font-size="${font}" font-weight="bold">${esc(bar.text ?? fmt(bar.value))}</text>`);
      y += barH + gap;
    }
  }
  y += 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

// --- the charts ---

const written = [];
function save(name, svg) {
  writeFileSync(join(outDir, name), svg);
  written.push(`bench/charts/${name}`);
}

function writeChart() {
  const file = join(results, 'write.md');
  if (!existsSync(file)) return;
  const tables = mdTables(file);
  const commands = new Set();
  const panels = [];
  for (const t of tables) {
    const m = column(t, 'median');
    if (m < 0) continue; // the 2 GiB table is pass/fail text
    const ratio = column(t, 'atomicwriter ÷');
    const unit = /\(([^)]*)\)\s*$/.exec(t.heading)?.[1] ?? '';
    const lower = /ms/.test(unit);
    t.commands.forEach((c) => commands.add(c));
    const rerun = /`(node [^`]+)`/.exec(t.note)?.[1];
    if (rerun) commands.add(rerun);
    panels.push({
      heading: plain(t.heading.replace(/\s*\([^)]*\)\s*$/, '')),
      unit: unit.replace(/, peak RSS/, ''),
      better: lower ? 'lower' : 'higher',
      note: rerun ? `rerun: ${rerun}` : undefined,
      bars: t.rows.map((r) => ({
        label: plain(r[0]),
        value: num(r[m]),
        text: ratio >= 0 && !plain(r[0]).startsWith('atomicwriter') ? `${fmt(num(r[m]))}  (atomicwriter ÷ this: ${r[ratio]})` : undefined,
      })),
    });
  }
  const stream = join(results, 'stream.md');
  if (existsSync(stream)) {
    const t = mdTables(stream).find((x) => x.heading.includes('streamed write') && column(x, 'mib/s') >= 0);
    if (t) {
      const c = column(t, 'mib/s');
      t.commands.forEach((x) => commands.add(x));
      panels.push({
        heading: t.heading,
        unit: 'MiB/s',
        better: 'higher',
        note: `${t.commands.join(', ')}; fs-write-stream-atomic never fsyncs (not durable)`,
        bars: t.rows.map((r) => ({ label: plain(r[0]), value: num(r[c]) })),
      });
    }
  }
  save('write.svg', chart({
    title: 'Durable writes: atomicwriter vs the peers and the C / dd limit',
    source: [`Data: bench/results/write.md, stream.md — ${[...commands].join('; ')}`, 'Blue: atomicwriter; grey: peers; dark: C / dd (the machine’s limit). Medians of interleaved rounds, shared 2-core VM.'],
    panels,
  }));
}

function lockChart() {
  const file = join(results, 'lock.json');
  if (!existsSync(file)) return;
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const md = join(results, 'lock.md');
  const command = existsSync(md) ? /`(node [^`]+)`/.exec(readFileSync(md, 'utf8'))?.[1] : undefined;
  const bars = (obj) => Object.entries(obj).map(([label, value]) => ({ label, value }));
  save('lock.svg', chart({
    title: 'Locks: atomicwriter vs proper-lockfile vs C',
    source: [`Data: bench/results/lock.json — ${command ?? 'node bench/lock.mjs'} (${data.date}, Node ${data.node}, medians of ${data.rounds} rounds)`],
    panels: [
      { heading: 'Uncontested lock + release', unit: 'µs per cycle', better: 'lower', bars: bars(data.latencyUs) },
      { heading: `4 processes × ${data.updatesPerProcess} locked JSON increments, fsync on`, unit: 'updates/s', better: 'higher', note: `lost updates: ${Object.entries(data.lostUpdates).map(([k, v]) => `${k} ${v}`).join(', ')}`, bars: bars(data.updatesPerSec) },
      { heading: 'Contended hand-off between processes', unit: 'µs from release to acquire', better: 'lower', bars: bars(data.handoffUs) },
    ],
  }));
}

function formatsChart() {
  const file = join(results, 'formats.md');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const commands = [...text.split('\n')[0].matchAll(/`(node [^`]+)`/g)].map((m) => m[1]);
  const panels = mdTables(file)
    .filter((t) => /rows x/.test(t.heading))
    .map((t) => {
      const m = column(t, 'median');
      return {
        heading: t.heading.replace(/:.*$/, '').toUpperCase() + t.heading.replace(/^[^:]*/, ''),
        unit: 'ms to write',
        better: 'lower',
        bars: t.rows.map((r) => ({ label: r[0], value: num(r[m]) })),
      };
    });
  save('formats.svg', chart({
    title: 'Formats: atomicwriter vs non-atomic baselines vs nodejs-polars',
    source: [`Data: bench/results/formats.md — ${commands.join('; ')}`, 'Blue: atomicwriter (atomic + durable); grey: baselines (not atomic; only write-file-atomic syncs); orange: nodejs-polars (not atomic).'],
    panels,
  }));
}

function crashChart() {
  const file = join(results, 'crash.json');
  if (!existsSync(file)) return;
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const colours = { new: '#2563eb', old: '#60a5fa', absent: '#93c5fd', torn: '#dc2626', lost: '#f97316', left: '#7c3aed' };
  const bars = Object.entries(data.results).map(([api, r]) => ({
    label: api,
    value: r.trials,
    text: `${r.trials} kills: ${r.torn} torn, ${r.lost} lost, ${r.sweepLeftovers} left after sweep`,
    segments: [
      { name: 'new', value: r.new, colour: colours.new },
      { name: 'old', value: r.old, colour: colours.old },
      { name: 'absent', value: r.absent, colour: colours.absent },
      { name: 'torn', value: r.torn, colour: colours.torn },
      { name: 'lost', value: r.lost, colour: colours.lost },
      { name: 'left after sweep', value: r.sweepLeftovers, colour: colours.left },
    ],
  }));
  save('crash.svg', chart({
    title: 'SIGKILL at random points: what the file holds afterwards',
    source: [`Data: bench/results/crash.json — ${data.command} (${data.date}, Node ${data.node}, Linux ${data.kernel})`, 'Each trial kills a writer process at a random point, then checks the target with independent readers and runs sweep.'],
    legend: [
      ['new (a later complete write)', colours.new],
      ['old (previous content)', colours.old],
      ['absent (new dataset not yet published)', colours.absent],
      ['torn', colours.torn],
      ['lost acknowledged write', colours.lost],
      ['debris after sweep', colours.left],
    ],
    panels: [{ heading: 'Outcome per API', unit: 'trials', bars }],
  }));
}

function crashVmChart() {
  const file = join(results, 'crash-vm.json');
  if (!existsSync(file)) return;
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const colours = { acked: '#2563eb', newer: '#60a5fa', torn: '#dc2626', lost: '#f97316', peerAcked: '#9ca3af', peerNewer: '#d1d5db' };
  const label = { ext4: 'ext4 (noauto_da_alloc)', xfs: 'xfs', btrfs: 'btrfs' };
  const panels = [...new Set(data.cells.map((c) => c.fs))].map((fs) => ({
    heading: label[fs] ?? fs,
    unit: 'crashes',
    bars: data.cells
      .filter((c) => c.fs === fs)
      .map((c) => {
        const peer = ['write-file-atomic', 'atomically'].includes(c.api);
        const crashes = c.trials - c.errors;
        return {
          label: peer ? c.api : `${c.api}${c.ran === 'alone' ? ' (alone)' : ''}`,
          value: crashes,
          text: `${crashes}: ${c.torn} torn, ${c.lost} lost`,
          segments: [
            { name: 'acked', value: c.acked, colour: peer ? colours.peerAcked : colours.acked },
            { name: 'newer', value: c.newer, colour: peer ? colours.peerNewer : colours.newer },
            { name: 'torn', value: c.torn, colour: colours.torn },
            { name: 'lost', value: c.lost, colour: colours.lost },
          ],
        };
      }),
  }));
  save('crash-vm.svg', chart({
    title: 'OS crash (sysrq c under QEMU): what the disk holds after journal replay',
    source: [`Data: bench/results/crash-vm.json — ${data.command} (${data.date}, guest ${data.kernel}, Node ${data.node})`, 'Each crash: writers acknowledge each resolved write on the serial console; the host mounts the image and checks every target.'],
    legend: [
      ['atomicwriter: the last acknowledged write', colours.acked],
      ['atomicwriter: the write in flight after it', colours.newer],
      ['peers: acknowledged / in flight', colours.peerAcked],
      ['torn', colours.torn],
      ['lost acknowledged write', colours.lost],
    ],
    panels,
  }));
}

mkdirSync(outDir, { recursive: true });
writeChart();
lockChart();
formatsChart();
crashChart();
crashVmChart();
console.log(`wrote ${written.join(', ')}`);
