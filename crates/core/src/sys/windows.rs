//! The Windows layer. Names are resolved through the directory's path (Windows has no
//! `*at` calls). What differs from POSIX, and why:
//!
//! - Temps are created with `CREATE_NEW` (never opening an existing file or following a
//!   link planted at the name) and shared for read, write and delete, so the rename
//!   can move the temp while we still hold it open.
//! - Publishing is `MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)`:
//!   write-through makes the call return only once the rename reached the disk.
//!   (`SetFileInformationByHandle` with POSIX rename semantics only helps when the
//!   target's other handles allow delete sharing; the failure users hit is a handle
//!   that does not, where both calls fail alike. So we keep the call every Windows
//!   version and Wine implement.)
//! - A rename onto a file another process holds open without delete sharing fails
//!   (`ERROR_ACCESS_DENIED`, or `ERROR_SHARING_VIOLATION` / `ERROR_LOCK_VIOLATION`);
//!   antivirus scanners, indexers and other readers do this for a few milliseconds at
//!   a time. That is npm/write-file-atomic#28, the EPERM users of write-file-atomic
//!   see. We retry such failures with jittered backoff for a bounded time (the
//!   `busy_timeout` write option). Access denied is ambiguous, so before retrying it
//!   we probe the target: only when opening it for delete is refused because of
//!   *sharing* is it transient; a read-only target or an ACL that denies delete is a
//!   real permission error and fails at once.
//! - Directories are flushed through a handle opened with `FILE_FLAG_BACKUP_SEMANTICS`
//!   and write access where the OS allows it (NTFS does; others refuse, and the
//!   write-through rename already made the name durable there).
//! - "In use" marks (for `sweep`) are shared `LockFileEx` locks on one byte far beyond
//!   any data: Windows locks are mandatory, so a lock on the data itself would stop our
//!   own writes.
//!
//! Errors keep their Windows codes inside the crate (as std's do); `Error::from_io`
//! turns them into the errno values Node reports (see [`errno_from_os`]), following
//! libuv's table.

use super::{path_key, DirKey, EntryStat};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation as win;
use windows_sys::Win32::Storage::FileSystem as fs;

/// How long a publish keeps retrying while another process holds the target open,
/// unless the write says otherwise. A scanner or a reader holds a file for
/// milliseconds; a few seconds cover a loaded machine without hiding a real hang.
pub(crate) const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SHARE_ALL: u32 = fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE;
/// The byte the in-use mark locks: past any real file (NTFS caps files below 2^63).
const IN_USE_OFFSET: u64 = u64::MAX - 1;

pub struct Dir {
    pub path: PathBuf,
}

/// A NUL-terminated path for Win32, in the `\\?\` form when it is too long for the
/// classic one (std does the same for its own calls).
fn wide(path: &Path) -> Vec<u16> {
    use std::path::{Component, Prefix};
    const SHORT_ENOUGH: usize = 247; // CreateDirectoryW's limit, the strictest
    let plain: Vec<u16> = path.as_os_str().encode_wide().collect();
    let prefix: Vec<u16> = match path.components().next() {
        _ if plain.len() < SHORT_ENOUGH => vec![],
        Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::Disk(_)) => r"\\?\".encode_utf16().collect(),
        Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::UNC(..)) => {
            // \\server\share -> \\?\UNC\server\share
            let mut unc: Vec<u16> = r"\\?\UNC".encode_utf16().collect();
            unc.extend_from_slice(&plain[1..]);
            return unc.into_iter().chain(Some(0)).collect();
        }
        _ => vec![],
    };
    prefix.into_iter().chain(plain).chain(Some(0)).collect()
}

