// The object-store seam. S3, GCS and Azure Blob are adapters behind this one small
// interface: read with version, conditional put of a staged file, head (size, ETag,
// checksum), list and delete. Staging, updateJson's retries, datasets, markers,
// verify and the conditional-write probe are written once above it (index.ts,
// probe.ts). Each adapter loads its SDK (an optional peer dependency) on first use.
//
// "version" is the token a conditional write compares: the ETag on S3 and Azure, the
// generation on GCS. Every result carries it; `ifMatch` takes it.

import type { promises as fsp } from 'node:fs';
import { abortError, invalidArgType } from '../binding/errors';
import { parseBoolean, parseInteger } from '../args/validate';
import type { Location, Scheme } from './url';

/** The store options as the caller gives them, unchecked (documented in index.d.ts, `StoreOptions`). */
export type StoreOptions = Partial<Record<(typeof STORE_OPTION_NAMES)[number], unknown>>;

export interface ParsedStoreOptions {
  client?: unknown;
  forcePathStyle?: boolean;
  ifNoneMatch?: '*';
  ifMatch?: string;
  multipartThreshold: number;
  partSize: number;
  concurrency: number;
  maxRetries: number;
  contentType?: string;
  trust: boolean;
  signal?: AbortSignal;
}

export interface StoreResult {
  /** The URL written. */
  url: string;
  /** The new object's ETag (quoted on S3, as the service sends it). */
  etag: string;
  /** What `ifMatch` takes to replace exactly this version: the ETag (S3, Azure) or the generation (GCS). */
  version: string;
  /** The version id where the bucket keeps versions (S3 versioning, GCS generation, Azure version id), else `null`. */
  versionId: string | null;
}

export interface StoredObject {
  body: Buffer;
  version: string;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  /** The service's CRC32C of the stored bytes, as `crc32c:<hex>`, where it keeps one. */
  crc32c?: string;
}

export interface ObjectStore {
  /** The server, for the probe's cache (with the bucket): never a credential. */
  endpoint(o: ParsedStoreOptions): string;
  /** The object and its version; `undefined` for a missing key (a missing bucket throws). */
  get(loc: Location, o: ParsedStoreOptions): Promise<StoredObject | undefined>;
  head(loc: Location, o: ParsedStoreOptions): Promise<ObjectInfo | undefined>;
  /** Publishes the staged `file` whole, under `o.ifNoneMatch` / `o.ifMatch`; a failure leaves no object. */
  put(loc: Location, file: string, o: ParsedStoreOptions): Promise<StoreResult>;
  /** The keys under the prefix `loc.key`, relative to it. */
  list(loc: Location, o: ParsedStoreOptions): Promise<string[]>;
  remove(loc: Location, o: ParsedStoreOptions): Promise<void>;
}


export const STORE_OPTION_NAMES = ['s3', 'gcs', 'azure', 'forcePathStyle', 'ifNoneMatch', 'ifMatch', 'multipartThreshold', 'partSize', 'concurrency', 'maxRetries', 'contentType', 'trustConditionalWrites'] as const;

const MiB = 1 << 20;
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;
const CLIENT_OPTION: Record<Scheme, 's3' | 'gcs' | 'azure'> = { s3: 's3', gs: 'gcs', az: 'azure' };
const CLIENT_SHAPE: Record<Scheme, [string, string]> = {
  s3: ['send', 'an S3Client from @aws-sdk/client-s3'],
  gs: ['bucket', 'a Storage from @google-cloud/storage'],
  az: ['getContainerClient', 'a BlobServiceClient from @azure/storage-blob'],
};

/** Validates the store options (in an options object that may hold others too). */
export function parseStoreOptions(options: unknown, scheme: Scheme): ParsedStoreOptions {
  const o = (options !== null && typeof options === 'object' ? options : {}) as StoreOptions & { signal?: unknown };
  const name = CLIENT_OPTION[scheme];
  const client = o[name] as Record<string, unknown> | null | undefined;
  const [method, what] = CLIENT_SHAPE[scheme];
  if (client !== undefined && (client === null || typeof client[method] !== 'function')) throw invalidArgType(`options.${name}`, what, client);
  const forcePathStyle = parseBoolean(o.forcePathStyle, 'options.forcePathStyle', undefined);
  if (o.ifNoneMatch !== undefined && o.ifNoneMatch !== '*') throw invalidArgType('options.ifNoneMatch', "'*' (no other value is supported)", o.ifNoneMatch);
  if (o.ifMatch !== undefined && (typeof o.ifMatch !== 'string' || o.ifMatch === '')) throw invalidArgType('options.ifMatch', 'a version string (an ETag, or a GCS generation)', o.ifMatch);
  if (o.ifMatch !== undefined && o.ifNoneMatch !== undefined) throw invalidArgType('options.ifMatch', 'absent when ifNoneMatch is given (one condition per write)', o.ifMatch);
  if (scheme === 'gs' && o.ifMatch !== undefined && !/^[1-9]\d*$/.test(o.ifMatch)) throw invalidArgType('options.ifMatch', "a GCS generation (the result's `version`, digits)", o.ifMatch);
  if (o.contentType !== undefined && typeof o.contentType !== 'string') throw invalidArgType('options.contentType', 'a string', o.contentType);
  const trust = parseBoolean(o.trustConditionalWrites, 'options.trustConditionalWrites', undefined);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  // `exclusive: true`, the local create-only flag, means the same on a store.
  const exclusive = (o as { exclusive?: unknown }).exclusive === true;
  if (exclusive && o.ifMatch !== undefined) throw invalidArgType('options.ifMatch', 'absent with exclusive: true (create only)', o.ifMatch);
  return {
    client: client ?? undefined,
    forcePathStyle,
    ifNoneMatch: o.ifNoneMatch ?? (exclusive ? '*' : undefined),
    ifMatch: o.ifMatch,
    multipartThreshold: parseInteger(o.multipartThreshold, 'options.multipartThreshold', 16 * MiB, MIN_PART, MAX_PART),
    partSize: parseInteger(o.partSize, 'options.partSize', 8 * MiB, MIN_PART, MAX_PART),
    concurrency: parseInteger(o.concurrency, 'options.concurrency', 4, 1, 64),
    maxRetries: parseInteger(o.maxRetries, 'options.maxRetries', 10, 0, 1000),
    contentType: o.contentType,
    trust: trust ?? process.env.ATOMICWRITER_TRUST_CONDITIONAL_WRITES === '1',
    signal: o.signal as AbortSignal | undefined,
  };
}

