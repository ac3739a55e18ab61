//! Cross-process locks on a sidecar lock file.
//!
//! The lock lives on a file of its own that is never renamed and never deleted. A lock
//! on the data file itself protects nothing: an atomic write renames a new inode over
//! it, and the next locker locks that new inode while the old holder still holds the
//! old one. Deleting a lock file has the same flaw (two holders, two inodes), so the
//! lock file stays, empty, forever.
//!
//! Linux: open-file-description locks (`F_OFD_SETLK` / `F_OFD_SETLKW`). Unlike classic
//! POSIX `fcntl` locks they belong to the open file, not the process, so two handles in
//! one process exclude each other, and closing some other fd on the same file does not
//! drop them. They support shared/exclusive and byte ranges. Where the kernel has no
//! OFD locks (`EINVAL`, before Linux 3.15) we fall back to `flock`, which has the same
//! per-open-file semantics but locks the whole file only. Other Unix systems use
//! `flock`; Windows `LockFileEx` (byte ranges; locks there are mandatory, one more
//! reason to lock a sidecar and never the data); other OSes std's `File::try_lock`
//! (whole file). Where a blocked wait cannot be interrupted (Windows and others),
//! waits poll.
//!
//! A contended wait blocks in the kernel (`F_OFD_SETLKW` / `flock`), so it is woken by
//! the release itself, and [`Interrupt`] ends it early on timeout or abort; see
//! `lock/interrupt.rs` for how.

mod holder;
mod interrupt;

pub use holder::Holder;
pub use interrupt::Interrupt;

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Who may hold a lock at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any number of shared holders, and no exclusive one.
    Shared,
    /// One holder, and nobody else.
    Exclusive,
}

/// Bytes `offset .. offset + length` of the lock file; `length == 0` means "to the end
/// of the file, however far it grows", so the default is the whole file. Ranges are
/// lock names: the lock file itself stays empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    /// First byte of the range.
    pub offset: u64,
    /// Number of bytes; 0 is to the end of the file, however far it grows.
    pub length: u64,
}

impl Range {
    /// The whole file (offset 0, to the end).
    pub const WHOLE: Range = Range { offset: 0, length: 0 };

    /// `fcntl` takes signed 64-bit offsets.
    fn check(&self, path: &Path) -> Result<()> {
        let max = i64::MAX as u64;
        let end_ok = self.offset.checked_add(self.length).is_some_and(|end| end <= max);
        if self.offset > max || self.length > max || !end_ok {
            return Err(Error::new(libc::EINVAL, "fcntl", Some(path)));
        }
        Ok(())
    }
}

/// How the OS lock is taken. Fixed per lock once it is held (release must use the
/// same call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mechanism {
    /// Linux open-file-description byte-range locks.
    Ofd = 0,
    /// BSD `flock`: whole file only.
    Flock = 1,
    /// std's `File::try_lock` family (neither Unix nor Windows): whole file only.
    Std = 2,
    /// Windows `LockFileEx` / `UnlockFileEx`: shared or exclusive byte ranges.
    LockFileEx = 3,
}

impl Mechanism {
    fn from_u8(v: u8) -> Mechanism {
        match v {
            0 => Mechanism::Ofd,
            1 => Mechanism::Flock,
            3 => Mechanism::LockFileEx,
            _ => Mechanism::Std,
        }
    }
}

/// Set once a kernel answered `EINVAL` to an OFD lock: every later lock in this
/// process uses `flock` directly.
static OFD_MISSING: AtomicBool = AtomicBool::new(false);

/// The mechanism a lock gets on this OS: OFD locks on Linux (unless the kernel lacks
/// them), `flock` elsewhere on Unix, `LockFileEx` on Windows, std's locks otherwise.
pub fn default_mechanism() -> Mechanism {
    if cfg!(target_os = "linux") && !OFD_MISSING.load(Ordering::Relaxed) {
        Mechanism::Ofd
    } else if cfg!(unix) {
        Mechanism::Flock
    } else if cfg!(windows) {
        Mechanism::LockFileEx
    } else {
        Mechanism::Std
    }
}

