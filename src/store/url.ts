// Object-store targets: `s3://bucket/key`, `gs://bucket/key`, `az://container/blob`.
// Recognized cheaply (this module loads with the package, no SDK does) and parsed
// strictly, so a bad URL throws a TypeError before a staging file or a request exists.
// The router (src/route.ts) is the only module outside src/store/ that asks.

export type Scheme = 's3' | 'gs' | 'az';

export interface Location {
  scheme: Scheme;
  /** The bucket (S3, GCS) or container (Azure). */
  bucket: string;
  /** The object key (a key prefix for datasets; then it ends with `/`). */
  key: string;
  /** `scheme://bucket/key`, for messages and results. */
  url: string;
}

const SCHEMES: readonly Scheme[] = ['s3', 'gs', 'az'];
const NAMES: Record<Scheme, string> = { s3: 'S3', gs: 'GCS', az: 'Azure Blob' };

/** The scheme of a string or URL naming an object store, else `undefined` (a local path). */
export function remoteScheme(path: unknown): Scheme | undefined {
  let text: string;
  if (typeof path === 'string') text = path.slice(0, 5).toLowerCase();
  else if (path instanceof URL) text = `${path.protocol}//`;
  else return undefined;
  return SCHEMES.find((s) => text.startsWith(`${s}://`));
}

export function isRemoteUrl(path: unknown): boolean {
  return remoteScheme(path) !== undefined;
}

function badUrl(scheme: Scheme, url: string, why: string): TypeError {
  const container = scheme === 'az' ? 'container/blob' : 'bucket/key';
  const error = new TypeError(`Invalid ${NAMES[scheme]} URL ${JSON.stringify(url)}: ${why}. Write it as ${scheme}://${container}`) as TypeError & { code: string };
  error.code = scheme === 's3' ? 'ERR_INVALID_S3_URL' : 'ERR_INVALID_STORE_URL';
  return error;
}

// S3's and GCS's bucket naming rules (without the dotted-IP rule) and Azure's container
// rules (3-63 lowercase letters, digits and single hyphens): a wrong name fails here
// instead of as a signed request.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const CONTAINER = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const KEY_LIMIT: Record<Scheme, number> = { s3: 1024, gs: 1024, az: 1024 };

/**
 * Splits `scheme://bucket/key`. `prefix: true` (datasets) takes a key prefix and gives
 * it a trailing `/`. The key is taken literally (no percent-decoding), as the AWS CLI
 * and gsutil do.
 */
export function parseUrl(path: unknown, { prefix = false }: { prefix?: boolean } = {}): Location {
  const scheme = remoteScheme(path) ?? 's3';
  const text = path instanceof URL ? path.href : path;
  if (typeof text !== 'string') throw badUrl(scheme, String(text), 'not a string');
  const rest = text.slice(scheme.length + 3);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  let key = slash < 0 ? '' : rest.slice(slash + 1);
  const what = scheme === 'az' ? 'container' : 'bucket';
  if (bucket === '') throw badUrl(scheme, text, `the ${what} name is missing`);
  const valid = scheme === 'az' ? CONTAINER.test(bucket) : BUCKET.test(bucket) && !bucket.includes('..') && (scheme === 'gs' || !bucket.includes('_'));
  if (!valid) throw badUrl(scheme, text, `"${bucket}" is not a valid ${what} name (3-63 lowercase letters, digits${scheme === 'az' ? ' and hyphens' : ', dots and hyphens'})`);
  if (key === '' || key === '/') throw badUrl(scheme, text, prefix ? `the key prefix is missing (${scheme}://${what}/prefix/)` : 'the object key is missing');
  if (key.includes('\0')) throw badUrl(scheme, text, 'the key contains a null byte');
  if (prefix && !key.endsWith('/')) key += '/';
  if (!prefix && key.endsWith('/')) throw badUrl(scheme, text, 'an object key cannot end with "/"');
  if (Buffer.byteLength(key) > KEY_LIMIT[scheme]) throw badUrl(scheme, text, `the key is longer than ${KEY_LIMIT[scheme]} bytes`);
  return { scheme, bucket, key, url: `${scheme}://${bucket}/${key}` };
}

/** The same bucket, another key. */
export function at(loc: Location, key: string): Location {
  return { scheme: loc.scheme, bucket: loc.bucket, key, url: `${loc.scheme}://${loc.bucket}/${key}` };
}
