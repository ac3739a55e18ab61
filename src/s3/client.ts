// The AWS SDK is an optional peer dependency: required here, on the first s3:// target,
// never when the package loads. Options are checked before anything happens; errors
// carry what the caller needs (status, S3's code, the URL) and never a credential:
// SDK errors are copied field by field, not attached as `cause`.

import { abortError, invalidArgType } from '../binding/errors';
import type { S3Location } from './url';
import { parseInteger } from '../file/options';

// The SDK's types are not a dependency of ours either: the few shapes we use.
export interface S3ClientLike {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

export interface S3Sdk {
  S3Client: new (config: Record<string, unknown>) => S3ClientLike;
  [command: string]: any;
}

export interface S3Options {
  /** An `S3Client` to use; default: one built from the SDK's standard configuration chain. */
  s3?: S3ClientLike;
  /** Path-style URLs (default: `true` when `AWS_ENDPOINT_URL(_S3)` points at a custom server). */
  forcePathStyle?: boolean;
  /** Create only: `'*'` fails with `EPRECONDITION` if the object exists. */
  ifNoneMatch?: '*';
  /** Compare and swap: replace only the object with this ETag, else `EPRECONDITION`. */
  ifMatch?: string;
  /** Objects from this size up are sent as a multipart upload (default 16 MiB). */
  multipartThreshold?: number;
  /** Part size of a multipart upload (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts in flight at once (default 4); memory is about `partSize * concurrency`. */
  concurrency?: number;
  /** updateJson: attempts after a lost race (412), with jittered backoff (default 10). */
  maxRetries?: number;
  /** The object's Content-Type. */
  contentType?: string;
}

export interface ParsedS3Options {
  client?: S3ClientLike;
  forcePathStyle?: boolean;
  ifNoneMatch?: '*';
  ifMatch?: string;
  multipartThreshold: number;
  partSize: number;
  concurrency: number;
  maxRetries: number;
  contentType?: string;
  signal?: AbortSignal;
}

export interface S3Result {
  /** The URL written. */
  url: string;
  /** The new object's ETag (quoted, as S3 sends it): pass it as `ifMatch` to replace exactly this version. */
  etag: string;
  /** The version id where the bucket has versioning, else `null`. */
  versionId: string | null;
}

export const S3_OPTION_NAMES = ['s3', 'forcePathStyle', 'ifNoneMatch', 'ifMatch', 'multipartThreshold', 'partSize', 'concurrency', 'maxRetries', 'contentType'];

const MiB = 1 << 20;
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;

/** Validates the S3 options (in an options object that may hold others too). */
export function parseS3Options(options: unknown): ParsedS3Options {
  const o = (options !== null && typeof options === 'object' ? options : {}) as S3Options & { signal?: unknown };
  if (o.s3 !== undefined && (o.s3 === null || typeof (o.s3 as S3ClientLike).send !== 'function')) {
    throw invalidArgType('options.s3', 'an S3Client from @aws-sdk/client-s3', o.s3);
  }
  if (o.forcePathStyle !== undefined && typeof o.forcePathStyle !== 'boolean') throw invalidArgType('options.forcePathStyle', 'of type boolean', o.forcePathStyle);
  if (o.ifNoneMatch !== undefined && o.ifNoneMatch !== '*') throw invalidArgType('options.ifNoneMatch', "'*' (S3 takes no other value)", o.ifNoneMatch);
  if (o.ifMatch !== undefined && (typeof o.ifMatch !== 'string' || o.ifMatch === '')) throw invalidArgType('options.ifMatch', 'an ETag string', o.ifMatch);
  if (o.ifMatch !== undefined && o.ifNoneMatch !== undefined) throw invalidArgType('options.ifMatch', 'absent when ifNoneMatch is given (one condition per write)', o.ifMatch);
  if (o.contentType !== undefined && typeof o.contentType !== 'string') throw invalidArgType('options.contentType', 'a string', o.contentType);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  // `exclusive: true`, the local create-only flag, means the same on S3.
  const exclusive = (o as { exclusive?: unknown }).exclusive === true;
  if (exclusive && o.ifMatch !== undefined) throw invalidArgType('options.ifMatch', 'absent with exclusive: true (create only)', o.ifMatch);
  return {
    client: o.s3,
    forcePathStyle: o.forcePathStyle,
    ifNoneMatch: o.ifNoneMatch ?? (exclusive ? '*' : undefined),
    ifMatch: o.ifMatch,
    multipartThreshold: parseInteger(o.multipartThreshold, 'options.multipartThreshold', 16 * MiB, MIN_PART, MAX_PART),
    partSize: parseInteger(o.partSize, 'options.partSize', 8 * MiB, MIN_PART, MAX_PART),
    concurrency: parseInteger(o.concurrency, 'options.concurrency', 4, 1, 64),
    maxRetries: parseInteger(o.maxRetries, 'options.maxRetries', 10, 0, 1000),
    contentType: o.contentType,
    signal: o.signal as AbortSignal | undefined,
  };
}

/** Removes the S3 options, so what is left can go to a local writer. */
export function localOptions<T>(options: T): T {
  if (options === null || typeof options !== 'object') return options;
  const rest: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const name of S3_OPTION_NAMES) delete rest[name];
  return rest as T;
}

