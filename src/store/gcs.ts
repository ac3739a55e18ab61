// Google Cloud Storage behind the object-store seam (adapter.ts), with
// @google-cloud/storage as an optional peer. One upload per object (a single request
// below `multipartThreshold`, else a resumable upload in `partSize` chunks), carrying
// the staged file's CRC32C in the object's metadata, which the service checks before it
// finalizes the object. Create-only is `ifGenerationMatch: 0`, compare-and-swap
// `ifGenerationMatch: <generation>`: the version here is the generation. A failed or
// aborted upload finalizes nothing, so no object appears.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { native } from '../binding/native';
import { clientId, codeForStatus, crc32cBase64, crcFromBase64, isStoreError, loadPeer, storeError, type ObjectInfo, type ObjectStore, type ParsedStoreOptions, type StoreResult, type StoredObject } from './adapter';
import type { Location } from './url';

// The SDK's types are not a dependency of ours: the few shapes used.
interface GcsMetadata {
  generation?: string | number;
  etag?: string;
  size?: string | number;
  crc32c?: string;
}
interface GcsFile {
  metadata: GcsMetadata;
  getMetadata(): Promise<[GcsMetadata]>;
  download(): Promise<[Buffer]>;
  createReadStream(options: { validation?: boolean }): NodeJS.ReadableStream;
  delete(options?: { ignoreNotFound?: boolean }): Promise<unknown>;
  createWriteStream(options: Record<string, unknown>): NodeJS.WritableStream & { destroy(err?: Error): void };
  name: string;
}
interface GcsBucket {
  exists(): Promise<[boolean]>;
  file(name: string, options?: { generation?: string | number }): GcsFile;
  getFiles(query: { prefix: string; autoPaginate?: boolean }): Promise<[GcsFile[]]>;
}
export interface GcsStorage {
  bucket(name: string): GcsBucket;
}

let defaultClient: GcsStorage | undefined;

function client(o: ParsedStoreOptions): GcsStorage {
  if (o.client) return o.client as GcsStorage;
  const sdk = loadPeer<{ Storage: new (options?: Record<string, unknown>) => GcsStorage }>('@google-cloud/storage', 'gs', 'ERR_GCS_SDK_MISSING');
  return (defaultClient ??= makeClient(sdk.Storage));
}

/**
 * Application default credentials, or a local emulator named by STORAGE_EMULATOR_HOST
 * (an origin, `http://127.0.0.1:4443`, as the gcloud tools and the Go and Python clients
 * read it). The Node SDK takes that variable as its JSON API base URL and its upload
 * origin at once, which fits no emulator: it gets the origin as `apiEndpoint` instead,
 * and does not see the variable while it is built.
 */
function makeClient(Storage: new (options?: Record<string, unknown>) => GcsStorage): GcsStorage {
  const emulator = process.env.STORAGE_EMULATOR_HOST;
  if (!emulator) return new Storage();
  const apiEndpoint = /^https?:\/\//.test(emulator) ? emulator.replace(/\/+$/, '') : `http://${emulator}`;
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return new Storage({ apiEndpoint });
  } finally {
    process.env.STORAGE_EMULATOR_HOST = emulator;
  }
}

/** A GCS or network failure as a Node-style error: the SDK's errors hold the request (and its headers), never attached. */
function gcsError(err: unknown, op: string, url: string): Error {
  if (isStoreError(err, url)) return err;
  const e = (err ?? {}) as { code?: unknown; message?: string; name?: string; errors?: Array<{ reason?: string }> };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const reason = e.errors?.[0]?.reason;
  const code = codeForStatus(status) ?? (typeof e.code === 'string' ? e.code : 'EGCS');
  return storeError({ code, statusCode: status, storeCode: reason, message: String(e.message ?? err), aborted: e.name === 'AbortError' }, op, url);
}

/**
 * A 404 for a key: `undefined` where the bucket exists (a missing object), else the
 * error (a missing bucket is never "no object yet"). GCS says which in words only, and
 * emulators not at all: the bucket is asked.
 */
async function missingObject(error: Error & { code?: string }, bucket: GcsBucket): Promise<undefined> {
  if (error.code === 'ENOENT') {
    const [exists] = await bucket.exists().catch(() => [false]);
    if (exists) return undefined;
  }
  throw error;
}

/**
 * The bytes of one generation and its number, in one request: the media download says
 * which generation it sent (`x-goog-generation`). Where a server does not say, its
 * number first, then that generation's bytes (a writer replacing it in between makes
 * the read 404: then read again).
 */
