//! The Unix syscall layer: every name is resolved relative to a directory fd, so a
//! write cannot be redirected by renaming or replacing a directory on the path while
//! it runs. Linux adds `O_TMPFILE`, `renameat2` and `linkat` through `/proc/self/fd`;
//! macOS adds `renameatx_np` (`RENAME_EXCL`, `RENAME_SWAP`) and `F_FULLFSYNC`.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{path_key, DirKey, EntryInfo, EntryStat, FileKind};

/// A POSIX rename never fails because a reader holds the target open (that is a
/// Windows failure): there is nothing to retry.
pub(crate) const DEFAULT_BUSY_TIMEOUT: Duration = Duration::ZERO;

pub struct Dir {
    fd: OwnedFd,
    pub path: PathBuf,
}

// mode_t and the stat fields differ in width between Unixes: the casts are needed elsewhere.
#[allow(clippy::unnecessary_cast)]
fn entry_stat(st: &libc::stat) -> EntryStat {
    EntryStat {
        mode: st.st_mode as u32 & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        is_dir: st.st_mode & libc::S_IFMT == libc::S_IFDIR,
        is_file: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        size: st.st_size as u64,
    }
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `renameat2` through syscall(2), not glibc's wrapper: the wrapper (and `getrandom`'s, in
/// `fill_random`) only arrived in glibc 2.28 (2.25), while the published Linux binaries are
/// linked against glibc 2.17 so that they load on RHEL 7/8, Debian 10 and Amazon Linux 2.
/// There a call to a missing wrapper kills the process ("symbol lookup error"); the raw
/// syscall answers ENOSYS on kernels before 3.15 instead, which the callers handle.
#[cfg(target_os = "linux")]
unsafe fn renameat2(olddir: libc::c_int, old: *const libc::c_char, newdir: libc::c_int, new: *const libc::c_char, flags: libc::c_uint) -> libc::c_int {
    libc::syscall(libc::SYS_renameat2, olddir, old, newdir, new, flags) as libc::c_int
}

/// Retries a syscall interrupted by a signal (Node's own signal handlers can land on
/// our threads).
fn retry<F: FnMut() -> libc::c_int>(mut f: F) -> io::Result<libc::c_int> {
    loop {
        match check(f()) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

impl Dir {
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = cstr(path.as_os_str())?;
        let fd = retry(|| unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
        Ok(Dir { fd: unsafe { OwnedFd::from_raw_fd(fd) }, path: path.to_path_buf() })
    }

    /// What identifies this directory (device, inode), whatever path reaches it.
    pub fn key(&self) -> DirKey {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(self.raw(), &mut st) } == 0 {
            (st.st_dev as u64, st.st_ino as u64)
        } else {
            path_key(&self.path)
        }
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Stats `name` following symlinks; `None` when it does not exist.
    pub fn stat_entry(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        let c = cstr(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        match check(unsafe { libc::fstatat(self.raw(), c.as_ptr(), &mut st, 0) }) {
            Ok(_) => Ok(Some(entry_stat(&st))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stats `name` itself (a symlink is reported as one); `None` when it does not exist.
    pub fn stat_entry_nofollow(&self, name: &OsStr) -> io::Result<Option<EntryStat>> {
        let c = cstr(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        match check(unsafe { libc::fstatat(self.raw(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }) {
            Ok(_) => Ok(Some(entry_stat(&st))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Exclusive create that never follows a symlink planted at `name`.
    pub fn create_named(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let fd = retry(|| unsafe { libc::openat(self.raw(), c.as_ptr(), flags, mode as libc::c_uint) })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Opens an existing regular file for syncing, refusing symlinks.
    pub fn open_existing(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let fd = retry(|| unsafe { libc::openat(self.raw(), c.as_ptr(), flags) })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// An anonymous file in this directory: nothing is visible until it is linked, and
    /// a crash leaves nothing behind. `None` when the filesystem has no `O_TMPFILE`.
    #[cfg(target_os = "linux")]
    pub fn create_anonymous(&self, mode: u32) -> io::Result<Option<File>> {
        // Publishing an anonymous file goes through /proc/self/fd (linkat with
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH); a chroot or container without /proc
        // gets named temps instead of data written to a file it cannot link.
        static PROC_FD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*PROC_FD.get_or_init(|| std::path::Path::new("/proc/self/fd").is_dir()) {
            return Ok(None);
        }
        let dot = c".";
        let flags = libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC;
        match retry(|| unsafe { libc::openat(self.raw(), dot.as_ptr(), flags, mode as libc::c_uint) }) {
            Ok(fd) => Ok(Some(unsafe { File::from_raw_fd(fd) })),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives an anonymous file a name; fails with EEXIST if the name is taken, which
    /// makes it an atomic create-only publish.
    #[cfg(target_os = "linux")]
    pub fn link_anonymous(&self, file: &File, name: &OsStr) -> io::Result<()> {
        let proc_path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL");
        let c = cstr(name)?;
        retry(|| unsafe { libc::linkat(libc::AT_FDCWD, proc_path.as_ptr(), self.raw(), c.as_ptr(), libc::AT_SYMLINK_FOLLOW) })?;
        Ok(())
    }

    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (f, t) = (cstr(from)?, cstr(to)?);
        retry(|| unsafe { libc::renameat(self.raw(), f.as_ptr(), self.raw(), t.as_ptr()) })?;
        Ok(())
    }

    /// [`Dir::rename`]; the busy timeout only matters on Windows.
    pub fn rename_retrying(&self, from: &OsStr, to: &OsStr, _busy_timeout: Duration) -> io::Result<()> {
        self.rename(from, to)
    }

    /// Create-only rename: fails with EEXIST instead of replacing.
    pub fn rename_noreplace(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (f, t) = (cstr(from)?, cstr(to)?);
        #[cfg(target_os = "macos")]
        {
            let ret = retry(|| unsafe { libc::renameatx_np(self.raw(), f.as_ptr(), self.raw(), t.as_ptr(), libc::RENAME_EXCL) });
            match ret {
                Ok(_) => return Ok(()),
                // Filesystems without RENAME_EXCL (not APFS/HFS+): link + unlink below.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP | libc::EOPNOTSUPP | libc::ENOSYS)) => {}
                Err(e) => return Err(e),
            }
        }
        #[cfg(target_os = "linux")]
        {
            let ret = retry(|| unsafe { renameat2(self.raw(), f.as_ptr(), self.raw(), t.as_ptr(), libc::RENAME_NOREPLACE) });
            match ret {
                Ok(_) => return Ok(()),
                // Filesystems without renameat2 flags: link + unlink is create-only too.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {}
                Err(e) => return Err(e),
            }
        }
        retry(|| unsafe { libc::linkat(self.raw(), f.as_ptr(), self.raw(), t.as_ptr(), 0) })?;
        let _ = self.unlink(from);
        Ok(())
    }

    /// Swaps two names atomically (both must exist).
    #[cfg(target_os = "linux")]
    pub fn rename_exchange(&self, a: &OsStr, b: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(a)?, cstr(b)?);
        retry(|| unsafe { renameat2(self.raw(), a.as_ptr(), self.raw(), b.as_ptr(), libc::RENAME_EXCHANGE) })?;
        Ok(())
    }

    /// Swaps two names atomically (both must exist); APFS and HFS+ support it, other
    /// filesystems answer `ENOTSUP`.
    #[cfg(target_os = "macos")]
    pub fn rename_exchange(&self, a: &OsStr, b: &OsStr) -> io::Result<()> {
        let (a, b) = (cstr(a)?, cstr(b)?);
        retry(|| unsafe { libc::renameatx_np(self.raw(), a.as_ptr(), self.raw(), b.as_ptr(), libc::RENAME_SWAP) })?;
        Ok(())
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        retry(|| unsafe { libc::unlinkat(self.raw(), c.as_ptr(), 0) })?;
        Ok(())
    }

    pub fn sync(&self) -> io::Result<()> {
        full_sync(self.raw())
    }

    /// This directory's (device, inode).
    pub fn id(&self) -> io::Result<(u64, u64)> {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        check(unsafe { libc::fstat(self.raw(), &mut st) })?;
        Ok((st.st_dev as u64, st.st_ino as u64))
    }

    /// `name` itself, never what a link there points to; `None` when it does not exist.
    pub fn lstat_entry(&self, name: &OsStr) -> io::Result<Option<EntryInfo>> {
        let c = cstr(name)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        match check(unsafe { libc::fstatat(self.raw(), c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }) {
            Ok(_) => Ok(Some(info_from_stat(&st))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the subdirectory `name` relative to this one: a symlink at the name is
    /// refused (`ELOOP`), anything but a directory is `ENOTDIR`.
    pub fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let c = cstr(name)?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        match retry(|| unsafe { libc::openat(self.raw(), c.as_ptr(), flags) }) {
            Ok(fd) => Ok(Dir { fd: unsafe { OwnedFd::from_raw_fd(fd) }, path: self.path.join(name) }),
            // Linux answers ENOTDIR for a link here; say what it is.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) && matches!(self.lstat_entry(name), Ok(Some(i)) if i.kind == FileKind::Symlink) => {
                Err(io::Error::from_raw_os_error(libc::ELOOP))
            }
            Err(e) => Err(e),
        }
    }

    /// A second descriptor of this directory with its own read position.
    pub fn try_clone(&self) -> io::Result<Dir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let fd = retry(|| unsafe { libc::openat(self.raw(), c".".as_ptr(), flags) })?;
        Ok(Dir { fd: unsafe { OwnedFd::from_raw_fd(fd) }, path: self.path.clone() })
    }

    pub fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        let c = cstr(name)?;
        retry(|| unsafe { libc::mkdirat(self.raw(), c.as_ptr(), mode as libc::mode_t) })?;
        Ok(())
    }

    pub fn rmdir(&self, name: &OsStr) -> io::Result<()> {
        let c = cstr(name)?;
        retry(|| unsafe { libc::unlinkat(self.raw(), c.as_ptr(), libc::AT_REMOVEDIR) })?;
        Ok(())
    }

    /// Opens `name` for reading without following a link there and without blocking
    /// (a FIFO opens at once, with no writer); the caller checks what it got.
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let c = cstr(name)?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
        let fd = retry(|| unsafe { libc::openat(self.raw(), c.as_ptr(), flags) })?;
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Renames `from` in this directory to `to` in `dest`, both named relative to
    /// their directory's descriptor. Where the OS has no flag for `how`, `EINVAL`.
    pub fn rename_into(&self, from: &OsStr, dest: &Dir, to: &OsStr, how: super::RenameHow) -> io::Result<()> {
        use super::RenameHow;
        let (f, t) = (cstr(from)?, cstr(to)?);
        #[cfg(target_os = "linux")]
        {
            let flags = match how {
                RenameHow::Replace => 0,
                RenameHow::NoReplace => libc::RENAME_NOREPLACE,
                RenameHow::Exchange => libc::RENAME_EXCHANGE,
            };
            retry(|| unsafe { renameat2(self.raw(), f.as_ptr(), dest.raw(), t.as_ptr(), flags) })?;
        }
        #[cfg(target_os = "macos")]
        {
            let flags = match how {
                RenameHow::Replace => 0,
                RenameHow::NoReplace => libc::RENAME_EXCL,
                RenameHow::Exchange => libc::RENAME_SWAP,
            };
            retry(|| unsafe { libc::renameatx_np(self.raw(), f.as_ptr(), dest.raw(), t.as_ptr(), flags) })?;
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        {
            if how != RenameHow::Replace {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            retry(|| unsafe { libc::renameat(self.raw(), f.as_ptr(), dest.raw(), t.as_ptr()) })?;
        }
        Ok(())
    }

    /// The names in this directory (without `.` and `..`), read through a descriptor
    /// of its own, so the directory is never looked up by path again.
    pub fn names(&self) -> io::Result<Vec<std::ffi::OsString>> {
        let Some(errno) = errno_location() else {
            // No known way to read errno here: by path.
            return std::fs::read_dir(&self.path)?.map(|e| e.map(|e| e.file_name())).collect();
        };
        let raw = std::os::fd::IntoRawFd::into_raw_fd(self.try_clone()?.fd);
        let dirp = unsafe { libc::fdopendir(raw) };
        if dirp.is_null() {
            let err = io::Error::last_os_error();
            unsafe { libc::close(raw) };
            return Err(err);
        }
        // The stream owns the descriptor now; closedir closes it.
        let mut names = Vec::new();
        let result = loop {
            // readdir tells the end from an error only through errno.
            unsafe { *errno = 0 };
            let entry = unsafe { libc::readdir(dirp) };
            if entry.is_null() {
                let code = unsafe { *errno };
                break if code == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(code)) };
            }
            let name = unsafe { std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
        };
        unsafe { libc::closedir(dirp) };
        result.map(|()| names)
    }
}

fn errno_location() -> Option<*mut libc::c_int> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return Some(unsafe { libc::__errno_location() });
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    return Some(unsafe { libc::__error() });
    #[allow(unreachable_code)]
    None
}

// The field types differ between platforms (dev_t is i32 on macOS): the casts are needed there.
#[allow(clippy::unnecessary_cast)]
fn info_from_stat(st: &libc::stat) -> EntryInfo {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::File,
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFLNK => FileKind::Symlink,
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFSOCK => FileKind::Socket,
        libc::S_IFCHR => FileKind::CharDevice,
        libc::S_IFBLK => FileKind::BlockDevice,
        _ => FileKind::Other,
    };
    let modified = std::time::UNIX_EPOCH + Duration::new(st.st_mtime.max(0) as u64, st.st_mtime_nsec.clamp(0, 999_999_999) as u32);
    EntryInfo { kind, id: (st.st_dev as u64, st.st_ino as u64), uid: st.st_uid, mode: st.st_mode as u32 & 0o7777, size: st.st_size.max(0) as u64, modified }
}

/// The (device, inode) of every file some process has open, from `/proc/*/fd`
/// (only the processes this one may inspect: all of them as root, its own user's
/// otherwise); `None` where there is no `/proc`. `sweep` leaves such files alone: an
/// orphaned temp that another program still reads is in use.
pub(crate) fn open_file_ids() -> Option<std::collections::HashSet<(u64, u64)>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let procs = std::fs::read_dir("/proc").ok()?;
        let mut ids = std::collections::HashSet::new();
        for proc_entry in procs.flatten() {
            let pid = proc_entry.file_name();
            if !pid.as_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else { continue };
            for fd in fds.flatten() {
                // stat follows the magic link to the open file itself; it never opens it.
                if let Ok(meta) = std::fs::metadata(fd.path()) {
                    ids.insert((meta.dev(), meta.ino()));
                }
            }
        }
        Some(ids)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// `fsync`, except on macOS, where fsync only reaches the drive's cache and
/// `F_FULLFSYNC` reaches the media; filesystems that refuse it (network, FAT) get
/// plain fsync.
fn full_sync(fd: RawFd) -> io::Result<()> {
    #[cfg(target_os = "macos")]
    if retry(|| unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) }).is_ok() {
        return Ok(());
    }
    retry(|| unsafe { libc::fsync(fd) })?;
    Ok(())
}

pub(crate) fn fdatasync(file: &File) -> io::Result<()> {
    #[cfg(target_os = "macos")]
    {
        full_sync(file.as_raw_fd())
    }
    #[cfg(not(target_os = "macos"))]
    {
        retry(|| unsafe { libc::fdatasync(file.as_raw_fd()) })?;
        Ok(())
    }
}

pub(crate) fn fsync(file: &File) -> io::Result<()> {
    full_sync(file.as_raw_fd())
}

pub(crate) fn fchmod(file: &File, mode: u32) -> io::Result<()> {
    retry(|| unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) })?;
    Ok(())
}

pub(crate) fn fchown(file: &File, uid: u32, gid: u32) -> io::Result<()> {
    retry(|| unsafe { libc::fchown(file.as_raw_fd(), uid, gid) })?;
    Ok(())
}

/// Advisory lock that marks a named temp as in use, so `sweep` never removes the temp
/// of a write that is still running, however long it takes.
pub(crate) fn mark_in_use(file: &File) -> io::Result<()> {
    retry(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) })?;
    Ok(())
}

/// True when another open file holds the in-use mark.
pub(crate) fn is_in_use(file: &File) -> bool {
    match retry(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => false,
        Err(e) => e.raw_os_error() == Some(libc::EWOULDBLOCK),
    }
}

pub(crate) fn effective_ids() -> (u32, u32) {
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Whether this process may keep set-user-ID and set-group-ID bits on a file it writes
/// (`CAP_FSETID`; root has it unless it was dropped).
pub(crate) fn may_keep_setid() -> bool {
    #[cfg(target_os = "linux")]
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("CapEff:")) {
            if let Ok(caps) = u64::from_str_radix(line["CapEff:".len()..].trim(), 16) {
                const CAP_FSETID: u32 = 4;
                return caps & (1 << CAP_FSETID) != 0;
            }
        }
    }
    effective_ids().0 == 0
}

/// Whether `gid` is this process's effective group or one of its supplementary groups.
pub(crate) fn in_group(gid: u32) -> bool {
    if unsafe { libc::getegid() } == gid {
        return true;
    }
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n <= 0 {
        return false;
    }
    let mut groups = vec![0 as libc::gid_t; n as usize];
    let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
    n > 0 && groups[..n as usize].contains(&gid)
}

/// The process umask, read without changing it (`umask(2)` can only be read by
/// setting it, which races with other threads creating files).
pub(crate) fn umask() -> u32 {
    #[cfg(target_os = "linux")]
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Umask:")) {
            if let Ok(mask) = u32::from_str_radix(line["Umask:".len()..].trim(), 8) {
                return mask;
            }
        }
    }
    static UMASK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = UMASK_LOCK.lock();
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

/// Asks the kernel to start writing a range of `file` to the device now, without
/// waiting (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`). Only a head start for the
/// fdatasync that follows, never a durability step: errors are left to that fdatasync.
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset as libc::off64_t, len as libc::off64_t, libc::SYNC_FILE_RANGE_WRITE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Writes every byte, looping on short writes (a single `write` moves at most
/// 0x7ffff000 bytes on Linux).
pub(crate) fn write_all(file: &File, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let chunk = buf.len().min(1 << 30);
        let n = unsafe { libc::write(file.as_raw_fd(), buf.as_ptr().cast(), chunk) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

pub(crate) fn fill_random(buf: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        let mut filled = 0;
        while filled < buf.len() {
            let n = unsafe { libc::syscall(libc::SYS_getrandom, buf[filled..].as_mut_ptr(), buf.len() - filled, 0) };
            if n <= 0 {
                break;
            }
            filled += n as usize;
        }
        if filled == buf.len() {
            return;
        }
    }
    crate::temp_name::fallback_random(buf);
}
