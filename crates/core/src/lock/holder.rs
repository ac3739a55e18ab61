//! Who holds a lock, for error messages ("held by pid 1234").
//!
//! `F_OFD_GETLK` tells whether a conflicting lock exists, but for an OFD lock it
//! reports `l_pid = -1`: the lock belongs to an open file, not to a process (only
//! classic POSIX locks report a pid). `/proc/locks` says -1 as well. Linux does list
//! each fd's locks in `/proc/PID/fdinfo/FD`, so the holders are found by looking for
//! fds open on the lock file's inode that carry a lock line. This only runs to word an
//! error, never on the lock path, and only sees processes we may inspect.

use super::{Mechanism, Mode, Range};
use std::fs::File;

/// Who holds a lock that conflicts with ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The conflicting lock's mode.
    pub mode: Mode,
    /// Processes found holding it; empty when the OS cannot tell.
    pub pids: Vec<u32>,
}

#[cfg(target_os = "linux")]
pub(super) fn find(file: &File, mechanism: Mechanism, mode: Mode, range: Range) -> Option<Holder> {
    use super::sys::{fcntl_lock, lock_type};
    use std::os::unix::fs::MetadataExt;

    let meta = file.metadata().ok()?;
    let (dev, ino) = (meta.dev(), meta.ino());
    match mechanism {
        Mechanism::Ofd => {
            let fl = fcntl_lock(file, libc::F_OFD_GETLK, lock_type(mode), range).ok()?;
            if fl.l_type == libc::F_UNLCK as libc::c_short {
                return None;
            }
            let theirs = if fl.l_type == libc::F_WRLCK as libc::c_short { Mode::Exclusive } else { Mode::Shared };
            let pids = if fl.l_pid > 0 {
                // A classic POSIX lock (another program using F_SETLK): its pid is known.
                vec![fl.l_pid as u32]
            } else {
                let conflict = Range { offset: fl.l_start as u64, length: fl.l_len as u64 };
                scan(dev, ino, "OFDLCK", mode, conflict)
            };
            Some(Holder { mode: theirs, pids })
        }
        _ => {
            let pids = scan(dev, ino, "FLOCK", mode, Range::WHOLE);
            // flock has no "test" call: an empty scan means free, or not visible to us.
            if pids.is_empty() {
                return None;
            }
            Some(Holder { mode: Mode::Exclusive, pids })
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn find(_: &File, _: Mechanism, _: Mode, _: Range) -> Option<Holder> {
    None
}

/// Pids with an fd open on `dev:ino` whose fdinfo shows a `kind` lock that conflicts
/// with a `mode` request on `range`.
#[cfg(target_os = "linux")]
fn scan(dev: u64, ino: u64, kind: &str, mode: Mode, range: Range) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;

    let mut pids = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else { return pids };
    for proc_entry in procs.flatten() {
        let Some(pid) = proc_entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            // stat follows the fd's magic link to the open file itself.
            let Ok(meta) = std::fs::metadata(fd.path()) else { continue };
            if meta.dev() != dev || meta.ino() != ino {
                continue;
            }
            let info_path = proc_entry.path().join("fdinfo").join(fd.file_name());
            let Ok(info) = std::fs::read_to_string(info_path) else { continue };
            if info.lines().filter_map(|l| l.strip_prefix("lock:")).any(|l| conflicts(l, kind, mode, range)) {
                pids.push(pid);
                break;
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Parses a `/proc/locks`-style line: `1: OFDLCK ADVISORY  WRITE -1 fe:00:123 0 EOF`.
#[cfg(target_os = "linux")]
fn conflicts(line: &str, kind: &str, mode: Mode, range: Range) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // A blocked request is shown with "->"; it holds nothing.
    if fields.len() < 8 || fields.contains(&"->") || fields[1] != kind {
        return false;
    }
    let write = fields[3] == "WRITE";
    if !write && mode == Mode::Shared {
        return false;
    }
    let (Ok(start), end) = (fields[6].parse::<u64>(), fields[7]) else { return false };
    let end = if end == "EOF" { u64::MAX } else { end.parse::<u64>().unwrap_or(u64::MAX) };
    let (ours_start, ours_end) = (range.offset, if range.length == 0 { u64::MAX } else { range.offset + range.length - 1 });
    start <= ours_end && ours_start <= end
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn parses_lock_lines() {
        let whole = Range::WHOLE;
        assert!(conflicts("1: OFDLCK ADVISORY  WRITE -1 fe:00:9980050 0 EOF", "OFDLCK", Mode::Shared, whole));
        assert!(!conflicts("1: OFDLCK ADVISORY  READ -1 fe:00:9980050 0 EOF", "OFDLCK", Mode::Shared, whole));
        assert!(conflicts("1: OFDLCK ADVISORY  READ -1 fe:00:9980050 0 EOF", "OFDLCK", Mode::Exclusive, whole));
        assert!(!conflicts("1: FLOCK  ADVISORY  WRITE 12 fe:00:9980050 0 EOF", "OFDLCK", Mode::Exclusive, whole));
        assert!(!conflicts("1: -> OFDLCK ADVISORY  WRITE -1 fe:00:9980050 0 EOF", "OFDLCK", Mode::Exclusive, whole));
        let r = Range { offset: 10, length: 10 };
        assert!(!conflicts("1: OFDLCK ADVISORY  WRITE -1 fe:00:1 0 9", "OFDLCK", Mode::Exclusive, r));
        assert!(conflicts("1: OFDLCK ADVISORY  WRITE -1 fe:00:1 0 10", "OFDLCK", Mode::Exclusive, r));
        assert!(!conflicts("1: OFDLCK ADVISORY  WRITE -1 fe:00:1 20 EOF", "OFDLCK", Mode::Exclusive, r));
    }
}
