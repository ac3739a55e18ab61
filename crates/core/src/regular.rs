//! Only regular files are replaced or read. A FIFO, socket or device at a target is
//! someone's channel, not content: replacing it with a file cuts its readers off, and
//! reading one blocks (a FIFO without a writer) or never ends (`/dev/zero`). Targets
//! are checked with `lstat` before anything is created; reads open with `O_NONBLOCK`
//! (a FIFO opens at once instead of waiting for a writer) and `fstat` the descriptor,
//! so what is checked is what is read.

use crate::error::{Error, Result};
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// What a file that is neither regular nor a directory is, for an error message.
pub fn describe(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return "a symlink";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

/// `EINVAL` for a special file where a regular one is needed: what was found, and that
/// it was left alone.
pub fn not_regular(path: &Path, syscall: &'static str, found: &str, what: &str) -> Error {
    Error::new(libc::EINVAL, syscall, Some(path)).with_detail(format!("{} is {found}, not a regular file; {what}", path.display()))
}

/// The largest file read whole (as `fs.readFile`'s limit): more cannot become a JS
/// string anyway, and a size check beats running out of memory.
pub const MAX_READ: u64 = (1 << 31) - 1;

/// Reads a whole regular file. Never blocks on a FIFO, never reads a device, never
/// more than [`MAX_READ`] bytes.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    const REFUSED: &str = "only regular files are read: a FIFO would block, a device may never end";
    // Links are followed here, under the rule writes follow (a link planted by another
    // user in /tmp is refused), and the open then follows none: errors name `path`.
    let real = crate::target::follow(path)?;
    let mut file = open_nonblocking(&real).map_err(|e| {
        let err = Error::from_io(e, "open", path);
        match err.errno {
            // Not a missing directory to create, as for a write: nothing to read.
            libc::ENOENT => err.with_detail("no file exists at that path"),
            // What open(2) answers for a socket: say what is there.
            libc::ENXIO => match std::fs::metadata(&real) {
                Ok(meta) if !meta.is_file() => not_regular(path, "open", describe(&meta), REFUSED),
                _ => err,
            },
            _ => err,
        }
    })?;
    let meta = file.metadata().map_err(|e| Error::from_io(e, "fstat", path))?;
    if meta.is_dir() {
        return Err(Error::new(libc::EISDIR, "read", Some(path)));
    }
    if !meta.is_file() {
        return Err(not_regular(path, "read", describe(&meta), REFUSED));
    }
    if meta.len() > MAX_READ {
        return Err(
            Error::new(libc::EFBIG, "read", Some(path)).with_detail(format!("{} bytes is more than the {MAX_READ} bytes a file can be read whole", meta.len()))
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take`: a file that grows while read still stops at the cap.
    (&mut file).take(MAX_READ + 1).read_to_end(&mut bytes).map_err(|e| Error::from_io(e, "read", path))?;
    if bytes.len() as u64 > MAX_READ {
        return Err(Error::new(libc::EFBIG, "read", Some(path)));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NOCTTY: a terminal planted at the path never becomes our controlling one.
    // O_NOFOLLOW: `path` is already resolved; a link swapped in since is ELOOP.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::test_support::dir_with_file;

    #[test]
    fn reads_regular_files_and_refuses_the_rest_without_blocking() {
        let (tmp, file) = dir_with_file(b"{}");
        assert_eq!(read_regular(&file).unwrap(), b"{}");
        assert_eq!(read_regular(&tmp.path().join("missing")).unwrap_err().errno, libc::ENOENT);
        assert_eq!(read_regular(tmp.path()).unwrap_err().errno, libc::EISDIR);
        let fifo = crate::test_support::make_fifo(&tmp.path().join("fifo"));
        let err = read_regular(&fifo).unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        assert!(err.to_string().contains("is a FIFO"), "{err}");
        let err = read_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("is a character device"), "{err}");
    }
}