/// How a lock file is opened and what it locks.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// Shared or exclusive.
    pub mode: Mode,
    /// The bytes the lock covers.
    pub range: Range,
    /// Create missing parent directories of the lock file (and sync them).
    pub mkdir: bool,
}

impl Default for LockOptions {
    fn default() -> LockOptions {
        LockOptions { mode: Mode::Exclusive, range: Range::WHOLE, mkdir: false }
    }
}

/// One lock request on one open of the lock file. Dropping it releases the lock.
pub struct LockFile {
    file: File,
    path: PathBuf,
    mode: Mode,
    range: Range,
    mechanism: AtomicU8,
    held: AtomicBool,
}

impl LockFile {
    /// Opens (creating if missing) the lock file: `O_RDWR|O_CREAT|O_CLOEXEC|O_NOFOLLOW`.
    /// A lock path that is a symlink is refused (`ELOOP`): whoever controls the link
    /// would decide which file we lock. Nothing is locked yet.
    pub fn open(path: &Path, opts: &LockOptions) -> Result<LockFile> {
        LockFile::open_with(path, opts, default_mechanism())
    }

    /// [`LockFile::open`] with a chosen mechanism (tests use it to cover the fallback).
    pub fn open_with(path: &Path, opts: &LockOptions, mechanism: Mechanism) -> Result<LockFile> {
        opts.range.check(path)?;
        let file = match sys::open(path, opts.mode) {
            Err(e) if e.errno == libc::ENOENT && opts.mkdir => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    crate::atomic_file::mkdir_durable(parent)?;
                }
                sys::open(path, opts.mode)?
            }
            other => other?,
        };
        Ok(LockFile {
            file,
            path: path.to_path_buf(),
            mode: opts.mode,
            range: opts.range,
            mechanism: AtomicU8::new(mechanism as u8),
            held: AtomicBool::new(false),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode this handle locks with.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The range this handle locks.
    pub fn range(&self) -> Range {
        self.range
    }

    /// The OS mechanism in use (it can change once, from OFD to `flock`, on a kernel
    /// without OFD locks).
    pub fn mechanism(&self) -> Mechanism {
        Mechanism::from_u8(self.mechanism.load(Ordering::Relaxed))
    }

    /// Whether this handle holds its lock now.
    pub fn is_held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// The identity of the lock file (device and inode where the OS has them): two
    /// paths that name one file give one key.
    pub fn key(&self) -> String {
        sys::key(&self.file, &self.path)
    }

    /// A duplicate of the held lock's descriptor for a child process to inherit (the
    /// CLI's `lock` command, as flock(1) does): OFD and `flock` locks belong to the open
    /// file description, so the lock stays held while the child keeps its copy open,
    /// even if this process is killed. `None` where a lock is not tied to the
    /// description, or is not held.
    #[cfg(unix)]
    pub fn inheritable_fd(&self) -> Result<Option<std::os::fd::OwnedFd>> {
        if !self.is_held() || !matches!(self.mechanism(), Mechanism::Ofd | Mechanism::Flock) {
            return Ok(None);
        }
        // try_clone duplicates with FD_CLOEXEC: only a child it is handed to explicitly gets it.
        let dup = self.file.try_clone().map_err(|e| Error::from_io(e, "dup", &self.path))?;
        Ok(Some(dup.into()))
    }

    /// One non-blocking attempt: `Ok(false)` when someone holds a conflicting lock.
    pub fn try_lock(&self) -> Result<bool> {
        if self.is_held() {
            return Ok(true);
        }
        loop {
            let mechanism = self.mechanism();
            match sys::try_lock(&self.file, mechanism, self.mode, self.range) {
                Ok(true) => {
                    self.held.store(true, Ordering::Release);
                    return Ok(true);
                }
                Ok(false) => return Ok(false),
                Err(e) if self.ofd_missing(mechanism, &e) => continue,
                Err(e) => return Err(Error::from_io(e, "fcntl", &self.path)),
            }
        }
    }

    /// Waits until the lock is ours, or `interrupt` ends the wait (`ETIMEDOUT` on its
    /// deadline, `ECANCELED` on [`Interrupt::cancel`]); an interrupted wait holds
    /// nothing. Blocks the calling thread: run it on a worker.
    pub fn lock(&self, interrupt: &Interrupt) -> Result<()> {
        self.lock_with(interrupt, false)
    }

    fn lock_with(&self, interrupt: &Interrupt, force_polling: bool) -> Result<()> {
        if self.try_lock()? {
            return Ok(());
        }
        let result = interrupt.wait(force_polling, |blocking| loop {
            let mechanism = self.mechanism();
            let attempt = if blocking {
                sys::lock_blocking(&self.file, mechanism, self.mode, self.range).map(|()| true)
            } else {
                sys::try_lock(&self.file, mechanism, self.mode, self.range)
            };
            match attempt {
                Err(e) if self.ofd_missing(mechanism, &e) => continue,
                other => return other,
            }
        });
        match result {
            Ok(()) => {
                self.held.store(true, Ordering::Release);
                Ok(())
            }
            Err(interrupt::WaitError::Io(e)) => Err(Error::from_io(e, "fcntl", &self.path)),
            Err(interrupt::WaitError::Interrupted(errno)) => Err(Error::new(errno, "fcntl", Some(&self.path))),
            Err(interrupt::WaitError::AcquiredLate(errno)) => {
                // The lock came through as the wait was being ended: give it back, so
                // an ended wait never leaves a lock behind.
                let _ = sys::unlock(&self.file, self.mechanism(), self.range);
                Err(Error::new(errno, "fcntl", Some(&self.path)))
            }
        }
    }

    /// Releases the lock (idempotent). Unlocking explicitly, rather than only closing
    /// the fd, matters: a child forked but not yet exec'd shares our open file
    /// description, and a close alone would leave the lock held until it execs.
    pub fn unlock(&self) -> Result<()> {
        if self.held.swap(false, Ordering::AcqRel) {
            sys::unlock(&self.file, self.mechanism(), self.range).map_err(|e| Error::from_io(e, "fcntl", &self.path))?;
        }
        Ok(())
    }

    /// Who holds a lock that conflicts with ours, as far as the OS can tell.
    pub fn holder(&self) -> Option<Holder> {
        holder::find(&self.file, self.mechanism(), self.mode, self.range)
    }

    /// OFD locks are missing from this kernel: switch this lock, and every later one,
    /// to `flock` (which locks the whole file: a range then excludes more than asked,
    /// never less).
    fn ofd_missing(&self, mechanism: Mechanism, e: &std::io::Error) -> bool {
        if mechanism != Mechanism::Ofd || e.raw_os_error() != Some(libc::EINVAL) {
            return false;
        }
        OFD_MISSING.store(true, Ordering::Relaxed);
        self.mechanism.store(Mechanism::Flock as u8, Ordering::Relaxed);
        true
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

impl std::fmt::Debug for LockFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockFile")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("range", &self.range)
            .field("mechanism", &self.mechanism())
            .field("held", &self.is_held())
            .finish()
    }
}

// The OS side of a lock, one file per platform (as crate::sys is for writes; kept here
// because it speaks this module's Mode, Range and Mechanism). Windows shares the open
// and the key of the std-only one; other OSes use all of it.
#[cfg(unix)]
mod sys_unix;
#[cfg(unix)]
use sys_unix as sys;
#[cfg(windows)]
mod sys_windows;
#[cfg(windows)]
use sys_windows as sys;
#[cfg(not(unix))]
#[cfg_attr(windows, allow(dead_code))]
mod sys_portable;
#[cfg(not(any(unix, windows)))]
use sys_portable as sys;

/// Run on every OS (Windows under Wine in CI): what a lock promises is the same
/// everywhere; only `mechanisms()` and the tests marked `cfg(unix)` differ.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn opts(mode: Mode, range: Range) -> LockOptions {
        LockOptions { mode, range, mkdir: false }
    }

    fn exclusive() -> LockOptions {
        opts(Mode::Exclusive, Range::WHOLE)
    }

    fn mechanisms() -> Vec<Mechanism> {
        if cfg!(target_os = "linux") {
            vec![Mechanism::Ofd, Mechanism::Flock]
        } else if cfg!(windows) {
            vec![Mechanism::LockFileEx]
        } else {
            vec![Mechanism::Flock]
        }
    }

    /// A scratch directory, the lock file `name` in it, and a handle holding it exclusively.
    fn held(name: &str, m: Mechanism) -> (TempDir, std::path::PathBuf, LockFile) {
        let tmp = TempDir::new();
        let path = tmp.path().join(name);
        let holder = LockFile::open_with(&path, &exclusive(), m).unwrap();
        assert!(holder.try_lock().unwrap(), "{m:?}");
        (tmp, path, holder)
    }

    /// A scratch directory, the lock file `name` in it, and two handles on it (neither holding it).
    fn two_handles(name: &str, m: Mechanism) -> (TempDir, LockFile, LockFile) {
        let tmp = TempDir::new();
        let path = tmp.path().join(name);
        let a = LockFile::open_with(&path, &exclusive(), m).unwrap();
        let b = LockFile::open_with(&path, &exclusive(), m).unwrap();
        (tmp, a, b)
    }

    #[test]
    fn the_default_mechanism_is_the_platform_one() {
        let tmp = TempDir::new();
        let lock = LockFile::open(&tmp.path().join("m.lock"), &exclusive()).unwrap();
        assert_eq!(lock.mechanism(), mechanisms()[0]);
    }

    #[test]
    fn two_handles_in_one_process_exclude_each_other() {
        for m in mechanisms() {
            let (_tmp, a, b) = two_handles("a.lock", m);
            assert!(a.try_lock().unwrap(), "{m:?}");
            assert!(!b.try_lock().unwrap(), "{m:?}: the second handle must be refused");
            a.unlock().unwrap();
            assert!(b.try_lock().unwrap(), "{m:?}");
            drop(b); // dropping releases
            assert!(a.try_lock().unwrap(), "{m:?}");
        }
    }

    #[test]
    fn shared_locks_coexist_and_block_exclusive() {
        for m in mechanisms() {
            let tmp = TempDir::new();
            let path = tmp.path().join("s.lock");
            let shared = opts(Mode::Shared, Range::WHOLE);
            let r1 = LockFile::open_with(&path, &shared, m).unwrap();
            let r2 = LockFile::open_with(&path, &shared, m).unwrap();
            let w = LockFile::open_with(&path, &exclusive(), m).unwrap();
            assert!(r1.try_lock().unwrap());
            assert!(r2.try_lock().unwrap(), "{m:?}: shared locks coexist");
            assert!(!w.try_lock().unwrap(), "{m:?}: exclusive waits for readers");
            drop(r1);
            assert!(!w.try_lock().unwrap());
            drop(r2);
            assert!(w.try_lock().unwrap());
            let r3 = LockFile::open_with(&path, &shared, m).unwrap();
            assert!(!r3.try_lock().unwrap(), "{m:?}: readers wait for the writer");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn byte_ranges_that_do_not_overlap_do_not_block() {
        let tmp = TempDir::new();
        let path = tmp.path().join("r.lock");
        let r = |offset, length| opts(Mode::Exclusive, Range { offset, length });
        let a = LockFile::open(&path, &r(0, 10)).unwrap();
        let b = LockFile::open(&path, &r(10, 10)).unwrap();
        let c = LockFile::open(&path, &r(5, 10)).unwrap();
        let rest = LockFile::open(&path, &r(100, 0)).unwrap();
        let far = LockFile::open(&path, &r(1 << 40, 1)).unwrap();
        assert!(a.try_lock().unwrap());
        assert!(b.try_lock().unwrap(), "adjacent ranges do not overlap");
        assert!(!c.try_lock().unwrap(), "overlaps both");
        assert!(rest.try_lock().unwrap());
        assert!(!far.try_lock().unwrap(), "length 0 reaches past any offset");
        drop(a);
        assert!(!c.try_lock().unwrap(), "still overlaps b");
        drop(b);
        assert!(c.try_lock().unwrap());
    }

    #[test]
    fn wait_is_woken_by_the_release() {
        for m in mechanisms() {
            let (_tmp, path, holder) = held("w.lock", m);
            let waiter = Arc::new(LockFile::open_with(&path, &exclusive(), m).unwrap());
            let (tx, rx) = mpsc::channel();
            let w = waiter.clone();
            std::thread::spawn(move || tx.send(w.lock(&Interrupt::new(None))).unwrap());
            assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "{m:?}: must wait while held");
            holder.unlock().unwrap();
            rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
            assert!(waiter.is_held());
            assert!(!holder.try_lock().unwrap());
        }
    }

    #[test]
    fn timeout_ends_the_wait_and_leaves_no_lock() {
        for m in mechanisms() {
            let (_tmp, path, holder) = held("t.lock", m);
            let waiter = LockFile::open_with(&path, &exclusive(), m).unwrap();
            let start = Instant::now();
            let err = waiter.lock(&Interrupt::new(Some(Duration::from_millis(150)))).unwrap_err();
            assert_eq!(err.errno, libc::ETIMEDOUT, "{m:?}");
            assert!(start.elapsed() >= Duration::from_millis(150));
            assert!(!waiter.is_held());
            holder.unlock().unwrap();
            // Nothing of the ended wait lingers: a third handle gets the lock at once.
            let third = LockFile::open_with(&path, &exclusive(), m).unwrap();
            assert!(third.try_lock().unwrap(), "{m:?}");
        }
    }

    #[test]
    fn cancel_ends_the_wait_from_another_thread() {
        for m in mechanisms() {
            let (_tmp, path, holder) = held("c.lock", m);
            let waiters: Vec<_> = (0..8)
                .map(|_| {
                    let lock = Arc::new(LockFile::open_with(&path, &exclusive(), m).unwrap());
                    let interrupt = Interrupt::new(None);
                    let (tx, rx) = mpsc::channel();
                    let (l, i) = (lock.clone(), interrupt.clone());
                    std::thread::spawn(move || tx.send(l.lock(&i)).unwrap());
                    (lock, interrupt, rx)
                })
                .collect();
            std::thread::sleep(Duration::from_millis(50));
            for (_, interrupt, _) in &waiters {
                interrupt.cancel();
            }
            for (lock, _, rx) in waiters {
                let err = rx.recv_timeout(Duration::from_secs(10)).expect("cancel must end the wait").unwrap_err();
                assert_eq!(err.errno, libc::ECANCELED, "{m:?}");
                assert!(!lock.is_held());
            }
            holder.unlock().unwrap();
            let again = LockFile::open_with(&path, &exclusive(), m).unwrap();
            assert!(again.try_lock().unwrap());
        }
    }

    #[test]
    fn polling_fallback_waits_times_out_and_cancels() {
        let (_tmp, path, holder) = held("p.lock", default_mechanism());
        let waiter = LockFile::open(&path, &exclusive()).unwrap();
        let err = waiter.lock_with(&Interrupt::new(Some(Duration::from_millis(60))), true).unwrap_err();
        assert_eq!(err.errno, libc::ETIMEDOUT);
        let waiter = Arc::new(waiter);
        let interrupt = Interrupt::new(None);
        let (tx, rx) = mpsc::channel();
        let (w, i) = (waiter.clone(), interrupt.clone());
        std::thread::spawn(move || tx.send(w.lock_with(&i, true)).unwrap());
        std::thread::sleep(Duration::from_millis(30));
        interrupt.cancel();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap_err().errno, libc::ECANCELED);
        let (tx, rx) = mpsc::channel();
        let w = waiter.clone();
        std::thread::spawn(move || tx.send(w.lock_with(&Interrupt::new(None), true)).unwrap());
        holder.unlock().unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
        assert!(waiter.is_held());
    }

    #[test]
    fn cancel_before_the_wait_starts_wins() {
        let (_tmp, path, _holder) = held("e.lock", default_mechanism());
        let waiter = LockFile::open(&path, &exclusive()).unwrap();
        let interrupt = Interrupt::new(None);
        interrupt.cancel();
        assert_eq!(waiter.lock(&interrupt).unwrap_err().errno, libc::ECANCELED);
    }

    #[test]
    fn many_cancels_racing_the_wait_never_hang() {
        // Cancel lands anywhere: before the thread blocks, while it blocks, as it wakes.
        let (_tmp, path, _holder) = held("race.lock", default_mechanism());
        for i in 0..200 {
            let lock = Arc::new(LockFile::open(&path, &exclusive()).unwrap());
            let interrupt = Interrupt::new(None);
            let (tx, rx) = mpsc::channel();
            let (l, it) = (lock.clone(), interrupt.clone());
            std::thread::spawn(move || tx.send(l.lock(&it)).unwrap());
            for _ in 0..(i % 7) * 50 {
                std::hint::spin_loop();
            }
            interrupt.cancel();
            let err = rx.recv_timeout(Duration::from_secs(10)).expect("no lost wake-up").unwrap_err();
            assert_eq!(err.errno, libc::ECANCELED);
        }
    }

    #[cfg(unix)]
    #[test]
    fn lock_path_that_is_a_symlink_is_refused() {
        let tmp = TempDir::new();
        let real = tmp.path().join("real.lock");
        std::fs::write(&real, b"").unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link.lock")).unwrap();
        let err = LockFile::open(&tmp.path().join("link.lock"), &exclusive()).unwrap_err();
        assert_eq!(err.errno, libc::ELOOP);
    }

    #[test]
    fn creates_the_file_and_optionally_its_directories() {
        let tmp = TempDir::new();
        let nested = tmp.path().join("x/y/n.lock");
        assert_eq!(LockFile::open(&nested, &exclusive()).unwrap_err().errno, libc::ENOENT);
        assert!(!tmp.path().join("x").exists(), "nothing created without mkdir");
        let lock = LockFile::open(&nested, &LockOptions { mkdir: true, ..exclusive() }).unwrap();
        assert!(lock.try_lock().unwrap());
        drop(lock);
        assert!(nested.is_file(), "the lock file is never deleted");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let tmp = TempDir::new();
        let fifo = crate::test_support::make_fifo(&tmp.path().join("fifo"));
        assert_eq!(LockFile::open(&fifo, &exclusive()).unwrap_err().errno, libc::EINVAL);
        assert_eq!(LockFile::open(tmp.path(), &exclusive()).unwrap_err().errno, libc::EISDIR);
    }

    #[test]
    fn bad_ranges_are_einval() {
        let tmp = TempDir::new();
        let r = Range { offset: u64::MAX, length: 1 };
        assert_eq!(LockFile::open(&tmp.path().join("b.lock"), &opts(Mode::Exclusive, r)).unwrap_err().errno, libc::EINVAL);
        assert!(!tmp.path().join("b.lock").exists());
    }

    // Unix only: a key is (device, inode) there; elsewhere it is the canonical path
    // (lock/sys_portable.rs), so a hard link is another key.
    #[cfg(unix)]
    #[test]
    fn same_file_gives_same_key() {
        let tmp = TempDir::new();
        let path = tmp.path().join("k.lock");
        let a = LockFile::open(&path, &exclusive()).unwrap();
        std::fs::hard_link(&path, tmp.path().join("hard.lock")).unwrap();
        let b = LockFile::open(&tmp.path().join("hard.lock"), &exclusive()).unwrap();
        let c = LockFile::open(&tmp.path().join("other.lock"), &exclusive()).unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
    }

    // Unix only: the holder is asked of the kernel there (lock/holder.rs); LockFileEx
    // cannot say who holds a range.
    #[cfg(unix)]
    #[test]
    fn holder_is_reported() {
        for m in mechanisms() {
            let (_tmp, a, b) = two_handles("h.lock", m);
            assert!(b.holder().is_none(), "{m:?}: nobody holds it yet");
            assert!(a.try_lock().unwrap());
            let holder = b.holder().expect("held");
            assert_eq!(holder.mode, Mode::Exclusive);
            if cfg!(target_os = "linux") {
                assert_eq!(holder.pids, vec![std::process::id()], "{m:?}: found through /proc");
            }
        }
    }
}