let sdk: S3Sdk | undefined;

function missingSdk(err: unknown): Error {
  const error = new Error(
    's3:// targets need the AWS SDK v3, an optional peer dependency of atomicwriter: npm install @aws-sdk/client-s3',
    { cause: err },
  ) as Error & { code: string };
  error.code = 'ERR_S3_SDK_MISSING';
  return error;
}

export function loadSdk(): S3Sdk {
  if (sdk) return sdk;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sdk = require('@aws-sdk/client-s3') as S3Sdk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw missingSdk(err);
    throw err;
  }
  return sdk;
}

const clients = new Map<string, S3ClientLike>();

/** The caller's client, else one per path style from the SDK's configuration chain (env, profile, IMDS). */
export function clientFor(options: ParsedS3Options): S3ClientLike {
  if (options.client) return options.client;
  const { S3Client } = loadSdk();
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  // A custom endpoint is usually a local server (an IP, no wildcard DNS): path style.
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  const cacheKey = String(forcePathStyle);
  let client = clients.get(cacheKey);
  if (!client) {
    client = new S3Client({ forcePathStyle });
    clients.set(cacheKey, client);
  }
  return client;
}

export interface S3Error extends Error {
  code: string;
  /** The HTTP status, when S3 answered. */
  statusCode?: number;
  /** S3's error code (`PreconditionFailed`, `NoSuchBucket`, ...). */
  s3Code?: string;
  requestId?: string;
  path: string;
}

const CODES: Record<string, string> = {
  PreconditionFailed: 'EPRECONDITION',
  ConditionalRequestConflict: 'ECONFLICT',
  NoSuchKey: 'ENOENT',
  NoSuchBucket: 'ENOENT',
  NotFound: 'ENOENT',
  AccessDenied: 'EACCES',
};

const HINTS: Record<string, string> = {
  EPRECONDITION: 'the object changed (ifMatch) or already exists (ifNoneMatch / exclusive); nothing was written',
  ECONFLICT: 'another conditional write to this key was in progress; nothing was written',
  ENOENT: 'the bucket or key does not exist',
  EACCES: 'the credentials in use may not do this',
};

export function isPrecondition(err: unknown): boolean {
  return (err as S3Error | undefined)?.code === 'EPRECONDITION';
}

export function isConflict(err: unknown): boolean {
  return (err as S3Error | undefined)?.code === 'ECONFLICT';
}

/** An S3 or network failure as a Node-style error, built only from fields that hold no secret. */
export function s3Error(err: unknown, op: string, where: S3Location | string): S3Error {
  const url = typeof where === 'string' ? where : `s3://${where.bucket}/${where.key}`;
  if ((err as S3Error)?.path === url && typeof (err as S3Error).code === 'string') return err as S3Error;
  const e = (err ?? {}) as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const statusCode = e.$metadata?.httpStatusCode;
  const name = e.name && e.name !== 'Error' ? e.name : undefined;
  let code = (name && CODES[name]) ?? (statusCode === 412 ? 'EPRECONDITION' : statusCode === 404 ? 'ENOENT' : undefined) ?? (typeof e.code === 'string' ? e.code : 'ES3');
  if (name === 'AbortError') code = 'ABORT_ERR';
  const detail = [name, statusCode && `HTTP ${statusCode}`].filter(Boolean).join(', ');
  const hint = HINTS[code];
  const message = `${op} ${url} failed${detail ? ` (${detail})` : ''}: ${String(e.message ?? err)}${hint ? ` (${hint})` : ''}`;
  // The SDK's AbortError carries the signal's reason as its cause (when it is an Error).
  const error = (name === 'AbortError' ? abortError({ reason: (err as { cause?: unknown }).cause }, message) : new Error(message)) as S3Error;
  error.code = code;
  error.path = url;
  if (statusCode !== undefined) error.statusCode = statusCode;
  if (name !== undefined) error.s3Code = name;
  if (e.$metadata?.requestId) error.requestId = e.$metadata.requestId;
  return error;
}
