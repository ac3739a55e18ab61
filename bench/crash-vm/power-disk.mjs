// The power-cut model: a disk with a volatile write cache, served to QEMU over NBD on
// a Unix socket, in the harness's own process.
//
// Two sparse files: `current` holds every write received (what the guest reads back),
// `durable` only what a FLUSH made durable. Every write since the last FLUSH sits in a
// log in submission order; a FLUSH copies the log into `durable` and empties it. A write
// flagged FUA is durable at once but does not carry the unflushed writes before it, so it
// stays in the log, marked as kept in every persisted image (applied in its place in the
// order, so neither an earlier write overwrites it nor it a later one).
//
// Requests are handled one at a time, synchronously, in the order they arrive, and a
// reply goes out only after its effect: when the guest sees a FLUSH complete, every write
// it had seen complete is in `durable`. `cut()` freezes the disk in one synchronous step
// (nothing received after it counts), then the caller kills QEMU. `persist()` then writes
// images of what a disk that lost power at that instant may hold: `durable` plus a chosen
// subset of the log (see KINDS). Only what was acknowledged to a FLUSH (or FUA) is
// promised; a disk that lies about flushes is out of this model.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync, rmSync } from 'node:fs';
import net from 'node:net';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const OPT = { EXPORT_NAME: 1, ABORT: 2, INFO: 6, GO: 7 };
const REP = { ACK: 1, INFO: 3, ERR_UNSUP: 0x80000001 };
const INFO = { EXPORT: 0, BLOCK_SIZE: 3 };
// HAS_FLAGS | SEND_FLUSH | SEND_FUA: the guest is told the disk caches writes.
const TRANSMISSION_FLAGS = 1 | 4 | 8;
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3 };
const CMD_FLAG_FUA = 1;
const EINVAL = 22;
export const SECTOR = 4096;

/**
 * What each persisted image keeps of the unflushed log (FUA writes always):
 *   flushed  nothing: only what a flush acknowledged;
 *   prefix   the first k writes in submission order (k uniform in 0..n), and the write
 *            after them torn (some of its 4 KiB sectors only), as a disk that writes its
 *            cache in order would leave it;
 *   random   each write with probability 1/2, in submission order; a quarter of the
 *            kept writes of more than one sector are torn;
 *   all      every write received (the OS-crash model's state, for comparison).
 * A torn write keeps each of its 4 KiB sectors with probability 1/2, at least one kept and
 * one dropped; a sector itself is never half-written (4 KiB sectors are written atomically
 * by the drives this models; the guest filesystems use 4 KiB blocks).
 */
export const KINDS = ['flushed', 'prefix', 'random', 'all'];
/** The images tried per cut; identical ones (few unflushed writes) are checked once. */
export const IMAGES_PER_CUT = ['flushed', 'all', ...Array(3).fill('prefix'), ...Array(4).fill('random')];

export class VolatileDisk {
  constructor(seededImage, currentPath, durablePath, size) {
    for (const p of [currentPath, durablePath]) execFileSync('cp', ['--sparse=always', seededImage, p]);
    this.size = BigInt(size);
    this.paths = { current: currentPath, durable: durablePath };
    this.current = openSync(currentPath, 'r+');
    this.durable = openSync(durablePath, 'r+');
    this.log = [];
    this.frozen = false;
    this.stats = { reads: 0, writes: 0, fuaWrites: 0, flushes: 0, bytesWritten: 0, unsupported: 0 };
    this.sockets = new Set();
  }

