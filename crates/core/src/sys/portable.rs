//! The portable path for OSes that are neither Unix nor Windows: std only. Names are
//! resolved through the directory's path, a named temp is created with `create_new`,
//! and the rename is `std::fs::rename`. Directory sync is best effort.

use super::{path_key, DirKey, EntryStat};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// No OS here is known to fail a rename because a reader holds the target open.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::ZERO;

pub struct Dir {
    pub path: PathBuf,
}

impl Dir {
    /// The path's key: no identity through std here.
    pub fn key(&self) -> DirKey {
        path_key(&self.path)
    }

    pub fn open(path: &Path) -> io::Result<Dir> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(Dir { path: path.to_path_buf() })
    }

    pub fn stat_entry(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        match std::fs::metadata(self.path.join(name)) {
            Ok(m) => Ok(Some(EntryStat { mode: 0o666, uid: 0, gid: 0, is_dir: m.is_dir(), is_file: m.is_file(), size: m.len() })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`Dir::stat_entry`]: the target was resolved with its links followed, and
    /// nothing here plants links the way a Unix sticky directory lets anyone.
    pub fn stat_entry_nofollow(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        self.stat_entry(name)
    }

    pub fn create_named(&self, name: &OsStr, _mode: u32) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(self.path.join(name))
    }

    pub fn open_existing(&self, name: &OsStr) -> io::Result<File> {
        let path = self.path.join(name);
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        OpenOptions::new().read(true).write(true).open(path)
    }

    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        std::fs::rename(self.path.join(from), self.path.join(to))
    }

    pub fn rename_retrying(&self, from: &OsStr, to: &OsStr, _busy_timeout: Duration) -> io::Result<()> {
        self.rename(from, to)
    }

    pub fn rename_noreplace(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        std::fs::hard_link(self.path.join(from), self.path.join(to))?;
        let _ = self.unlink(from);
        Ok(())
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_file(self.path.join(name))
    }

    pub fn sync(&self) -> io::Result<()> {
        match File::open(&self.path) {
            Ok(dir) => {
                let _ = dir.sync_all();
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }
}

pub fn fdatasync(file: &File) -> io::Result<()> {
    file.sync_data()
}

pub fn fsync(file: &File) -> io::Result<()> {
    file.sync_all()
}

pub fn fchmod(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

pub fn fchown(_file: &File, _uid: u32, _gid: u32) -> io::Result<()> {
    Ok(())
}

pub fn mark_in_use(_file: &File) -> io::Result<()> {
    Ok(())
}

pub fn is_in_use(_file: &File) -> bool {
    false
}

pub fn umask() -> u32 {
    0o022
}

/// A head start for the data sync; nothing to do here.
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

pub fn write_all(mut file: &File, buf: &[u8]) -> io::Result<()> {
    file.write_all(buf)
}

pub fn fill_random(buf: &mut [u8]) {
    crate::temp_name::fallback_random(buf);
}

/// What refusing a link looks like here (see `by_path.rs`).
pub(crate) fn link_refused() -> io::Error {
    io::Error::from_raw_os_error(libc::ELOOP)
}

pub(crate) fn not_a_directory() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOTDIR)
}

/// No portable way to see other processes' open files.
pub fn open_file_ids() -> Option<std::collections::HashSet<(u64, u64)>> {
    None
}
