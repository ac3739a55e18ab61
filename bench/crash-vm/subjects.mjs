// What the OS-crash trials write and how they check it, one entry per API under test.
// Each has:
//   seed(dir)         on the host, into the pristine image: generation 0, made durable
//                     by the unmount;
//   write(dir, ack)   in the guest: replaces the target in a loop, calling ack(n) once
//                     write n has resolved, until the kernel is crashed under it;
//   check(dir, ack)   on the host, after journal replay: returns the generation on disk,
//                     or throws `torn: ...` / `lost: ...`.
// Files: the crash-writer payload (test/fixtures/crash-payload.mjs), whose header, size
// and fill are derived from its generation. Zeros where data never reached the disk, a
// short file, or a mix of two generations all fail payloadGen.
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { jsonPad, oldPayload, payload, payloadGen } from '../../test/fixtures/crash-payload.mjs';
import { partBytes, partName } from '../../test/fixtures/dataset-content.mjs';

const require = createRequire(import.meta.url);
const aw = () => require('../../dist/index.js');

const BASE = 128 << 10; // file payloads of 128 to 256 KiB
const JSON_PAD = 16 << 10;
const PARTS = 4;
const PART_BYTES = 32 << 10;

function lostIfBehind(onDisk, acked, what) {
  if (onDisk < acked) throw new Error(`lost: ${what} ${onDisk} on disk, ${acked} acknowledged`);
  return onDisk;
}

/** A subject that replaces target.bin with payloads through `writeOne(path, data)`. */
function fileSubject(description, writeOne) {
  return {
    description,
    seed(dir) {
      writeFileSync(join(dir, 'target.bin'), oldPayload(BASE));
    },
    async write(dir, ack) {
      const target = join(dir, 'target.bin');
      for (let gen = 1; ; gen++) {
        await writeOne(target, payload(gen, BASE), gen);
        ack(gen);
      }
    },
    check(dir, acked) {
      const target = join(dir, 'target.bin');
      if (!existsSync(target)) throw new Error('lost: target.bin is gone');
      return lostIfBehind(payloadGen(readFileSync(target)), acked, 'generation');
    },
    targets: ['target.bin'],
  };
}

