// The AWS SDK is an optional peer dependency: required here, on the first s3:// target,
// never when the package loads. Errors carry what the caller needs (status, S3's code,
// the URL) and never a credential: SDK errors are copied field by field, not attached
// as `cause`.

import { codeForStatus, isStoreError, loadPeer, storeError, type ParsedStoreOptions, type StoreError } from '../adapter';

// The SDK's types are not a dependency of ours either: the few shapes we use.
export interface S3ClientLike {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<any>;
}

export interface S3Sdk {
  S3Client: new (config: Record<string, unknown>) => S3ClientLike;
  [command: string]: any;
}

let sdk: S3Sdk | undefined;

export function loadSdk(): S3Sdk {
  return (sdk ??= loadPeer<S3Sdk>('@aws-sdk/client-s3', 's3', 'ERR_S3_SDK_MISSING'));
}

const clients = new Map<string, S3ClientLike>();

/** The caller's client, else one per path style from the SDK's configuration chain (env, profile, IMDS). */
export function clientFor(options: ParsedStoreOptions): S3ClientLike {
  if (options.client) return options.client as S3ClientLike;
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

export interface S3Error extends StoreError {
  /** S3's error code (`PreconditionFailed`, `NoSuchBucket`, ...), also as `storeCode`. */
  s3Code?: string;
}

const CODES: Record<string, string> = {
  PreconditionFailed: 'EPRECONDITION',
  ConditionalRequestConflict: 'ECONFLICT',
  NoSuchKey: 'ENOENT',
  NoSuchBucket: 'ENOENT',
  NotFound: 'ENOENT',
  AccessDenied: 'EACCES',
};

/** An S3 or network failure as a Node-style error, built only from fields that hold no secret. */
export function s3Error(err: unknown, op: string, url: string): S3Error {
  if (isStoreError(err, url)) return err;
  const e = (err ?? {}) as { name?: string; code?: string; message?: string; cause?: unknown; $metadata?: { httpStatusCode?: number; requestId?: string } };
  const statusCode = e.$metadata?.httpStatusCode;
  const name = e.name && e.name !== 'Error' ? e.name : undefined;
  const status = statusCode === 412 || statusCode === 404 ? codeForStatus(statusCode) : undefined;
  const code = (name && CODES[name]) ?? status ?? (typeof e.code === 'string' ? e.code : 'ES3');
  // The SDK's AbortError carries the signal's reason as its cause (when it is an Error).
  const error = storeError({ code, statusCode, storeCode: name, requestId: e.$metadata?.requestId, message: String(e.message ?? err), aborted: name === 'AbortError', abortReason: e.cause }, op, url) as S3Error;
  if (name !== undefined) error.s3Code = name;
  return error;
}