fn check(ok: i32) -> io::Result<()> {
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn os_error(code: u32) -> io::Error {
    io::Error::from_raw_os_error(code as i32)
}

impl Dir {
    /// The path's key: no identity through std here.
    pub fn key(&self) -> DirKey {
        path_key(&self.path)
    }

    pub fn open(path: &Path) -> io::Result<Dir> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(os_error(win::ERROR_DIRECTORY));
        }
        Ok(Dir { path: path.to_path_buf() })
    }

    pub fn stat_entry(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        match std::fs::metadata(self.path.join(name)) {
            Ok(m) => {
                // Windows has one permission bit: read-only.
                let mode = if m.permissions().readonly() { 0o444 } else { 0o666 };
                Ok(Some(EntryStat { mode, uid: 0, gid: 0, is_dir: m.is_dir(), is_file: m.is_file(), size: m.len() }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `CREATE_NEW` on the name itself (`FILE_FLAG_OPEN_REPARSE_POINT`): fails if
    /// anything exists at `name`, a dangling link included, and never follows one.
    /// [`Dir::stat_entry`]: the target was resolved with its links followed, and
    /// nothing here plants links the way a Unix sticky directory lets anyone.
    pub fn stat_entry_nofollow(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        self.stat_entry(name)
    }

    pub fn create_named(&self, name: &OsStr, _mode: u32) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).share_mode(SHARE_ALL).custom_flags(fs::FILE_FLAG_OPEN_REPARSE_POINT).open(self.path.join(name))
    }

    /// Opens an existing file or directory without following a reparse point (a link
    /// planted at the name is refused), with write access where we have it: Windows
    /// flushes only handles opened for writing.
    pub fn open_existing(&self, name: &OsStr) -> io::Result<File> {
        let path = self.path.join(name);
        let flags = fs::FILE_FLAG_OPEN_REPARSE_POINT | fs::FILE_FLAG_BACKUP_SEMANTICS;
        let open = |write: bool| OpenOptions::new().read(true).write(write).share_mode(SHARE_ALL).custom_flags(flags).open(&path);
        let file = match open(true) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open(false)?,
            other => other?,
        };
        if file.metadata()?.file_type().is_symlink() {
            return Err(os_error(win::ERROR_CANT_RESOLVE_FILENAME));
        }
        Ok(file)
    }

    /// Replaces `to` with `from`, retrying for up to [`DEFAULT_BUSY_TIMEOUT`] while
    /// another process holds `to` open.
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        self.rename_retrying(from, to, DEFAULT_BUSY_TIMEOUT)
    }

    /// Replaces `to` with `from`, retrying for up to `busy_timeout` while another
    /// process holds `to` open (zero: one attempt).
    pub fn rename_retrying(&self, from: &OsStr, to: &OsStr, busy_timeout: Duration) -> io::Result<()> {
        let (from, to) = (self.path.join(from), self.path.join(to));
        let (wfrom, wto) = (wide(&from), wide(&to));
        let flags = fs::MOVEFILE_REPLACE_EXISTING | fs::MOVEFILE_WRITE_THROUGH;
        retry_busy(busy_timeout, &to, || check(unsafe { fs::MoveFileExW(wfrom.as_ptr(), wto.as_ptr(), flags) }))
    }

    /// Create-only rename: `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING` fails with
    /// `ERROR_ALREADY_EXISTS` instead of replacing.
    pub fn rename_noreplace(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (wfrom, wto) = (wide(&self.path.join(from)), wide(&self.path.join(to)));
        check(unsafe { fs::MoveFileExW(wfrom.as_ptr(), wto.as_ptr(), fs::MOVEFILE_WRITE_THROUGH) })
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_file(self.path.join(name))
    }

    /// Flushes the directory where the filesystem lets a directory handle be flushed;
    /// elsewhere the write-through rename is what makes the name durable.
    pub fn sync(&self) -> io::Result<()> {
        let dir = OpenOptions::new().read(true).write(true).share_mode(SHARE_ALL).custom_flags(fs::FILE_FLAG_BACKUP_SEMANTICS).open(&self.path);
        let Ok(dir) = dir else { return Ok(()) };
        match check(unsafe { fs::FlushFileBuffers(dir.as_raw_handle()) }) {
            Err(e)
                if matches!(
                    e.raw_os_error().map(|c| c as u32),
                    Some(win::ERROR_ACCESS_DENIED | win::ERROR_INVALID_FUNCTION | win::ERROR_INVALID_HANDLE | win::ERROR_NOT_SUPPORTED)
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }
}

/// The failures that mean "someone else has the file open right now".
fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error().map(|c| c as u32), Some(win::ERROR_SHARING_VIOLATION | win::ERROR_LOCK_VIOLATION | win::ERROR_ACCESS_DENIED))
}

