//! Datasets: a directory of parts that readers see complete or not at all.
//!
//! Parts are written into a sibling staging directory named like a temp
//! (`.<name>.aw<hex>.tmp`: hidden from readers that skip dot names, found by `sweep`
//! after a crash). Sealing syncs every file and directory in it; publishing writes
//! `_SUCCESS` last, syncs the staging directory, then renames it over the target:
//! `renameat2(RENAME_NOREPLACE)` when the target is new, `RENAME_EXCHANGE` when it
//! exists, so a reader that opens the target sees the old dataset or the new one,
//! never a mix. The parent is synced and the old version (now at the staging name)
//! is removed. A live staging directory holds a shared `flock` on itself, so `sweep`
//! never removes one that a running writer still fills.

use crate::atomic_file::{mkdir_durable, AtomicFile, Options};
use crate::checksum::digest_reader;
use crate::dir_sync;
use crate::error::{Error, Result};
use crate::sys::{self, Dir};
use crate::target::Target;
use crate::temp_name::{is_temp_name, new_set_aside_name, new_temp_name};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub const MARKER: &str = "_SUCCESS";
const NAME_ATTEMPTS: usize = 16;
/// Files synced (and checksummed) at once when sealing: concurrent fsyncs share
/// journal commits, so many small parts cost little more than one.
const SEAL_THREADS: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct DatasetOptions {
    /// Sync parts, directories and the parent (default in JS: true).
    pub fsync: bool,
    /// Create missing parents of the target.
    pub mkdir: bool,
}

/// A regular file found in the staging directory when it was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the dataset, `/`-separated.
    pub name: String,
    pub bytes: u64,
    /// Absent for the names the caller already knew the digest of.
    pub crc32c: Option<u32>,
}

pub struct Staging {
    target: Target,
    parent: Dir,
    /// The staging directory's name in `parent`.
    name: OsString,
    root: PathBuf,
    /// Open on the staging directory; holds the in-use mark.
    handle: File,
    fsync: bool,
    finished: bool,
}

