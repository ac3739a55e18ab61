//! How much of a write survives a power cut, and the one-flush commit.
//!
//! Levels (what `durability` names in JavaScript; `fsync: false` is `None`,
//! `fsync: true` is `Full`):
//! - `None`: no sync. Atomic for readers and across a process crash; after a power
//!   cut or an OS crash the file may be the old content, the new, or (on filesystems
//!   that do not order data before a rename) empty.
//! - `Data`: the temp's data is synced before the rename, the directory is not
//!   (write-file-atomic's and atomically's level). After a power cut the file is the
//!   old content or the new, never torn, but an acknowledged write can be lost.
//! - `Full`: data synced, renamed, directory synced. An acknowledged write survives.
//!
//! The one-flush commit (see bench/notes/one-flush.md for the argument and the
//! power-cut trials that support it) gives `Full` with one journal commit instead of
//! two where the filesystem is known to journal metadata in order: journaled ext4 in
//! `data=ordered` with barriers, and xfs. There the temp's data is written and waited
//! for without a cache flush (`sync_file_range` WAIT_BEFORE|WRITE|WAIT_AFTER, which
//! also allocates its blocks and, at I/O completion, logs its size), and the directory
//! fsync after the rename commits the journal: the commit's pre-flush makes the data
//! durable, the commit itself the inode and the name, in one transaction ordered after
//! everything the file needed. Everywhere else (ext4 without a journal or in another
//! data mode, btrfs, tmpfs, network and FUSE filesystems, anything unknown) the
//! temp is fdatasync'ed as before. `ATOMICWRITER_ONE_FLUSH=0` in the environment turns
//! the one-flush commit off for the process.

use std::fs::File;

/// What a write promises once it resolved; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// No sync: whole or not at all after a process crash, not after an OS crash.
    None,
    /// The data synced before the rename (write-file-atomic's promise): the new name may
    /// not survive an OS crash, but it never names a torn file.
    Data,
    /// Data before the rename and the directory after it: once resolved, it survives an
    /// OS crash or a power cut.
    #[default]
    Full,
}

impl Durability {
    /// The level an `fsync: bool` option stands for.
    pub fn from_fsync(fsync: bool) -> Durability {
        if fsync {
            Durability::Full
        } else {
            Durability::None
        }
    }
}

/// What a durable commit needs to know about the filesystem its temp is on. Learned
/// once, when the temp is opened (one `fstatfs` of its directory, and an `fstat` on
/// ext4): it decides both the kind of temp (btrfs takes a named one) and, at commit,
/// whether the one-flush commit applies. A file never changes filesystem; what can
/// change while it is open (ext4's mount options, on remount) is read at commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filesystem {
    /// btrfs (a named temp; two flushes).
    Btrfs,
    /// xfs (one flush).
    Xfs,
    /// ext4, or ext2/ext3 through the ext4 driver (one magic number), on device `dev`;
    /// whether it journals, and how, is looked up at commit (see [`Filesystem::one_flush`]).
    Ext4 {
        /// The device number (`st_dev`), which the mount facts are kept by.
        dev: u64,
    },
    /// Anything else, or not looked at (a write without a sync needs neither answer).
    Other,
}

impl Filesystem {
    /// The filesystem of the directory `dir` (the temp's: it is made in there).
    pub(crate) fn of_dir(dir: &crate::sys::Dir) -> Filesystem {
        #[cfg(target_os = "linux")]
        {
            linux::probe(dir.raw())
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            Filesystem::Other
        }
    }

    /// btrfs persists an `O_TMPFILE` file's data only once it has a name, so a durable
    /// write there takes a named temp (see `AtomicFile::create_in`).
    pub fn wants_named_temp(self) -> bool {
        self == Filesystem::Btrfs
    }

    /// Whether a `Full` commit of a file on this filesystem may sync its data with
    /// `sync_file_range` and leave the cache flush to the directory fsync that follows
    /// the rename (in the same filesystem: the temp is in the target's directory).
    /// Asked at commit, not at open: ext4's options can change on remount meanwhile.
    ///
    /// `file` is the open temp. On ext4 a file can journal its data whatever the mount
    /// says (`chattr +j`, inherited from its directory): that is `data=journal` for this
    /// inode, which the argument and the power-cut trials of bench/notes/one-flush.md do
    /// not cover, so such a file keeps the two-flush protocol. One `FS_IOC_GETFLAGS`, on
    /// ext4 only.
    pub fn one_flush(self, file: &File) -> bool {
        #[cfg(target_os = "linux")]
        {
            enabled()
                && match self {
                    // xfs logs every metadata change (no mode without it, barriers always
                    // on since Linux 4.19, external logs flush the data device first).
                    Filesystem::Xfs => true,
                    Filesystem::Ext4 { dev } => linux::ext4_journaled_ordered(dev) && !linux::journals_data(file),
                    Filesystem::Btrfs | Filesystem::Other => false,
                }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = file;
            false
        }
    }
}

