//! The OS side of a lock on Unix: open without following links, then `F_OFD_SETLK` where
//! the OS has open-file-description locks, else `flock` (see `Mechanism`).

use super::{Mechanism, Mode, Range};
use crate::error::{Error, Result};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub(super) fn open(path: &Path, mode: Mode) -> Result<File> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::new(libc::EINVAL, "open", Some(path)))?;
    // O_NONBLOCK|O_NOCTTY: opening a FIFO or a terminal planted at the path must
    // neither hang nor take a controlling tty; it is then refused below.
    let base = libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    let open = |access: libc::c_int| loop {
        let fd = unsafe { libc::open(c.as_ptr(), base | access, 0o666 as libc::c_uint) };
        if fd >= 0 {
            return Ok(unsafe { File::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    };
    let file = match open(libc::O_RDWR) {
        // A shared lock only needs read access: a lock file we may not write (owned
        // by another user, or on a read-only mount) still takes shared locks.
        Err(e) if mode == Mode::Shared && matches!(e.raw_os_error(), Some(libc::EACCES | libc::EROFS)) => open(libc::O_RDONLY),
        other => other,
    }
    .map_err(|e| match e.raw_os_error() {
        // What open(2) answers for a socket (ENXIO), or for a device another user owns
        // in a sticky directory (EACCES, even to root): say what is there, as for a FIFO
        // below, not that the lock file must be writable.
        Some(libc::ENXIO | libc::EACCES | libc::EPERM) => match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.is_file() => not_a_lock_file(path, &meta),
            _ => Error::from_io(e, "open", path),
        },
        _ => Error::from_io(e, "open", path),
    })?;
    let meta = file.metadata().map_err(|e| Error::from_io(e, "fstat", path))?;
    if !meta.is_file() {
        return Err(not_a_lock_file(path, &meta));
    }
    Ok(file)
}

/// `EINVAL` for a FIFO, socket or device at a lock path, saying which: a lock is taken
/// on a regular file, and someone's channel is left as it is.
fn not_a_lock_file(path: &Path, meta: &std::fs::Metadata) -> Error {
    crate::regular::not_regular(path, "open", crate::regular::describe(meta), "a lock is taken on a regular file; it was left as it is")
}

pub(super) fn key(file: &File, path: &Path) -> String {
    match file.metadata() {
        Ok(m) => format!("{}:{}", m.dev(), m.ino()),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

#[cfg(target_os = "linux")]
fn flock_request(ty: libc::c_int, range: Range) -> libc::flock {
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = ty as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = range.offset as libc::off_t;
    fl.l_len = range.length as libc::off_t;
    // OFD requests must pass l_pid = 0.
    fl.l_pid = 0;
    fl
}

pub(super) fn lock_type(mode: Mode) -> libc::c_int {
    match mode {
        // `as`: c_short on macOS and the BSDs, c_int on Linux.
        Mode::Shared => libc::F_RDLCK as libc::c_int,
        Mode::Exclusive => libc::F_WRLCK as libc::c_int,
    }
}

#[cfg(target_os = "linux")]
pub(super) fn fcntl_lock(file: &File, cmd: libc::c_int, ty: libc::c_int, range: Range) -> io::Result<libc::flock> {
    let mut fl = flock_request(ty, range);
    if unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl)
}

#[cfg(not(target_os = "linux"))]
pub(super) fn fcntl_lock(_: &File, _: libc::c_int, _: libc::c_int, _: Range) -> io::Result<libc::flock> {
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

#[cfg(target_os = "linux")]
use libc::{F_OFD_SETLK, F_OFD_SETLKW};
#[cfg(not(target_os = "linux"))]
const F_OFD_SETLK: libc::c_int = -1;
#[cfg(not(target_os = "linux"))]
const F_OFD_SETLKW: libc::c_int = -1;

fn flock(file: &File, op: libc::c_int) -> io::Result<()> {
    if unsafe { libc::flock(file.as_raw_fd(), op) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) || e.raw_os_error() == Some(libc::EWOULDBLOCK)
}

pub(super) fn try_lock(file: &File, mechanism: Mechanism, mode: Mode, range: Range) -> io::Result<bool> {
    loop {
        let result = match mechanism {
            Mechanism::Ofd => fcntl_lock(file, F_OFD_SETLK, lock_type(mode), range).map(drop),
            _ => flock(file, flock_op(mode) | libc::LOCK_NB),
        };
        return match result {
            Ok(()) => Ok(true),
            Err(e) if busy(&e) => Ok(false),
            // A signal landed on a call that does not block: try again.
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => Err(e),
        };
    }
}

/// Blocks in the kernel until the lock is granted; `EINTR` when a signal lands.
pub(super) fn lock_blocking(file: &File, mechanism: Mechanism, mode: Mode, range: Range) -> io::Result<()> {
    match mechanism {
        Mechanism::Ofd => fcntl_lock(file, F_OFD_SETLKW, lock_type(mode), range).map(drop),
        _ => flock(file, flock_op(mode)),
    }
}

pub(super) fn unlock(file: &File, mechanism: Mechanism, range: Range) -> io::Result<()> {
    loop {
        let result = match mechanism {
            Mechanism::Ofd => fcntl_lock(file, F_OFD_SETLK, libc::F_UNLCK as libc::c_int, range).map(drop),
            _ => flock(file, libc::LOCK_UN),
        };
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

fn flock_op(mode: Mode) -> libc::c_int {
    match mode {
        Mode::Shared => libc::LOCK_SH,
        Mode::Exclusive => libc::LOCK_EX,
    }
}
