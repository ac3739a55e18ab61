// npm run demo: the main job in a few seconds — durable atomic writes, what a crash
// leaves, and the speed against write-file-atomic's protocol.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic, { writeFile, sweep } from 'atomicwriter';

const dir = mkdtempSync(join(tmpdir(), 'atomicwriter-demo-'));
const say = (...args) => console.log(...args);

try {
  say(`atomicwriter demo in ${dir}\n`);

  const config = join(dir, 'config.json');
  await writeFileAtomic(config, JSON.stringify({ version: 1 }) + '\n');
  say(`1. durable write: ${config} = ${readFileSync(config, 'utf8').trim()}`);
  say('   (temp in the same directory, every byte written, fdatasync, rename, directory fsync)\n');

  // A child writes 256 MiB over the file and is killed with SIGKILL mid-write.
  const big = join(dir, 'big.bin');
  await writeFile(big, Buffer.alloc(1 << 20, 'o'));
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { writeFile } from 'atomicwriter';
    process.send?.('go');
    console.log('started');
    await writeFile(${JSON.stringify(big)}, Buffer.alloc(256 << 20, 'n'));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  await new Promise((resolve) => setTimeout(resolve, 150));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const after = readFileSync(big);
  const intact = after.length === 1 << 20 && after.every((b) => b === 0x6f);
  const whole = after.length === 256 << 20 && after.every((b) => b === 0x6e);
  say(`2. a child killed with SIGKILL during a 256 MiB write left ${intact ? 'the old file, intact' : whole ? 'the new file, whole' : 'A TORN FILE'}`);
  say(`   directory now: ${readdirSync(dir).join(', ')} (no temp: O_TMPFILE leaves nothing behind)`);
  say(`   sweep found ${(await sweep(dir, { olderThan: 0 })).length} orphaned temps\n`);

  // Throughput: 500 sequential and 64-way concurrent durable 1 KiB writes.
  const payload = Buffer.alloc(1024, 'x');
  let t = performance.now();
  for (let i = 0; i < 300; i++) await writeFileAtomic(join(dir, 'seq.bin'), payload);
  const seq = 300 / ((performance.now() - t) / 1000);
  t = performance.now();
  await Promise.all(Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; i < 16; i++) await writeFileAtomic(join(dir, `c${w}.bin`), payload);
  }));
  const conc = 1024 / ((performance.now() - t) / 1000);
  say(`3. durable 1 KiB writes (fsync + directory fsync): ${seq.toFixed(0)}/s sequential, ${conc.toFixed(0)}/s with 64 concurrent`);
  say(`   size check: ${statSync(join(dir, 'c0.bin')).size} bytes; bench/RESULTS.md compares with the peers\n`);

  await writeFile(config, 'x', { exclusive: true }).catch((err) => say(`4. exclusive create on an existing file: ${err.code} (${err.syscall}), old content kept: ${readFileSync(config, 'utf8').trim()}`));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
