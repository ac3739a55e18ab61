//! One atomic write: a temp file in the target's directory that is either published
//! whole under the target's name or removed. This is the only write path; every
//! feature of the package (buffers, streams, JSON, formats, datasets) goes through it.
//!
//! Guarantees, once `commit` returns `Ok` (with `fsync` on): readers see the old
//! content or the new, never a mix; the new content and its name survive power loss.
//! If anything fails before the publish, or the `AtomicFile` is dropped uncommitted,
//! the target is untouched and the temp is gone.

use crate::checksum::Crc32c;
use crate::dir_sync;
use crate::durability::{self, Durability, Filesystem};
use crate::error::{Error, Result};
use crate::regular;
use crate::sys::{self, Dir};
use crate::target::Target;
use crate::temp_name::new_temp_name;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// How one atomic write publishes its file; the default is a write without syncs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Permission bits of the published file; default: the existing file's, else
    /// `0o666 & !umask`.
    pub mode: Option<u32>,
    /// Owner of the published file; default: the existing file's.
    pub owner: Option<(u32, u32)>,
    /// With no `owner`, leave the file to the writer instead of carrying the existing
    /// file's owner over (write-file-atomic's `chown: false`).
    pub writer_owns: bool,
    /// Sync data before the rename and the directory after it.
    pub fsync: bool,
    /// With `fsync`: sync the data only, not the directory after the rename (the
    /// `Data` level of [`crate::durability::Durability`]).
    pub data_only: bool,
    /// Create-only: fail with EEXIST instead of replacing.
    pub exclusive: bool,
    /// Create missing parent directories (and sync them).
    pub mkdir: bool,
    /// Windows: how long the publish keeps retrying while another process holds the
    /// target open (a sharing violation, or access denied by a handle without delete
    /// sharing: npm/write-file-atomic#28). `None`: [`sys::DEFAULT_BUSY_TIMEOUT`];
    /// zero: one attempt. A real permission error is never retried. No effect
    /// elsewhere: a POSIX rename does not fail that way.
    pub busy_timeout: Option<std::time::Duration>,
    /// Use a named temp even where an anonymous one is possible, because the caller
    /// needs a path (to hand to a library, or to `tmpfileCreated`).
    pub named_temp: bool,
}

impl Options {
    /// The options of a durable write: data synced before the rename, the directory after.
    pub fn durable() -> Options {
        Options { fsync: true, ..Options::default() }
    }

    /// The [`Durability`] level these options ask for.
    pub fn durability(&self) -> Durability {
        match (self.fsync, self.data_only) {
            (false, _) => Durability::None,
            (true, true) => Durability::Data,
            (true, false) => Durability::Full,
        }
    }
}

enum Temp {
    /// `O_TMPFILE`: invisible until linked, nothing to clean up after a crash.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Anonymous,
    Named(OsString),
}

/// One file being written: a temp in the target's directory, published whole by
/// [`AtomicFile::commit`], removed by [`AtomicFile::abort`] or when dropped.
pub struct AtomicFile {
    target: Target,
    dir: Dir,
    file: Option<File>,
    temp: Temp,
    mode: u32,
    owner: Option<(u32, u32)>,
    fsync: bool,
    /// The directory is synced after the rename (`Durability::Full`).
    sync_dir: bool,
    /// The temp's filesystem, looked at once when it was opened (only for a durable
    /// write: nothing else depends on it).
    fs: Filesystem,
    exclusive: bool,
    busy_timeout: std::time::Duration,
    finished: bool,
    /// Bytes written through `write`, and their CRC32C once `track_checksum` was called.
    written: u64,
    crc: Option<Crc32c>,
    /// Size of the file being replaced (0 when there is none).
    replaced_size: u64,
    /// The first failed write: the temp's content is then unknown (a short write may
    /// have landed part of a chunk), so it can never be committed.
    failed: Option<Error>,
}

const TEMP_MODE: u32 = 0o600;
/// Replacing a file at least this large frees its blocks (with `discard`, the disk is
/// told synchronously) inside the rename unless the old inode is kept open across it.
const DEFER_FREE_AT: u64 = 1 << 20;
/// Slice of a large durable write after which writeback is started. 1 MiB, not 8: a
/// C loop writing 512 MiB from one buffer in 8 MiB slices (each followed by
/// sync_file_range WRITE) used 224-901 ms of CPU in five runs here, in 1 MiB slices
/// 162-171 ms, and was faster (bench/notes/perf.md).
const WRITEBACK_SLICE: usize = 1 << 20;
const NAME_ATTEMPTS: usize = 16;

