// npm run crashtest: SIGKILL at random points of writeFile, createWriteStream,
// updateJson and writeDataset, each in a real child process, and after every kill:
// the target holds the old or the new content whole (never torn or mixed), nothing
// acknowledged is lost, a dataset passes `verify`, and `sweep` leaves only the target.
// `node bench/crashtest.mjs [trials per API] [api ...]`; writes bench/results/crash.md
// and crash.json. Not part of `npm test` (test/crash.test.ts and friends run a few).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { sweep, verify, writeDataset } from '../index.mjs';
import { partBytes, partName } from '../test/fixtures/dataset-content.mjs';
import { jsonPad, oldPayload as oldPayloadOf, payloadGen } from '../test/fixtures/crash-payload.mjs';

const oldPayload = () => oldPayloadOf(BASE);

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const fixtures = join(root, 'test', 'fixtures');
const args = process.argv.slice(2);
const trials = Number(args[0]) || 200;
const only = args.slice(1);

const BASE = 1 << 20; // writeFile / stream payloads of 1 to 2 MiB: a kill often lands mid-write
const JSON_PAD = 64 << 10;
const PARTS = 4;
const PART_BYTES = 64 << 10;
const MAX_DELAY_MS = 400;

/** Runs `node argv`, kills it with SIGKILL `delay` ms after its first stdout line. */
function killAfter(argv, delay) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer;
    child.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      if (timer === undefined && out.includes('\n')) timer = setTimeout(() => child.kill('SIGKILL'), delay);
    });
    child.stderr.setEncoding('utf8').on('data', (s) => (err += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended (${code ?? signal}) before the kill: ${err}`));
      else resolve(out.split('\n').filter(Boolean));
    });
  });
}

// Squared, so more kills land early, inside the first write, than uniform would put there.
const killDelay = () => Math.random() ** 2 * MAX_DELAY_MS;

const lastAck = (lines, fallback) => {
  const acks = lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
  return acks.length ? acks.at(-1) : fallback;
};

function fail(message) {
  throw new Error(message);
}

/** Sweeps `dir`; throws unless exactly `expected` is left (plus the names in `optional`, if present). */
async function sweepLeaves(dir, expected, optional = []) {
  const swept = await sweep(dir, { olderThan: 0 });
  const left = readdirSync(dir).filter((n) => !optional.includes(n)).sort();
  if (JSON.stringify(left) !== JSON.stringify([...expected].sort())) fail(`after sweep: ${JSON.stringify(left)}, expected ${JSON.stringify(expected)}`);
  return swept.length;
}

// Each API: setup(dir) once, then trial(dir, i) -> { outcome, swept, lost }.
const APIS = {
  writeFile: {
    how: 'test/fixtures/crash-writer.mjs: `writeFile` of 1-2 MiB payloads in a loop (even trials anonymous O_TMPFILE temp, odd trials named temp via `tmpfileCreated`); check: header, length and fill whole; then `sweep`',
    setup(dir) {
      writeFileSync(join(dir, 'target.bin'), oldPayload());
    },
    async trial(dir, i) {
      const target = join(dir, 'target.bin');
      // crash-writer restarts at generation 1 in every process: reset the old content to
      // generation 0 (a plain write, between trials) so "old" and "new" can be told apart.
      writeFileSync(target, oldPayload());
      await killAfter([join(fixtures, 'crash-writer.mjs'), target, i % 2 ? 'named' : 'async', String(BASE)], killDelay());
      const after = payloadGen(readFileSync(target));
      return { outcome: after === 0 ? 'old' : 'new', lost: 0, swept: await sweepLeaves(dir, ['target.bin']) };
    },
  },
  createWriteStream: {
    how: 'bench/crash-child.mjs stream: `createWriteStream`, 1-2 MiB per stream in 64 KiB writes with backpressure, `ack n` after `committed`; check: whole, and generation = last ack or the one after; then `sweep`',
    setup(dir) {
      writeFileSync(join(dir, 'target.bin'), oldPayload());
    },
    async trial(dir) {
      const target = join(dir, 'target.bin');
      const before = payloadGen(readFileSync(target));
      const lines = await killAfter([join(here, 'crash-child.mjs'), target, 'stream', String(before + 1), String(BASE)], killDelay());
      const ack = lastAck(lines, before);
      const after = payloadGen(readFileSync(target));
      if (after < ack) fail(`lost: generation ${after} on disk, ${ack} acknowledged`);
      if (after > ack + 1) fail(`generation ${after} on disk, only ${ack} acknowledged`);
      return { outcome: after === before ? 'old' : 'new', lost: 0, swept: await sweepLeaves(dir, ['target.bin']) };
    },
  },
  updateJson: {
    how: 'bench/crash-child.mjs json: `updateJson` increments `n` with ~64 KiB of padding derived from n, `ack n` after each; check: parses, padding matches n, n = last ack or the one after; then `sweep` must leave data.json and at most its lock file `data.json.lock` (the lock, not debris; absent when the kill came before the first update created it)',
    setup(dir) {
      writeFileSync(join(dir, 'data.json'), JSON.stringify({ n: 0, pad: '' }));
    },
    async trial(dir) {
      const target = join(dir, 'data.json');
      const read = () => {
        const text = readFileSync(target, 'utf8');
        let doc;
        try {
          doc = JSON.parse(text);
        } catch {
          fail(`torn: data.json does not parse (${text.length} chars)`);
        }
        const { n, pad } = doc;
        if (n > 0 && pad !== jsonPad(n, JSON_PAD)) fail(`torn: padding of n=${n} does not match`);
        return n;
      };
      const before = read();
      const lines = await killAfter([join(here, 'crash-child.mjs'), target, 'json', '0', String(JSON_PAD)], killDelay());
      const ack = lastAck(lines, before);
      const after = read();
      if (after < ack) fail(`lost update: n=${after} on disk, ${ack} acknowledged`);
      if (after > ack + 1) fail(`n=${after} on disk, only ${ack} acknowledged`);
      return { outcome: after === before ? 'old' : 'new', lost: 0, // The lock file is the lock, not debris; it is absent if the kill came before
      // the first updateJson created it.
      swept: await sweepLeaves(dir, ['data.json'], ['data.json.lock']) };
    },
  },
  writeDataset: {
    how: `test/fixtures/dataset-writer.mjs: \`writeDataset\` of ${PARTS} parts x ${PART_BYTES >> 10} KiB + version.txt (half buffers, half streams), replaced in a loop; every 10th trial starts with no dataset; check: \`verify\` ok with no extra files and every part matches version.txt; then \`sweep\``,
    async setup(dir) {
      await writeDataset(join(dir, 'ds'), async (stage) => {
        await stage.write('version.txt', '0');
        for (let p = 0; p < PARTS; p++) await stage.write(partName(p), partBytes('0', p, PART_BYTES));
      });
      this.next = 1;
    },
    async trial(dir, i) {
      const ds = join(dir, 'ds');
      const fresh = i % 10 === 9;
      if (fresh) rmSync(ds, { recursive: true, force: true });
      const version = async () => {
        if (!existsSync(ds)) return null;
        const result = await verify(ds);
        if (!result.ok) fail(`verify failed: ${JSON.stringify(result.problems)}`);
        if (result.extra.length) fail(`extra files in the dataset: ${result.extra}`);
        const v = readFileSync(join(ds, 'version.txt'), 'utf8');
        for (let p = 0; p < PARTS; p++) {
          if (!readFileSync(join(ds, partName(p))).equals(partBytes(v, p, PART_BYTES))) fail(`torn: part ${p} is not version ${v}'s`);
        }
        return Number(v);
      };
      const before = await version();
      const first = this.next;
      this.next += 100_000;
      await killAfter([join(fixtures, 'dataset-writer.mjs'), ds, `${first}..${first + 99_999}`, String(PARTS), String(PART_BYTES)], killDelay());
      const after = await version();
      if (after !== before && (after === null || after < first)) fail(`dataset went from ${before} to ${after}`);
      const outcome = after === before ? (after === null ? 'absent' : 'old') : 'new';
      return { outcome, lost: 0, swept: await sweepLeaves(dir, after === null ? [] : ['ds']) };
    },
  },
};

