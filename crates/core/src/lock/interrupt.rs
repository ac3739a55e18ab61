//! Ending a blocked lock wait early (timeout or abort) without polling.
//!
//! The waiting thread blocks in the kernel (`F_OFD_SETLKW` or `flock`), which is the
//! only way to be woken by the release itself. Nothing can make such a call return
//! except the lock being granted or a signal, so an early end is a signal aimed at
//! that one thread: `pthread_kill` with a no-op handler installed *without*
//! `SA_RESTART`, which makes the call fail with `EINTR`. We use a real-time signal
//! nobody has claimed (Node uses SIGUSR1 for its inspector and lets JS claim the
//! classic ones; it leaves real-time signals alone). A signal sent to our own thread
//! while it sits in its wait touches nothing else.
//!
//! The one race: the signal can land just after the thread checked "am I cancelled?"
//! and just before it enters the kernel; the handler then runs and the call blocks
//! anyway. So a thread is marked `blocked` (under the slot's mutex) before the call
//! and unmarked after it, and a single watchdog thread re-sends the signal, with
//! backoff from 1 ms, for as long as a cancelled thread still shows as blocked. The
//! watchdog also turns deadlines into cancellations. Signals are only ever sent while
//! the target is marked blocked, under the mutex, so a worker that moved on to other
//! work never gets one.
//!
//! Where no signal is available (non-Unix, or every real-time signal taken), waits
//! fall back to polling `try_lock` with backoff up to 25 ms, woken at once by cancel.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The end of a blocked wait that did not get the lock.
#[derive(Debug)]
pub(super) enum WaitError {
    /// The lock call itself failed.
    Io(io::Error),
    /// Ended by the deadline (`ETIMEDOUT`) or by cancel (`ECANCELED`).
    Interrupted(i32),
    /// The lock was granted while the wait was being ended: the caller must give it
    /// back.
    AcquiredLate(i32),
}

/// The blocked thread's `pthread_t`, only ever handed back to `pthread_kill`. It is an
/// integer on glibc and macOS but a pointer on musl, which Rust does not let cross threads
/// (the Alpine build failed on it); it is an ID here, never dereferenced.
#[cfg(unix)]
#[derive(Clone, Copy)]
struct Thread(libc::pthread_t);
#[cfg(unix)]
unsafe impl Send for Thread {}
#[cfg(not(unix))]
type Thread = ();

// The blocked-thread bookkeeping only exists for signal wake-ups (Unix).
#[cfg_attr(not(unix), allow(dead_code))]
struct State {
    /// Why the wait ends: `ETIMEDOUT` or `ECANCELED`.
    reason: Option<i32>,
    deadline: Option<Instant>,
    /// The thread while it is inside the blocking call.
    blocked: Option<Thread>,
    next_kick: Option<Instant>,
    kicks: u32,
    done: bool,
}

struct Slot {
    state: Mutex<State>,
    /// Wakes a polling waiter on cancel.
    wake: Condvar,
}

/// A handle that ends one lock wait early: on its deadline, or when [`Interrupt::cancel`]
/// is called from any thread. Clone it to keep one for the canceller.
#[derive(Clone)]
pub struct Interrupt(Arc<Slot>);

const POLL_MAX: Duration = Duration::from_millis(25);

impl Interrupt {
    /// `timeout`: how long the wait may last from now; `None` waits until cancelled.
    pub fn new(timeout: Option<Duration>) -> Interrupt {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        Interrupt(Arc::new(Slot {
            state: Mutex::new(State { reason: None, deadline, blocked: None, next_kick: None, kicks: 0, done: false }),
            wake: Condvar::new(),
        }))
    }

