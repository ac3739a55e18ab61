// The one JSON serialization rule, shared by the json and ndjson formats and by
// writeJson/updateJson. Kept apart from formats/json.ts so that loading writeJson
// loads nothing of the formats.

import { invalidArgType } from '../binding/errors';

export type Replacer = ((this: unknown, key: string, value: unknown) => unknown) | (string | number)[] | null;

/**
 * The one JSON rule of the json and ndjson formats and of writeJson/updateJson: what
 * JSON.stringify writes, except that nothing is lost silently. Every iterable that is
 * not an array (a Set, a Map, a generator, a TypedArray), at any depth, is written as
 * an array of its values, as the top-level value of the json format is (so a Map is
 * an array of its `[key, value]` entries, which `new Map(JSON.parse(text))` reads
 * back); a value with `toJSON` (a Buffer, a Date) is written by it first; BigInts are
 * exact JSON numbers. An async iterable or stream inside a value cannot be written
 * synchronously: a TypeError, not the `{}` JSON.stringify would write. A user's
 * `replacer` (function or key list) is applied before these conversions.
 */
export function stringify(value: unknown, indent?: string | number, replacer: Replacer = null): string | undefined {
  // Plain data (the common case: records of primitives) needs no conversion, and
  // JSON.stringify without a replacer is about twice as fast.
  if (replacer === null && isPlain(value, 0)) return JSON.stringify(value, null, indent);
  const user = typeof replacer === 'function' ? replacer : undefined;
  const keys = Array.isArray(replacer) ? [...new Set(replacer.map(String))] : undefined;
  let nonce: string | undefined;
  function replace(this: unknown, key: string, v: unknown): unknown {
    if (user) v = user.call(this, key, v);
    if (typeof v === 'bigint') {
      // Marked with a nonce no data can guess, unquoted below. node:crypto is required
      // here, not at load: `require('atomicwriter')` stays light.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      nonce ??= (require('node:crypto') as typeof import('node:crypto')).randomBytes(8).toString('hex');
      return `${nonce}${v}`;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof String) return v;
    if (typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') return Array.from(v as Iterable<unknown>);
    if (typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') {
      throw invalidArgType(key === '' ? 'data' : `data[${JSON.stringify(key)}]`, 'a value JSON can hold (an async iterable or stream can only be the whole value of write(), not part of one)', v);
    }
    if (keys) {
      // A key list, as JSON.stringify applies it: those keys, in that order.
      const picked: Record<string, unknown> = {};
      for (const k of keys) if (Object.prototype.hasOwnProperty.call(v, k)) picked[k] = (v as Record<string, unknown>)[k];
      return picked;
    }
    return v;
  }
  const text = JSON.stringify(value, replace, indent);
  return nonce === undefined ? text : text?.replace(new RegExp(`"${nonce}(-?\\d+)"`, 'g'), '$1');
}

/** Only primitives (no BigInt), arrays and plain objects, not too deep to check cheaply. */
export function isPlain(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'bigint';
  if (depth > 8) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!isPlain(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  for (const key in v) if (!isPlain((v as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}
