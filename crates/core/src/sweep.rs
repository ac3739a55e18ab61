//! Finds and removes temps orphaned by a crash (a process killed between creating a
//! named temp and publishing it). Only regular files with our temp name shape, older
//! than a cutoff and not marked in use by a live writer, are removed; nothing else is
//! touched. Directories with that name shape are the staging directories of datasets
//! (see `dataset.rs`): an orphaned one (old enough, not locked by a live writer) is
//! removed with everything in it, without following symlinks. A dataset version set
//! aside by a publish on a filesystem without an atomic swap is put back when a crash
//! left its target missing, and removed once the target exists.

use crate::error::{Error, Result};
use crate::sys::{self, Dir};
use crate::temp_name::{is_temp_name, set_aside_target};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub fn sweep(dir: &Path, older_than: Duration, dry_run: bool) -> Result<Vec<PathBuf>> {
    let handle = Dir::open(dir).map_err(|e| Error::from_io(e, "opendir", dir))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::from_io(e, "scandir", dir))?;
    // An age beyond what the clock can go back (`olderThan: Infinity`): nothing is that old.
    let Some(cutoff) = SystemTime::now().checked_sub(older_than) else { return Ok(Vec::new()) };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(target) = set_aside_target(&name) {
            if settle_set_aside(&handle, dir, &entry, &target, cutoff, dry_run)? {
                removed.push(dir.join(&name));
            }
            continue;
        }
        if !is_temp_name(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        // `DirEntry::metadata` does not follow symlinks: a link is never a temp.
        let is_dir = meta.file_type().is_dir();
        if !(meta.file_type().is_file() || is_dir) || meta.modified().map(|m| m > cutoff).unwrap_or(true) {
            continue;
        }
        let Ok(file) = handle.open_existing(&name) else { continue };
        if sys::is_in_use(&file) {
            continue;
        }
        if !dry_run {
            // The lock `is_in_use` just took is held until `file` drops, so a writer
            // cannot start using this staging directory while it is removed.
            let removed = if is_dir { std::fs::remove_dir_all(dir.join(&name)) } else { handle.unlink(&name) };
            if let Err(e) = removed {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(Error::from_io(e, "unlink", &dir.join(&name)));
                }
                continue;
            }
        }
        removed.push(dir.join(&name));
    }
    removed.sort();
    Ok(removed)
}

/// A dataset version set aside by a publish without an atomic swap (see dataset.rs):
/// debris once the target exists again (removed: returns true), else the only complete
/// version left by a crash between the two renames, which is put back.
fn settle_set_aside(handle: &Dir, dir: &Path, entry: &std::fs::DirEntry, target: &std::ffi::OsStr, cutoff: SystemTime, dry_run: bool) -> Result<bool> {
    let Ok(meta) = entry.metadata() else { return Ok(false) };
    if !meta.file_type().is_dir() || meta.modified().map(|m| m > cutoff).unwrap_or(true) {
        return Ok(false);
    }
    let name = entry.file_name();
    let target_exists = handle.stat_entry(target).map_err(|e| Error::from_io(e, "stat", &dir.join(target)))?.is_some();
    if dry_run {
        return Ok(target_exists);
    }
    if target_exists {
        return match std::fs::remove_dir_all(dir.join(&name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::from_io(e, "unlink", &dir.join(&name))),
        };
    }
    // A writer that publishes meanwhile wins: renaming onto its non-empty directory fails.
    match handle.rename(&name, target) {
        Ok(()) => handle.sync().map_err(|e| Error::from_io(e, "fsync", dir))?,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST | libc::ENOENT)) => {}
        Err(e) => return Err(Error::from_io(e, "rename", &dir.join(&name)).with_dest(&dir.join(target))),
    }
    Ok(false)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic_file::{AtomicFile, Options};
    use crate::target::resolve;
    use crate::temp_name::new_temp_name;
    use crate::test_support::TempDir;

    #[test]
    fn removes_orphans_only() {
        let tmp = TempDir::new();
        let orphan = tmp.path().join(new_temp_name("data.json".as_ref()));
        std::fs::write(&orphan, b"partial").unwrap();
        std::fs::write(tmp.path().join("data.json"), b"keep").unwrap();
        std::fs::write(tmp.path().join(".data.json.tmp"), b"not ours").unwrap();
        let opts = Options { named_temp: true, ..Options::durable() };
        let live = AtomicFile::create(resolve(&tmp.path().join("other")).unwrap(), &opts).unwrap();
        let live_temp = live.temp_path().unwrap();

        let found = sweep(tmp.path(), Duration::ZERO, true).unwrap();
        assert_eq!(found, vec![orphan.clone()], "dry run lists the orphan, not the live temp");
        assert!(orphan.exists());
        let removed = sweep(tmp.path(), Duration::ZERO, false).unwrap();
        assert_eq!(removed, vec![orphan.clone()]);
        assert!(!orphan.exists());
        assert!(live_temp.exists(), "a temp in use by a live writer is kept");
        assert!(tmp.path().join(".data.json.tmp").exists());
        assert!(sweep(tmp.path(), Duration::from_secs(3600), false).unwrap().is_empty());
        live.abort();
    }

    #[test]
    fn removes_orphaned_staging_dirs_only() {
        use crate::dataset::{DatasetOptions, Staging};
        let tmp = TempDir::new();
        let orphan = tmp.path().join(new_temp_name("ds".as_ref()));
        std::fs::create_dir_all(orphan.join("sub")).unwrap();
        std::fs::write(orphan.join("sub/part-0"), b"partial").unwrap();
        // A link inside must not be followed: what it points to survives.
        std::fs::create_dir(tmp.path().join("keep")).unwrap();
        std::fs::write(tmp.path().join("keep/file"), b"keep").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("keep"), orphan.join("link")).unwrap();
        // A link with a temp name is not a staging directory.
        let link = tmp.path().join(new_temp_name("other".as_ref()));
        std::os::unix::fs::symlink(tmp.path().join("keep"), &link).unwrap();
        let live = Staging::create(resolve(&tmp.path().join("ds2")).unwrap(), &DatasetOptions::default()).unwrap();

        assert_eq!(sweep(tmp.path(), Duration::from_secs(3600), false).unwrap(), Vec::<PathBuf>::new(), "too young");
        assert_eq!(sweep(tmp.path(), Duration::ZERO, false).unwrap(), vec![orphan.clone()]);
        assert!(!orphan.exists());
        assert!(live.path().exists(), "a staging directory in use is kept");
        assert!(std::fs::symlink_metadata(&link).is_ok());
        assert_eq!(std::fs::read(tmp.path().join("keep/file")).unwrap(), b"keep");
        live.abort();
    }
}