impl Staging {
    pub fn create(target: Target, opts: &DatasetOptions) -> Result<Staging> {
        let target_path = target.path();
        let open_err = |e: io::Error| Error::from_io(e, "open", &target.dir);
        let parent = match Dir::open(&target.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && opts.mkdir => {
                mkdir_durable(&target.dir)?;
                Dir::open(&target.dir).map_err(open_err)?
            }
            other => other.map_err(open_err)?,
        };
        if let Some(stat) = parent.stat_entry(&target.name).map_err(|e| Error::from_io(e, "stat", &target_path))? {
            if !stat.is_dir {
                // Never replace a file with a dataset: that file is not ours to delete.
                return Err(Error::new(libc::ENOTDIR, "rename", Some(&target_path)));
            }
        }
        let mut last = io::Error::from_raw_os_error(libc::EEXIST);
        for _ in 0..NAME_ATTEMPTS {
            let name = new_temp_name(&target.name);
            let root = parent.path.join(&name);
            match create_private_dir(&root) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(Error::from_io(e, "mkdir", &root)),
            }
            let handle = match parent.open_existing(&name).and_then(|h| sys::mark_in_use(&h).map(|()| h)) {
                Ok(handle) => handle,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&root);
                    return Err(Error::from_io(e, "open", &root));
                }
            };
            return Ok(Staging { target, parent, name, root, handle, fsync: opts.fsync, finished: false });
        }
        Err(Error::from_io(last, "mkdir", &target_path))
    }

    /// Where parts go until the dataset is published.
    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn target_path(&self) -> PathBuf {
        self.target.path()
    }

    /// Creates the directories a part named `name` (relative, `/`-separated) lives in,
    /// and makes sure the part stays inside the staging directory: no component of
    /// its path, the final name included, may be a symlink (code that writes parts by
    /// path could have planted one), so nothing written there can land outside.
    pub fn make_parent(&self, name: &str) -> Result<()> {
        let rel = relative(name).ok_or_else(|| Error::new(libc::EINVAL, "mkdir", Some(&self.root.join(name))))?;
        let mut path = self.root.clone();
        let components: Vec<_> = rel.components().collect();
        for (i, component) in components.iter().enumerate() {
            path.push(component);
            let last = i + 1 == components.len();
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(Error::new(libc::ELOOP, "open", Some(&path))),
                Ok(meta) if !last && !meta.is_dir() => return Err(Error::new(libc::ENOTDIR, "mkdir", Some(&path))),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && !last => match std::fs::create_dir(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::from_io(e, "mkdir", &path)),
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::from_io(e, "stat", &path)),
            }
        }
        Ok(())
    }

    /// Syncs every file and directory in the staging directory (its root is synced
    /// by `publish`) and lists the regular files, with a CRC32C read back for every
    /// file except those in `known` (parts whose digest was computed as they were
    /// written; the rest were written through a path, by code the core never saw).
    pub fn seal(&self, known: &HashSet<String>) -> Result<Vec<Entry>> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        walk(&self.root, "", &mut files, &mut dirs).map_err(|e| Error::from_io(e, "scandir", &self.root))?;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Result<Entry>>> = Mutex::new(Vec::with_capacity(files.len()));
        let fsync = self.fsync;
        let threads = SEAL_THREADS.min(files.len() + dirs.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i < files.len() {
                        let name = &files[i];
                        let entry = seal_file(&self.root, name, !known.contains(name), fsync);
                        results.lock().unwrap().push(entry);
                    } else if i < files.len() + dirs.len() {
                        if fsync {
                            let path = self.root.join(&dirs[i - files.len()]);
                            if let Err(e) = Dir::open(&path).and_then(|d| d.sync()) {
                                results.lock().unwrap().push(Err(Error::from_io(e, "fsync", &path)));
                            }
                        }
                    } else {
                        break;
                    }
                });
            }
        });
        let mut entries = results.into_inner().unwrap().into_iter().collect::<Result<Vec<_>>>()?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Writes `marker` as `_SUCCESS` (last), syncs the staging directory and puts it
    /// in place of the target; the old version, if any, is removed afterwards.
    pub fn publish(mut self, marker: Option<&[u8]>) -> Result<()> {
        let target_path = self.target.path();
        match marker {
            Some(bytes) => {
                // Its commit syncs the staging directory after the rename into it.
                let marker_target = Target { dir: self.root.clone(), name: MARKER.into() };
                let mut file = AtomicFile::create(marker_target, &Options { fsync: self.fsync, ..Options::default() })?;
                file.write(bytes)?;
                file.commit()?;
            }
            None if self.fsync => sys::fsync(&self.handle).map_err(|e| Error::from_io(e, "fsync", &self.root))?,
            None => {}
        }
        let existing = self.parent.stat_entry(&self.target.name).map_err(|e| Error::from_io(e, "stat", &target_path))?;
        let mode = existing.map(|s| s.mode).unwrap_or(0o777 & !sys::umask());
        sys::fchmod(&self.handle, mode).map_err(|e| Error::from_io(e, "fchmod", &self.root))?;

        let pending = self.fsync.then(|| dir_sync::before_rename(&self.parent));
        let old = match existing {
            None => match self.publish_new() {
                Ok(()) => None,
                // Someone else published first: swap with theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Some(self.exchange()?),
                Err(e) => return Err(self.rename_error(e)),
            },
            Some(stat) if stat.is_dir => Some(self.exchange()?),
            Some(_) => return Err(Error::new(libc::ENOTDIR, "rename", Some(&target_path))),
        };
        self.finished = true;
        if let Some(pending) = pending {
            pending.renamed(&self.parent).map_err(|e| Error::from_io(e, "fsync", &self.parent.path))?;
        }
        if let Some(old) = old {
            // Published already; a failure here leaves a dot-named directory that
            // `sweep` removes.
            let _ = std::fs::remove_dir_all(self.parent.path.join(old));
        }
        Ok(())
    }

    /// Removes the staging directory and everything in it; the target is untouched.
    pub fn abort(mut self) {
        self.cleanup();
    }

    /// Swaps the staging directory with the existing target; returns the name the old
    /// version now has.
    /// Renames the staging directory to a target that does not exist yet. Where the
    /// filesystem has no `RENAME_NOREPLACE` (NFS, CIFS, FUSE answer EINVAL; the link
    /// fallback cannot link a directory: EPERM), a plain rename is still create-only for
    /// a directory target: it fails unless the target is missing or an empty directory.
    fn publish_new(&self) -> io::Result<()> {
        match self.parent.rename_noreplace(&self.name, &self.target.name) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EPERM)) => {
                match self.parent.rename(&self.name, &self.target.name) {
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
                    other => other,
                }
            }
            other => other,
        }
    }

    fn exchange(&self) -> Result<OsString> {
        // Linux: renameat2(RENAME_EXCHANGE); macOS: renameatx_np(RENAME_SWAP).
        #[cfg(any(target_os = "linux", target_os = "macos"))]
        match self.swap() {
            Ok(()) => return Ok(self.name.clone()),
            Err(e) if !e.raw_os_error().is_some_and(|c| [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOTSUP].contains(&c)) => {
                return Err(self.rename_error(e));
            }
            Err(_) => {}
        }
        // No atomic swap on this filesystem: move the old version aside, then the new
        // one in. Readers may find no dataset for that instant, never a mix. The aside
        // name is not a temp's: after a crash between the two renames it is the only
        // complete version, which `sweep` puts back.
        let aside = new_set_aside_name(&self.target.name);
        self.parent.rename(&self.target.name, &aside).map_err(|e| self.rename_error(e))?;
        if let Err(e) = self.parent.rename(&self.name, &self.target.name) {
            let _ = self.parent.rename(&aside, &self.target.name);
            return Err(self.rename_error(e));
        }
        Ok(aside)
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    fn swap(&self) -> io::Result<()> {
        #[cfg(test)]
        if tests::NO_SWAP.with(|no| no.get()) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        self.parent.rename_exchange(&self.name, &self.target.name)
    }

    fn rename_error(&self, e: io::Error) -> Error {
        Error::from_io(e, "rename", &self.root).with_dest(&self.target.path())
    }

    fn cleanup(&mut self) {
        if !self.finished {
            self.finished = true;
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A part name as a relative path that stays inside the dataset, or `None`.
fn relative(name: &str) -> Option<&Path> {
    let path = Path::new(name);
    let inside = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    inside.then_some(path)
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Private until published, like a temp file: nobody else can add to it.
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir(path)
}

/// Collects regular files and directories below `dir` (symlinks are not followed,
/// and temps of unfinished writes are skipped).
fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>, dirs: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let os_name = entry.file_name();
        if is_temp_name(&os_name) {
            continue;
        }
        let name = format!("{prefix}{}", os_name.to_string_lossy());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &format!("{name}/"), files, dirs)?;
            dirs.push(name);
        } else if kind.is_file() {
            files.push(name);
        }
    }
    Ok(())
}

