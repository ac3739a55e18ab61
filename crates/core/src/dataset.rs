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
use crate::set_aside;
use crate::sys::{self, Dir, FileKind, RenameHow};
use crate::target::Target;
use crate::temp_name::{is_temp_name, new_temp_name};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The completion marker a published dataset holds (Hadoop's name).
pub const MARKER: &str = "_SUCCESS";
const NAME_ATTEMPTS: usize = 16;
/// Files synced (and checksummed) at once when sealing: concurrent fsyncs share
/// journal commits, so many small parts cost little more than one.
const SEAL_THREADS: usize = 8;
/// The errno for "the name no longer refers to our directory" (a stale handle, in
/// effect). Windows' C runtime has no ESTALE; it cannot tell there anyway (no ids).
#[cfg(unix)]
const STALE: i32 = libc::ESTALE;
#[cfg(not(unix))]
const STALE: i32 = libc::EINVAL;
/// A staging directory is private until it is published: nobody else can add to it.
const STAGING_MODE: u32 = 0o700;

/// How a dataset is staged and published.
#[derive(Debug, Clone, Default)]
pub struct DatasetOptions {
    /// Sync parts, directories and the parent (default in JS: true).
    pub fsync: bool,
    /// Create missing parents of the target.
    pub mkdir: bool,
    /// Replace an existing directory even when it is not a dataset (JS `replace: 'any'`).
    pub replace_any: bool,
}

/// A regular file found in the staging directory when it was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the dataset, `/`-separated.
    pub name: String,
    /// Size of the file.
    pub bytes: u64,
    /// Absent for the names the caller already knew the digest of.
    pub crc32c: Option<u32>,
}

/// A dataset being written. Its directory (named like the target) is made inside a
/// private staging directory of ours (`.<name>.aw<hex>.tmp`, 0700) in the target's
/// parent, and everything in it is created relative to `dir`, its descriptor, with
/// no link followed. The publish renames it from `outer`'s descriptor into the
/// parent: nobody else can write `outer`, so the directory renamed is always the one
/// the parts went into, even if someone who can write the parent renames `outer`
/// away and plants a link at its name meanwhile (which fails the publish: `ESTALE`).
pub struct Staging {
    target: Target,
    parent: Dir,
    /// The staging directory's name in `parent`.
    name: OsString,
    outer: Dir,
    /// `outer`'s (device, inode): its name is ours only while it refers to this.
    outer_id: (u64, u64),
    /// Open on `outer`: holds the in-use mark `sweep` respects (kept, never read).
    _in_use: File,
    /// The dataset directory inside `outer`, where parts go.
    dir: Dir,
    /// Open on `dir`, for its mode and its sync.
    dir_file: File,
    root: PathBuf,
    fsync: bool,
    replace_any: bool,
    cleaned: bool,
}

/// Where the version a publish replaced ended up.
enum Old {
    /// Swapped into `outer`: removed with it.
    InOuter,
    /// Moved aside in the parent (no atomic swap on this filesystem).
    Aside(OsString),
}

