// `s3://bucket/key` targets: recognized cheaply (this module loads with the package,
// the SDK does not) and parsed strictly, so a bad URL throws a TypeError before a
// staging file or a network request exists.

export interface S3Location {
  bucket: string;
  /** The object key (a key prefix for datasets; then it ends with `/`). */
  key: string;
  /** `s3://bucket/key`, for messages and results. */
  url: string;
}

/** True for a string or URL with the `s3:` scheme; everything else is a local path. */
export function isS3Url(path: unknown): boolean {
  if (typeof path === 'string') return path.length >= 5 && path.slice(0, 5).toLowerCase() === 's3://';
  return path instanceof URL && path.protocol === 's3:';
}

function badUrl(url: string, why: string): TypeError {
  const error = new TypeError(`Invalid S3 URL ${JSON.stringify(url)}: ${why}. Write it as s3://bucket/key`) as TypeError & { code: string };
  error.code = 'ERR_INVALID_S3_URL';
  return error;
}

// S3's bucket naming rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
// without the dotted-IP rule: a wrong name fails here instead of as a signed request.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Splits `s3://bucket/key`. `prefix: true` (datasets) takes a key prefix and gives it a
 * trailing `/`. The key is taken literally (no percent-decoding), as the AWS CLI does.
 */
export function parseS3Url(path: unknown, { prefix = false }: { prefix?: boolean } = {}): S3Location {
  const text = path instanceof URL ? path.href : path;
  if (typeof text !== 'string') throw badUrl(String(text), 'not a string');
  const rest = text.slice(5);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  let key = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket === '') throw badUrl(text, 'the bucket name is missing');
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw badUrl(text, `"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens)`);
  if (key === '' || key === '/') throw badUrl(text, prefix ? 'the key prefix is missing (s3://bucket/prefix/)' : 'the object key is missing');
  if (key.includes('\0')) throw badUrl(text, 'the key contains a null byte');
  if (prefix && !key.endsWith('/')) key += '/';
  if (!prefix && key.endsWith('/')) throw badUrl(text, 'an object key cannot end with "/"');
  if (Buffer.byteLength(key) > 1024) throw badUrl(text, 'the key is longer than 1024 bytes');
  return { bucket, key, url: `s3://${bucket}/${key}` };
}

/** The S3 implementation, loaded on the first s3:// target (it needs the SDK; most programs never do). */
export function s3(): typeof import('./index') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./index') as typeof import('./index');
}