fn seal_file(root: &Path, name: &str, checksum: bool, fsync: bool) -> Result<Entry> {
    let path = root.join(name);
    let err = |syscall| move |e: io::Error| Error::from_io(e, syscall, &root.join(name));
    let file = open_no_follow(&path).map_err(err("open"))?;
    let (bytes, crc32c) = if checksum {
        let digest = digest_reader(&file).map_err(err("read"))?;
        (digest.bytes, Some(digest.crc32c))
    } else {
        (file.metadata().map_err(err("stat"))?.len(), None)
    };
    if fsync {
        sys::fdatasync(&file).map_err(err("fdatasync"))?;
    }
    Ok(Entry { name: name.to_string(), bytes, crc32c })
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    // Windows flushes only handles opened for writing.
    std::fs::OpenOptions::new().read(true).write(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::checksum::crc32c;
    use crate::target::resolve;
    use crate::test_support::TempDir;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    thread_local! {
        /// Makes `exchange` take its no-swap path, as on NFS, CIFS or FUSE.
        pub(super) static NO_SWAP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn publish_version(target: &Path, data: &[u8]) {
        let s = Staging::create(resolve(target).unwrap(), &durable()).unwrap();
        part(&s, "a.csv", data);
        s.seal(&HashSet::new()).unwrap();
        s.publish(Some(b"{}")).unwrap();
    }

    #[test]
    fn without_an_atomic_swap_the_old_version_is_set_aside_and_sweep_puts_it_back() {
        use crate::sweep::sweep;
        use crate::temp_name::new_set_aside_name;
        use std::time::Duration;
        let tmp = TempDir::new();
        let target = tmp.path().join("ds");
        publish_version(&target, b"v1");
        NO_SWAP.with(|no| no.set(true));
        publish_version(&target, b"v2");
        NO_SWAP.with(|no| no.set(false));
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"v2");
        assert_eq!(names(tmp.path()), vec!["ds"], "the set-aside version is removed after the swap");

        // A crash between the two renames: the target is missing, v2 only at the aside name.
        let aside = tmp.path().join(new_set_aside_name("ds".as_ref()));
        std::fs::rename(&target, &aside).unwrap();
        assert_eq!(sweep(tmp.path(), Duration::from_secs(3600), false).unwrap(), Vec::<PathBuf>::new());
        assert!(!target.exists(), "too young to touch");
        assert_eq!(sweep(tmp.path(), Duration::ZERO, true).unwrap(), Vec::<PathBuf>::new(), "a dry run changes nothing");
        assert!(aside.exists());
        assert_eq!(sweep(tmp.path(), Duration::ZERO, false).unwrap(), Vec::<PathBuf>::new(), "put back, not removed");
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"v2");
        assert_eq!(names(tmp.path()), vec!["ds"]);

        // A crash after both renames: the target is new, the aside copy is debris.
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("a.csv"), b"v1").unwrap();
        assert_eq!(sweep(tmp.path(), Duration::ZERO, false).unwrap(), vec![aside.clone()]);
        assert_eq!(names(tmp.path()), vec!["ds"]);
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"v2");
    }

    fn part(staging: &Staging, name: &str, data: &[u8]) {
        staging.make_parent(name).unwrap();
        let mut f = AtomicFile::create(resolve(&staging.path().join(name)).unwrap(), &Options::default()).unwrap();
        f.write(data).unwrap();
        f.commit().unwrap();
    }

    fn durable() -> DatasetOptions {
        DatasetOptions { fsync: true, mkdir: true }
    }

    #[test]
    fn publishes_new_then_replaces_whole() {
        let tmp = TempDir::new();
        let target = tmp.path().join("out/ds");
        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
        let staging_name = s.path().file_name().unwrap().to_os_string();
        assert!(is_temp_name(&staging_name), "{staging_name:?}");
        assert_eq!(std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777, 0o700);
        part(&s, "a.csv", b"1,2\n");
        part(&s, "year=2024/b.csv", b"3,4\n");
        let entries = s.seal(&HashSet::from(["year=2024/b.csv".to_string()])).unwrap();
        assert_eq!(
            entries,
            vec![
                Entry { name: "a.csv".into(), bytes: 4, crc32c: Some(crc32c(b"1,2\n")) },
                Entry { name: "year=2024/b.csv".into(), bytes: 4, crc32c: None },
            ]
        );
        s.publish(Some(b"{}")).unwrap();
        assert_eq!(names(&target), vec!["_SUCCESS", "a.csv", "year=2024"]);
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o777 & !sys::umask());
        assert_eq!(names(&tmp.path().join("out")), vec!["ds"]);

        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o750)).unwrap();
        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
        part(&s, "c.csv", b"new");
        s.seal(&HashSet::new()).unwrap();
        s.publish(None).unwrap();
        assert_eq!(names(&target), vec!["c.csv"]);
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o750, "mode carried over");
        assert_eq!(names(&tmp.path().join("out")), vec!["ds"], "old version removed");
    }

    #[test]
    fn abort_and_drop_leave_the_old_dataset() {
        let tmp = TempDir::new();
        let target = tmp.path().join("ds");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("old"), b"old").unwrap();
        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
        part(&s, "new", b"new");
        s.abort();
        {
            let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
            part(&s, "new", b"new");
        }
        assert_eq!(names(tmp.path()), vec!["ds"]);
        assert_eq!(names(&target), vec!["old"]);
    }

    #[test]
    fn refuses_a_file_at_the_target_and_bad_part_names() {
        let tmp = TempDir::new();
        let target = tmp.path().join("f");
        std::fs::write(&target, b"a file").unwrap();
        let err = Staging::create(resolve(&target).unwrap(), &durable()).err().unwrap();
        assert_eq!(err.code(), "ENOTDIR");
        let s = Staging::create(resolve(&tmp.path().join("ds")).unwrap(), &durable()).unwrap();
        for bad in ["../x", "/abs", "a/../../x", "", "./a"] {
            assert_eq!(s.make_parent(bad).unwrap_err().code(), "EINVAL", "{bad}");
        }
        #[cfg(unix)]
        {
            let outside = TempDir::new();
            std::os::unix::fs::symlink(outside.path(), s.path().join("link")).unwrap();
            assert_eq!(s.make_parent("link/part").unwrap_err().code(), "ELOOP");
            assert_eq!(s.make_parent("link").unwrap_err().code(), "ELOOP");
            std::fs::write(s.path().join("file"), b"x").unwrap();
            assert_eq!(s.make_parent("file/part").unwrap_err().code(), "ENOTDIR");
        }
        drop(s);
        assert_eq!(names(tmp.path()), vec!["f"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"a file");
    }

    #[test]
    fn concurrent_publishers_each_land_whole() {
        let tmp = TempDir::new();
        let target = tmp.path().join("ds");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let target = target.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
                        let v = format!("{t}-{i}");
                        part(&s, "a", v.as_bytes());
                        part(&s, "b", v.as_bytes());
                        s.seal(&HashSet::new()).unwrap();
                        s.publish(Some(b"{}")).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(names(tmp.path()), vec!["ds"]);
        assert_eq!(std::fs::read(target.join("a")).unwrap(), std::fs::read(target.join("b")).unwrap());
    }
}