impl Staging {
    /// Makes a private staging directory beside `target` (created exclusively, mode 0700),
    /// where the parts are written before the publish.
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
        // Refused before any part is written; checked again at the publish.
        check_replaceable(&parent, &target.name, &target_path, opts.replace_any)?;
        let mut last = io::Error::from_raw_os_error(libc::EEXIST);
        for _ in 0..NAME_ATTEMPTS {
            let name = new_temp_name(&target.name);
            let outer_path = parent.path.join(&name);
            match parent.mkdir(&name, STAGING_MODE) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(Error::from_io(e, "mkdir", &outer_path)),
            }
            let (outer, outer_id, handle) = match open_new_staging(&parent, &name) {
                Ok(opened) => opened,
                Err(e) => {
                    // Not ours (swapped already) unless it is the empty directory we made.
                    let _ = parent.rmdir(&name);
                    return Err(Error::from_io(e, "open", &outer_path));
                }
            };
            let root = outer_path.join(&target.name);
            let inner = outer.mkdir(&target.name, STAGING_MODE).and_then(|()| Ok((outer.open_dir(&target.name)?, outer.open_existing(&target.name)?)));
            let (dir, dir_file) = match inner {
                Ok(inner) => inner,
                Err(e) => {
                    let _ = empty_dir(&outer);
                    let _ = parent.rmdir(&name);
                    return Err(Error::from_io(e, "mkdir", &root));
                }
            };
            return Ok(Staging {
                target,
                parent,
                name,
                outer,
                outer_id,
                _in_use: handle,
                dir,
                dir_file,
                root,
                fsync: opts.fsync,
                replace_any: opts.replace_any,
                cleaned: false,
            });
        }
        Err(Error::from_io(last, "mkdir", &target_path))
    }

    /// Where parts go until the dataset is published (for code that writes by path).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The dataset's final path (what `publish` replaces).
    pub fn target_path(&self) -> PathBuf {
        self.target.path()
    }

    /// Creates the directories a part named `name` (relative, `/`-separated) lives in,
    /// for code that then writes it by path: refused (`ESTALE`) once the staging
    /// directory's name no longer refers to it, as that path would lead elsewhere.
    pub fn make_parent(&self, name: &str) -> Result<()> {
        self.part_dir(name)?;
        self.check_in_place()
    }

    /// Opens the temp of the part `name`, relative to the staging directory's
    /// descriptor (its directories created as needed); committing it publishes the
    /// part inside the staging directory.
    pub fn open_part(&self, name: &str, opts: &Options) -> Result<AtomicFile> {
        let (dir, file_name) = self.part_dir(name)?;
        AtomicFile::create_in(dir, file_name, &Options { mkdir: false, ..opts.clone() })
    }

    /// The directory a part lives in, opened component by component from the staging
    /// directory (created where missing), and the part's own name. No component may
    /// be a link, the final name included (code that writes parts by path could have
    /// planted one), so nothing written there can land outside.
    fn part_dir(&self, name: &str) -> Result<(Dir, OsString)> {
        let invalid = || Error::new(libc::EINVAL, "mkdir", Some(&self.root.join(name)));
        let rel = relative(name).ok_or_else(invalid)?;
        let components: Vec<&OsStr> = rel.components().map(|c| c.as_os_str()).collect();
        let (last, dirs) = components.split_last().ok_or_else(invalid)?;
        let mut dir = self.dir.try_clone().map_err(|e| Error::from_io(e, "open", &self.root))?;
        for component in dirs {
            let path = dir.path.join(component);
            dir = match dir.open_dir(component) {
                Ok(sub) => sub,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match dir.mkdir(component, 0o777) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(Error::from_io(e, "mkdir", &path)),
                    }
                    dir.open_dir(component).map_err(|e| Error::from_io(e, "open", &path))?
                }
                Err(e) => return Err(Error::from_io(e, "open", &path)),
            };
        }
        let path = dir.path.join(last);
        match dir.lstat_entry(last).map_err(|e| Error::from_io(e, "stat", &path))? {
            Some(info) if info.kind == FileKind::Symlink => Err(Error::new(libc::ELOOP, "open", Some(&path))),
            _ => Ok((dir, last.to_os_string())),
        }
    }

    /// Syncs every file and directory in the staging directory (its root is synced
    /// by `publish`) and lists the regular files, with a CRC32C read back for every
    /// file except those in `known` (parts whose digest was computed as they were
    /// written; the rest were written through a path, by code the core never saw).
    /// Everything is reached through directory descriptors, no link followed.
    pub fn seal(&self, known: &HashSet<String>) -> Result<Vec<Entry>> {
        let mut tree = Tree { dirs: Vec::new(), files: Vec::new() };
        tree.walk(&self.dir, None).map_err(|(e, path)| Error::from_io(e, "scandir", &path))?;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Result<Entry>>> = Mutex::new(Vec::with_capacity(tree.files.len()));
        let fsync = self.fsync;
        let (files, dirs) = (&tree.files, &tree.dirs);
        let threads = SEAL_THREADS.min(files.len() + dirs.len()).max(1);
        let root = &self.dir;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i < files.len() {
                        let (at, file_name, name) = &files[i];
                        let dir = open_below(root, at.map(|d| dirs[d].as_str()));
                        let entry = dir.and_then(|dir| seal_file(&dir, file_name, name, !known.contains(name), fsync));
                        results.lock().unwrap().push(entry);
                    } else if i < files.len() + dirs.len() {
                        // The root is synced by publish.
                        let rel = &dirs[i - files.len()];
                        if fsync {
                            let synced = open_below(root, Some(rel)).and_then(|d| d.sync().map_err(|e| Error::from_io(e, "fsync", &d.path)));
                            if let Err(e) = synced {
                                results.lock().unwrap().push(Err(e));
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
                let dir = self.dir.try_clone().map_err(|e| Error::from_io(e, "open", &self.root))?;
                let mut file = AtomicFile::create_in(dir, MARKER.into(), &Options { fsync: self.fsync, ..Options::default() })?;
                file.write(bytes)?;
                file.commit()?;
            }
            None if self.fsync => sys::fsync(&self.dir_file).map_err(|e| Error::from_io(e, "fsync", &self.root))?,
            None => {}
        }
        let existing = check_replaceable(&self.parent, &self.target.name, &target_path, self.replace_any)?;
        let mode = existing.map(|s| s.mode).unwrap_or(0o777 & !sys::umask());
        sys::fchmod(&self.dir_file, mode).map_err(|e| Error::from_io(e, "fchmod", &self.root))?;

        let pending = self.fsync.then(|| dir_sync::before_rename(&self.parent));
        // The rename itself cannot be misled (it goes from `outer`'s descriptor), but a
        // staging directory someone swapped is an attack, and the dataset is refused.
        self.check_in_place()?;
        let old = match existing {
            None => match self.publish_new() {
                Ok(()) => None,
                // Someone else published first: swap with theirs, if it is a dataset.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    check_replaceable(&self.parent, &self.target.name, &target_path, self.replace_any)?;
                    Some(self.exchange()?)
                }
                Err(e) => return Err(self.rename_error(e)),
            },
            Some(_) => Some(self.exchange()?),
        };
        if let Some(pending) = pending {
            pending.renamed(&self.parent).map_err(|e| Error::from_io(e, "fsync", &self.parent.path))?;
        }
        // Published. The old version goes with the staging directory (or from its
        // aside name); a failure leaves dot-named debris that `sweep` removes.
        if let Some(Old::Aside(aside)) = old {
            set_aside::remove(&self.parent, &aside);
        }
        self.cleanup();
        Ok(())
    }

    /// Removes the staging directory and everything in it; the target is untouched.
    pub fn abort(mut self) {
        self.cleanup();
    }

    /// Fails unless the staging directory's name in the parent still refers to the
    /// directory we made (`ESTALE`: someone renamed it away and put something else
    /// there).
    fn check_in_place(&self) -> Result<()> {
        let path = self.parent.path.join(&self.name);
        let found = self.parent.lstat_entry(&self.name).map_err(|e| Error::from_io(e, "stat", &path))?;
        match found {
            Some(info) if info.kind == FileKind::Dir && info.id == self.outer_id => Ok(()),
            _ => Err(Error::new(STALE, "rename", Some(&self.root))),
        }
    }

    /// Renames the dataset directory to a target that does not exist yet. Where the
    /// filesystem has no `RENAME_NOREPLACE` (NFS, CIFS, FUSE answer EINVAL), a plain
    /// rename is still create-only for a directory target: it fails unless the target
    /// is missing or an empty directory.
    fn publish_new(&self) -> io::Result<()> {
        let name = &self.target.name;
        match self.outer.rename_into(name, &self.parent, name, RenameHow::NoReplace) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
                match self.outer.rename_into(name, &self.parent, name, RenameHow::Replace) {
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Swaps the dataset directory with the existing target.
    fn exchange(&self) -> Result<Old> {
        let name = &self.target.name;
        // Linux: renameat2(RENAME_EXCHANGE); macOS: renameatx_np(RENAME_SWAP). EACCES:
        // the old version cannot move to another directory (its `..` changes, which
        // needs write permission on it), but it can be set aside in its own.
        match self.swap() {
            Ok(()) => return Ok(Old::InOuter),
            Err(e)
                if !(e.kind() == io::ErrorKind::Unsupported
                    || e.raw_os_error().is_some_and(|c| [libc::EINVAL, libc::ENOSYS, libc::EOPNOTSUPP, libc::ENOTSUP, libc::EACCES].contains(&c))) =>
            {
                return Err(self.rename_error(e));
            }
            Err(_) => {}
        }
        // No atomic swap on this filesystem: the old version is set aside (set_aside.rs).
        let put_in = || self.outer.rename_into(name, &self.parent, name, RenameHow::Replace);
        let aside = set_aside::replace(&self.parent, name, put_in).map_err(|e| self.rename_error(e))?;
        Ok(Old::Aside(aside))
    }

    fn swap(&self) -> io::Result<()> {
        #[cfg(all(test, unix))]
        if tests::NO_SWAP.with(|no| no.get()) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let name = &self.target.name;
        self.outer.rename_into(name, &self.parent, name, RenameHow::Exchange)
    }

    fn rename_error(&self, e: io::Error) -> Error {
        Error::from_io(e, "rename", &self.root).with_dest(&self.target.path())
    }

    /// Empties the staging directory through its descriptor, wherever it is now (the
    /// unpublished dataset, or the version a publish replaced), and removes its name
    /// only while that still refers to it (rmdir removes only an empty one anyway).
    fn cleanup(&mut self) {
        if !self.cleaned {
            self.cleaned = true;
            let _ = empty_dir(&self.outer);
            if self.check_in_place().is_ok() {
                let _ = self.parent.rmdir(&self.name);
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Opens the staging directory just made at `name` and checks that it is still the
/// one we made (private, ours, empty): the descriptor, its identity and the in-use
/// mark are taken before anything is written into it.
fn open_new_staging(parent: &Dir, name: &OsStr) -> io::Result<(Dir, (u64, u64), File)> {
    let dir = parent.open_dir(name)?;
    let handle = parent.open_existing(name)?;
    let id = dir.id()?;
    let info = sys::EntryInfo::of(&handle.metadata()?);
    let private = !cfg!(unix) || (info.mode & 0o777 == STAGING_MODE && info.uid == sys::effective_ids().0);
    if info.id != id || !private || !dir.names()?.is_empty() {
        return Err(io::Error::from_raw_os_error(STALE));
    }
    sys::mark_in_use(&handle)?;
    Ok((dir, id, handle))
}

/// What may be at a dataset's target: nothing, or a directory that is a dataset (it
/// holds a regular `_SUCCESS`, or is empty) unless `replace_any`. A file is never
/// replaced (`ENOTDIR`); any other directory is `ENOTEMPTY`, as rename(2) says for a
/// non-empty directory. Returns what is there.
fn check_replaceable(parent: &Dir, name: &OsStr, path: &Path, replace_any: bool) -> Result<Option<sys::EntryInfo>> {
    let Some(info) = parent.lstat_entry(name).map_err(|e| Error::from_io(e, "stat", path))? else {
        return Ok(None);
    };
    if info.kind != FileKind::Dir {
        // Never replace a file (or a link, or a FIFO) with a dataset: it is not ours.
        return Err(Error::new(libc::ENOTDIR, "rename", Some(path)));
    }
    if !replace_any {
        let dir = parent.open_dir(name).map_err(|e| Error::from_io(e, "open", path))?;
        if !is_dataset(&dir).map_err(|e| Error::from_io(e, "scandir", path))? {
            return Err(Error::new(libc::ENOTEMPTY, "rename", Some(path)));
        }
    }
    Ok(Some(info))
}

/// A directory a dataset may replace (or `sweep` remove): it holds a regular
/// `_SUCCESS`, or nothing at all.
pub(crate) fn is_dataset(dir: &Dir) -> io::Result<bool> {
    if let Some(info) = dir.lstat_entry(OsStr::new(MARKER))? {
        if info.kind == FileKind::File {
            return Ok(true);
        }
    }
    Ok(dir.names()?.is_empty())
}

/// Removes `name` in `parent` and everything below it, through directory
/// descriptors: no link is followed and nothing is looked up by path, so renaming a
/// directory on the way cannot make it delete anything else.
pub(crate) fn remove_tree(parent: &Dir, name: &OsStr) -> io::Result<()> {
    match parent.lstat_entry(name)? {
        None => Ok(()),
        Some(info) if info.kind == FileKind::Dir => {
            let dir = parent.open_dir(name)?;
            empty_dir(&dir)?;
            ignore_missing(parent.rmdir(name))
        }
        Some(_) => ignore_missing(parent.unlink(name)),
    }
}

/// Removes everything in `dir` (through its descriptor), leaving it empty.
pub(crate) fn empty_dir(dir: &Dir) -> io::Result<()> {
    for name in dir.names()? {
        remove_tree(dir, &name)?;
    }
    Ok(())
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A part name as a relative path that stays inside the dataset, or `None`.
fn relative(name: &str) -> Option<&Path> {
    let path = Path::new(name);
    let inside = part_name_problem(name).is_none() && path.components().all(|c| matches!(c, Component::Normal(_)));
    inside.then_some(path)
}

/// Why `name` cannot name a part of a dataset, or `None` when it can. A part name is
/// relative and `/`-separated on every OS (a manifest written on one is read on
/// another), never leaves the dataset, and no segment has a temp's shape (sweep would
/// remove it). The one statement of the rule: the binding asks it for `stage.write`'s
/// argument and for the names a manifest lists, and `open_part` holds to it.
pub fn part_name_problem(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.contains('\0') {
        return Some("it contains a null byte");
    }
    if name.contains('\\') {
        return Some("use \"/\" to separate directories");
    }
    if name.starts_with('/') || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':') {
        return Some("absolute paths are not allowed");
    }
    for segment in name.split('/') {
        if segment == ".." {
            return Some("\"..\" would leave the dataset");
        }
        if segment.is_empty() || segment == "." {
            return Some("empty and \".\" segments are not allowed");
        }
        if is_temp_name(OsStr::new(segment)) {
            return Some("names shaped like atomicwriter temps are reserved");
        }
    }
    None
}

/// The staging tree: every directory below the root (relative, `/`-separated) and
/// every regular file as (its directory's index, or `None` for the root; its name
/// there; its dataset name). Only names are kept, so a dataset with many thousands of
/// directories never holds a descriptor for each; each is opened again from the root
/// when it is used, through descriptors, no link followed.
struct Tree {
    dirs: Vec<String>,
    files: Vec<(Option<usize>, OsString, String)>,
}

impl Tree {
    /// Collects the regular files and directories below `dir` (links are not
    /// followed, and temps of unfinished writes are skipped).
    fn walk(&mut self, dir: &Dir, at: Option<usize>) -> std::result::Result<(), (io::Error, PathBuf)> {
        let names = dir.names().map_err(|e| (e, dir.path.clone()))?;
        for os_name in names {
            if is_temp_name(&os_name) {
                continue;
            }
            let fail = |e| (e, dir.path.join(&os_name));
            let Some(info) = dir.lstat_entry(&os_name).map_err(fail)? else {
                continue;
            };
            let name = match at {
                Some(i) => format!("{}/{}", self.dirs[i], os_name.to_string_lossy()),
                None => os_name.to_string_lossy().into_owned(),
            };
            match info.kind {
                FileKind::Dir => {
                    let sub = dir.open_dir(&os_name).map_err(fail)?;
                    self.dirs.push(name);
                    self.walk(&sub, Some(self.dirs.len() - 1))?;
                }
                FileKind::File => self.files.push((at, os_name, name)),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Opens `rel` (`/`-separated, below `root`; `None`: the root) one component at a
/// time, no link followed.
fn open_below(root: &Dir, rel: Option<&str>) -> Result<Dir> {
    let path = root.path.join(rel.unwrap_or(""));
    let open = || -> io::Result<Dir> {
        let mut dir = root.try_clone()?;
        for component in rel.into_iter().flat_map(|r| r.split('/')) {
            dir = dir.open_dir(OsStr::new(component))?;
        }
        Ok(dir)
    };
    open().map_err(|e| Error::from_io(e, "open", &path))
}

fn seal_file(dir: &Dir, file_name: &OsStr, name: &str, checksum: bool, fsync: bool) -> Result<Entry> {
    let path = &dir.path.join(file_name);
    let err = |syscall: &'static str| move |e: io::Error| Error::from_io(e, syscall, path);
    #[cfg(unix)]
    let file = dir.open_read(file_name).map_err(err("open"))?;
    // Windows flushes only handles opened for writing.
    #[cfg(not(unix))]
    let file = dir.open_existing(file_name).map_err(err("open"))?;
    let meta = file.metadata().map_err(err("stat"))?;
    if !meta.is_file() {
        // Replaced by something else since the walk: never read a FIFO or a device.
        return Err(Error::new(libc::EINVAL, "open", Some(path)));
    }
    let (bytes, crc32c) = if checksum {
        let digest = digest_reader(&file).map_err(err("read"))?;
        (digest.bytes, Some(digest.crc32c))
    } else {
        (meta.len(), None)
    };
    if fsync {
        sys::fdatasync(&file).map_err(err("fdatasync"))?;
    }
    Ok(Entry { name: name.to_string(), bytes, crc32c })
}

/// Platform-neutral: run on every OS (the Windows build under Wine in CI).
#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn part_names_are_relative_slash_separated_and_never_temps() {
        for ok in ["part-0.csv", "year=2024/part-0.csv", "a/b/c", "_SUCCESS", ".hidden", "a..b"] {
            assert_eq!(part_name_problem(ok), None, "{ok}");
        }
        let refused = [
            ("", "it is empty"),
            ("a\0b", "it contains a null byte"),
            ("a\\b", "use \"/\" to separate directories"),
            ("/etc/passwd", "absolute paths are not allowed"),
            ("C:x", "absolute paths are not allowed"),
            ("a/../../b", "\"..\" would leave the dataset"),
            ("..", "\"..\" would leave the dataset"),
            ("a//b", "empty and \".\" segments are not allowed"),
            ("a/./b", "empty and \".\" segments are not allowed"),
            ("a/", "empty and \".\" segments are not allowed"),
            ("d/.p.aw0123456789abcdef.tmp", "names shaped like atomicwriter temps are reserved"),
        ];
        for (name, why) in refused {
            assert_eq!(part_name_problem(name), Some(why), "{name:?}");
            assert!(relative(name).is_none(), "{name:?}");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::checksum::crc32c;
    use crate::target::resolve;
    use crate::test_support::TempDir;
    use std::os::unix::fs::PermissionsExt;

    use crate::test_support::entries as names;

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
        std::fs::write(aside.join(MARKER), b"{}").unwrap();
        assert_eq!(sweep(tmp.path(), Duration::ZERO, false).unwrap(), vec![aside.clone()]);
        assert_eq!(names(tmp.path()), vec!["ds"]);
        assert_eq!(std::fs::read(target.join("a.csv")).unwrap(), b"v2");
    }

    fn part(staging: &Staging, name: &str, data: &[u8]) {
        let mut f = staging.open_part(name, &Options::default()).unwrap();
        f.write(data).unwrap();
        f.commit().unwrap();
    }

    fn durable() -> DatasetOptions {
        DatasetOptions { fsync: true, mkdir: true, replace_any: false }
    }

    #[test]
    fn publishes_new_then_replaces_whole() {
        let tmp = TempDir::new();
        let target = tmp.path().join("out/ds");
        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
        // out/.ds.aw<hex>.tmp/ds: the dataset directory inside a private staging directory.
        assert_eq!(s.path().file_name().unwrap(), "ds");
        let staging = s.path().parent().unwrap();
        assert!(is_temp_name(staging.file_name().unwrap()), "{staging:?}");
        for dir in [staging, s.path()] {
            assert_eq!(std::fs::metadata(dir).unwrap().permissions().mode() & 0o777, 0o700);
        }
        part(&s, "a.csv", b"1,2\n");
        part(&s, "year=2024/b.csv", b"3,4\n");
        let entries = s.seal(&HashSet::from(["year=2024/b.csv".to_string()])).unwrap();
        assert_eq!(
            entries,
            vec![Entry { name: "a.csv".into(), bytes: 4, crc32c: Some(crc32c(b"1,2\n")) }, Entry { name: "year=2024/b.csv".into(), bytes: 4, crc32c: None },]
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
        std::fs::write(target.join(MARKER), b"").unwrap();
        let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
        part(&s, "new", b"new");
        s.abort();
        {
            let s = Staging::create(resolve(&target).unwrap(), &durable()).unwrap();
            part(&s, "new", b"new");
        }
        assert_eq!(names(tmp.path()), vec!["ds"]);
        assert_eq!(names(&target), vec!["_SUCCESS", "old"]);
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
