// Azure Blob Storage behind the object-store seam (adapter.ts), with
// @azure/storage-blob as an optional peer. `az://container/blob` in the account of the
// client (`options.azure`, else `AZURE_STORAGE_CONNECTION_STRING`). Every object is a
// block blob staged with Put Block (each block carrying its MD5, which the service
// checks) and published by one Put Block List, the analogue of a multipart upload:
// nothing is visible until the commit, and the commit carries the condition
// (`If-None-Match: *` create-only, `If-Match: <etag>` compare-and-swap). Blocks of an
// upload that failed stay uncommitted (invisible) and the service drops them.

import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { inParallel } from '../async/pool';
import { clientId, codeForStatus, isStoreError, loadPeer, readRange, storeError, type ObjectInfo, type ObjectStore, type ParsedStoreOptions, type StoreResult, type StoredObject } from './adapter';
import type { Location } from './url';

// The SDK's types are not a dependency of ours: the few shapes used.
interface Conditions {
  ifNoneMatch?: string;
  ifMatch?: string;
}
interface BlockBlobClient {
  download(offset: number, count: undefined, options: { abortSignal?: AbortSignal }): Promise<{ etag?: string; readableStreamBody?: NodeJS.ReadableStream }>;
  getProperties(options: { abortSignal?: AbortSignal }): Promise<{ contentLength?: number; etag?: string }>;
  stageBlock(id: string, body: Buffer, length: number, options: { abortSignal?: AbortSignal; transactionalContentMD5?: Uint8Array }): Promise<unknown>;
  commitBlockList(ids: string[], options: { abortSignal?: AbortSignal; conditions?: Conditions; blobHTTPHeaders?: { blobContentType?: string } }): Promise<{ etag?: string; versionId?: string }>;
  deleteIfExists(options: { abortSignal?: AbortSignal }): Promise<unknown>;
}
interface ContainerClient {
  getBlockBlobClient(name: string): BlockBlobClient;
  listBlobsFlat(options: { prefix: string; abortSignal?: AbortSignal }): AsyncIterable<{ name: string }>;
}
export interface BlobServiceClient {
  url: string;
  getContainerClient(name: string): ContainerClient;
}

let defaultClient: BlobServiceClient | undefined;

function client(o: ParsedStoreOptions): BlobServiceClient {
  if (o.client) return o.client as BlobServiceClient;
  const sdk = loadPeer<{ BlobServiceClient: { fromConnectionString(s: string): BlobServiceClient } }>('@azure/storage-blob', 'az', 'ERR_AZURE_SDK_MISSING');
  const connection = process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!connection) {
    const error = new Error('az:// targets need an account: set AZURE_STORAGE_CONNECTION_STRING, or pass options.azure (a BlobServiceClient, e.g. with a token credential)') as Error & { code: string };
    error.code = 'ERR_AZURE_NO_ACCOUNT';
    throw error;
  }
  return (defaultClient ??= sdk.BlobServiceClient.fromConnectionString(connection));
}

function blob(loc: Location, o: ParsedStoreOptions): BlockBlobClient {
  return client(o).getContainerClient(loc.bucket).getBlockBlobClient(loc.key);
}

// A create-only commit on an existing blob answers 409 BlobAlreadyExists: a refused
// condition, like the 412 ConditionNotMet of a stale If-Match.
const CODES: Record<string, string> = { BlobAlreadyExists: 'EPRECONDITION', ConditionNotMet: 'EPRECONDITION', BlobNotFound: 'ENOENT', ContainerNotFound: 'ENOENT', AuthorizationFailure: 'EACCES', AuthenticationFailed: 'EACCES' };

/** An Azure or network failure as a Node-style error: RestError holds the request and response (headers, SAS), never attached. */
function azureError(err: unknown, op: string, url: string): Error {
  if (isStoreError(err, url)) return err;
  const e = (err ?? {}) as { statusCode?: number; code?: string; message?: string; name?: string; details?: { errorCode?: string } };
  const storeCode = e.details?.errorCode ?? e.code;
  const status = e.statusCode;
  const code = (storeCode && CODES[storeCode]) ?? codeForStatus(status) ?? (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : 'EAZURE');
  // The service's message ends with its request id and time; the first line is the news.
  const message = String(e.message ?? err).split('\n')[0];
  return storeError({ code, statusCode: status, storeCode, message, aborted: e.name === 'AbortError' }, op, url);
}

