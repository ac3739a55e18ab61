// Progress reporting, throttled in one place: writeFile's streamed sources, the write
// stream and the CLI's progress bar all report at most every PROGRESS_INTERVAL_MS, and
// always once at the end, so a caller's callback (or a terminal) is never flooded by a
// source of many small chunks.

import { invalidArgType } from '../binding/errors';
import { parseInteger } from '../args/validate';

export interface Progress {
  bytesWritten: number;
  /** The expected size, when known (`totalBytes` option, or the length of a buffer). */
  totalBytes: number | undefined;
}

export interface ProgressOptions {
  /** Called at most every 100 ms while writing, and once when all bytes are written. */
  onProgress?: (progress: Progress) => void;
  /** The expected size, reported to `onProgress`. */
  totalBytes?: number;
}

export const PROGRESS_INTERVAL_MS = 100;

/** How a throttled report is made: `final` always reports, otherwise at most once an interval. */
export type Report = (bytes: number, final: boolean) => void;

function noop(): void {}

/** Calls `report(bytes)` at most every `PROGRESS_INTERVAL_MS`, and on every `final` call. */
export function throttle(report: (bytes: number) => void): Report {
  let last = 0;
  return (bytes, final) => {
    const now = Date.now();
    if (!final && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    report(bytes);
  };
}

/** The throttled `onProgress` caller of a write (a no-op without `onProgress`). */
export function progressReporter(options: ProgressOptions | undefined): Report {
  const { onProgress, totalBytes } = options ?? {};
  if (!onProgress) return noop;
  return throttle((bytes) => onProgress({ bytesWritten: bytes, totalBytes }));
}

/** Validates `onProgress` / `totalBytes` before anything touches the disk. */
export function progressOptions(options: unknown): ProgressOptions {
  if (options === null || typeof options !== 'object') return {};
  const { onProgress, totalBytes } = options as ProgressOptions;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidArgType('options.onProgress', 'a function', onProgress);
  return { onProgress, totalBytes: parseInteger(totalBytes, 'options.totalBytes', undefined, 0) };
}