    /// Ends the wait with `ECANCELED` (a no-op once it ended). Cheap and non-blocking:
    /// safe on the JS thread.
    pub fn cancel(&self) {
        let mut state = self.state();
        if state.reason.is_none() {
            state.reason = Some(libc::ECANCELED);
        }
        let kicked = kick_now(&mut state);
        drop(state);
        self.0.wake.notify_all();
        if kicked {
            // In case the signal landed in the race window, the watchdog repeats it.
            watchdog::nudge();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reason to stop, turning a passed deadline into `ETIMEDOUT`.
    fn stop_reason(state: &mut State) -> Option<i32> {
        if state.reason.is_none() && state.deadline.is_some_and(|d| Instant::now() >= d) {
            state.reason = Some(libc::ETIMEDOUT);
        }
        state.reason
    }

    /// Runs the wait. `attempt(true)` must block until the lock is granted (`Ok(true)`)
    /// or a signal interrupts it (`EINTR`); `attempt(false)` is one non-blocking try.
    pub(super) fn wait(&self, force_polling: bool, mut attempt: impl FnMut(bool) -> io::Result<bool>) -> Result<(), WaitError> {
        let result = match signal::get() {
            Some(sig) if cfg!(unix) && !force_polling => self.wait_blocking(sig, &mut attempt),
            _ => self.wait_polling(&mut attempt),
        };
        self.state().done = true;
        result
    }

    #[cfg(unix)]
    fn wait_blocking(&self, sig: libc::c_int, attempt: &mut dyn FnMut(bool) -> io::Result<bool>) -> Result<(), WaitError> {
        signal::unblock_on_this_thread(sig);
        watchdog::watch(self.0.clone());
        loop {
            {
                let mut state = self.state();
                if let Some(reason) = Interrupt::stop_reason(&mut state) {
                    return Err(WaitError::Interrupted(reason));
                }
                state.blocked = Some(Thread(unsafe { libc::pthread_self() }));
            }
            let result = attempt(true);
            let reason = {
                let mut state = self.state();
                state.blocked = None;
                state.reason
            };
            match result {
                Ok(_) => {
                    return match reason {
                        Some(reason) => Err(WaitError::AcquiredLate(reason)),
                        None => Ok(()),
                    }
                }
                // Our signal (the loop re-checks the reason) or someone else's.
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(WaitError::Io(e)),
            }
        }
    }

    #[cfg(not(unix))]
    fn wait_blocking(&self, _: i32, attempt: &mut dyn FnMut(bool) -> io::Result<bool>) -> Result<(), WaitError> {
        self.wait_polling(attempt)
    }

    /// Polls `try_lock` with backoff. Only used where a blocked call cannot be
    /// interrupted; cancel still ends it at once through the condvar.
    fn wait_polling(&self, attempt: &mut dyn FnMut(bool) -> io::Result<bool>) -> Result<(), WaitError> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(reason) = Interrupt::stop_reason(&mut self.state()) {
                return Err(WaitError::Interrupted(reason));
            }
            if attempt(false).map_err(WaitError::Io)? {
                return match self.state().reason {
                    Some(reason) => Err(WaitError::AcquiredLate(reason)),
                    None => Ok(()),
                };
            }
            let state = self.state();
            if state.reason.is_some() {
                continue;
            }
            let mut sleep = pause;
            if let Some(deadline) = state.deadline {
                sleep = sleep.min(deadline.saturating_duration_since(Instant::now()));
            }
            drop(self.0.wake.wait_timeout(state, sleep).unwrap_or_else(|e| e.into_inner()));
            pause = (pause * 2).min(POLL_MAX);
        }
    }
}

/// Signals the blocked thread now, if there is one. Called with the slot locked.
fn kick_now(state: &mut State) -> bool {
    #[cfg(unix)]
    if let (Some(thread), Some(sig)) = (state.blocked, signal::get()) {
        unsafe { libc::pthread_kill(thread.0, sig) };
        state.kicks += 1;
        state.next_kick = Some(Instant::now() + kick_backoff(state.kicks));
        return true;
    }
    let _ = state;
    false
}

#[cfg_attr(not(unix), allow(dead_code))]
fn kick_backoff(kicks: u32) -> Duration {
    Duration::from_millis(1 << kicks.saturating_sub(1).min(5))
}

#[cfg(unix)]
mod signal {
    use std::sync::OnceLock;

    extern "C" fn on_wake(_: libc::c_int) {}