/// Runs `attempt` until it succeeds, fails for a reason other than a busy target, or
/// `budget` is spent. Backoff doubles from 4 ms to 200 ms, each wait jittered to half
/// to full length so that several writers retrying one file do not move in lock step.
pub(crate) fn retry_busy(budget: Duration, target: &Path, mut attempt: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    let start = Instant::now();
    let mut wait = Duration::from_millis(4);
    loop {
        let err = match attempt() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !is_busy(&err) {
            return Err(err);
        }
        if err.raw_os_error() == Some(win::ERROR_ACCESS_DENIED as i32) && !held_open_by_another(target) {
            // A read-only target, or an ACL that denies us: retrying cannot help.
            return Err(err);
        }
        let left = budget.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(err);
        }
        let mut random = [0u8; 1];
        fill_random(&mut random);
        let jittered = wait / 2 + wait.mul_f64(f64::from(random[0]) / 510.0);
        std::thread::sleep(jittered.min(left));
        wait = (wait * 2).min(Duration::from_millis(200));
    }
}

/// Whether access to `path` is denied because another handle refuses delete sharing
/// (transient), as opposed to a read-only file or an ACL (permanent). The probe asks
/// for delete access only, which is what a replacing rename needs.
fn held_open_by_another(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.permissions().readonly() => return false,
        Err(_) => return true, // gone meanwhile: the next attempt will tell
        Ok(_) => {}
    }
    let probe = OpenOptions::new()
        .access_mode(fs::DELETE)
        .share_mode(SHARE_ALL)
        .custom_flags(fs::FILE_FLAG_OPEN_REPARSE_POINT | fs::FILE_FLAG_BACKUP_SEMANTICS)
        .open(path);
    match probe {
        Ok(_) => true, // released meanwhile: try again at once
        Err(e) => e.raw_os_error() == Some(win::ERROR_SHARING_VIOLATION as i32),
    }
}

pub(crate) fn fdatasync(file: &File) -> io::Result<()> {
    check(unsafe { fs::FlushFileBuffers(file.as_raw_handle()) })
}

pub(crate) fn fsync(file: &File) -> io::Result<()> {
    fdatasync(file)
}

