//! Finds and removes temps orphaned by a crash (a process killed between creating a
//! named temp and publishing it). Only what is recognisably ours is touched:
//!
//! - the name has our temp shape (see `temp_name.rs`) and the entry is older than the
//!   cutoff;
//! - it belongs to us: owned by the effective uid, or, when root sweeps, owned by the
//!   directory's owner (root sweeping a user's directory cleans up after that user;
//!   in a shared 1777 directory other users' entries are never touched);
//! - it is not in use: no live writer holds its in-use mark, and (Linux) no process
//!   has it open;
//! - a regular file, or a directory that is a staging directory of a dataset: private
//!   (0700, as we create them), or a replaced dataset left at the staging name (it
//!   holds a regular `_SUCCESS`, or nothing). Anything else, links included, stays.
//!
//! Directories are removed through descriptors without following links. A dataset
//! version set aside by a publish on a filesystem without an atomic swap is put back
//! when a crash left its target missing, and removed once the target exists.

use crate::dataset::{is_dataset, remove_tree};
use crate::error::{Error, Result};
use crate::set_aside;
use crate::sys::{self, Dir, EntryInfo, FileKind};
use crate::temp_name::{is_temp_name, set_aside_target};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Mode of a staging directory until it is published (see `dataset.rs`).
const STAGING_MODE: u32 = 0o700;

/// Removes this library's temps and staging directories in `dir` older than `older_than` that
/// no live writer holds, and settles set-aside old versions; with `dry_run`, only lists them.
/// Returns the paths removed (or that would be).
pub fn sweep(dir: &Path, older_than: Duration, dry_run: bool) -> Result<Vec<PathBuf>> {
    // A link on the way is followed only under the rule writes follow: a link another
    // user planted in /tmp never makes root sweep a directory of its choosing.
    let real = crate::target::follow(dir)?;
    let handle = Dir::open(&real).map_err(|e| Error::from_io(e, "opendir", dir))?;
    let names = handle.names().map_err(|e| Error::from_io(e, "scandir", dir))?;
    // An age beyond what the clock can go back (`olderThan: Infinity`): nothing is that old.
    let Some(cutoff) = SystemTime::now().checked_sub(older_than) else { return Ok(Vec::new()) };
    let owner = Owner::of(&handle).map_err(|e| Error::from_io(e, "stat", dir))?;
    let mut candidates = Vec::new();
    let mut removed = Vec::new();
    for name in names {
        let Ok(Some(info)) = handle.lstat_entry(&name) else {
            continue;
        };
        if info.modified > cutoff || !owner.owns(&info) {
            continue;
        }
        if let Some(target) = set_aside_target(&name) {
            if info.kind == FileKind::Dir && set_aside::settle(&handle, dir, &name, &target, dry_run)? {
                removed.push(dir.join(&name));
            }
            continue;
        }
        // A link is never a temp.
        if is_temp_name(&name) && matches!(info.kind, FileKind::File | FileKind::Dir) {
            candidates.push((name, info));
        }
    }
    // Collected before any candidate is opened here, so our own probes do not count.
    let open_elsewhere = if candidates.iter().any(|(_, info)| info.kind == FileKind::File) { sys::open_file_ids() } else { None };
    for (name, info) in candidates {
        let path = dir.join(&name);
        // Open first: the in-use mark is tested on what was opened, and the entry must
        // still be what was examined.
        let Ok(file) = handle.open_existing(&name) else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        if EntryInfo::of(&meta).id != info.id || sys::is_in_use(&file) {
            continue;
        }
        if info.kind == FileKind::File {
            if open_elsewhere.as_ref().is_some_and(|ids| ids.contains(&info.id)) {
                continue;
            }
        } else if !is_staging(&handle, &name, &info) {
            continue;
        }
        if !dry_run {
            // The lock `is_in_use` just took is held until `file` drops, so a writer
            // cannot start using this staging directory while it is removed.
            let result = if info.kind == FileKind::Dir { remove_tree(&handle, &name) } else { unlink_if_same(&handle, &name, &info) };
            if let Err(e) = result {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(Error::from_io(e, "unlink", &path));
                }
                continue;
            }
        }
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}