/// [`Filesystem::one_flush`] for an open file or directory (the addon's `oneFlushAt`).
pub fn one_flush(file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        linux::probe(file.as_raw_fd()).one_flush(file)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
}

/// Writes `file`'s dirty pages and waits for the device to have them (in its cache:
/// no flush), with the metadata their completion logs. Only where [`one_flush`] said
/// yes; elsewhere a plain `fdatasync`.
pub fn write_and_wait(file: &File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        loop {
            // Offset 0, length 0: the whole file. A writeback error is reported here
            // (WAIT_AFTER checks the file's error sequence, as fdatasync does).
            if unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, flags) } == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        file.sync_data()
    }
}

#[cfg(target_os = "linux")]
fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("ATOMICWRITER_ONE_FLUSH").is_none_or(|v| v != "0"))
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Filesystem;
    use std::collections::HashMap;
    use std::fs::File;
    use std::os::fd::{AsRawFd, RawFd};
    use std::sync::{Arc, OnceLock, RwLock};

    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    const XFS_SUPER_MAGIC: i64 = 0x5846_5342;
    const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;

    /// Whether ext4 journals this file's data (`FS_JOURNAL_DATA_FL`, `chattr +j`). An
    /// error (an old kernel, a filesystem that does not answer) counts as yes: the
    /// two-flush protocol needs no answer.
    pub(super) fn journals_data(file: &File) -> bool {
        const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
        const FS_JOURNAL_DATA_FL: libc::c_long = 0x0000_4000;
        let mut flags: libc::c_long = 0;
        if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_GETFLAGS as _, &mut flags) } != 0 {
            return true;
        }
        flags & FS_JOURNAL_DATA_FL != 0
    }

    /// One `fstatfs`, and on ext4 an `fstat` for the device number. A failure is
    /// `Other`: the full protocol, which needs no answer.
    pub(super) fn probe(fd: RawFd) -> Filesystem {
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatfs(fd, &mut fs) } != 0 {
            return Filesystem::Other;
        }
        match fs.f_type as i64 {
            XFS_SUPER_MAGIC => Filesystem::Xfs,
            BTRFS_SUPER_MAGIC => Filesystem::Btrfs,
            EXT4_SUPER_MAGIC => {
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                if unsafe { libc::fstat(fd, &mut st) } != 0 {
                    return Filesystem::Other;
                }
                Filesystem::Ext4 { dev: st.st_dev }
            }
            _ => Filesystem::Other,
        }
    }

    /// What one mount of an ext4 device says about itself, kept per device number.
    ///
    /// Which facts may be remembered, and which must be read again at every commit:
    /// - *Whether it journals in inode 8* (`/proc/fs/jbd2/<dev>-8`) is fixed for the
    ///   life of a mount: the journal is loaded at mount and released at unmount, a
    ///   remount cannot add or drop it, and `tune2fs` removes a journal only from an
    ///   unmounted filesystem (one it adds is used from the next mount). Remembered.
    /// - *The data mode* is fixed per mount too (a remount with another `data=` fails:
    ///   "Cannot change data mode on remount"), but `barrier`/`nobarrier` can change on
    ///   remount, and so, in principle, can anything else a remount takes. So the
    ///   options are read again at every commit — not by path (`statx`, `openat`,
    ///   `read`, `close`, under a lock, as before), but with one `pread` of the options
    ///   file this entry keeps open: procfs renders it afresh on each read (a held
    ///   descriptor sees a remount with `nobarrier` at once).
    /// - *A new mount of the device* (unmounted, perhaps `tune2fs -O ^has_journal`'d,
    ///   mounted again with other options, under the same device number) is detected by
    ///   the same `pread`: unmounting removes /proc/fs/ext4/<dev>, and a descriptor of a
    ///   removed procfs entry fails every read with EIO from then on. Any failed read
    ///   drops the entry and the device is looked up afresh. The temp being committed
    ///   is open on the current mount, which keeps that mount's superblock (and its
    ///   procfs entries) alive while we look.
    ///
    /// test/durability.test.ts remounts with `nobarrier` and mounts again with
    /// `data=writeback` under one running process and checks each commit's sync.
    struct Ext4Mount {
        options: File,
        journaled: bool,
    }

    impl Ext4Mount {
        fn open(dev: u64) -> Option<Ext4Mount> {
            let partitions = std::fs::read_to_string("/proc/partitions").ok()?;
            let name = partition_name(&partitions, libc::major(dev), libc::minor(dev))?;
            // The options first: the journal check below then describes the mount
            // whose options we hold (the temp's, alive while it is open).
            let options = File::open(format!("/proc/fs/ext4/{name}/options")).ok()?;
            // The journal in inode 8 (jbd2 names it `<dev>-8`); an external journal has
            // another name and is not taken here.
            let journaled = std::fs::symlink_metadata(format!("/proc/fs/jbd2/{name}-8")).is_ok();
            Some(Ext4Mount { options, journaled })
        }

        /// `None` when the mount this entry describes is gone.
        fn allows_one_flush(&self) -> Option<bool> {
            let mut buf = [0u8; 4096];
            let n = loop {
                let n = unsafe { libc::pread(self.options.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n >= 0 {
                    break n as usize;
                }
                if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    return None;
                }
            };
            Some(self.journaled && options_allow(&String::from_utf8_lossy(&buf[..n])))
        }
    }

    /// Read-mostly: commits on many threads look their device up at once, and an entry
    /// is only added (first write to a device, or after it was mounted again).
    fn mounts() -> &'static RwLock<HashMap<u64, Arc<Ext4Mount>>> {
        static MOUNTS: OnceLock<RwLock<HashMap<u64, Arc<Ext4Mount>>>> = OnceLock::new();
        MOUNTS.get_or_init(Default::default)
    }

    /// Journaled in inode 8, `data=ordered`, barriers, no async commit: see
    /// [`Ext4Mount`] for what is remembered and what is read at every commit.
    pub(super) fn ext4_journaled_ordered(dev: u64) -> bool {
        let known = mounts().read().unwrap().get(&dev).cloned();
        if let Some(answer) = known.and_then(|mount| mount.allows_one_flush()) {
            return answer;
        }
        let Some(mount) = Ext4Mount::open(dev) else {
            mounts().write().unwrap().remove(&dev);
            return false;
        };
        let answer = mount.allows_one_flush().unwrap_or(false);
        mounts().write().unwrap().insert(dev, Arc::new(mount));
        answer
    }

    /// The name of device `major:minor` in /proc/partitions' "major minor #blocks name"
    /// lines: the name /proc/fs/ext4 and /proc/fs/jbd2 use (inside a chroot or
    /// container /proc is more often there than /sys).
    pub(super) fn partition_name(partitions: &str, major: u32, minor: u32) -> Option<String> {
        partitions.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let (ma, mi) = (words.next()?.parse::<u32>().ok()?, words.next()?.parse::<u32>().ok()?);
            let name = words.nth(1)?;
            (ma == major && mi == minor).then(|| name.to_string())
        })
    }

    /// ext4's mount options (as /proc/fs/ext4/<dev>/options lists them, every option
    /// spelled out): `data=ordered` (writeback would let freed data blocks be reused
    /// before the commit that frees them, journal writes data through the journal),
    /// `barrier` (the commit block goes with a pre-flush), and no
    /// `journal_async_commit` (which writes the commit block without waiting for the
    /// journal blocks).
    pub(super) fn options_allow(options: &str) -> bool {
        let has = |word: &str| options.split_whitespace().any(|o| o == word);
        has("data=ordered") && has("barrier") && !has("nobarrier") && !has("journal_async_commit")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ext4_options() {
            let default = "rw bsddf delalloc journal_checksum barrier auto_da_alloc data=ordered commit=5";
            assert!(options_allow(default));
            assert!(!options_allow(&default.replace("data=ordered", "data=writeback")));
            assert!(!options_allow(&default.replace("data=ordered", "data=journal")));
            assert!(!options_allow(&default.replace("barrier", "nobarrier")));
            assert!(!options_allow(&format!("{default} journal_async_commit")));
            assert!(!options_allow(""));
        }

        #[test]
        fn partitions() {
            let text = "major minor  #blocks  name\n\n   7        2    4194304 loop2\n 254        0  268435456 vda\n 254        1  1000 vda1\n";
            assert_eq!(partition_name(text, 254, 0).as_deref(), Some("vda"));
            assert_eq!(partition_name(text, 254, 1).as_deref(), Some("vda1"));
            assert_eq!(partition_name(text, 7, 2).as_deref(), Some("loop2"));
            assert_eq!(partition_name(text, 7, 3), None);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    /// The test directory's filesystem decides; what matters is that the answer comes
    /// from the filesystem and never says yes on tmpfs (which has no journal).
    #[test]
    fn tmpfs_is_not_proven() {
        if let Ok(meta) = std::fs::metadata("/dev/shm") {
            if meta.is_dir() {
                let path = std::path::Path::new("/dev/shm").join(format!("aw-one-flush-{}", std::process::id()));
                let file = File::create(&path).unwrap();
                let proven = one_flush(&file);
                std::fs::remove_file(&path).unwrap();
                assert!(!proven);
            }
        }
        let tmp = TempDir::new();
        let file = File::create(tmp.path().join("f")).unwrap();
        let _ = one_flush(&file);
    }
}
