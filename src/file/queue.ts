// Writes to one file from one process are applied in call order (as
// write-file-atomic promises): each runs after the previous one for the same key
// settles. Writes to different files run concurrently.
//
// A writeFileSync cannot wait in that queue (it returns with its file published), so
// it goes ahead, and the async writes issued before it are ordered before it instead:
// a publish already under way in the core is waited for, and one not yet started is
// skipped (its content would have been replaced by the sync write's at once). Each
// async write carries a ticket for that check, made right before its publish.
//
// Every async entry point takes its place here, at the moment that counts as its call:
// writeFile, write() and atomicWrite when called, openAtomic's commit()
// when called, a createWriteStream when end() is called (not when it is created: a
// stream still being written must not hold back the file's other writes, and a later
// write awaited before the stream's end() would never settle). A place is left once
// the write has settled; the next one's turn comes when every earlier place was left.
// Sync publishes (writeFileSync, openAtomicSync's commitSync) call supersedePending.
// updateJson is the exception: ordered by its lock (across processes too), it waits in
// no queue, since its `fn` may write the file or update it again (which must fail
// with EDEADLK, not wait forever behind itself); it only registers as pending, so
// that a writeFileSync called after it is not overwritten.

import { native } from '../binding/native';

const tails = new Map<string, Promise<void>>();
/** Key → how many writes outside the queue (updateJson) are pending. */
const outside = new Map<string, number>();

/** Key → the sequence number of the last writeFileSync while writes were queued. */
const syncFloors = new Map<string, number>();
let sequence = 0;

export interface Ticket {
  readonly key: string;
  readonly seq: number;
}

function ignore(): void {}

/** Appends `done` to the key's queue; returns what settles when the earlier places are left. */
function append(key: string, done: Promise<void>): Promise<void> | undefined {
  const previous = tails.get(key);
  // Not only `done`: a place left early (a stream destroyed) must not let the next
  // write overtake one still ahead of it.
  const tail = previous ? Promise.all([previous, done]).then(ignore) : done;
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) !== tail) return;
    tails.delete(key);
    forgetFloor(key);
  });
  return previous;
}

function forgetFloor(key: string): void {
  // No ticket for this key is outstanding any more.
  if (!tails.has(key) && !outside.has(key)) syncFloors.delete(key);
}

/** A write that waits in no queue but must not publish after a later sync write; call `done` once it settled. */
export function pendingOutside(key: string): { ticket: Ticket; done: () => void } {
  outside.set(key, (outside.get(key) ?? 0) + 1);
  let finished = false;
  const done = (): void => {
    if (finished) return;
    finished = true;
    const n = (outside.get(key) as number) - 1;
    if (n > 0) outside.set(key, n);
    else outside.delete(key);
    forgetFloor(key);
  };
  return { ticket: ticket(key), done };
}

export function inFileOrder<T>(key: string, run: () => Promise<T>): Promise<T> {
  let leave!: () => void;
  const previous = append(key, new Promise<void>((resolve) => (leave = resolve)));
  let result: Promise<T>;
  try {
    result = previous ? previous.then(run) : run();
  } catch (err) {
    leave();
    throw err;
  }
  result.then(leave, leave);
  return result;
}

/** A write's place in its file's order, for writes whose work is not one function. */
export interface Place {
  readonly ticket: Ticket;
  /** Resolves when every earlier write to the file has settled. */
  readonly turn: Promise<void>;
  /** Gives the turn to the next write; idempotent. Call once this write has settled. */
  leave(): void;
}

export function takePlace(key: string): Place {
  let leave!: () => void;
  const previous = append(key, new Promise<void>((resolve) => (leave = resolve)));
  return { ticket: ticket(key), turn: previous ?? Promise.resolve(), leave };
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
  if (!tails.has(key) && !outside.has(key)) return;
  syncFloors.set(key, ++sequence);
  native().waitForPublishes(target);
}