/// Whose entries a sweep may remove.
struct Owner {
    euid: u32,
    dir_uid: u32,
}

impl Owner {
    fn of(dir: &Dir) -> std::io::Result<Owner> {
        let dir_uid = dir.lstat_entry(OsStr::new(".")).ok().flatten().map_or(0, |i| i.uid);
        Ok(Owner { euid: sys::effective_ids().0, dir_uid })
    }

    fn owns(&self, info: &EntryInfo) -> bool {
        !cfg!(unix) || info.uid == self.euid || (self.euid == 0 && info.uid == self.dir_uid)
    }
}

/// A temp-shaped directory is ours when it is a staging directory (private, as we
/// create it) or a dataset replaced by a publish (a regular `_SUCCESS`, or empty).
fn is_staging(parent: &Dir, name: &OsStr, info: &EntryInfo) -> bool {
    if cfg!(unix) && info.mode & 0o777 == STAGING_MODE {
        return true;
    }
    parent.open_dir(name).and_then(|dir| is_dataset(&dir)).unwrap_or(false)
}

/// Unlinks `name` if it is still the file examined (narrowing the window in which a
/// rename could put another file under that name).
fn unlink_if_same(parent: &Dir, name: &OsStr, info: &EntryInfo) -> std::io::Result<()> {
    match parent.lstat_entry(name)? {
        Some(now) if now.id == info.id && now.kind == FileKind::File => parent.unlink(name),
        _ => Ok(()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic_file::{AtomicFile, Options};
    use crate::target::resolve;
    use crate::temp_name::new_temp_name;
    use crate::test_support::TempDir;
    use std::os::unix::fs::PermissionsExt;

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
        // Private, as a staging directory is until it is published.
        std::fs::set_permissions(&orphan, std::fs::Permissions::from_mode(0o700)).unwrap();
        // Temp-shaped, but not a staging directory: someone's directory with files in it.
        let foreign = tmp.path().join(new_temp_name("mine".as_ref()));
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes"), b"keep").unwrap();
        // A replaced dataset left at the staging name by a crash: it holds _SUCCESS.
        let replaced = tmp.path().join(new_temp_name("ds3".as_ref()));
        std::fs::create_dir(&replaced).unwrap();
        std::fs::write(replaced.join("_SUCCESS"), b"").unwrap();
        // A link inside must not be followed: what it points to survives.
        std::fs::create_dir(tmp.path().join("keep")).unwrap();
        std::fs::write(tmp.path().join("keep/file"), b"keep").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("keep"), orphan.join("link")).unwrap();
        // A link with a temp name is not a staging directory.
        let link = tmp.path().join(new_temp_name("other".as_ref()));
        std::os::unix::fs::symlink(tmp.path().join("keep"), &link).unwrap();
        let live = Staging::create(resolve(&tmp.path().join("ds2")).unwrap(), &DatasetOptions::default()).unwrap();

        assert_eq!(sweep(tmp.path(), Duration::from_secs(3600), false).unwrap(), Vec::<PathBuf>::new(), "too young");
        let mut both = vec![orphan.clone(), replaced.clone()];
        both.sort();
        assert_eq!(sweep(tmp.path(), Duration::ZERO, false).unwrap(), both);
        assert!(!orphan.exists());
        assert_eq!(std::fs::read(foreign.join("notes")).unwrap(), b"keep");
        assert!(live.path().exists(), "a staging directory in use is kept");
        assert!(std::fs::symlink_metadata(&link).is_ok());
        assert_eq!(std::fs::read(tmp.path().join("keep/file")).unwrap(), b"keep");
        live.abort();
    }
}