  listen(socketPath) {
    rmSync(socketPath, { force: true });
    this.server = net.createServer((s) => this.#serve(s));
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, resolve);
    });
  }

  /**
   * Calls `fn` synchronously once `writes` more writes have been received: a cut (or a
   * snapshot) in the middle of the guest's I/O, where unflushed writes are.
   */
  arm(writes, fn) {
    this.armed = { writes, fn };
  }

  /** Power off: from here on nothing the guest sends has any effect. Synchronous. */
  cut() {
    this.frozen = true;
    this.armed = null;
    for (const s of this.sockets) s.destroy();
    this.server.close();
    return this.#stats();
  }

  #stats() {
    return { ...this.stats, unflushedWrites: this.log.length, unflushedFua: this.log.filter((w) => w.fua).length };
  }

  /**
   * What a power cut at this instant would leave, taken without stopping the guest: a
   * copy of the durable image and of the log (its writes are never changed in place, and
   * a FLUSH starts a new log). What the guest does later cannot change it, so one boot
   * yields several cuts. Synchronous: the guest's requests wait for the copy.
   */
  snapshot(durableCopy) {
    execFileSync('cp', ['--sparse=always', this.paths.durable, durableCopy]);
    return new Snapshot(durableCopy, this.log.slice(), this.#stats());
  }

  /** The frozen disk as a snapshot (its durable image used in place). */
  frozenState() {
    return new Snapshot(this.paths.durable, this.log, this.#stats(), false);
  }

  // Choose and persist on the current state (the tests' one-cut API).
  choose(kind, rand) {
    return this.frozenState().choose(kind, rand);
  }

  persist(choice, out) {
    this.frozenState().persist(choice, out);
  }

  close() {
    closeSync(this.current);
    closeSync(this.durable);
    rmSync(this.paths.current, { force: true });
  }

  #serve(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let state = 'flags';
    const head = Buffer.alloc(18);
    head.writeBigUInt64BE(NBDMAGIC, 0);
    head.writeBigUInt64BE(IHAVEOPT, 8);
    head.writeUInt16BE(1 | 2, 16); // FIXED_NEWSTYLE | NO_ZEROES
    socket.write(head);
    let noZeroes = false;
    const optReply = (opt, type, data = Buffer.alloc(0)) => {
      const h = Buffer.alloc(20);
      h.writeBigUInt64BE(REPLY_MAGIC, 0);
      h.writeUInt32BE(opt, 8);
      h.writeUInt32BE(type >>> 0, 12);
      h.writeUInt32BE(data.length, 16);
      socket.write(Buffer.concat([h, data]));
    };
    const exportInfo = () => {
      const d = Buffer.alloc(12);
      d.writeUInt16BE(INFO.EXPORT, 0);
      d.writeBigUInt64BE(this.size, 2);
      d.writeUInt16BE(TRANSMISSION_FLAGS, 10);
      return d;
    };
    socket.on('data', (chunk) => {
      if (this.frozen) return;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (this.frozen) return;
        if (state === 'flags') {
          if (buf.length < 4) return;
          noZeroes = (buf.readUInt32BE(0) & 2) !== 0;
          buf = buf.subarray(4);
          state = 'options';
        } else if (state === 'options') {
          if (buf.length < 16) return;
          const len = buf.readUInt32BE(12);
          if (buf.length < 16 + len) return;
          const opt = buf.readUInt32BE(8);
          const data = buf.subarray(16, 16 + len);
          buf = buf.subarray(16 + len);
          if (opt === OPT.GO || opt === OPT.INFO) {
            const nameLen = data.readUInt32BE(0);
            const nInfo = data.readUInt16BE(4 + nameLen);
            const asked = Array.from({ length: nInfo }, (_, i) => data.readUInt16BE(6 + nameLen + 2 * i));
            optReply(opt, REP.INFO, exportInfo());
            if (asked.includes(INFO.BLOCK_SIZE)) {
              const b = Buffer.alloc(14);
              b.writeUInt16BE(INFO.BLOCK_SIZE, 0);
              b.writeUInt32BE(512, 2);
              b.writeUInt32BE(SECTOR, 6);
              b.writeUInt32BE(32 << 20, 10);
              optReply(opt, REP.INFO, b);
            }
            optReply(opt, REP.ACK);
            if (opt === OPT.GO) state = 'transmission';
          } else if (opt === OPT.EXPORT_NAME) {
            const d = Buffer.alloc(noZeroes ? 10 : 134);
            d.writeBigUInt64BE(this.size, 0);
            d.writeUInt16BE(TRANSMISSION_FLAGS, 8);
            socket.write(d);
            state = 'transmission';
          } else if (opt === OPT.ABORT) {
            optReply(opt, REP.ACK);
            socket.end();
            return;
          } else {
            optReply(opt, REP.ERR_UNSUP);
          }
        } else {
          if (buf.length < 28) return;
          if (buf.readUInt32BE(0) !== REQUEST_MAGIC) {
            socket.destroy();
            return;
          }
          const flags = buf.readUInt16BE(4);
          const type = buf.readUInt16BE(6);
          const cookie = buf.subarray(8, 16);
          const offset = Number(buf.readBigUInt64BE(16));
          const length = buf.readUInt32BE(24);
          if (type === CMD.WRITE && buf.length < 28 + length) return;
          const payload = type === CMD.WRITE ? buf.subarray(28, 28 + length) : null;
          buf = buf.subarray(type === CMD.WRITE ? 28 + length : 28);
          const reply = Buffer.alloc(16);
          reply.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
          cookie.copy(reply, 8);
          if (type === CMD.READ) {
            this.stats.reads++;
            const data = Buffer.alloc(length);
            readSync(this.current, data, 0, length, offset);
            socket.write(Buffer.concat([reply, data]));
          } else if (type === CMD.WRITE) {
            const data = Buffer.from(payload); // a copy: the log outlives the socket buffer
            writeSync(this.current, data, 0, length, offset);
            const fua = (flags & CMD_FLAG_FUA) !== 0;
            this.log.push({ offset, data, fua });
            if (fua) {
              writeSync(this.durable, data, 0, length, offset);
              this.stats.fuaWrites++;
            }
            this.stats.writes++;
            this.stats.bytesWritten += length;
            socket.write(reply);
            if (this.armed && --this.armed.writes === 0) {
              const { fn } = this.armed;
              this.armed = null;
              fn();
            }
          } else if (type === CMD.FLUSH) {
            for (const w of this.log) writeSync(this.durable, w.data, 0, w.data.length, w.offset);
            this.log = [];
            this.stats.flushes++;
            socket.write(reply);
          } else if (type === CMD.DISC) {
            socket.end();
            return;
          } else {
            this.stats.unsupported++;
            reply.writeUInt32BE(EINVAL, 4);
            socket.write(reply);
          }
        }
      }
    });
  }
}

