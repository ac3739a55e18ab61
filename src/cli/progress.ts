// The CLI's progress bar: one line on stderr, redrawn in place, only when stderr is a
// terminal (a log file or a pipe gets nothing). The total is known when stdin is a
// regular file (its size) or from `--size`; without it the bar shows bytes and rate.

import type { WriteStream } from 'node:tty';

export interface ProgressBar {
  update(bytes: number): void;
  /** Erases the line (the CLI prints its own last word). */
  done(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${unit === 0 ? n : n.toFixed(1)} ${UNITS[unit]}`;
}

const silent: ProgressBar = { update() {}, done() {} };

export function progressBar(stream: NodeJS.WriteStream, total: number | undefined): ProgressBar {
  if (!stream.isTTY) return silent;
  const tty = stream as WriteStream;
  const start = Date.now();
  let drawn = false;
  return {
    update(bytes) {
      const seconds = Math.max((Date.now() - start) / 1000, 0.001);
      const rate = `${formatBytes(bytes / seconds)}/s`;
      let line: string;
      if (total !== undefined && total > 0) {
        const fraction = Math.min(bytes / total, 1);
        const width = Math.max(10, Math.min(40, (tty.columns ?? 80) - 50));
        const filled = Math.round(fraction * width);
        line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(bytes)} / ${formatBytes(total)} ${rate}`;
      } else {
        line = `${formatBytes(bytes)} written, ${rate}`;
      }
      tty.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) tty.write('\r\x1b[K');
    },
  };
}