const work = join(here, '.work');
mkdirSync(work, { recursive: true });
const started = Date.now();
const results = {};
for (const [name, api] of Object.entries(APIS)) {
  if (only.length && !only.includes(name)) continue;
  const dir = mkdtempSync(join(work, `crash-${name}-`));
  await api.setup(dir);
  const r = { trials: 0, torn: 0, lost: 0, sweepLeftovers: 0, old: 0, new: 0, absent: 0, orphansSwept: 0, failures: [], how: api.how };
  const t0 = Date.now();
  for (let i = 0; i < trials; i++) {
    r.trials++;
    try {
      const { outcome, swept } = await api.trial(dir, i);
      r[outcome]++;
      r.orphansSwept += swept;
    } catch (e) {
      // Count and keep going: the report shows every failure, the exit code says it failed.
      const msg = String(e.message);
      if (msg.startsWith('lost')) r.lost++;
      else if (msg.startsWith('after sweep')) r.sweepLeftovers++;
      else r.torn++;
      r.failures.push(`trial ${i}: ${msg}`);
      if (msg.startsWith('child ended')) throw e;
      // Start the next trial from a known state.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      await api.setup(dir);
    }
    if ((i + 1) % 50 === 0) console.error(`${name}: ${i + 1}/${trials}`);
  }
  r.seconds = Math.round((Date.now() - t0) / 100) / 10;
  rmSync(dir, { recursive: true, force: true });
  results[name] = r;
  console.log(`${name}: ${r.trials} trials, torn ${r.torn}, lost ${r.lost}, left after sweep ${r.sweepLeftovers}; old ${r.old}, new ${r.new}, absent ${r.absent}; orphaned temps swept ${r.orphansSwept}; ${r.seconds} s`);
}

