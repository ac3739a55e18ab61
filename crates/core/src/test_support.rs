//! A scratch directory removed on drop (tests only; keeps the crate free of deps).

use crate::atomic_file::Options;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!("aw-core-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

/// A scratch directory holding the file `f` with `content`, and that file's path: where
/// most write tests start.
pub(crate) fn dir_with_file(content: &[u8]) -> (TempDir, PathBuf) {
    let tmp = TempDir::new();
    let path = tmp.path().join("f");
    std::fs::write(&path, content).unwrap();
    (tmp, path)
}

/// Durable options with a named temp (one with a path, which tests can look at).
pub(crate) fn named_temp() -> Options {
    Options { named_temp: true, ..Options::durable() }
}

/// Makes a FIFO at `path` (what a reader would block on forever) and returns the path.
#[cfg(unix)]
pub(crate) fn make_fifo(path: &Path) -> PathBuf {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {path:?}");
    path.to_path_buf()
}

/// The names in `dir`, sorted: what a test compares to say nothing else was left there.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
