// S3 behind the object-store seam (../adapter.ts): GetObject, HeadObject (with S3's
// CRC32C of the object), ListObjectsV2, DeleteObject; puts are upload.ts.

import type { ObjectInfo, ObjectStore, ParsedStoreOptions, StoredObject } from '../adapter';
import { clientId, crcFromBase64 } from '../adapter';
import type { Location } from '../url';
import { clientFor, loadSdk, s3Error } from './client';
import { uploadStaged } from './upload';

async function get(loc: Location, o: ParsedStoreOptions): Promise<StoredObject | undefined> {
  const sdk = loadSdk();
  try {
    const out = await clientFor(o).send(new sdk.GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: o.signal });
    return { body: Buffer.from(await out.Body.transformToByteArray()), version: out.ETag };
  } catch (err) {
    const error = s3Error(err, 'GetObject', loc.url);
    if (error.code === 'ENOENT' && error.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
}

async function head(loc: Location, o: ParsedStoreOptions): Promise<ObjectInfo | undefined> {
  const sdk = loadSdk();
  let info: { ContentLength: number; ETag: string; ChecksumCRC32C?: string };
  try {
    info = await clientFor(o).send(new sdk.HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key, ChecksumMode: 'ENABLED' }), { abortSignal: o.signal });
  } catch (err) {
    const error = s3Error(err, 'HeadObject', loc.url);
    if (error.code === 'ENOENT' && error.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
  // A multipart object's checksum is a checksum of checksums ("...-3"): not the file's.
  const crc = typeof info.ChecksumCRC32C === 'string' && !info.ChecksumCRC32C.includes('-') ? crcFromBase64(info.ChecksumCRC32C) : undefined;
  return { size: info.ContentLength, etag: info.ETag, crc32c: crc };
}

async function list(loc: Location, o: ParsedStoreOptions): Promise<string[]> {
  const sdk = loadSdk();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    let out: { Contents?: Array<{ Key: string }>; IsTruncated?: boolean; NextContinuationToken?: string };
    try {
      out = await clientFor(o).send(new sdk.ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, ContinuationToken: token }), { abortSignal: o.signal });
    } catch (err) {
      throw s3Error(err, 'ListObjectsV2', loc.url);
    }
    for (const c of out.Contents ?? []) keys.push(c.Key.slice(loc.key.length));
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function remove(loc: Location, o: ParsedStoreOptions): Promise<void> {
  const sdk = loadSdk();
  try {
    await clientFor(o).send(new sdk.DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: o.signal });
  } catch (err) {
    throw s3Error(err, 'DeleteObject', loc.url);
  }
}

function endpoint(o: ParsedStoreOptions): string {
  // A caller's client names its endpoint only through a promise: its identity is the key.
  if (o.client) return `s3:client:${clientId(o.client)}`;
  return `s3:${process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'aws'}`;
}

export const s3: ObjectStore = { endpoint, get, head, put: uploadStaged, list, remove };
