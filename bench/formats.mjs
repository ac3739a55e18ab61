// Formats side by side: 1,000,000 rows x (int32, float64, utf8) to csv, ndjson, arrow
// and parquet. atomicwriter's write() (atomic, durable: fdatasync + directory fsync)
// against what a user writes today without atomicity: the same encoder + fs.writeFile,
// csv-stringify + write-file-atomic, nodejs-polars; plus the parquet encoder candidates
// and the peak RSS of 10,000,000-row streaming writes. Each measurement runs in a fresh
// process, contenders interleaved round by round; medians go to bench/results/formats.md.
//
//   node bench/formats.mjs [rounds=3] [group]  all of it (or one group, e.g. arrow, merged into the last results)
//   node bench/formats.mjs --case NAME DIR     one measurement (used by the above)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ROWS = 1_000_000;
const BIG = 10_000_000;

function columns(n = ROWS) {
  const id = new Int32Array(n);
  const value = new Float64Array(n);
  const name = new Array(n);
  for (let i = 0; i < n; i++) {
    id[i] = i;
    value[i] = i * 1.000001 + 0.5;
    name[i] = `name-${(Math.imul(i, 2654435761) >>> 0).toString(36)}`;
  }
  return { id, value, name };
}

function records(cols) {
  const out = new Array(cols.id.length);
  for (let i = 0; i < out.length; i++) out[i] = { id: cols.id[i], value: cols.value[i], name: cols.name[i] };
  return out;
}

function arrowTable(cols) {
  const A = require('apache-arrow');
  return new A.Table({ id: A.makeVector(cols.id), value: A.makeVector(cols.value), name: A.vectorFromArray(cols.name, new A.Utf8()) });
}

/** Our serializer into memory: the "same encoder, no atomicity" baseline (one string join, or one concat). */
async function serializeToBuffer(format, data, options = {}) {
  const { [format]: f } = require(`../dist/formats/${format}.js`);
  const chunks = [];
  const sink = { bytesWritten: 0, async write(c) { chunks.push(typeof c === 'string' ? c : Buffer.from(new Uint8Array(c.buffer ?? c, c.byteOffset ?? 0, c.byteLength))); } };
  await f.serialize(f.prepare ? f.prepare(data, options) : data, sink, options);
  return chunks.every((c) => typeof c === 'string') ? Buffer.from(chunks.join('')) : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}

