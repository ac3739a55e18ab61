// Removal of temps orphaned by crashed writers (see crates/core/src/sweep.rs).

import { invalidArgType, outOfRange } from '../binding/errors';
import { parseBoolean } from '../args/validate';
import { native } from '../binding/native';
import { checkOptionNames } from './options';
import { checkPath, type PathLike } from '../args/target';

export interface SweepOptions {
  /**
   * Only temps last modified longer ago than this many ms (default one hour).
   * `Infinity` (or any age beyond the clock's reach) means nothing is old enough:
   * nothing is removed. NaN and negative ages are a RangeError.
   */
  olderThan?: number;
  /** List what would be removed without removing it. */
  dryRun?: boolean;
}

const HOUR = 60 * 60 * 1000;

export function sweep(dir: PathLike, options: SweepOptions = {}): Promise<string[]> {
  const path = checkPath(dir, 'dir');
  checkOptionNames(options, ['olderThan', 'dryRun'], []);
  const olderThan = options.olderThan ?? HOUR;
  if (typeof olderThan !== 'number') throw invalidArgType('options.olderThan', 'a number of milliseconds', olderThan);
  if (!(olderThan >= 0)) throw outOfRange('options.olderThan', '>= 0', olderThan);
  const dryRun = parseBoolean(options.dryRun ?? false, 'options.dryRun', false);
  return native()
    .sweep(path, olderThan, dryRun)
    .then((paths) => paths.map(String));
}