async function get(loc: Location, o: ParsedStoreOptions): Promise<StoredObject | undefined> {
  try {
    const out = await blob(loc, o).download(0, undefined, { abortSignal: o.signal });
    const chunks: Buffer[] = [];
    for await (const chunk of out.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
    return { body: Buffer.concat(chunks), version: String(out.etag) };
  } catch (err) {
    const error = azureError(err, 'GetBlob', loc.url) as Error & { code: string; storeCode?: string };
    if (error.code === 'ENOENT' && error.storeCode !== 'ContainerNotFound') return undefined;
    throw error;
  }
}

async function head(loc: Location, o: ParsedStoreOptions): Promise<ObjectInfo | undefined> {
  try {
    const p = await blob(loc, o).getProperties({ abortSignal: o.signal });
    return { size: Number(p.contentLength), etag: String(p.etag) };
  } catch (err) {
    const error = azureError(err, 'GetBlobProperties', loc.url) as Error & { code: string; statusCode?: number };
    // A HEAD has no body, so no error code: a 404 may be the container's, which a list would show.
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

async function put(loc: Location, file: string, o: ParsedStoreOptions): Promise<StoreResult> {
  const target = blob(loc, o);
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    // One block below the threshold; else `partSize` blocks, `concurrency` in flight.
    const blockSize = size < o.multipartThreshold ? Math.max(size, 1) : o.partSize;
    const count = Math.max(1, Math.ceil(size / blockSize));
    // Block ids are per upload (a random run id): racing writers' uncommitted blocks never mix.
    const run = randomBytes(12).toString('hex');
    const ids = Array.from({ length: count }, (_, i) => Buffer.from(`${run}-${String(i).padStart(6, '0')}`).toString('base64'));
    await inParallel(count, o.concurrency, async (index) => {
      const position = index * blockSize;
      const body = await readRange(handle, position, Math.min(blockSize, size - position));
      const md5 = createHash('md5').update(body).digest();
      await target.stageBlock(ids[index]!, body, body.length, { abortSignal: o.signal, transactionalContentMD5: md5 });
    });
    const conditions: Conditions = o.ifNoneMatch ? { ifNoneMatch: '*' } : o.ifMatch !== undefined ? { ifMatch: o.ifMatch } : {};
    const out = await target.commitBlockList(ids, { abortSignal: o.signal, conditions, blobHTTPHeaders: { blobContentType: o.contentType ?? 'application/octet-stream' } });
    if (!out.etag) throw new Error('Azure answered without an ETag; the blob may not exist');
    return { url: loc.url, etag: out.etag, version: out.etag, versionId: out.versionId ?? null };
  } catch (err) {
    throw azureError(err, 'PutBlockList', loc.url);
  } finally {
    await handle.close();
  }
}

async function list(loc: Location, o: ParsedStoreOptions): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const item of client(o).getContainerClient(loc.bucket).listBlobsFlat({ prefix: loc.key, abortSignal: o.signal })) names.push(item.name.slice(loc.key.length));
  } catch (err) {
    throw azureError(err, 'ListBlobs', loc.url);
  }
  return names;
}

async function remove(loc: Location, o: ParsedStoreOptions): Promise<void> {
  try {
    await blob(loc, o).deleteIfExists({ abortSignal: o.signal });
  } catch (err) {
    throw azureError(err, 'DeleteBlob', loc.url);
  }
}

function endpoint(o: ParsedStoreOptions): string {
  if (o.client) return `az:client:${clientId(o.client)}`;
  // The account's URL without its query (a SAS token is a credential).
  const url = new URL(client(o).url);
  return `az:${url.origin}${url.pathname}`;
}

export const azure: ObjectStore = { endpoint, get, head, put, list, remove };
