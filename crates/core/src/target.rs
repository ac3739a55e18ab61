//! Where a write really lands. A symlinked target is written through: the link stays
//! and the file it points to is replaced (a dangling link creates its target), as
//! `fs.writeFile` and write-file-atomic do. The resolved path is also the key that
//! orders concurrent writes to one file, so a link and its target share one queue.

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Linux's own limit on links followed while resolving one path.
const MAX_SYMLINKS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The directory the file lives in, canonical when it exists.
    pub dir: PathBuf,
    /// The final name inside `dir`.
    pub name: OsString,
}

impl Target {
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// Splits a path that is already resolved, without touching the disk.
    pub fn from_resolved(path: &Path) -> Result<Target> {
        match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => Ok(Target { dir: dir.to_path_buf(), name: name.to_os_string() }),
            _ => Err(Error::new(libc::EISDIR, "open", Some(path))),
        }
    }
}

/// Follows symlinks on the final component and canonicalizes the directory.
/// Missing pieces are not an error here: the write reports them with the syscall
/// that failed.
pub fn resolve(path: &Path) -> Result<Target> {
    if path.as_os_str().is_empty() {
        return Err(Error::new(libc::ENOENT, "open", Some(path)));
    }
    let mut current = std::path::absolute(path).map_err(|e| Error::from_io(e, "open", path))?;
    let mut hops = 0;
    loop {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(Error::new(libc::ELOOP, "open", Some(path)));
                }
                let link = std::fs::read_link(&current).map_err(|e| Error::from_io(e, "readlink", &current))?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => break,
        }
    }
    let target = Target::from_resolved(&current)?;
    if is_dot_name(&target.name) {
        return Err(Error::new(libc::EISDIR, "open", Some(path)));
    }
    let dir = std::fs::canonicalize(&target.dir).unwrap_or(target.dir);
    #[cfg(windows)]
    let dir = without_verbatim_prefix(dir);
    Ok(Target { dir, name: target.name })
}

/// Windows `canonicalize` answers `\\?\C:\dir`; users (and Node's error messages)
/// expect `C:\dir`. Long paths still work: std and `sys::windows` add the prefix back
/// to the paths they pass to Win32 when a path needs it.
#[cfg(windows)]
fn without_verbatim_prefix(path: PathBuf) -> PathBuf {
    use std::os::windows::ffi::{OsStrExt, OsStringExt};
    use std::path::{Component, Prefix};
    let wide: Vec<u16> = path.as_os_str().encode_wide().collect();
    let simpler: Vec<u16> = match path.components().next() {
        Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::VerbatimDisk(_)) => wide[4..].to_vec(),
        // \\?\UNC\server\share -> \\server\share
        Some(Component::Prefix(p)) if matches!(p.kind(), Prefix::VerbatimUNC(..)) => [&[92u16, 92][..], &wide[8..]].concat(),
        _ => return path,
    };
    PathBuf::from(std::ffi::OsString::from_wide(&simpler))
}

fn is_dot_name(name: &OsStr) -> bool {
    name == "." || name == ".."
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    #[test]
    fn follows_symlinks_to_the_real_file() {
        let tmp = TempDir::new();
        let real = tmp.path().join("real");
        std::fs::write(&real, b"x").unwrap();
        std::os::unix::fs::symlink("real", tmp.path().join("link")).unwrap();
        let t = resolve(&tmp.path().join("link")).unwrap();
        assert_eq!(t.path(), std::fs::canonicalize(&real).unwrap());
    }

    #[test]
    fn dangling_symlink_resolves_to_its_target() {
        let tmp = TempDir::new();
        std::os::unix::fs::symlink("missing", tmp.path().join("link")).unwrap();
        let t = resolve(&tmp.path().join("link")).unwrap();
        assert_eq!(t.name, "missing");
    }

    #[test]
    fn symlink_loop_is_eloop() {
        let tmp = TempDir::new();
        std::os::unix::fs::symlink("b", tmp.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", tmp.path().join("b")).unwrap();
        assert_eq!(resolve(&tmp.path().join("a")).unwrap_err().errno, libc::ELOOP);
    }
}
