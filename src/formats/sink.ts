// The byte sink a serializer writes into: the staged temp of one AtomicFile.
// Small pieces are copied into ~1 MiB buffers so the core sees few, large writes;
// one buffer may be in flight while the serializer fills the next, and a writer that
// awaits `write()` is held back until the previous buffer has reached the file.

import type { AtomicFile } from '../file/atomic-file';
import { invalidArgType } from '../binding/errors';
import type { NativeHandle } from '../binding/native';

const CHUNK = 1 << 20;
const done: Promise<void> = Promise.resolve();
const ignore = (): void => {};

export interface ByteSink {
  /** Appends bytes (strings as UTF-8). Await it: it resolves when there is room for more. */
  write(chunk: string | NodeJS.ArrayBufferView | ArrayBuffer): Promise<void>;
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
}

export class FileSink implements ByteSink {
  #file: AtomicFile;
  #buffer: Buffer = Buffer.allocUnsafe(CHUNK);
  #used = 0;
  #inFlight: Promise<void> = done;
  #failed: unknown = undefined;
  #closed = false;
  bytesWritten = 0;

  constructor(file: AtomicFile) {
    this.#file = file;
  }

  write(chunk: string | NodeJS.ArrayBufferView | ArrayBuffer): Promise<void> {
    const result = this.#write(chunk);
    // A serializer that does not await every write must not crash the process with an
    // unhandled rejection; the error still reaches whoever awaits, and `close()`.
    if (result !== done) result.catch(ignore);
    return result;
  }

  #write(chunk: string | NodeJS.ArrayBufferView | ArrayBuffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The sink is closed: the serializer wrote after it returned'));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (typeof chunk === 'string') return this.#writeString(chunk);
    let bytes: Buffer;
    if (Buffer.isBuffer(chunk)) bytes = chunk;
    else if (ArrayBuffer.isView(chunk)) bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (chunk instanceof ArrayBuffer) bytes = Buffer.from(chunk);
    else return Promise.reject(invalidArgType('chunk', 'a string, Buffer, TypedArray, DataView or ArrayBuffer', chunk));
    return this.#writeBytes(bytes);
  }

  #writeString(text: string): Promise<void> {
    // At most 3 bytes per UTF-16 unit: when that fits, encode straight into the buffer.
    if (text.length * 3 > CHUNK - this.#used) return this.#writeBytes(Buffer.from(text, 'utf8'));
    const n = this.#buffer.write(text, this.#used, 'utf8');
    this.#used += n;
    this.bytesWritten += n;
    return this.#used >= CHUNK - 4096 ? this.#flush() : done;
  }

  #writeBytes(bytes: Buffer): Promise<void> {
    const n = bytes.byteLength;
    if (n === 0) return done;
    this.bytesWritten += n;
    const room = CHUNK - this.#used;
    if (n < room) {
      // The caller may reuse its buffer once we return: copy.
      bytes.copy(this.#buffer, this.#used);
      this.#used += n;
      return done;
    }
    if (n < CHUNK / 2) {
      bytes.copy(this.#buffer, this.#used, 0, room);
      this.#used = CHUNK;
      const flushed = this.#flush();
      bytes.copy(this.#buffer, 0, room);
      this.#used = n - room;
      return flushed;
    }
    // Large chunks go to the file as they are, after what is buffered. The caller must
    // not change them until the returned promise settles (as `fs` asks too).
    void this.#flush().catch(() => {});
    return this.#send(bytes);
  }

  /** Hands the buffered bytes to the file now (writes keep call order); resolves once the previous send has finished. */
  #flush(): Promise<void> {
    if (this.#used === 0) return this.#inFlight;
    const full = this.#buffer.subarray(0, this.#used);
    this.#buffer = Buffer.allocUnsafe(CHUNK);
    this.#used = 0;
    return this.#send(full);
  }

  #send(bytes: Buffer): Promise<void> {
    const previous = this.#inFlight;
    let sent: Promise<void>;
    try {
      sent = this.#file.write(bytes);
    } catch (err) {
      sent = Promise.reject(err); // closed or aborted: report it through the promise
    }
    this.#inFlight = sent.catch((err: unknown) => {
      this.#failed ??= err;
    });
    // Back-pressure: the caller waits for the previous send, so at most two are alive.
    return previous.then(() => {
      if (this.#failed !== undefined) throw this.#failed;
    });
  }

  /**
   * For an encoder in the core that writes into the file itself (parquet): the native
   * handle, once every buffered byte has reached the file. Report what it wrote with
   * `countNative`.
   */
  async nativeHandle(): Promise<NativeHandle> {
    await this.#flush();
    await this.#inFlight;
    if (this.#failed !== undefined) throw this.#failed;
    return this.#file.nativeHandle();
  }

  countNative(bytes: number): void {
    this.bytesWritten += bytes;
  }

  /** Flushes everything and waits until it is in the file (not yet synced). */
  async close(): Promise<void> {
    await this.#flush();
    await this.#inFlight;
    this.#closed = true;
    if (this.#failed !== undefined) throw this.#failed;
  }
}