// Each case: [input, run(input, dir) -> file written]. Input is built before the clock starts.
const CASES = {
  'csv/atomicwriter': ['records', async (d, dir) => (await aw().write(d, join(dir, 'o.csv'))).path],
  'csv/same-encoder+fs.writeFile': ['records', async (d, dir) => { const f = join(dir, 'o.csv'); await writeFile(f, await serializeToBuffer('csv', d)); return f; }],
  'csv/csv-stringify+write-file-atomic': ['records', async (d, dir) => {
    const { stringify } = require('csv-stringify/sync');
    const f = join(dir, 'o.csv');
    await require('write-file-atomic')(f, stringify(d, { header: true }));
    return f;
  }],
  'csv/nodejs-polars': ['columns', async (c, dir) => { const f = join(dir, 'o.csv'); polars().DataFrame(c).writeCSV(f); return f; }],

  'ndjson/atomicwriter': ['records', async (d, dir) => (await aw().write(d, join(dir, 'o.ndjson'))).path],
  'ndjson/same-encoder+fs.writeFile': ['records', async (d, dir) => { const f = join(dir, 'o.ndjson'); await writeFile(f, await serializeToBuffer('ndjson', d)); return f; }],
  'ndjson/nodejs-polars': ['columns', async (c, dir) => { const f = join(dir, 'o.ndjson'); polars().DataFrame(c).writeJSON(f, { format: 'lines' }); return f; }],

  'arrow/atomicwriter': ['table', async (t, dir) => (await aw().write(t, join(dir, 'o.arrow'))).path],
  'arrow/atomicwriter(fsync:false)': ['table', async (t, dir) => (await aw().write(t, join(dir, 'o.arrow'), { fsync: false })).path],
  'arrow/same-encoder+fs.writeFile': ['table', async (t, dir) => { const f = join(dir, 'o.arrow'); await writeFile(f, require('apache-arrow').tableToIPC(t, 'file')); return f; }],
  'arrow/nodejs-polars': ['columns', async (c, dir) => { const f = join(dir, 'o.arrow'); polars().DataFrame(c).writeIPC(f); return f; }],

  'parquet/atomicwriter': ['columns', async (c, dir) => (await aw().write(c, join(dir, 'o.parquet'))).path],
  'parquet/same-encoder+fs.writeFile': ['columns', async (c, dir) => { const f = join(dir, 'o.parquet'); await writeFile(f, await serializeToBuffer('parquet', c)); return f; }],
  'parquet/atomicwriter(fsync:false)': ['columns', async (c, dir) => (await aw().write(c, join(dir, 'o.parquet'), { fsync: false })).path],
  'parquet/atomicwriter(arrow Table)': ['table', async (t, dir) => (await aw().write(t, join(dir, 'o.parquet'))).path],
  // The encoder atomicwriter used before the core's (pure JS), as it was called then.
  'parquet/hyparquet-writer(previous encoder)+fs.writeFile': ['columns', async (c, dir) => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const col = (name, type, extra = {}) => ({ name, type, repetition_type: 'OPTIONAL', ...extra });
    const schema = [{ name: 'root', num_children: 3 }, col('id', 'INT32'), col('value', 'DOUBLE'), col('name', 'BYTE_ARRAY', { converted_type: 'UTF8' })];
    const columnData = [{ name: 'id', data: c.id }, { name: 'value', data: c.value }, { name: 'name', data: c.name }];
    const f = join(dir, 'o.parquet');
    await writeFile(f, Buffer.from(parquetWriteBuffer({ columnData, schema, codec: 'SNAPPY', statistics: true, rowGroupSize: 100_000 })));
    return f;
  }],
  'parquet/atomicwriter(polars DataFrame)': ['columns', async (c, dir) => (await aw().write(polars().DataFrame(c), join(dir, 'o.parquet'))).path],
  'parquet/nodejs-polars': ['columns', async (c, dir) => { const f = join(dir, 'o.parquet'); polars().DataFrame(c).writeParquet(f, { compression: 'snappy' }); return f; }],
  'parquet/parquet-wasm(from arrow Table)+fs.writeFile': ['table', async (t, dir) => {
    const A = require('apache-arrow');
    const pw = require('parquet-wasm/node');
    const wasmTable = pw.Table.fromIPCStream(A.tableToIPC(t, 'stream'));
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.SNAPPY).build();
    const f = join(dir, 'o.parquet');
    await writeFile(f, pw.writeParquet(wasmTable, props));
    return f;
  }],
  'parquet/parquet-wasm(from columns)+fs.writeFile': ['columns', async (c, dir) => {
    const pw = require('parquet-wasm/node');
    const wasmTable = pw.Table.fromIPCStream(require('apache-arrow').tableToIPC(arrowTable(c), 'stream'));
    const f = join(dir, 'o.parquet');
    await writeFile(f, pw.writeParquet(wasmTable, new pw.WriterPropertiesBuilder().setCompression(pw.Compression.SNAPPY).build()));
    return f;
  }],

  // Streaming: rows made lazily, never all in memory.
  'stream10m/csv': ['none', async (_, dir) => (await aw().write(lazyRows(BIG), join(dir, 'big.csv'))).path],
  'stream10m/ndjson': ['none', async (_, dir) => (await aw().write(lazyRows(BIG), join(dir, 'big.ndjson'))).path],
  'stream10m/parquet': ['none', async (_, dir) => (await aw().write(lazyRows(BIG), join(dir, 'big.parquet'))).path],
};

async function* lazyRows(n) {
  for (let i = 0; i < n; i++) yield { id: i, value: i * 1.000001 + 0.5, name: `name-${(Math.imul(i, 2654435761) >>> 0).toString(36)}` };
}

function aw() {
  return require('../dist/index.js');
}
function polars() {
  return require('nodejs-polars');
}

const PLAN = [
  ['csv/atomicwriter', 'csv/same-encoder+fs.writeFile', 'csv/csv-stringify+write-file-atomic', 'csv/nodejs-polars'],
  ['ndjson/atomicwriter', 'ndjson/same-encoder+fs.writeFile', 'ndjson/nodejs-polars'],
  ['arrow/atomicwriter', 'arrow/atomicwriter(fsync:false)', 'arrow/same-encoder+fs.writeFile', 'arrow/nodejs-polars'],
  ['parquet/atomicwriter', 'parquet/atomicwriter(fsync:false)', 'parquet/same-encoder+fs.writeFile', 'parquet/atomicwriter(arrow Table)', 'parquet/hyparquet-writer(previous encoder)+fs.writeFile', 'parquet/atomicwriter(polars DataFrame)', 'parquet/nodejs-polars', 'parquet/parquet-wasm(from arrow Table)+fs.writeFile', 'parquet/parquet-wasm(from columns)+fs.writeFile'],
  ['stream10m/csv', 'stream10m/ndjson', 'stream10m/parquet'],
];