    /// The signal that interrupts our waits, installed on first use; `None` if every
    /// candidate is already claimed by someone else.
    pub(super) fn get() -> Option<libc::c_int> {
        static SIGNAL: OnceLock<Option<libc::c_int>> = OnceLock::new();
        *SIGNAL.get_or_init(install)
    }

    #[cfg(target_os = "linux")]
    fn candidates() -> Vec<libc::c_int> {
        // From the top: libraries that use real-time signals tend to take the lowest.
        (libc::SIGRTMIN()..=libc::SIGRTMAX()).rev().collect()
    }

    #[cfg(not(target_os = "linux"))]
    fn candidates() -> Vec<libc::c_int> {
        vec![libc::SIGUSR2]
    }

    fn install() -> Option<libc::c_int> {
        for sig in candidates() {
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 || old.sa_sigaction != libc::SIG_DFL {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_wake as *const () as libc::sighandler_t;
                // No SA_RESTART: the blocked fcntl/flock must return EINTR.
                action.sa_flags = 0;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, std::ptr::null_mut()) == 0 {
                    return Some(sig);
                }
            }
        }
        None
    }

    /// Worker threads inherit the mask of whoever started them.
    pub(super) fn unblock_on_this_thread(sig: libc::c_int) {
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
mod signal {
    pub(super) fn get() -> Option<i32> {
        None
    }
}

#[cfg(unix)]
mod watchdog {
    //! One thread for the whole process: turns deadlines into cancellations and
    //! re-sends the wake signal to cancelled waits that are still blocked. It sleeps
    //! until the next deadline or re-send, and indefinitely when there is none.
    use super::{kick_now, Interrupt, Slot};
    use std::sync::{Arc, Condvar, Mutex, OnceLock};
    use std::time::Instant;

    struct Watch {
        slots: Mutex<Vec<Arc<Slot>>>,
        wake: Condvar,
    }

    fn get() -> &'static Watch {
        static WATCH: OnceLock<&'static Watch> = OnceLock::new();
        WATCH.get_or_init(|| {
            let watch: &'static Watch = Box::leak(Box::new(Watch { slots: Mutex::new(Vec::new()), wake: Condvar::new() }));
            std::thread::Builder::new()
                .name("atomicwriter-lock-watch".into())
                .stack_size(64 * 1024)
                .spawn(move || run(watch))
                .expect("start the lock watchdog thread");
            watch
        })
    }

    pub(super) fn watch(slot: Arc<Slot>) {
        let watch = get();
        let mut slots = watch.slots.lock().unwrap_or_else(|e| e.into_inner());
        // Finished waits are dropped here, so the list stays as short as the number
        // of waits in progress.
        slots.retain(|s| !s.state.lock().unwrap_or_else(|e| e.into_inner()).done);
        slots.push(slot);
        drop(slots);
        watch.wake.notify_one();
    }

    pub(super) fn nudge() {
        let watch = get();
        // Taking the list lock orders this notify after the watchdog's last scan.
        drop(watch.slots.lock().unwrap_or_else(|e| e.into_inner()));
        watch.wake.notify_one();
    }

    fn run(watch: &'static Watch) {
        let mut slots = watch.slots.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let mut earliest = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
            slots.retain(|slot| {
                let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.done {
                    return false;
                }
                Interrupt::stop_reason(&mut state);
                if state.reason.is_none() {
                    if let Some(deadline) = state.deadline {
                        earliest(deadline);
                    }
                } else if state.blocked.is_some() {
                    if state.next_kick.is_none_or(|k| k <= now) {
                        kick_now(&mut state);
                    }
                    if let Some(k) = state.next_kick {
                        earliest(k);
                    }
                }
                true
            });
            slots = match next {
                Some(t) => watch.wake.wait_timeout(slots, t.saturating_duration_since(Instant::now())).unwrap_or_else(|e| e.into_inner()).0,
                None => watch.wake.wait(slots).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

#[cfg(not(unix))]
mod watchdog {
    pub(super) fn nudge() {}
}
