//! The set-aside protocol, in one place. Where a filesystem cannot swap two directories
//! (no `RENAME_EXCHANGE` / `RENAME_SWAP`, or `EACCES` because the old version's `..` would
//! change), a dataset's old version is renamed aside in its own directory
//! (`.<target>.aw<16 hex>.old`, named by `temp_name.rs`), then the new one renamed in.
//! Readers may find no dataset for that instant, never a mix. The aside name is not a
//! temp's: after a crash between the two renames it is the only complete version, so
//! `sweep` puts it back while the target is missing and removes it once the target exists
//! again ([`settle`]).

use crate::dataset::{is_dataset, remove_tree};
use crate::error::{Error, Result};
use crate::sys::Dir;
use crate::temp_name::new_set_aside_name;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

/// Moves `name` in `parent` aside, then `put_in` puts the new version at `name`; when
/// that fails, the old version is put back. Returns the aside name, for [`remove`] once
/// the new version is published.
pub(crate) fn replace(parent: &Dir, name: &OsStr, put_in: impl FnOnce() -> io::Result<()>) -> io::Result<OsString> {
    let aside = new_set_aside_name(name);
    parent.rename(name, &aside)?;
    if let Err(e) = put_in() {
        let _ = parent.rename(&aside, name);
        return Err(e);
    }
    Ok(aside)
}

/// Removes the version [`replace`] set aside, once the new one is published. A failure
/// leaves dot-named debris that `sweep` removes ([`settle`]).
pub(crate) fn remove(parent: &Dir, aside: &OsStr) {
    let _ = remove_tree(parent, aside);
}

/// Settles a version set aside by [`replace`] that `sweep` found in `dir` (older than
/// its cutoff): debris once the target exists again (removed, if it is a dataset:
/// returns true), else the only complete version left by a crash between the two
/// renames, which is put back.
pub(crate) fn settle(handle: &Dir, dir: &Path, name: &OsStr, target: &OsStr, dry_run: bool) -> Result<bool> {
    let target_exists = handle.lstat_entry(target).map_err(|e| Error::from_io(e, "stat", &dir.join(target)))?.is_some();
    if target_exists {
        // Only a dataset: what `replace: 'any'` set aside is the user's to remove.
        if !handle.open_dir(name).and_then(|d| is_dataset(&d)).unwrap_or(false) {
            return Ok(false);
        }
        if dry_run {
            return Ok(true);
        }
        return match remove_tree(handle, name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::from_io(e, "unlink", &dir.join(name))),
        };
    }
    if dry_run {
        return Ok(false);
    }
    // A writer that publishes meanwhile wins: renaming onto its non-empty directory fails.
    match handle.rename(name, target) {
        Ok(()) => handle.sync().map_err(|e| Error::from_io(e, "fsync", dir))?,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST | libc::ENOENT)) => {}
        Err(e) => return Err(Error::from_io(e, "rename", &dir.join(name)).with_dest(&dir.join(target))),
    }
    Ok(false)
}