const command = `node bench/crashtest.mjs ${trials}${only.length ? ' ' + only.join(' ') : ''}`;
const date = new Date().toISOString();
const out = join(here, 'results');
writeFileSync(join(out, 'crash.json'), JSON.stringify({ command, date, node: process.version, kernel: os.release(), maxDelayMs: MAX_DELAY_MS, results }, null, 2) + '\n');
const md = [
  `Command: \`${command}\` — ${date}, Node ${process.version}, Linux ${os.release()}, files on the root filesystem (bench/.work).`,
  `Each trial starts a writer in a fresh process and SIGKILLs it a random 0-${MAX_DELAY_MS} ms (random² × ${MAX_DELAY_MS}, so weighted to the start) after it starts writing; then the target is checked with independent readers (fs.readFileSync, JSON.parse, \`verify\`) and \`sweep(dir, {olderThan: 0})\` must leave only the target. Process crashes only: the page cache survives, so an acknowledged write must be there (OS crashes are a separate test).`,
  '',
  '### SIGKILL at random points',
  '',
  '| API | trials | torn | lost acknowledged | left after sweep | old | new | absent | orphaned temps swept | seconds |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...Object.entries(results).map(([n, r]) => `| \`${n}\` | ${r.trials} | ${r.torn} | ${r.lost} | ${r.sweepLeftovers} | ${r.old} | ${r.new} | ${r.absent} | ${r.orphansSwept} | ${r.seconds} |`),
  '',
  '"old" / "new": the kill left the previous content / a newer complete write; "absent": a fresh dataset that had not been published yet.',
  '',
  ...Object.entries(results).map(([n, r]) => `- \`${n}\`: ${r.how}.`),
  ...Object.entries(results).flatMap(([n, r]) => r.failures.map((f) => `- FAILURE \`${n}\` ${f}`)),
  '',
];
writeFileSync(join(out, 'crash.md'), md.join('\n'));
console.log(`wrote bench/results/crash.md and crash.json in ${Math.round((Date.now() - started) / 1000)} s`);
if (Object.values(results).some((r) => r.failures.length)) process.exitCode = 1;