impl AtomicFile {
    /// Opens the temp for `target` (already resolved, see [`crate::target::resolve`]).
    pub fn create(target: Target, opts: &Options) -> Result<AtomicFile> {
        let target_path = target.path();
        let open_err = |e: io::Error| Error::from_io(e, "open", &target_path);
        let dir = match Dir::open(&target.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && opts.mkdir => {
                mkdir_durable(&target.dir)?;
                Dir::open(&target.dir).map_err(open_err)?
            }
            other => other.map_err(open_err)?,
        };
        Self::create_in(dir, target.name, opts)
    }

    /// Opens the temp for `name` inside `dir`, an open directory: nothing on the way to
    /// it is looked up by path again (dataset parts are written this way, relative to
    /// the staging directory's descriptor). `opts.mkdir` has no effect here.
    pub fn create_in(dir: Dir, name: OsString, opts: &Options) -> Result<AtomicFile> {
        let target = Target { dir: dir.path.clone(), name };
        let target_path = target.path();
        let open_err = |e: io::Error| Error::from_io(e, "open", &target_path);
        // The name itself, not through a link: resolution followed every link already,
        // so a link here appeared since, and is not what the caller named.
        let existing = dir.stat_entry_nofollow(&target.name).map_err(open_err)?;
        if let Some(stat) = &existing {
            refuse_unless_regular(stat, &target_path, "open")?;
        }
        let mode = opts.mode.or(existing.map(|s| kept_setid_bits(s.mode, s.gid))).unwrap_or_else(|| 0o666 & !sys::umask());
        let owner = opts.owner.or_else(|| {
            let stat = existing.filter(|_| !opts.writer_owns)?;
            (stat.uid, stat.gid).ne(&sys::effective_ids()).then_some((stat.uid, stat.gid))
        });

        // One look at the filesystem serves the temp's kind here and the data sync at
        // commit (durability::Filesystem).
        let fs = if opts.fsync { Filesystem::of_dir(&dir) } else { Filesystem::Other };
        // btrfs persists an `O_TMPFILE` file's data only once it has a name, so a durable
        // anonymous temp there needs a second sync after the link (syncing only after
        // the rename tore a file to 0 bytes in 1 of 106 OS crashes). A named temp needs
        // one: 1 KiB durable overwrites on a btrfs loop device made 1.3-2x the writes/s
        // with a named temp (bench/notes/perf.md).
        let named = opts.named_temp || (opts.fsync && fs.wants_named_temp());
        let (file, temp) = create_temp(&dir, &target, named).map_err(open_err)?;
        let atomic = AtomicFile {
            target,
            dir,
            file: Some(file),
            temp,
            mode,
            owner,
            fsync: opts.fsync,
            sync_dir: opts.durability() == Durability::Full,
            fs,
            exclusive: opts.exclusive,
            busy_timeout: opts.busy_timeout.unwrap_or(sys::DEFAULT_BUSY_TIMEOUT),
            finished: false,
            written: 0,
            crc: None,
            replaced_size: existing.map_or(0, |s| s.size),
            failed: None,
        };
        // The temp stays 0600 and ours while it is written; owner and mode go on at
        // commit, on the fd, before the data sync and the rename.
        Ok(atomic)
    }

    /// The path the file is published at.
    pub fn target_path(&self) -> PathBuf {
        self.target.path()
    }

    /// The temp's path, for named temps.
    pub fn temp_path(&self) -> Option<PathBuf> {
        match &self.temp {
            Temp::Named(name) => Some(self.dir.path.join(name)),
            Temp::Anonymous => None,
        }
    }

