//! std only: `File::try_lock` / `try_lock_shared` (`LockFileEx` on Windows, where
//! locks are mandatory: that is one more reason to lock a sidecar, never the data).

use super::{Mechanism, Mode, Range};
use crate::error::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

pub(super) fn open(path: &Path, mode: Mode) -> Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::new(libc::ELOOP, "open", Some(path)));
    }
    let rw = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path);
    let file = match rw {
        Err(e) if mode == Mode::Shared && e.kind() == io::ErrorKind::PermissionDenied => OpenOptions::new().read(true).open(path),
        other => other,
    }
    .map_err(|e| Error::from_io(e, "open", path))?;
    if !file.metadata().map_err(|e| Error::from_io(e, "fstat", path))?.is_file() {
        return Err(Error::new(libc::EINVAL, "open", Some(path)));
    }
    Ok(file)
}

pub(super) fn key(_: &File, path: &Path) -> String {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).to_string_lossy().into_owned()
}

pub(super) fn try_lock(file: &File, _: Mechanism, mode: Mode, _: Range) -> io::Result<bool> {
    let result = match mode {
        Mode::Shared => file.try_lock_shared(),
        Mode::Exclusive => file.try_lock(),
    };
    match result {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// std cannot interrupt a blocking lock: waits here poll `try_lock` instead.
pub(super) fn lock_blocking(_: &File, _: Mechanism, _: Mode, _: Range) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(super) fn unlock(file: &File, _: Mechanism, _: Range) -> io::Result<()> {
    file.unlock()
}