/** A durable image and the unflushed log at one instant: what every image of that cut is made of. */
export class Snapshot {
  constructor(durablePath, log, stats, owned = true) {
    this.durablePath = durablePath;
    this.log = log;
    this.stats = stats;
    this.owned = owned;
  }

  /** Removes the durable copy (never the disk's own durable image). */
  drop() {
    if (this.owned) rmSync(this.durablePath, { force: true });
  }

  /**
   * Chooses what an image of kind `kind` keeps of the log, as a list of [offset, length,
   * log index] pieces to apply in order; `key` identifies the choice, so that the same
   * image is not checked twice.
   */
  choose(kind, rand = Math.random) {
    const n = this.log.length;
    const keep = new Array(n).fill(false); // false | true | 'torn'
    if (kind === 'all') keep.fill(true);
    if (kind === 'prefix') {
      const k = Math.floor(rand() * (n + 1));
      for (let i = 0; i < k; i++) keep[i] = true;
      if (k < n) keep[k] = 'torn';
    }
    if (kind === 'random') {
      for (let i = 0; i < n; i++) if (rand() < 0.5) keep[i] = rand() < 0.25 ? 'torn' : true;
    }
    const pieces = [];
    const kept = { kind, unflushed: n, kept: 0, torn: 0, sectorsDropped: 0 };
    this.log.forEach((w, i) => {
      const how = w.fua ? true : keep[i];
      if (!how) return;
      kept.kept++;
      const sectors = sectorsOf(w);
      if (how !== 'torn' || sectors.length < 2) {
        pieces.push([w.offset, w.data.length, i]);
        return;
      }
      const mask = sectors.map(() => rand() < 0.5);
      if (mask.every(Boolean)) mask[Math.floor(rand() * mask.length)] = false;
      if (!mask.some(Boolean)) mask[Math.floor(rand() * mask.length)] = true;
      kept.torn++;
      sectors.forEach(([at, len], j) => {
        if (mask[j]) pieces.push([at, len, i]);
        else kept.sectorsDropped++;
      });
    });
    return { kept, pieces, key: pieces.map((p) => p.join(',')).join(' ') };
  }

  /** Writes the image `choose()` chose to `out`: the durable state plus its pieces. */
  persist({ pieces }, out) {
    execFileSync('cp', ['--sparse=always', this.durablePath, out]);
    const fd = openSync(out, 'r+');
    try {
      for (const [at, len, i] of pieces) {
        const w = this.log[i];
        writeSync(fd, w.data, at - w.offset, len, at);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** A write cut at absolute 4 KiB boundaries: [offset, length] pieces. */
function sectorsOf(w) {
  const pieces = [];
  const end = w.offset + w.data.length;
  for (let at = w.offset; at < end; ) {
    const next = Math.min(end, (Math.floor(at / SECTOR) + 1) * SECTOR);
    pieces.push([at, next - at]);
    at = next;
  }
  return pieces;
}