export const SUBJECTS = {
  writeFile: fileSubject('`writeFile` (async); odd generations through a named temp (`tmpfileCreated`), even ones through O_TMPFILE (on btrfs a durable write always takes a named temp, since the change to one data sync there)', (path, data, gen) =>
    aw().writeFile(path, data, gen % 2 ? { tmpfileCreated: () => {} } : {}),
  ),
  writeFileSync: fileSubject('`writeFileSync`', (path, data) => aw().writeFileSync(path, data)),
  createWriteStream: fileSubject('`createWriteStream`, 64 KiB writes with backpressure, acknowledged on `committed`', async (path, data) => {
    const stream = aw().createWriteStream(path);
    for (let at = 0; at < data.length; at += 64 << 10) {
      if (!stream.write(data.subarray(at, at + (64 << 10)))) await once(stream, 'drain');
    }
    stream.end();
    await stream.committed;
  }),
  updateJson: {
    description: '`updateJson` incrementing `n`, with padding derived from n',
    seed(dir) {
      writeFileSync(join(dir, 'data.json'), JSON.stringify({ n: 0, pad: '' }));
    },
    async write(dir, ack) {
      for (;;) {
        const next = await aw().updateJson(join(dir, 'data.json'), (d) => ({ n: d.n + 1, pad: jsonPad(d.n + 1, JSON_PAD) }));
        ack(next.n);
      }
    },
    check(dir, acked) {
      const path = join(dir, 'data.json');
      if (!existsSync(path)) throw new Error('lost: data.json is gone');
      const text = readFileSync(path, 'utf8');
      let doc;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new Error(`torn: data.json does not parse (${text.length} chars)`);
      }
      if (doc.n > 0 && doc.pad !== jsonPad(doc.n, JSON_PAD)) throw new Error(`torn: the padding of n=${doc.n} does not match`);
      return lostIfBehind(doc.n, acked, 'n =');
    },
    targets: ['data.json', 'data.json.lock'],
  },
  writeDataset: {
    description: `\`writeDataset\` of ${PARTS} parts x ${PART_BYTES >> 10} KiB + version.txt (half buffers, half streams); checked by \`verify\` and by comparing every part with version.txt's`,
    async seed(dir) {
      await aw().writeDataset(join(dir, 'ds'), (stage) => writeVersion(stage, 0));
    },
    async write(dir, ack) {
      for (let v = 1; ; v++) {
        await aw().writeDataset(join(dir, 'ds'), (stage) => writeVersion(stage, v));
        ack(v);
      }
    },
    async check(dir, acked) {
      const ds = join(dir, 'ds');
      if (!existsSync(ds)) throw new Error('lost: the dataset is gone');
      const result = await aw().verify(ds);
      if (!result.ok) throw new Error(`torn: verify failed: ${JSON.stringify(result.problems)}`);
      if (result.extra.length) throw new Error(`torn: extra files in the dataset: ${result.extra}`);
      const v = readFileSync(join(ds, 'version.txt'), 'utf8');
      for (let p = 0; p < PARTS; p++) {
        if (!readFileSync(join(ds, partName(p))).equals(partBytes(v, p, PART_BYTES))) throw new Error(`torn: part ${p} is not version ${v}'s`);
      }
      return lostIfBehind(Number(v), acked, 'version');
    },
    targets: ['ds'],
  },
  'write-file-atomic': fileSubject('write-file-atomic 7 `writeFileAtomic` with its defaults (fsync: true): fsync + rename, no directory fsync', (path, data) =>
    require('write-file-atomic')(path, data),
  ),
  atomically: fileSubject('atomically `writeFile` with its defaults (fsync: true): fsync + rename, no directory fsync', async (path, data) => {
    const { writeFile } = await import('atomically');
    await writeFile(path, data);
  }),
  // The model's self-test: two writers that are known to be unsafe across a power cut.
  'no-fsync': fileSubject('control: write a temp, rename it over the target, no fsync at all', (path, data, gen) => renameWriter(path, data, gen, false)),
  'no-dir-fsync': fileSubject('control: write a temp, fsync it, rename it over the target, no directory fsync', (path, data, gen) => renameWriter(path, data, gen, true)),
  // The harness's own check of its stall report (guest.mjs CRASHER): after 20 writes the
  // main thread, where this writer runs, blocks in user space for good. A boot of it must
  // end in the error "stuck in user space" (by hand: --subjects stuck-main --min-delay 12
  // --max-delay 14; the crasher looks for a stall only in the 10 s before the crash).
  'stuck-main': fileSubject('harness self-test: the main thread blocks forever after 20 writes', async (path, data, gen) => {
    if (gen > 20) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    await aw().writeFile(path, data);
  }),
};

async function renameWriter(path, data, gen, fsyncFile) {
  const temp = `${path}.${gen}.tmp`;
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(data);
    if (fsyncFile) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, path);
}

async function writeVersion(stage, v) {
  await stage.write('version.txt', String(v));
  const writes = [];
  for (let i = 0; i < PARTS; i++) {
    const data = partBytes(String(v), i, PART_BYTES);
    if (i % 2 === 0) writes.push(stage.write(partName(i), data));
    else stage.createWriteStream(partName(i)).end(data);
  }
  await Promise.all(writes);
}

export const OURS = ['writeFile', 'writeFileSync', 'createWriteStream', 'updateJson', 'writeDataset'];
export const PEERS = ['write-file-atomic', 'atomically'];
/** Writers that must lose acknowledged writes under a model that cuts deep enough. */
export const CONTROLS = ['no-fsync', 'no-dir-fsync'];

/** What a boot runs: `atomicwriter` = our five APIs at once, each in its own directory. */
export const apisOf = (subject) => (subject === 'atomicwriter' ? OURS : [subject]);

/** Seeds every subject's directory under `root` (the mounted pristine image). */
export async function seedAll(root) {
  for (const [name, s] of Object.entries(SUBJECTS)) {
    mkdirSync(join(root, name), { recursive: true });
    await s.seed(join(root, name));
  }
}