    /// Writes all of `buf` to the temp (retrying short writes).
    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.write_slices(buf);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            // A temp that failed can never be committed: its name goes now, not when the
            // caller gets round to aborting, and with it the space it holds (ENOSPC,
            // EDQUOT) once the descriptor closes. An anonymous temp has no name to leave.
            self.remove_temp_name();
        }
        result
    }

    fn write_slices(&mut self, buf: &[u8]) -> Result<()> {
        let file = self.file.as_ref().ok_or_else(|| self.closed_error("write"))?;
        // A durable write of many megabytes is written in slices, and the disk is asked
        // to start on each slice as soon as it is in the page cache: the copy and the
        // device work overlap, so the final fdatasync has little left to wait for
        // (512 MiB in one write(2) then fdatasync took 0.14 s + 0.5 s here).
        let slice = if self.fsync && buf.len() > WRITEBACK_SLICE { WRITEBACK_SLICE } else { buf.len().max(1) };
        for part in buf.chunks(slice) {
            sys::write_all(file, part).map_err(|e| Error::from_io(e, "write", &self.target.path()))?;
            // Not for a file's first slice: a 1 MiB file is synced right after anyway.
            if self.fsync && part.len() >= WRITEBACK_SLICE && self.written > 0 {
                sys::start_writeback(file, self.written, part.len() as u64);
            }
            self.written += part.len() as u64;
        }
        if let Some(crc) = &mut self.crc {
            crc.update(buf);
        }
        Ok(())
    }

    /// Computes a CRC32C of everything written from now on (for `_SUCCESS` manifests),
    /// so a large file never has to be read back. Call it before the first write.
    pub fn track_checksum(&mut self) {
        if self.written == 0 {
            self.crc.get_or_insert_with(Crc32c::new);
        }
    }

    /// Bytes written so far, and their CRC32C if tracked from the first byte.
    pub fn digest(&self) -> (u64, Option<u32>) {
        (self.written, self.crc.map(|c| c.value()))
    }

    /// Syncs and publishes what was written through [`AtomicFile::write`].
    pub fn commit(self) -> Result<()> {
        self.commit_then(|| {})
    }

    /// [`AtomicFile::commit`] that calls `published` once the new content is synced and
    /// visible under the target's name, before the directory sync that makes the name
    /// durable. A caller holding a lock releases it there: the next holder already
    /// reads the new content, and its work overlaps this sync. Not called on failure.
    pub fn commit_then(mut self, published: impl FnOnce()) -> Result<()> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        let file = self.file.take().ok_or_else(|| self.closed_error("rename"))?;
        self.sync_and_publish(file, published)
    }

    /// Publishes a temp that someone else wrote through its path (a library that only
    /// writes to a path). The file now at the temp's name is reopened without following
    /// links, given the owner and mode again (a library may have recreated it), synced
    /// and published.
    pub fn commit_external(mut self) -> Result<()> {
        // Our own fd carries the in-use mark that keeps `sweep` away from the name
        // until the publish; it is closed when `self` is.
        let _marked = self.file.take();
        let Temp::Named(name) = &self.temp else {
            // An anonymous temp has no name anyone could have written through.
            return Err(Error::new(libc::EINVAL, "rename", Some(&self.target.path())));
        };
        let path = self.dir.path.join(name);
        let file = self.dir.open_existing(name).map_err(|e| Error::from_io(e, "open", &path))?;
        let is_file = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if !is_file {
            return Err(Error::new(libc::EINVAL, "open", Some(&path)));
        }
        self.sync_and_publish(file, || {})
    }

    /// Removes the temp; the target is untouched.
    pub fn abort(mut self) {
        self.cleanup();
    }

    fn sync_and_publish(&mut self, file: File, published: impl FnOnce()) -> Result<()> {
        let target_path = self.target.path();
        self.apply_owner_and_mode(&file)?;
        if self.sync_dir && self.fs.one_flush(&file) {
            // The directory fsync after the rename flushes the data with the journal
            // commit that makes the name durable (see crate::durability).
            durability::write_and_wait(&file).map_err(|e| Error::from_io(e, "sync_file_range", &target_path))?;
        } else if self.fsync {
            // A write that grew the file makes fdatasync write the whole inode (mode and
            // owner included); with nothing written through us (an empty file, or one a
            // library wrote by path) only fsync is sure to.
            if self.written > 0 {
                sys::fdatasync(&file).map_err(|e| Error::from_io(e, "fdatasync", &target_path))?;
            } else {
                sys::fsync(&file).map_err(|e| Error::from_io(e, "fsync", &target_path))?;
            }
        }
        let replaced = self.hold_replaced_file();
        let dir_sync = self.sync_dir.then(|| dir_sync::before_rename(&self.dir));
        self.publish(&file)?;
        self.finished = true;
        if let Temp::Named(name) = &self.temp {
            crate::temp_registry::forget(&self.dir.path.join(name));
        }
        drop(file);
        published();
        if let Some(pending) = dir_sync {
            pending.renamed(&self.dir).map_err(|e| Error::from_io(e, "fsync", &self.dir.path))?;
        }
        if let Some(old) = replaced {
            crate::pool::spawn(move || drop(old));
        }
        Ok(())
    }

    /// Keeps the file being replaced open across the rename, so that freeing its blocks
    /// happens when a worker closes it after the commit, not inside the rename where it
    /// delays the caller (a 512 MiB file took 0.25 s to free here). Unix only: on
    /// Windows an open handle would make the replace fail.
    fn hold_replaced_file(&self) -> Option<File> {
        if !cfg!(unix) || self.replaced_size < DEFER_FREE_AT {
            return None;
        }
        self.dir.open_existing(&self.target.name).ok()
    }

    fn publish(&mut self, file: &File) -> Result<()> {
        let target_path = self.target.path();
        match &self.temp {
            Temp::Named(tmp) => {
                let result = if self.exclusive {
                    self.dir.rename_noreplace(tmp, &self.target.name)
                } else {
                    self.dir.rename_retrying(tmp, &self.target.name, self.busy_timeout)
                };
                result.map_err(|e| rename_error(e, &self.dir.path.join(tmp), &target_path))
            }
            Temp::Anonymous => {
                #[cfg(target_os = "linux")]
                {
                    if self.exclusive {
                        return self.dir.link_anonymous(file, &self.target.name).map_err(|e| Error::from_io(e, "link", &target_path));
                    }
                    // linkat cannot replace, so link under a temp name and rename that.
                    let tmp = new_temp_name(&self.target.name);
                    self.dir.link_anonymous(file, &tmp).map_err(|e| Error::from_io(e, "link", &target_path))?;
                    self.temp = Temp::Named(tmp.clone());
                    crate::temp_registry::add(self.dir.path.join(&tmp));
                    self.dir.rename(&tmp, &self.target.name).map_err(|e| rename_error(e, &self.dir.path.join(&tmp), &target_path))
                }
                #[cfg(not(target_os = "linux"))]
                {
                    let _ = file;
                    unreachable!("anonymous temps exist only on Linux")
                }
            }
        }
    }

    fn apply_owner_and_mode(&self, file: &File) -> Result<()> {
        let target_path = self.target.path();
        if let Some((uid, gid)) = self.owner {
            if let Err(e) = sys::fchown(file, uid, gid) {
                if !chown_error_is_ok(&e) {
                    return Err(Error::from_io(e, "fchown", &target_path));
                }
            }
        }
        sys::fchmod(file, self.mode).map_err(|e| Error::from_io(e, "fchmod", &target_path))
    }

    fn closed_error(&self, syscall: &'static str) -> Error {
        Error { path: Some(self.target.path()), ..Error::closed(syscall) }
    }

    fn cleanup(&mut self) {
        self.file.take();
        self.remove_temp_name();
    }

    fn remove_temp_name(&mut self) {
        if !self.finished {
            self.finished = true;
            if let Temp::Named(name) = &self.temp {
                let _ = self.dir.unlink(name);
                crate::temp_registry::forget(&self.dir.path.join(name));
            }
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A directory, link or special file where a regular file is to be replaced or removed
/// is refused: a FIFO, socket or device is someone's channel, not content of ours.
fn refuse_unless_regular(stat: &sys::EntryStat, target_path: &Path, syscall: &'static str) -> Result<()> {
    if stat.is_dir {
        return Err(Error::new(libc::EISDIR, syscall, Some(target_path)));
    }
    if !stat.is_file {
        let found = std::fs::symlink_metadata(target_path).map_or("not a regular file", |m| regular::describe(&m));
        return Err(regular::not_regular(target_path, syscall, found, "atomicwriter replaces only regular files and left it as it is"));
    }
    Ok(())
}

/// Fails unless `target` is missing or a regular file. A create-only marked write
/// checks its `_SUCCESS` this way before its commit (it removes nothing): a FIFO there
/// refuses the whole write before anything is published.
pub fn check_regular(target: &Target) -> Result<()> {
    let target_path = target.path();
    let dir = Dir::open(&target.dir).map_err(|e| Error::from_io(e, "open", &target_path))?;
    match dir.stat_entry_nofollow(&target.name) {
        Ok(Some(stat)) => refuse_unless_regular(&stat, &target_path, "open"),
        Ok(None) => Ok(()),
        Err(e) => Err(Error::from_io(e, "stat", &target_path)),
    }
}

/// Removes `target` if present and (with `fsync`) syncs its directory, so that the
/// removal is durable before anything published after it. Used to retire a stale
/// `_SUCCESS` marker before the file it described is replaced. Only a regular file is
/// removed: the new marker would take the place of anything else, which the write
/// path itself refuses, so removing it first would let that replace happen.
pub fn remove_durable(target: &Target, fsync: bool) -> Result<()> {
    let target_path = target.path();
    let dir = Dir::open(&target.dir).map_err(|e| Error::from_io(e, "open", &target_path))?;
    match dir.stat_entry_nofollow(&target.name) {
        Ok(Some(stat)) => refuse_unless_regular(&stat, &target_path, "unlink")?,
        Ok(None) => return Ok(()),
        Err(e) => return Err(Error::from_io(e, "stat", &target_path)),
    }
    match dir.unlink(&target.name) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from_io(e, "unlink", &target_path)),
    }
    if fsync {
        dir.sync().map_err(|e| Error::from_io(e, "fsync", &target.dir))?;
    }
    Ok(())
}

