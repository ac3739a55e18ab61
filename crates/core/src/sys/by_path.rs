//! The directory operations of `sys::unix` for the backends without `*at` calls
//! (Windows, and std alone): names are resolved through the directory's path, so
//! they do the same, without Unix's protection against a directory swapped on the
//! path meanwhile.

use super::{link_refused, not_a_directory, Dir, EntryInfo, RenameHow};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;

impl Dir {
    /// No identity through std: every directory compares equal.
    pub fn id(&self) -> io::Result<(u64, u64)> {
        Ok((0, 0))
    }

    pub fn lstat_entry(&self, name: &OsStr) -> io::Result<Option<EntryInfo>> {
        match std::fs::symlink_metadata(self.path.join(name)) {
            Ok(m) => Ok(Some(EntryInfo::of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let path = self.path.join(name);
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            return Err(link_refused());
        }
        if !meta.is_dir() {
            return Err(not_a_directory());
        }
        Ok(Dir { path })
    }

    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir { path: self.path.clone() })
    }

    pub fn mkdir(&self, name: &OsStr, _mode: u32) -> io::Result<()> {
        std::fs::create_dir(self.path.join(name))
    }

    pub fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        std::fs::remove_dir(self.path.join(name))
    }

    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let path = self.path.join(name);
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            return Err(link_refused());
        }
        File::open(path)
    }

    /// Renames `from` here to `to` in `dest`. No swap here (`Unsupported`); a
    /// create-only rename checks first (a directory is never replaced by a rename on
    /// Windows anyway).
    pub fn rename_into(&self, from: &OsStr, dest: &Dir, to: &OsStr, how: RenameHow) -> io::Result<()> {
        let target = dest.path.join(to);
        match how {
            RenameHow::Exchange => return Err(io::Error::from(io::ErrorKind::Unsupported)),
            RenameHow::NoReplace if std::fs::symlink_metadata(&target).is_ok() => return Err(io::Error::from(io::ErrorKind::AlreadyExists)),
            _ => {}
        }
        std::fs::rename(self.path.join(from), target)
    }

    pub fn names(&self) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(&self.path)?.map(|e| e.map(|e| e.file_name())).collect()
    }
}