async function child(name, dir) {
  const [input, run] = CASES[name];
  const cols = input === 'none' ? undefined : columns();
  const data = input === 'records' ? records(cols) : input === 'table' ? arrowTable(cols) : cols;
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const file = await run(data, dir);
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, bytes: statSync(file).size, rssBeforeMiB: rssBefore / 2 ** 20, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const rounds = Number(process.argv[2]) || 3;
  const only = process.argv[3];
  const work = join(here, '.work');
  mkdirSync(work, { recursive: true });
  const saved = join(here, 'results', 'formats.json');
  const results = only && existsSync(saved) ? JSON.parse(readFileSync(saved, 'utf8')) : {};
  for (const group of PLAN) {
    if (only && !group[0].startsWith(`${only}/`)) continue;
    for (const name of group) delete results[name];
    const groupRounds = group[0].startsWith('stream10m') ? 1 : rounds;
    for (let r = 0; r < groupRounds; r++) {
      for (const name of group) {
        const dir = mkdtempSync(join(work, 'fmt-'));
        try {
          const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', name, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
          const m = JSON.parse(out.trim().split('\n').pop());
          (results[name] ??= []).push(m);
          process.stderr.write(`${name} round ${r + 1}: ${m.ms.toFixed(0)} ms, peak RSS ${m.peakRssMiB.toFixed(0)} MiB\n`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
  const lines = [
    `Command: \`node bench/formats.mjs ${rounds}\`${only ? ` (then \`node bench/formats.mjs ${rounds} ${only}\` re-ran that group)` : ''} — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, files on ext4 (bench/.work).`,
    `Medians of ${rounds} interleaved rounds (1 for the 10M-row runs), each a fresh process. The machine is shared with other work (2 cores, several agents): read the ratios, not the absolute times, and expect +-20 % noise.`,
    'atomicwriter rows are atomic and durable (fdatasync + directory fsync); the baselines are not, except write-file-atomic (fsync, no directory fsync).',
    'Time covers the write only (input built beforehand); nodejs-polars times include building the DataFrame from the same columns. Ratios are time ÷ the baseline\'s time: below 1 is faster. "peak RSS" is the process maximum, input included.',
    'The "same encoder + fs.writeFile" baseline runs our serializer into memory and writes the whole file at once (what a user without atomicity would do); holding the whole output is why it can be slower than the streaming atomic write.',
    'Encoder choice for Parquet and what is out of reach: bench/notes/formats.md.',
    '',
  ];
  for (const group of PLAN) {
    const base = group.find((n) => n.includes('same-encoder'));
    const baseMs = base ? median(results[base].map((m) => m.ms)) : undefined;
    const polars = group.find((n) => n.endsWith('/nodejs-polars'));
    const polarsMs = polars ? median(results[polars].map((m) => m.ms)) : undefined;
    lines.push(`### ${group[0].split('/')[0] === 'stream10m' ? 'Streaming 10,000,000 rows (async generator of records)' : `${group[0].split('/')[0]}: 1,000,000 rows x (int32, float64, utf8)`}`, '');
    lines.push('| contender | median ms | time ÷ same encoder non-atomic | time ÷ nodejs-polars | file MiB | peak RSS MiB |', '|---|---|---|---|---|---|');
    for (const name of group) {
      // A contender added since the saved results were taken: run its group again.
      if (!results[name]) continue;
      const ms = median(results[name].map((m) => m.ms));
      const ratio = (b) => (b ? `${(ms / b).toFixed(2)}x` : '');
      lines.push(`| ${name.split('/')[1]} | ${ms.toFixed(0)} | ${ratio(baseMs)} | ${ratio(polarsMs)} | ${(results[name][0].bytes / 2 ** 20).toFixed(1)} | ${median(results[name].map((m) => m.peakRssMiB)).toFixed(0)} |`);
    }
    lines.push('');
  }
  writeFileSync(join(here, 'results', 'formats.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(here, 'results', 'formats.md'), `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[2] === '--case') await child(process.argv[3], process.argv[4]);
else await main();
