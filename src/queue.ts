// Writes to one file from one process are applied in call order (as
// write-file-atomic promises): each runs after the previous one for the same key
// settles. Writes to different files run concurrently.
//
// A writeFileSync cannot wait in that queue (it returns with its file published), so
// it goes ahead, and the async writes issued before it are ordered before it instead:
// a publish already under way in the core is waited for, and one not yet started is
// skipped (its content would have been replaced by the sync write's at once). Each
// async write carries a ticket for that check, made right before its publish.

import { rethrow } from './errors';
import { native } from './native';

const tails = new Map<string, Promise<void>>();

/** Key → the sequence number of the last writeFileSync while writes were queued. */
const syncFloors = new Map<string, number>();
let sequence = 0;

export interface Ticket {
  readonly key: string;
  readonly seq: number;
}

function ignore(): void {}

export function inFileOrder<T>(key: string, run: () => Promise<T>): Promise<T> {
  const previous = tails.get(key);
  const result = previous ? previous.then(run) : run();
  const tail = result.then(ignore, ignore);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) !== tail) return;
    tails.delete(key);
    syncFloors.delete(key); // no ticket for this key is outstanding any more
  });
  return result;
}

/** A place in call order for an async write to `key`. */
export function ticket(key: string): Ticket {
  return { key, seq: ++sequence };
}

/** True once a writeFileSync issued after `ticket` has published: skip the publish. */
export function superseded(ticket: Ticket): boolean {
  return (syncFloors.get(ticket.key) ?? 0) > ticket.seq;
}

/**
 * Called by writeFileSync before it publishes to `target` (key `key`): queued async
 * writes will not publish after it, and those whose publish is in the core now land
 * first (a short native wait: that work needs nothing from this thread).
 */
export function supersedePending(key: string, target: string | Buffer): void {
  if (!tails.has(key)) return;
  syncFloors.set(key, ++sequence);
  try {
    native().waitForPublishes(target);
  } catch (err) {
    rethrow(err);
  }
}
