// Publishing a staged file to S3: one PutObject below the multipart threshold, else a
// multipart upload with bounded memory (`concurrency` parts of `partSize` in flight).
// Every request carries a CRC32C that S3 verifies before it stores anything (computed
// by the core: over the staged file for PutObject, over each part for UploadPart). Conditions (`If-None-Match: *`, `If-Match: etag`) go on
// PutObject or CompleteMultipartUpload, the request that makes the object visible.
// A failed multipart upload is aborted, so no partial object or orphan parts remain.

import { promises as fsp } from 'node:fs';
import { throwIfAborted } from '../../binding/errors';
import { native } from '../../binding/native';
import { inParallel } from '../../async/pool';
import { crc32cBase64, isConflict, readRange, type ParsedStoreOptions, type StoreResult } from '../adapter';
import type { Location } from '../url';
import { clientFor, loadSdk, s3Error, type S3ClientLike } from './client';

/** A 409 ConditionalRequestConflict means a concurrent conditional write: start over, this often. */
const CONFLICT_RETRIES = 5;

function conditions(options: ParsedStoreOptions): Record<string, string> {
  const out: Record<string, string> = {};
  if (options.ifNoneMatch) out.IfNoneMatch = options.ifNoneMatch;
  if (options.ifMatch) out.IfMatch = options.ifMatch;
  return out;
}

async function send(client: S3ClientLike, command: unknown, options: ParsedStoreOptions, op: string, loc: Location): Promise<any> {
  try {
    return await client.send(command, { abortSignal: options.signal });
  } catch (err) {
    throw s3Error(err, op, loc.url);
  }
}

function result(loc: Location, out: { ETag?: string; VersionId?: string }, op: string): StoreResult {
  // Complete can answer 200 with an error in its body (the SDK turns that into a throw);
  // a success without an ETag is not a success either.
  if (typeof out?.ETag !== 'string' || out.ETag === '') {
    throw s3Error(new Error('S3 answered without an ETag; the object may not exist'), op, loc.url);
  }
  return { url: loc.url, etag: out.ETag, version: out.ETag, versionId: out.VersionId ?? null };
}

async function putObject(client: S3ClientLike, loc: Location, file: string, size: number, options: ParsedStoreOptions): Promise<StoreResult> {
  const sdk = loadSdk();
  const digest = await native().digestFile(file);
  if (digest.bytes !== size) throw s3Error(new Error('the staged file changed size before its upload'), 'PutObject', loc.url);
  const body = await fsp.readFile(file);
  const out = await send(
    client,
    new sdk.PutObjectCommand({
      Bucket: loc.bucket,
      Key: loc.key,
      Body: body,
      ContentLength: size,
      ChecksumCRC32C: crc32cBase64(digest.crc32c as number),
      ContentType: options.contentType,
      ...conditions(options),
    }),
    options,
    'PutObject',
    loc,
  );
  return result(loc, out, 'PutObject');
}

/**
 * Fails a doomed multipart upload before its parts are sent. Not the guarantee (the
 * condition on Complete is; a writer can still win in between), but it saves sending
 * gigabytes for a 412, and it is the only If-Match check on servers that ignore it
 * on CompleteMultipartUpload (moto does).
 */
async function precheck(client: S3ClientLike, loc: Location, options: ParsedStoreOptions): Promise<void> {
  const sdk = loadSdk();
  let etag: string | undefined;
  try {
    etag = (await client.send(new sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: options.signal })).ETag;
  } catch (err) {
    const error = s3Error(err, 'HeadObject', loc.url);
    if (error.code !== 'ENOENT' || error.s3Code === 'NoSuchBucket') throw error;
  }
  const holds = options.ifNoneMatch ? etag === undefined : etag === options.ifMatch;
  if (!holds) throw s3Error({ name: 'PreconditionFailed', message: 'the condition did not hold before the upload started', $metadata: { httpStatusCode: 412 } }, 'CompleteMultipartUpload', loc.url);
}

async function multipart(client: S3ClientLike, loc: Location, file: string, size: number, options: ParsedStoreOptions): Promise<StoreResult> {
  const sdk = loadSdk();
  const base = { Bucket: loc.bucket, Key: loc.key };
  if (options.ifMatch || options.ifNoneMatch) await precheck(client, loc, options);
  const handle = await fsp.open(file, 'r');
  let created: { UploadId?: string };
  try {
    const command = new sdk.CreateMultipartUploadCommand({ ...base, ChecksumAlgorithm: 'CRC32C', ContentType: options.contentType });
    created = await send(client, command, options, 'CreateMultipartUpload', loc);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const UploadId = created.UploadId as string;
  try {
    const count = Math.max(1, Math.ceil(size / options.partSize));
    const parts: Array<{ PartNumber: number; ETag: string; ChecksumCRC32C: string }> = new Array(count);
    await inParallel(count, options.concurrency, async (index) => {
      const position = index * options.partSize;
      const body = await readRange(handle, position, Math.min(options.partSize, size - position));
      const checksum = crc32cBase64(native().crc32c(body));
      const out = await send(
        client,
        new sdk.UploadPartCommand({ ...base, UploadId, PartNumber: index + 1, Body: body, ContentLength: body.length, ChecksumCRC32C: checksum }),
        options,
        'UploadPart',
        loc,
      );
      parts[index] = { PartNumber: index + 1, ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C ?? checksum };
    });
    const out = await send(
      client,
      new sdk.CompleteMultipartUploadCommand({ ...base, UploadId, MultipartUpload: { Parts: parts }, ...conditions(options) }),
      options,
      'CompleteMultipartUpload',
      loc,
    );
    return result(loc, out, 'CompleteMultipartUpload');
  } catch (err) {
    // Parts of an unfinished upload are invisible but billed: remove them. Not under
    // the caller's signal, which may be what stopped the upload.
    await client.send(new sdk.AbortMultipartUploadCommand({ ...base, UploadId })).catch(() => {});
    throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Uploads the staged `file` to `loc`. A 409 ConditionalRequestConflict (another
 * conditional write raced this one) starts a fresh upload; a 412 is thrown as
 * `EPRECONDITION`.
 */
export async function uploadStaged(loc: Location, file: string, options: ParsedStoreOptions): Promise<StoreResult> {
  const client = clientFor(options);
  const { size } = await fsp.stat(file);
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      if (size < options.multipartThreshold) return await putObject(client, loc, file, size, options);
      return await multipart(client, loc, file, size, options);
    } catch (err) {
      if (!isConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
    }
  }
}
