// The option validators every layer uses (writes, locks, sweep, formats, datasets, object
// stores), so that a bad boolean or integer reads the same wherever it was passed, in
// Node's wording (`The "options.x" argument must be of type boolean`).

import { invalidArgType, outOfRange } from '../binding/errors';

/** A boolean option; `undefined` gives `fallback`. */
export function parseBoolean<F extends boolean | undefined>(value: unknown, name: string, fallback: F): boolean | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/**
 * An integer option in [min, max] (max defaults to the largest safe integer); `undefined`
 * gives `fallback`. Not a number is a TypeError, out of range (or not whole) a RangeError.
 */
export function parseInteger<F extends number | undefined>(value: unknown, name: string, fallback: F, min: number, max = Number.MAX_SAFE_INTEGER): number | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw outOfRange(name, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}
