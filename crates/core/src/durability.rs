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
    None,
    Data,
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

/// Whether a `Full` commit of `file` may sync its data with `sync_file_range` and
/// leave the cache flush to the directory fsync that follows the rename (in the same
/// filesystem: the temp is in the target's directory).
pub fn one_flush(file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        enabled() && linux::proven_filesystem(file)
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
    use std::collections::HashMap;
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::sync::{Mutex, OnceLock};

    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    const XFS_SUPER_MAGIC: i64 = 0x5846_5342;

    pub fn proven_filesystem(file: &File) -> bool {
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } != 0 {
            return false;
        }
        match fs.f_type as i64 {
            // xfs logs every metadata change (no mode without it, barriers always on
            // since Linux 4.19, external logs flush the data device first).
            XFS_SUPER_MAGIC => true,
            EXT4_SUPER_MAGIC => device_name(file).is_some_and(|name| ext4_journaled_ordered(&name)),
            _ => false,
        }
    }

    /// The block device's kernel name (`loop2`, `sda1`, `dm-0`): the name
    /// /proc/fs/ext4 and /proc/fs/jbd2 use, from /proc/partitions (inside a chroot or
    /// container /proc is more often there than /sys). Cached per device number.
    fn device_name(file: &File) -> Option<String> {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
            return None;
        }
        static NAMES: OnceLock<Mutex<HashMap<u64, String>>> = OnceLock::new();
        let mut names = NAMES.get_or_init(Default::default).lock().unwrap();
        let dev = st.st_dev;
        if let Some(name) = names.get(&dev) {
            return Some(name.clone());
        }
        let partitions = std::fs::read_to_string("/proc/partitions").ok()?;
        let name = partition_name(&partitions, libc::major(dev), libc::minor(dev))?;
        names.insert(dev, name.clone());
        Some(name)
    }

    /// The name of device `major:minor` in /proc/partitions' "major minor #blocks name" lines.
    pub fn partition_name(partitions: &str, major: u32, minor: u32) -> Option<String> {
        partitions.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let (ma, mi) = (words.next()?.parse::<u32>().ok()?, words.next()?.parse::<u32>().ok()?);
            let name = words.nth(1)?;
            (ma == major && mi == minor).then(|| name.to_string())
        })
    }

    /// Read on every commit, not cached: a device can be unmounted and mounted again
    /// with other options (or after `tune2fs -O ^has_journal`) under the same number
    /// while this process runs, and these are four cheap syscalls against a journal
    /// commit saved.
    fn ext4_journaled_ordered(name: &str) -> bool {
        // The journal in inode 8 (jbd2 names it `<dev>-8`); an external journal has
        // another name and is not taken here.
        if std::fs::symlink_metadata(format!("/proc/fs/jbd2/{name}-8")).is_err() {
            return false;
        }
        let mut buf = [0u8; 4096];
        let Ok(mut f) = File::open(format!("/proc/fs/ext4/{name}/options")) else { return false };
        let Ok(n) = f.read(&mut buf) else { return false };
        options_allow(&String::from_utf8_lossy(&buf[..n]))
    }

    /// ext4's mount options (as /proc/fs/ext4/<dev>/options lists them, every option
    /// spelled out): `data=ordered` (writeback would let freed data blocks be reused
    /// before the commit that frees them, journal writes data through the journal),
    /// `barrier` (the commit block goes with a pre-flush), and no
    /// `journal_async_commit` (which writes the commit block without waiting for the
    /// journal blocks).
    pub fn options_allow(options: &str) -> bool {
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
                let proven = linux::proven_filesystem(&file);
                std::fs::remove_file(&path).unwrap();
                assert!(!proven);
            }
        }
        let tmp = TempDir::new();
        let file = File::create(tmp.path().join("f")).unwrap();
        let _ = one_flush(&file);
    }
}