/// Windows files have no mode bits that a rename would carry; the one attribute
/// (read-only) is left to the caller, as a read-only target cannot be replaced.
pub(crate) fn fchmod(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

pub(crate) fn fchown(_file: &File, _uid: u32, _gid: u32) -> io::Result<()> {
    Ok(())
}

fn lock_in_use_byte(file: &File, flags: u32) -> io::Result<()> {
    let mut overlapped: windows_sys::Win32::System::IO::OVERLAPPED = unsafe { std::mem::zeroed() };
    overlapped.Anonymous.Anonymous.Offset = IN_USE_OFFSET as u32;
    overlapped.Anonymous.Anonymous.OffsetHigh = (IN_USE_OFFSET >> 32) as u32;
    check(unsafe { fs::LockFileEx(file.as_raw_handle(), flags | fs::LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &mut overlapped) })
}

/// Marks a named temp as in use, so `sweep` leaves it alone. Directories (dataset
/// staging) cannot be locked on Windows: `sweep` cannot tell those apart and relies on
/// its age cutoff there.
pub(crate) fn mark_in_use(file: &File) -> io::Result<()> {
    if file.metadata()?.is_dir() {
        return Ok(());
    }
    lock_in_use_byte(file, 0)
}

pub(crate) fn is_in_use(file: &File) -> bool {
    if file.metadata().map(|m| m.is_dir()).unwrap_or(true) {
        return false;
    }
    match lock_in_use_byte(file, fs::LOCKFILE_EXCLUSIVE_LOCK) {
        Ok(()) => false, // released when the handle closes
        Err(e) => e.raw_os_error() == Some(win::ERROR_LOCK_VIOLATION as i32),
    }
}

/// Windows has no umask; Node creates files `0o666` there.
pub(crate) fn umask() -> u32 {
    0
}

/// A head start for the data sync; nothing to do here.
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

pub(crate) fn write_all(mut file: &File, buf: &[u8]) -> io::Result<()> {
    file.write_all(buf)
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    use windows_sys::Win32::Security::Cryptography::{BCryptGenRandom, BCRYPT_USE_SYSTEM_PREFERRED_RNG};
    let ok = buf
        .chunks_mut(u32::MAX as usize)
        .all(|chunk| unsafe { BCryptGenRandom(std::ptr::null_mut(), chunk.as_mut_ptr(), chunk.len() as u32, BCRYPT_USE_SYSTEM_PREFERRED_RNG) >= 0 });
    if !ok {
        crate::temp_name::fallback_random(buf);
    }
}

/// Whether we run under Wine (its ntdll exports `wine_get_version`). Tests use it to
/// relax exactly the assertions Wine does not implement faithfully.
#[cfg(test)]
pub(crate) fn is_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain(Some(0)).collect();
    unsafe {
        let module = GetModuleHandleW(ntdll.as_ptr());
        !module.is_null() && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

/// The errno Node reports for a Windows error code (libuv's `uv_translate_sys_error`).
pub(crate) fn errno_from_os(code: i32) -> i32 {
    let code = code as u32;
    match code {
        win::ERROR_FILE_NOT_FOUND
        | win::ERROR_PATH_NOT_FOUND
        | win::ERROR_INVALID_NAME
        | win::ERROR_BAD_PATHNAME
        | win::ERROR_INVALID_DRIVE
        | win::ERROR_MOD_NOT_FOUND => libc::ENOENT,
        win::ERROR_ACCESS_DENIED | win::ERROR_PRIVILEGE_NOT_HELD | win::ERROR_CANT_ACCESS_FILE => libc::EPERM,
        win::ERROR_NOACCESS | win::ERROR_INVALID_ACCESS => libc::EACCES,
        win::ERROR_SHARING_VIOLATION | win::ERROR_LOCK_VIOLATION | win::ERROR_BUSY | win::ERROR_PIPE_BUSY => libc::EBUSY,
        win::ERROR_FILE_EXISTS | win::ERROR_ALREADY_EXISTS => libc::EEXIST,
        win::ERROR_NOT_SAME_DEVICE => libc::EXDEV,
        win::ERROR_DIRECTORY => libc::ENOTDIR,
        win::ERROR_INVALID_FUNCTION => libc::EISDIR,
        win::ERROR_DIR_NOT_EMPTY => libc::ENOTEMPTY,
        win::ERROR_DISK_FULL | win::ERROR_HANDLE_DISK_FULL => libc::ENOSPC,
        win::ERROR_FILE_TOO_LARGE => libc::EFBIG,
        win::ERROR_FILENAME_EXCED_RANGE | win::ERROR_BUFFER_OVERFLOW => libc::ENAMETOOLONG,
        win::ERROR_CANT_RESOLVE_FILENAME => libc::ELOOP,
        win::ERROR_TOO_MANY_OPEN_FILES => libc::EMFILE,
        win::ERROR_NOT_ENOUGH_MEMORY | win::ERROR_OUTOFMEMORY => libc::ENOMEM,
        win::ERROR_WRITE_PROTECT => libc::EROFS,
        win::ERROR_INVALID_HANDLE => libc::EBADF,
        win::ERROR_INVALID_PARAMETER | win::ERROR_INVALID_FLAGS | win::ERROR_NEGATIVE_SEEK => libc::EINVAL,
        win::ERROR_NOT_SUPPORTED | win::ERROR_CALL_NOT_IMPLEMENTED => libc::ENOTSUP,
        win::ERROR_OPERATION_ABORTED => libc::ECANCELED,
        win::ERROR_TIMEOUT | win::WAIT_TIMEOUT => libc::ETIMEDOUT,
        win::ERROR_NOT_LOCKED => libc::ENOLCK,
        win::ERROR_BROKEN_PIPE | win::ERROR_NO_DATA => libc::EPIPE,
        _ => libc::EIO,
    }
}

/// What refusing a link looks like here (see `by_path.rs`).
pub(crate) fn link_refused() -> io::Error {
    os_error(win::ERROR_CANT_RESOLVE_FILENAME)
}

pub(crate) fn not_a_directory() -> io::Error {
    os_error(win::ERROR_DIRECTORY)
}

/// No portable way to see other processes' open files.
pub(crate) fn open_file_ids() -> Option<std::collections::HashSet<(u64, u64)>> {
    None
}

#[cfg(test)]
mod tests;