/** Removes the store options, so what is left can go to a local writer. */
export function localOptions<T>(options: T): T {
  if (options === null || typeof options !== 'object') return options;
  const rest: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const name of STORE_OPTION_NAMES) delete rest[name];
  return rest as T;
}

/** Loads an optional peer SDK; a missing one is a coded error that says what to install. */
export function loadPeer<T>(module: string, scheme: Scheme, code: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(module) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    const error = new Error(`${scheme}:// targets need ${module}, an optional peer dependency of atomicwriter: npm install ${module}`, { cause: err }) as Error & { code: string };
    error.code = code;
    throw error;
  }
}

// --- errors ----------------------------------------------------------------------

export interface StoreError extends Error {
  code: string;
  /** The HTTP status, when the service answered. */
  statusCode?: number;
  /** The service's own error code (`PreconditionFailed`, `ConditionNotMet`, ...). */
  storeCode?: string;
  requestId?: string;
  path: string;
}

const HINTS: Record<string, string> = {
  EPRECONDITION: 'the object changed (ifMatch) or already exists (ifNoneMatch / exclusive); nothing was written',
  ECONFLICT: 'another conditional write to this key was in progress; nothing was written',
  ENOENT: 'the bucket or key does not exist',
  EACCES: 'the credentials in use may not do this',
};

export interface ErrorFields {
  code: string;
  statusCode?: number;
  storeCode?: string;
  requestId?: string;
  message: string;
  /** An AbortError: its reason becomes the error's cause. */
  abortReason?: unknown;
  aborted?: boolean;
}

/**
 * A service or network failure as a Node-style error, built only from fields that hold
 * no secret (SDK errors carry requests, headers and sometimes credentials: never
 * attached as `cause`).
 */
export function storeError(f: ErrorFields, op: string, url: string): StoreError {
  const detail = [f.storeCode, f.statusCode && `HTTP ${f.statusCode}`].filter(Boolean).join(', ');
  const hint = HINTS[f.code];
  const message = `${op} ${url} failed${detail ? ` (${detail})` : ''}: ${f.message}${hint ? ` (${hint})` : ''}`;
  const error = (f.aborted ? abortError({ reason: f.abortReason }, message) : new Error(message)) as StoreError;
  error.code = f.aborted ? 'ABORT_ERR' : f.code;
  error.path = url;
  if (f.statusCode !== undefined) error.statusCode = f.statusCode;
  if (f.storeCode !== undefined) error.storeCode = f.storeCode;
  if (f.requestId) error.requestId = f.requestId;
  return error;
}

/** Already one of ours for this URL (thrown again through a wrapper): keep it. */
export function isStoreError(err: unknown, url: string): err is StoreError {
  return (err as StoreError | undefined)?.path === url && typeof (err as StoreError).code === 'string' && err instanceof Error;
}

export function codeForStatus(status: number | undefined): string | undefined {
  if (status === 412) return 'EPRECONDITION';
  if (status === 409) return 'ECONFLICT';
  if (status === 404) return 'ENOENT';
  if (status === 403) return 'EACCES';
  return undefined;
}

export function isPrecondition(err: unknown): boolean {
  return (err as StoreError | undefined)?.code === 'EPRECONDITION';
}

export function isConflict(err: unknown): boolean {
  return (err as StoreError | undefined)?.code === 'ECONFLICT';
}

export function crc32cBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

export function crcFromBase64(value: string): string {
  return `crc32c:${Buffer.from(value, 'base64').toString('hex').padStart(8, '0')}`;
}

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A caller's client, numbered for the probe's cache (its endpoint may be known only to it). */
export function clientId(client: unknown): number {
  let id = ids.get(client as object);
  if (id === undefined) ids.set(client as object, (id = ++nextId));
  return id;
}

/** `length` bytes of the staged file from `position` (one part or block). */
export async function readRange(handle: fsp.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error('the staged file is shorter than it was when the upload started');
    done += bytesRead;
  }
  return buffer;
}

