// The power-cut model's disk (bench/crash-vm/power-disk.mjs) without QEMU: a minimal NBD
// client writes, flushes and cuts, and the persisted images must hold exactly what the
// model promises: everything flushed (and FUA), nothing else unless the kind keeps it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the bench, no types
import { VolatileDisk } from '../bench/crash-vm/power-disk.mjs';

const SIZE = 64 << 10;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A blocking-style NBD client: handshake with NBD_OPT_GO, then one request at a time. */
async function connect(path: string) {
  const socket = net.connect(path);
  let buf = Buffer.alloc(0);
  let waiting: (() => void) | null = null;
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    waiting?.();
  });
  const take = async (n: number) => {
    while (buf.length < n) await new Promise<void>((r) => (waiting = r));
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  const hello = await take(18);
  expect(hello.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
  socket.write(Buffer.from([0, 0, 0, 3]));
  const go = Buffer.alloc(16 + 6);
  go.write('IHAVEOPT', 0, 'latin1');
  go.writeUInt32BE(7, 8);
  go.writeUInt32BE(6, 12); // empty name, no info requests
  socket.write(go);
  let flags = 0;
  for (;;) {
    const h = await take(20);
    const data = await take(h.readUInt32BE(16));
    if (h.readUInt32BE(12) === 3 && data.readUInt16BE(0) === 0) flags = data.readUInt16BE(10);
    if (h.readUInt32BE(12) === 1) break;
  }
  let cookie = 0n;
  const request = async (type: number, offset: number, data?: Buffer, length = data?.length ?? 0, fua = false) => {
    const r = Buffer.alloc(28);
    r.writeUInt32BE(0x25609513, 0);
    r.writeUInt16BE(fua ? 1 : 0, 4);
    r.writeUInt16BE(type, 6);
    r.writeBigUInt64BE(++cookie, 8);
    r.writeBigUInt64BE(BigInt(offset), 16);
    r.writeUInt32BE(length, 24);
    socket.write(data ? Buffer.concat([r, data]) : r);
    const reply = await take(16);
    expect(reply.readUInt32BE(4)).toBe(0);
    return type === 0 ? take(length) : null;
  };
  return {
    flags,
    read: (offset: number, length: number) => request(0, offset, undefined, length),
    write: (offset: number, data: Buffer, fua = false) => request(1, offset, data, data.length, fua),
    flush: () => request(3, 0),
    end: () => socket.destroy(),
  };
}

const block = (c: string, n = 4096) => Buffer.alloc(n, c);

async function setup() {
  const dir = mkdtempSync(join(os.tmpdir(), 'aw-power-disk-'));
  dirs.push(dir);
  const seed = join(dir, 'seed.img');
  writeFileSync(seed, Buffer.alloc(SIZE, '.'));
  const disk = new VolatileDisk(seed, join(dir, 'current.img'), join(dir, 'durable.img'), SIZE);
  await disk.listen(join(dir, 'nbd.sock'));
  const client = await connect(join(dir, 'nbd.sock'));
  return { dir, disk, client };
}

describe('the volatile-cache NBD disk of the power-cut trials', () => {
  it('advertises flush and FUA, reads back every write, persists only what was flushed', async () => {
    const { dir, disk, client } = await setup();
    expect(client.flags & (1 | 4 | 8)).toBe(1 | 4 | 8);
    await client.write(0, block('a'));
    await client.flush();
    await client.write(0, block('c')); // overwrites a flushed block, not flushed itself
    await client.write(4096, block('b'));
    await client.write(8192, block('f'), true); // FUA: durable on its own
    expect((await client.read(0, 4096))?.equals(block('c'))).toBe(true);
    const stats = disk.cut();
    expect(stats).toMatchObject({ flushes: 1, writes: 4, fuaWrites: 1, unflushedWrites: 3 });
    // After the cut the disk answers nothing: the guest is gone.
    client.end();

    const image = (kind: string) => {
      const out = join(dir, `${kind}.img`);
      disk.persist(disk.choose(kind), out);
      return readFileSync(out);
    };
    const flushed = image('flushed');
    expect(flushed.subarray(0, 4096).equals(block('a'))).toBe(true);
    expect(flushed.subarray(4096, 8192).equals(block('.'))).toBe(true);
    expect(flushed.subarray(8192, 12288).equals(block('f'))).toBe(true);
    const all = image('all');
    expect(all.subarray(0, 12288).equals(Buffer.concat([block('c'), block('b'), block('f')]))).toBe(true);
    expect(all.subarray(12288).equals(readFileSync(join(dir, 'seed.img')).subarray(12288))).toBe(true);
    disk.close();
  });

  it('a prefix keeps the first writes in order and tears the next at 4 KiB sectors; a random subset keeps FUA writes', async () => {
    const { disk, client } = await setup();
    await client.write(0, block('x', 4 * 4096));
    await client.write(0, block('y', 4 * 4096));
    await client.write(32768, block('z'), true);
    disk.cut();
    client.end();
    // rand() = 0.4: prefix k = floor(0.4 * 4) = 1 (the x write), then y torn with a
    // mask of sectors kept where rand() < 0.5, all kept, so one is dropped.
    const prefix = disk.choose('prefix', () => 0.4);
    expect(prefix.kept).toMatchObject({ kind: 'prefix', unflushed: 3, kept: 3, torn: 1, sectorsDropped: 1 });
    for (let seed = 0; seed < 50; seed++) {
      let s = seed + 1;
      const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
      const random = disk.choose('random', rand);
      // The FUA write is in every image.
      expect(random.pieces.some(([at]: number[]) => at === 32768)).toBe(true);
      for (const [at, len] of random.pieces) {
        // Torn pieces are whole 4 KiB sectors at 4 KiB boundaries.
        expect(at % 4096).toBe(0);
        expect(len % 4096).toBe(0);
      }
    }
    disk.close();
  });
});
