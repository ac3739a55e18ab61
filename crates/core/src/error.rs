//! Errors shaped like Node's `fs` errors: an errno, the syscall that failed, and the
//! paths involved. The binding turns them into JS errors with `code`, `errno`,
//! `syscall`, `path` and `dest`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An OS error with the fields a Node error carries (`errno`, `syscall`, `path`, `dest`);
/// `Display` reads as Node's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Positive OS errno (Node reports it negated).
    pub errno: i32,
    /// The call that failed, as Node names it (`open`, `rename`, `fsync`, ...).
    pub syscall: &'static str,
    /// The path the call was about.
    pub path: Option<PathBuf>,
    /// The second path of a two-path call (`rename`, `link`).
    pub dest: Option<PathBuf>,
    /// What the errno alone cannot say (what was found, why it was refused, what to
    /// do), shown after the Node-style message.
    pub detail: Option<String>,
}

/// The core's result: every failure is an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `errno` from `syscall` on `path`.
    pub fn new(errno: i32, syscall: &'static str, path: Option<&Path>) -> Error {
        Error { errno, syscall, path: path.map(Path::to_path_buf), dest: None, detail: None }
    }

    /// The calling thread's last OS error.
    pub fn last(syscall: &'static str, path: &Path) -> Error {
        Error::from_io(io::Error::last_os_error(), syscall, path)
    }

    /// An `io::Error` from `syscall` on `path`, its OS code kept (Windows codes mapped to errno).
    pub fn from_io(err: io::Error, syscall: &'static str, path: &Path) -> Error {
        #[cfg(not(windows))]
        let errno = err.raw_os_error().unwrap_or(libc::EIO);
        // Windows codes (what std and our Win32 calls return) become Node's errno.
        #[cfg(windows)]
        let errno = err.raw_os_error().map_or(libc::EIO, crate::sys::errno_from_os);
        Error::new(errno, syscall, Some(path))
    }

    /// An operation on an atomic file that was already committed or aborted.
    pub fn closed(syscall: &'static str) -> Error {
        Error::new(libc::EBADF, syscall, None)
    }

    /// Names the destination of a two-path call.
    pub fn with_dest(mut self, dest: &Path) -> Error {
        self.dest = Some(dest.to_path_buf());
        self
    }

    /// Adds what the errno alone cannot say.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    /// Node's code for the errno (`ENOENT`, `EEXIST`, ...).
    pub fn code(&self) -> &'static str {
        errno_code(self.errno)
    }

    /// libuv-style description, e.g. "no such file or directory".
    pub fn description(&self) -> String {
        #[cfg(not(windows))]
        let text = io::Error::from_raw_os_error(self.errno).to_string();
        // On Windows std would read the errno as a Windows code; the C runtime knows
        // errno texts.
        #[cfg(windows)]
        let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(self.errno)) }.to_string_lossy().into_owned();
        // std formats "No such file or directory (os error 2)"; Node prints it lowercase
        // and without the suffix.
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
            None => text,
        }
    }
}

impl fmt::Display for Error {
    /// The same shape as Node: `ENOENT: no such file or directory, open '/a/b'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}, {}", self.code(), self.description(), self.syscall)?;
        if let Some(path) = &self.path {
            write!(f, " '{}'", path.display())?;
        }
        if let Some(dest) = &self.dest {
            write!(f, " -> '{}'", dest.display())?;
        }
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The symbolic name Node uses for an errno.
pub(crate) fn errno_code(errno: i32) -> &'static str {
    macro_rules! codes {
        ($($name:ident),* $(,)?) => {
            $(if errno == libc::$name { return stringify!($name); })*
        };
    }
    codes!(
        EPERM,
        ENOENT,
        ESRCH,
        EINTR,
        EIO,
        ENXIO,
        E2BIG,
        ENOEXEC,
        EBADF,
        ECHILD,
        EAGAIN,
        ENOMEM,
        EACCES,
        EFAULT,
        EBUSY,
        EEXIST,
        EXDEV,
        ENODEV,
        ENOTDIR,
        EISDIR,
        EINVAL,
        ENFILE,
        EMFILE,
        ENOTTY,
        ETXTBSY,
        EFBIG,
        ENOSPC,
        ESPIPE,
        EROFS,
        EMLINK,
        EPIPE,
        EDOM,
        ERANGE,
        EDEADLK,
        ENAMETOOLONG,
        ENOLCK,
        ENOSYS,
        ENOTEMPTY,
        ELOOP,
        EWOULDBLOCK,
        EOVERFLOW,
        ETIMEDOUT,
        ECANCELED,
        EOPNOTSUPP,
        ENOTSUP,
        EINPROGRESS,
        EALREADY,
        ENOTSOCK,
        EDESTADDRREQ,
        EMSGSIZE
    );
    #[cfg(unix)]
    codes!(EDQUOT, ESTALE);
    "EUNKNOWN"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_node() {
        let err = Error::new(libc::ENOENT, "open", Some(Path::new("/a/b")));
        assert_eq!(err.code(), "ENOENT");
        assert_eq!(err.to_string(), "ENOENT: no such file or directory, open '/a/b'");
        let err = Error::new(libc::EXDEV, "rename", Some(Path::new("/a"))).with_dest(Path::new("/b"));
        assert!(err.to_string().ends_with("rename '/a' -> '/b'"), "{err}");
    }
}