async function get(loc: Location, o: ParsedStoreOptions): Promise<StoredObject | undefined> {
  const bucket = client(o).bucket(loc.bucket);
  let generation: string | undefined;
  let body: Buffer;
  try {
    const chunks: Buffer[] = [];
    const stream = bucket.file(loc.key).createReadStream({ validation: false });
    stream.on('response', (res: { headers?: Record<string, unknown> }) => {
      const g = res.headers?.['x-goog-generation'];
      if (typeof g === 'string' && /^\d+$/.test(g)) generation = g;
    });
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    body = Buffer.concat(chunks);
  } catch (err) {
    return missingObject(gcsError(err, 'GetObject', loc.url), bucket);
  }
  if (generation !== undefined) return { body, version: generation };
  for (;;) {
    let meta: GcsMetadata;
    try {
      [meta] = await bucket.file(loc.key).getMetadata();
    } catch (err) {
      return missingObject(gcsError(err, 'GetObject', loc.url), bucket);
    }
    try {
      const [bytes] = await bucket.file(loc.key, { generation: meta.generation }).download();
      return { body: bytes, version: String(meta.generation) };
    } catch (err) {
      const error = gcsError(err, 'GetObject', loc.url);
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
  }
}

async function head(loc: Location, o: ParsedStoreOptions): Promise<ObjectInfo | undefined> {
  const bucket = client(o).bucket(loc.bucket);
  try {
    const [meta] = await bucket.file(loc.key).getMetadata();
    return { size: Number(meta.size), etag: String(meta.etag), crc32c: meta.crc32c ? crcFromBase64(meta.crc32c) : undefined };
  } catch (err) {
    return missingObject(gcsError(err, 'GetObjectMetadata', loc.url), bucket);
  }
}

const CHUNK = 256 * 1024; // resumable chunks are multiples of 256 KiB

async function put(loc: Location, file: string, o: ParsedStoreOptions): Promise<StoreResult> {
  const { size } = await stat(file);
  const digest = await native().digestFile(file);
  if (digest.bytes !== size) throw gcsError(new Error('the staged file changed size before its upload'), 'Upload', loc.url);
  const target = client(o).bucket(loc.bucket).file(loc.key);
  const generation = o.ifNoneMatch ? 0 : o.ifMatch !== undefined ? Number(o.ifMatch) : undefined;
  const resumable = size >= o.multipartThreshold;
  const upload = target.createWriteStream({
    resumable,
    ...(resumable ? { chunkSize: Math.max(CHUNK, Math.floor(o.partSize / CHUNK) * CHUNK) } : {}),
    // The service checks this CRC32C; the SDK's own check after the fact would delete
    // the object on a mismatch, which a conditional write must never do.
    validation: false,
    metadata: { contentType: o.contentType ?? 'application/octet-stream', crc32c: crc32cBase64(digest.crc32c as number) },
    ...(generation === undefined ? {} : { preconditionOpts: { ifGenerationMatch: generation } }),
  });
  const { signal } = o;
  const onAbort = (): void => upload.destroy(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
  signal?.throwIfAborted();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await pipeline(createReadStream(file), upload);
  } catch (err) {
    throw gcsError(signal?.aborted ? Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }) : err, 'Upload', loc.url);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const meta = target.metadata;
  if (meta.generation === undefined) throw gcsError(new Error('GCS answered without a generation; the object may not exist'), 'Upload', loc.url);
  return { url: loc.url, etag: String(meta.etag), version: String(meta.generation), versionId: String(meta.generation) };
}

async function list(loc: Location, o: ParsedStoreOptions): Promise<string[]> {
  try {
    const [files] = await client(o).bucket(loc.bucket).getFiles({ prefix: loc.key, autoPaginate: true });
    return files.map((f) => f.name.slice(loc.key.length));
  } catch (err) {
    throw gcsError(err, 'ListObjects', loc.url);
  }
}

async function remove(loc: Location, o: ParsedStoreOptions): Promise<void> {
  try {
    await client(o).bucket(loc.bucket).file(loc.key).delete({ ignoreNotFound: true });
  } catch (err) {
    throw gcsError(err, 'DeleteObject', loc.url);
  }
}

function endpoint(o: ParsedStoreOptions): string {
  if (o.client) return `gs:client:${clientId(o.client)}`;
  return `gs:${process.env.STORAGE_EMULATOR_HOST ?? 'google'}`;
}

export const gcs: ObjectStore = { endpoint, get, head, put, list, remove };