/// The whole protocol for data already in memory.
pub fn write_file(target: Target, data: &[u8], opts: &Options) -> Result<()> {
    let mut file = AtomicFile::create(target, opts)?;
    file.write(data)?;
    file.commit()
}

fn create_temp(dir: &Dir, target: &Target, named: bool) -> io::Result<(File, Temp)> {
    #[cfg(target_os = "linux")]
    if !named {
        if let Some(file) = dir.create_anonymous(TEMP_MODE)? {
            // No in-use mark: there is no name for `sweep` to find. The file gets one
            // only between the link and the rename at commit, and all that time this
            // process holds it open, which `sweep` checks on Linux, the one OS with
            // anonymous temps (and /proc, which linking one needs, is there).
            return Ok((file, Temp::Anonymous));
        }
    }
    let _ = named;
    let mut last = io::Error::from_raw_os_error(libc::EEXIST);
    for _ in 0..NAME_ATTEMPTS {
        let name = new_temp_name(&target.name);
        match dir.create_named(&name, TEMP_MODE) {
            Ok(file) => {
                if let Err(e) = sys::mark_in_use(&file) {
                    let _ = dir.unlink(&name);
                    return Err(e);
                }
                // Removed on exit if still here (see temp_registry).
                crate::temp_registry::add(dir.path.join(&name));
                return Ok((file, Temp::Named(name)));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn rename_error(e: io::Error, temp: &Path, target: &Path) -> Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        // Create-only publish lost to an existing file: the target is what matters.
        return Error::from_io(e, "rename", target);
    }
    Error::from_io(e, "rename", temp).with_dest(target)
}

/// The existing file's mode as an in-place write by this process would leave it (the
/// kernel's `setattr_should_drop_suidgid`): without `CAP_FSETID`, new content loses
/// S_ISUID, and S_ISGID when the file is group-executable or the writer is not in its
/// group. Carrying the bits over would hand a setuid program to whoever wrote it.
fn kept_setid_bits(mode: u32, gid: u32) -> u32 {
    const SUID: u32 = 0o4000;
    const SGID: u32 = 0o2000;
    if mode & (SUID | SGID) == 0 || sys::may_keep_setid() {
        return mode;
    }
    let mut kept = mode & !SUID;
    if kept & SGID != 0 && (kept & 0o010 != 0 || !sys::in_group(gid)) {
        kept &= !SGID;
    }
    kept
}

/// Like graceful-fs and write-file-atomic: a non-root process may fail to give a file
/// away, and a filesystem may not support owners at all.
fn chown_error_is_ok(e: &io::Error) -> bool {
    let errno = e.raw_os_error();
    if errno == Some(libc::ENOSYS) {
        return true;
    }
    let root = sys::effective_ids().0 == 0;
    !root && matches!(errno, Some(libc::EINVAL | libc::EPERM))
}

/// Creates `dir` and its missing parents, syncing each parent so the new entries
/// survive power loss along with the file written into them.
/// Creates `dir` and its missing parents, each made durable in its parent. A failure
/// names the directory that could not be made (`mkdir`), not the file that needed it.
pub(crate) fn mkdir_durable(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(parent) => cur = parent,
            None => break,
        }
    }
    for path in missing.iter().rev() {
        match std::fs::create_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::from_io(e, "mkdir", path)),
        }
        if let Some(parent) = path.parent() {
            Dir::open(parent).and_then(|d| d.sync()).map_err(|e| Error::from_io(e, "fsync", parent))?;
        }
    }
    Ok(())
}

