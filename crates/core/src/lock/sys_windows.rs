//! `LockFileEx` on the range (a range of length 0, "to the end however far the
//! file grows", is every byte from the offset on), failing immediately: blocked
//! waits poll, because a blocked `LockFileEx` cannot be interrupted.

use super::{Mechanism, Mode, Range};
use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;
use windows_sys::Win32::Foundation::ERROR_LOCK_VIOLATION;
use windows_sys::Win32::Storage::FileSystem::{LockFileEx, UnlockFileEx, LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY};
use windows_sys::Win32::System::IO::OVERLAPPED;

pub(super) use super::sys_portable::{key, open};

fn span(range: Range) -> (OVERLAPPED, u32, u32) {
    let mut overlapped: OVERLAPPED = unsafe { std::mem::zeroed() };
    overlapped.Anonymous.Anonymous.Offset = range.offset as u32;
    overlapped.Anonymous.Anonymous.OffsetHigh = (range.offset >> 32) as u32;
    let length = if range.length == 0 { u64::MAX - range.offset } else { range.length };
    (overlapped, length as u32, (length >> 32) as u32)
}

pub(super) fn try_lock(file: &File, _: Mechanism, mode: Mode, range: Range) -> io::Result<bool> {
    let (mut overlapped, low, high) = span(range);
    let mut flags = LOCKFILE_FAIL_IMMEDIATELY;
    if mode == Mode::Exclusive {
        flags |= LOCKFILE_EXCLUSIVE_LOCK;
    }
    if unsafe { LockFileEx(file.as_raw_handle(), flags, 0, low, high, &mut overlapped) } != 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(ERROR_LOCK_VIOLATION as i32) {
        return Ok(false);
    }
    Err(e)
}

pub(super) fn lock_blocking(_: &File, _: Mechanism, _: Mode, _: Range) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Windows unlocks exactly the range that was locked.
pub(super) fn unlock(file: &File, _: Mechanism, range: Range) -> io::Result<()> {
    let (mut overlapped, low, high) = span(range);
    if unsafe { UnlockFileEx(file.as_raw_handle(), 0, low, high, &mut overlapped) } != 0 {
        return Ok(());
    }
    Err(io::Error::last_os_error())
}
