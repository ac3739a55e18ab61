// Named temps in flight when the process ends are removed first: on a normal exit
// (process.exit, an empty event loop, an uncaught exception) and on SIGINT, SIGTERM or
// SIGHUP when nothing else handles them, after which the signal is raised again so the
// process dies of it as it would have. A program with its own handler for the signal
// keeps running (its writes still need their temps); they go at its exit. Only kill -9
// or a crash leaves temps, for `sweep`.
//
// As signal-exit does (write-file-atomic uses it): a listener decides the process is
// about to die only when it is the sole listener, then removes itself and raises the
// signal again. signal-exit's own listeners count as passive here, as ours count for
// it once ours is gone: with both loaded, we stand aside, signal-exit's run, and it
// raises the signal. Only these three signals: signal-exit's wider list includes
// SIGXFSZ, which Node ignores (a write past `ulimit -f` fails with EFBIG), and
// listening there would make it fatal.
//
// Node reads a signal from libuv's pipe only while its event loop runs, and its signal
// handles do not keep the loop alive: a signal that arrives as the loop empties (the
// program's last timer signals itself, a write waits on a promise nothing settles)
// would reach no listener, and the process would exit 0 although it was signalled.
// Without our listener the default action would have killed it, so before the process
// exits we run the loop once more (one setImmediate), in which a pending signal is read
// and handled as above. Once per emptying: the next 'beforeExit' lets it exit.

import { native } from '../binding/native';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;
let flushed = false;

/** One more turn of the loop before exiting, so that a signal already sent is not lost. */
function readPendingSignals(): void {
  if (flushed) {
    flushed = false;
    return;
  }
  setImmediate(() => {
    flushed = true;
  });
}

function removeLiveTemps(): void {
  try {
    native().removeLiveTemps();
  } catch {
    // Exiting: nothing more can be done; `sweep` finds what is left.
  }
}

/** How many listeners signal-exit (v3 and v4, shared across copies) has on each signal. */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')];
  const v3 = (process as unknown as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const count = (e: { count?: unknown } | undefined) => (typeof e?.count === 'number' ? e.count : 0);
  return count(v4) + count(v3);
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) - 1 - signalExitListeners() > 0) return; // the program handles it
  removeLiveTemps();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

/** Called before a write creates its temp (named or not: the core may fall back to a named one). */
export function removeTempsOnExit(): void {
  if (installed) return;
  installed = true;
  // Loaded here, not at require('atomicwriter'): most programs never get this far.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isMainThread } = require('node:worker_threads') as typeof import('node:worker_threads');
  // The registry is per process; a worker's exit must not remove the other threads' temps.
  if (!isMainThread) return;
  process.on('exit', removeLiveTemps);
  process.on('beforeExit', readPendingSignals);
  for (const signal of SIGNALS) {
    try {
      process.on(signal, onSignal);
    } catch {
      // A signal this platform does not have (SIGHUP on Windows).
    }
  }
}