// Run on every OS (Windows under Wine in CI); the ones that need POSIX modes, links
// or FIFOs say so.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::resolve;
    use crate::test_support::TempDir;
    #[cfg(unix)]
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_whole_and_leaves_no_temp() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        write_file(resolve(&path).unwrap(), b"new content", &Options::durable()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        assert_eq!(entries(tmp.path()), vec!["f"]);
    }

    #[cfg(unix)] // POSIX modes
    #[test]
    fn both_temp_kinds_publish() {
        for named in [false, true] {
            let tmp = TempDir::new();
            let path = tmp.path().join("f");
            let opts = Options { named_temp: named, ..Options::durable() };
            let mut f = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
            assert_eq!(f.temp_path().is_some(), named || !cfg!(target_os = "linux"));
            if let Some(p) = f.temp_path() {
                let meta = std::fs::metadata(&p).unwrap();
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "private while written");
            }
            f.write(b"a").unwrap();
            f.write(b"b").unwrap();
            f.commit().unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"ab");
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o666 & !sys::umask(), "mode applied at commit");
            assert_eq!(entries(tmp.path()), vec!["f"]);
        }
    }

    #[test]
    fn abort_and_drop_remove_the_temp() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let opts = Options { named_temp: true, ..Options::durable() };
        let mut f = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
        f.write(b"partial").unwrap();
        f.abort();
        {
            let mut f = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
            f.write(b"partial").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(tmp.path()), vec!["f"]);
    }

    #[cfg(unix)] // POSIX modes
    #[test]
    fn keeps_existing_mode_and_applies_given_mode() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_file(resolve(&path).unwrap(), b"x", &Options::durable()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        let opts = Options { mode: Some(0o604), ..Options::durable() };
        write_file(resolve(&path).unwrap(), b"x", &opts).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o604);
    }

    #[test]
    fn exclusive_fails_with_eexist_and_keeps_old() {
        for named in [false, true] {
            let tmp = TempDir::new();
            let path = tmp.path().join("f");
            std::fs::write(&path, b"old").unwrap();
            let opts = Options { exclusive: true, named_temp: named, ..Options::durable() };
            let err = write_file(resolve(&path).unwrap(), b"new", &opts).unwrap_err();
            assert_eq!(err.code(), "EEXIST");
            assert_eq!(err.path.as_deref(), Some(path.as_path()));
            assert_eq!(std::fs::read(&path).unwrap(), b"old");
            assert_eq!(entries(tmp.path()), vec!["f"]);
            let fresh = tmp.path().join("g");
            write_file(resolve(&fresh).unwrap(), b"new", &opts).unwrap();
            assert_eq!(std::fs::read(&fresh).unwrap(), b"new");
        }
    }

    #[test]
    fn missing_parent_is_enoent_unless_mkdir() {
        let tmp = TempDir::new();
        let path = tmp.path().join("a/b/f");
        let err = write_file(resolve(&path).unwrap(), b"x", &Options::durable()).unwrap_err();
        assert_eq!((err.code(), err.syscall), ("ENOENT", "open"));
        let opts = Options { mkdir: true, ..Options::durable() };
        write_file(resolve(&path).unwrap(), b"x", &opts).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }

    #[cfg(unix)] // a 300-byte name: Windows answers with its own error for that
    #[test]
    fn a_directory_that_mkdir_cannot_make_is_named_with_the_mkdir() {
        // The second missing directory has a name no filesystem takes: its mkdir fails
        // (even as root) after the first was made, and the error names that mkdir, not
        // the open of the target. (Resolution does not stat names under a missing one.)
        let tmp = TempDir::new();
        let dir = tmp.path().join("sub").join("x".repeat(300));
        let opts = Options { mkdir: true, ..Options::durable() };
        let err = write_file(resolve(&dir.join("f")).unwrap(), b"x", &opts).unwrap_err();
        assert_eq!((err.code(), err.syscall, err.path.as_deref()), ("ENAMETOOLONG", "mkdir", Some(dir.as_path())));
    }

    #[test]
    fn commit_external_of_an_anonymous_temp_is_einval_for_the_target() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        let f = AtomicFile::create(resolve(&path).unwrap(), &Options::durable()).unwrap();
        if f.temp_path().is_some() {
            return; // no O_TMPFILE here: every temp is named
        }
        let err = f.commit_external().unwrap_err();
        assert_eq!((err.code(), err.syscall, err.path.as_deref()), ("EINVAL", "rename", Some(path.as_path())));
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_write_can_never_be_committed() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let mut f = AtomicFile::create(resolve(&path).unwrap(), &Options::durable()).unwrap();
        f.write(b"part").unwrap();
        f.failed = Some(Error::new(libc::ENOSPC, "write", Some(&path)));
        assert_eq!(f.write(b"more").unwrap_err().code(), "ENOSPC");
        assert_eq!(f.commit().unwrap_err().code(), "ENOSPC");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(tmp.path()), vec!["f"]);
    }

    #[test]
    fn remove_durable_removes_and_tolerates_missing() {
        let tmp = TempDir::new();
        let path = tmp.path().join("_SUCCESS");
        std::fs::write(&path, b"{}").unwrap();
        remove_durable(&resolve(&path).unwrap(), true).unwrap();
        assert!(!path.exists());
        remove_durable(&resolve(&path).unwrap(), true).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn remove_durable_and_check_regular_refuse_a_fifo_and_leave_it() {
        use std::os::unix::fs::FileTypeExt;
        let tmp = TempDir::new();
        let path = tmp.path().join("_SUCCESS");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let target = resolve(&path).unwrap();
        for err in [remove_durable(&target, true).unwrap_err(), check_regular(&target).unwrap_err()] {
            assert_eq!(err.code(), "EINVAL");
            assert!(err.to_string().contains("is a FIFO, not a regular file"), "{err}");
        }
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_fifo());
        check_regular(&resolve(&tmp.path().join("missing")).unwrap()).unwrap();
    }

    #[test]
    fn directory_target_is_eisdir() {
        let tmp = TempDir::new();
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        let err = write_file(resolve(&tmp.path().join("d")).unwrap(), b"x", &Options::durable()).unwrap_err();
        assert_eq!(err.code(), "EISDIR");
    }

    #[cfg(unix)] // symlinks
    #[test]
    fn writes_through_symlinks() {
        let tmp = TempDir::new();
        std::fs::write(tmp.path().join("real"), b"old").unwrap();
        std::os::unix::fs::symlink("real", tmp.path().join("link")).unwrap();
        std::os::unix::fs::symlink("created", tmp.path().join("dangling")).unwrap();
        write_file(resolve(&tmp.path().join("link")).unwrap(), b"new", &Options::durable()).unwrap();
        write_file(resolve(&tmp.path().join("dangling")).unwrap(), b"made", &Options::durable()).unwrap();
        assert!(std::fs::symlink_metadata(tmp.path().join("link")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(tmp.path().join("real")).unwrap(), b"new");
        assert_eq!(std::fs::read(tmp.path().join("created")).unwrap(), b"made");
    }

    #[cfg(unix)] // POSIX modes
    #[test]
    fn commit_external_publishes_a_recreated_temp() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        let opts = Options { named_temp: true, mode: Some(0o644), ..Options::durable() };
        let f = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
        let temp = f.temp_path().unwrap();
        std::fs::remove_file(&temp).unwrap();
        std::fs::write(&temp, b"by a library").unwrap();
        f.commit_external().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"by a library");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        assert_eq!(entries(tmp.path()), vec!["f"]);
    }

    #[cfg(unix)] // symlinks
    #[test]
    fn commit_external_refuses_a_symlink_at_the_temp() {
        let tmp = TempDir::new();
        let path = tmp.path().join("f");
        std::fs::write(tmp.path().join("secret"), b"s").unwrap();
        let opts = Options { named_temp: true, ..Options::durable() };
        let f = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
        let temp = f.temp_path().unwrap();
        std::fs::remove_file(&temp).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), &temp).unwrap();
        assert_eq!(f.commit_external().unwrap_err().code(), "ELOOP");
        assert!(!path.exists());
    }

    #[test]
    fn large_writes_loop_until_done() {
        let tmp = TempDir::new();
        let path = tmp.path().join("big");
        let data: Vec<u8> = (0..(64 << 20)).map(|i: u32| (i % 251) as u8).collect();
        write_file(resolve(&path).unwrap(), &data, &Options::default()).unwrap();
        assert!(std::fs::read(&path).unwrap() == data);
    }
}
