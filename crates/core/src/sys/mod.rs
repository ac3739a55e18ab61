//! The OS layer behind one interface: Unix (with Linux and macOS fast paths) through
//! libc `*at` calls, Windows through Win32, any other OS through Rust's std alone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(unix, windows)))]
mod portable;
#[cfg(not(any(unix, windows)))]
pub use portable::*;

#[cfg(not(unix))]
mod by_path;
#[cfg(not(unix))]
mod no_posix;
#[cfg(not(unix))]
pub(crate) use no_posix::*;

/// Identity of a directory for group commit (see `dir_sync`): (device, inode) on Unix,
/// a hash of the path where the OS gives no identity through std.
pub(crate) type DirKey = (u64, u64);

/// A key from the path alone, where the OS gives no file identity through std.
pub(crate) fn path_key(path: &std::path::Path) -> DirKey {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    (0, h.finish())
}

/// What a write needs to know of the file it replaces (`Dir::stat_entry`).
#[derive(Debug, Clone, Copy)]
pub struct EntryStat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
    pub is_file: bool,
    pub size: u64,
}

/// What a directory entry is, seen without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed here).
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Anything else.
    Other,
}

impl FileKind {
    /// For messages: "a FIFO", "a symbolic link".
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::File => "a regular file",
            FileKind::Dir => "a directory",
            FileKind::Symlink => "a symbolic link",
            FileKind::Fifo => "a FIFO",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "not a regular file",
        }
    }

    fn of(file_type: std::fs::FileType) -> FileKind {
        #[cfg(unix)]
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_symlink() {
            return FileKind::Symlink;
        }
        if file_type.is_file() {
            return FileKind::File;
        }
        if file_type.is_dir() {
            return FileKind::Dir;
        }
        #[cfg(unix)]
        {
            if file_type.is_fifo() {
                return FileKind::Fifo;
            }
            if file_type.is_socket() {
                return FileKind::Socket;
            }
            if file_type.is_char_device() {
                return FileKind::CharDevice;
            }
            if file_type.is_block_device() {
                return FileKind::BlockDevice;
            }
        }
        FileKind::Other
    }
}

/// An entry's own metadata: a link is reported as a link, never as what it points to.
#[derive(Debug, Clone, Copy)]
pub struct EntryInfo {
    pub kind: FileKind,
    /// (device, inode): what the name refers to, whatever path reaches it. Zero where
    /// the OS gives no identity through std (Windows).
    pub id: (u64, u64),
    pub uid: u32,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

impl EntryInfo {
    pub fn of(meta: &std::fs::Metadata) -> EntryInfo {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        #[cfg(unix)]
        let (id, uid, mode) = ((meta.dev(), meta.ino()), meta.uid(), meta.mode() & 0o7777);
        #[cfg(not(unix))]
        let (id, uid, mode) = ((0, 0), 0, if meta.permissions().readonly() { 0o444 } else { 0o666 });
        EntryInfo {
            kind: FileKind::of(meta.file_type()),
            id,
            uid,
            mode,
            size: meta.len(),
            modified: meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH),
        }
    }
}

/// How [`Dir::rename_into`] treats an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameHow {
    /// Replace it, as rename(2) does.
    Replace,
    /// Fail with `EEXIST` (Linux `RENAME_NOREPLACE`, macOS `RENAME_EXCL`).
    NoReplace,
    /// Swap the two names (Linux `RENAME_EXCHANGE`, macOS `RENAME_SWAP`).
    Exchange,
}
