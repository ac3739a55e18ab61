//! Where a write really lands. A symlinked target is written through: the link stays
//! and the file it points to is replaced (a dangling link creates its target), as
//! `fs.writeFile` and write-file-atomic do. The resolved path is also the key that
//! orders concurrent writes to one file, so a link and its target share one queue.
//!
//! The path is resolved here, one component at a time, rather than by the kernel, so
//! the kernel's `protected_symlinks` rule is applied here too, whatever the sysctl says:
//! a link in a sticky, world-writable directory (such as /tmp) is followed only when
//! the follower or the directory's owner owns it. Without that, another user could
//! plant `/tmp/report.json -> /root/secret` and have root's write replace the secret.

use crate::error::{Error, Result};
#[cfg(not(unix))]
use std::ffi::OsStr;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Linux's own limit on links followed while resolving one path.
const MAX_SYMLINKS: usize = 40;

/// Where a write lands: the resolved directory and the final name in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The directory the file lives in, canonical when it exists.
    pub dir: PathBuf,
    /// The final name inside `dir`.
    pub name: OsString,
}

impl Target {
    /// The directory joined with the name.
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

/// Follows symlinks (on every component) and canonicalizes the directory. Missing
/// directories are not an error here (`mkdir` creates them); the errors `open(2)`
/// would give for the path's shape are: a non-directory in the middle is `ENOTDIR`, a
/// name after a missing directory's `.` or `..` is `ENOENT`, and a path that can only
/// name a directory (a trailing `/`, a final `.` or `..`) is `EISDIR`, as
/// `fs.writeFile` reports them. Errors carry the path as given.
pub fn resolve(path: &Path) -> Result<Target> {
    if path.as_os_str().is_empty() {
        return Err(Error::new(libc::ENOENT, "open", Some(path)));
    }
    #[cfg(unix)]
    return match known::lookup(path) {
        Some(target) => Ok(target),
        None => {
            let (target, dir_id) = walk::resolve(path)?;
            if let Some(id) = dir_id {
                known::remember(path, &target, id);
            }
            Ok(target)
        }
    };
    #[cfg(not(unix))]
    return resolve_lexically(path);
}

/// The real path a read, a verify or a sweep opens for `path`: every link on the way
/// followed under the same `protected_symlinks` rule as [`resolve`] (a planted link is
/// `EACCES`, never followed), so no caller's path reaches, through another user's link,
/// what the caller could not have been tricked into writing. The walk stops at the
/// first component that is missing or not a directory, and the rest is appended as
/// given: the open that follows fails there with the error `open(2)` gives (`ENOENT`,
/// `ENOTDIR`), reported for the path as given. A trailing `/`, `.` or `..` is kept.
pub fn follow(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::new(libc::ENOENT, "open", Some(path)));
    }
    #[cfg(unix)]
    return walk::follow(path);
    // No sticky directories to plant links in: the OS follows links as it opens.
    #[cfg(not(unix))]
    return Ok(path.to_path_buf());
}

/// Where components cannot be walked as bytes: follow the final links and let the OS
/// canonicalize the directory.
#[cfg(not(unix))]
fn resolve_lexically(path: &Path) -> Result<Target> {
    let text = path.as_os_str().to_string_lossy();
    if text.ends_with('/') || text.ends_with('\\') {
        return Err(Error::new(libc::EISDIR, "open", Some(path)));
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

/// Directories already walked, so that a write does not walk the path again each time.
///
/// The walk costs a `statx` per component (more with links); most programs write into a
/// few directories over and over. After a walk succeeds, the path's directory part *as
/// given* is remembered with the directory it led to (its canonical path and its device
/// and inode) and the effective uid it was walked for. A later write to the same
/// directory part stats it through the kernel (one call, links followed) and uses the
/// remembered result only when it lands on the very same directory, for the same uid.
/// The outcome is the one the walk had: the same directory, reached by a walk that
/// applied the `protected_symlinks` rule. Anything different (the directory replaced, a
/// link planted on the way to somewhere else, a new working directory for a relative
/// path, another uid) is a different identity and takes the full walk again; so does
/// a final name that is a symlink (the walk follows it under the rule), a missing
/// directory and every path shape other than `dir/name`. What is not revalidated is the
/// directory's canonical *name*: if a directory above it is renamed while it stays
/// reachable by the old path (a link put in the old place), writes keep using the name
/// the walk found, which still reaches the same directory through that link.
#[cfg(unix)]
mod known {
    use super::Target;
    use std::collections::HashMap;
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};

    /// Bounds the memory a program writing into many directories keeps for this.
    const CAPACITY: usize = 1024;

    struct Walked {
        dir: PathBuf,
        id: (u64, u64),
        euid: u32,
    }

    fn table() -> &'static Mutex<HashMap<OsString, Walked>> {
        static TABLE: OnceLock<Mutex<HashMap<OsString, Walked>>> = OnceLock::new();
        TABLE.get_or_init(Default::default)
    }

    /// `dir/name` with a plain final name, split as given; `None` for every other shape.
    fn split(path: &Path) -> Option<(&OsStr, &OsStr)> {
        let text = path.as_os_str().as_bytes();
        let slash = text.iter().rposition(|&b| b == b'/')?;
        let (dir, name) = (&text[..slash.max(1)], &text[slash + 1..]);
        if name.is_empty() || name == b"." || name == b".." {
            return None;
        }
        Some((OsStr::from_bytes(dir), OsStr::from_bytes(name)))
    }

    pub(super) fn lookup(path: &Path) -> Option<Target> {
        let (dir_part, name) = split(path)?;
        let (dir, id, euid) = {
            let table = table().lock().unwrap();
            let walked = table.get(dir_part)?;
            (walked.dir.clone(), walked.id, walked.euid)
        };
        if euid != unsafe { libc::geteuid() } {
            return None;
        }
        let meta = std::fs::metadata(dir_part).ok()?;
        if !meta.is_dir() || (meta.dev(), meta.ino()) != id {
            return None;
        }
        // A link as the final name is the walk's to follow (and to refuse, when planted).
        let target = Target { dir, name: name.to_os_string() };
        match std::fs::symlink_metadata(target.path()) {
            Ok(entry) if entry.file_type().is_symlink() => None,
            Ok(_) => Some(target),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(target),
            Err(_) => None,
        }
    }

    /// `id` is the directory's identity as the walk saw it (lstat of its last
    /// component), not a later stat of its name: what is remembered is what the walk
    /// reached, even if something was swapped in since.
    pub(super) fn remember(path: &Path, target: &Target, id: (u64, u64)) {
        let Some((dir_part, _)) = split(path) else { return };
        let walked = Walked { dir: target.dir.clone(), id, euid: unsafe { libc::geteuid() } };
        let mut table = table().lock().unwrap();
        if table.len() >= CAPACITY && !table.contains_key(dir_part) {
            table.clear();
        }
        table.insert(dir_part.to_os_string(), walked);
    }

    #[cfg(test)]
    pub(super) fn forget_all() {
        table().lock().unwrap().clear();
    }
}

#[cfg(unix)]
mod walk {
    use super::{Error, Result, Target, MAX_SYMLINKS};
    use std::collections::VecDeque;
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Part {
        Name(OsString),
        Dot,
        DotDot,
        /// A trailing `/`: the path must name a directory.
        Slash,
    }

    /// `text`'s components, put in front of what is still to walk. A trailing slash
    /// counts only at the very end of the path.
    fn push_front(queue: &mut VecDeque<Part>, text: &[u8]) {
        let mut parts: Vec<Part> = text
            .split(|&b| b == b'/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                b"." => Part::Dot,
                b".." => Part::DotDot,
                name => Part::Name(OsStr::from_bytes(name).to_os_string()),
            })
            .collect();
        if text.ends_with(b"/") && queue.is_empty() {
            parts.push(Part::Slash);
        }
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    }

    /// The target, and the identity of its directory when the walk saw it (it exists
    /// and its last component was examined).
    pub(super) fn resolve(path: &Path) -> Result<(Target, Option<(u64, u64)>)> {
        match walk(path, Purpose::Write)? {
            (Walked::Target(target), id) => Ok((target, id)),
            // A write walk always ends in a target; split it anyway rather than panic.
            (Walked::Path(real), _) => Ok((Target::from_resolved(&real)?, None)),
        }
    }

    pub(super) fn follow(path: &Path) -> Result<PathBuf> {
        match walk(path, Purpose::Read)?.0 {
            Walked::Path(real) => Ok(real),
            Walked::Target(target) => Ok(target.path()),
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Purpose {
        /// A target to create or replace: missing directories are `mkdir`'s, and shapes
        /// that can only name a directory are errors.
        Write,
        /// Something that must exist: the walk stops where the path stops being walkable
        /// and leaves the error to the open.
        Read,
    }

    enum Walked {
        Target(Target),
        Path(PathBuf),
    }

    /// `dir` with what is left of the walk appended as given (a trailing `/` kept).
    fn rest_of(mut dir: PathBuf, queue: VecDeque<Part>) -> PathBuf {
        for part in queue {
            match part {
                Part::Name(n) => dir.push(n),
                Part::Dot => dir.push("."),
                Part::DotDot => dir.push(".."),
                Part::Slash => dir.push(""),
            }
        }
        dir
    }

    fn walk(path: &Path, purpose: Purpose) -> Result<(Walked, Option<(u64, u64)>)> {
        let read = purpose == Purpose::Read;
        let text = path.as_os_str().as_bytes();
        let fail = |errno: i32| Error::new(errno, "open", Some(path));
        // `dir` exists and has no link in it; `missing` are names under it that do not
        // exist (yet: `mkdir` creates them).
        let mut dir = if text.starts_with(b"/") { PathBuf::from("/") } else { std::env::current_dir().map_err(|e| Error::from_io(e, "open", path))? };
        let mut missing: Vec<OsString> = Vec::new();
        let mut name: Option<OsString> = None;
        let mut dir_required = false;
        let mut hops = 0;
        // (device, inode) of `dir` as its last component's lstat showed it; `None`
        // until one was examined, and again after `..` or an absolute link.
        let mut dir_id = None;
        let mut queue = VecDeque::new();
        push_front(&mut queue, text);
        while let Some(part) = queue.pop_front() {
            let last = queue.is_empty() || queue == [Part::Slash];
            match part {
                Part::Slash => dir_required = true,
                Part::Dot | Part::DotDot if !missing.is_empty() => return Err(fail(libc::ENOENT)),
                Part::Dot => dir_required |= last,
                Part::DotDot => {
                    dir.pop();
                    dir_id = None;
                    dir_required |= last;
                }
                Part::Name(n) if !missing.is_empty() => {
                    if last {
                        name = Some(n);
                    } else {
                        missing.push(n);
                    }
                }
                Part::Name(n) => {
                    let candidate = dir.join(&n);
                    match std::fs::symlink_metadata(&candidate) {
                        Err(_) if read => return Ok((Walked::Path(rest_of(candidate, queue)), None)),
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                            if last {
                                name = Some(n);
                            } else {
                                missing.push(n);
                            }
                        }
                        Err(e) => return Err(Error::from_io(e, "open", path)),
                        Ok(meta) if meta.file_type().is_symlink() => {
                            check_protected(&dir, &candidate, &meta, path)?;
                            hops += 1;
                            if hops > MAX_SYMLINKS {
                                return Err(fail(libc::ELOOP));
                            }
                            let link = std::fs::read_link(&candidate).map_err(|e| Error::from_io(e, "readlink", &candidate))?;
                            let link = link.as_os_str().as_bytes();
                            if link.is_empty() {
                                return Err(fail(libc::ENOENT));
                            }
                            if link.starts_with(b"/") {
                                dir = PathBuf::from("/");
                                dir_id = None;
                            }
                            push_front(&mut queue, link);
                        }
                        Ok(meta) if meta.is_dir() && !last => {
                            dir.push(&n);
                            dir_id = Some((meta.dev(), meta.ino()));
                        }
                        Ok(_) if read => return Ok((Walked::Path(rest_of(candidate, queue)), None)),
                        Ok(_) if last => name = Some(n),
                        Ok(_) => return Err(fail(libc::ENOTDIR)),
                    }
                }
            }
        }
        if read {
            // The path named a directory (`.`, `..` or `/` at the end): `dir` is it.
            return Ok((Walked::Path(if dir_required { dir.join("") } else { dir }), None));
        }
        if dir_required {
            // open(2) with O_CREAT: a missing directory above is ENOENT, anything else
            // (a file, a directory, nothing) named this way is EISDIR.
            return Err(fail(if missing.is_empty() { libc::EISDIR } else { libc::ENOENT }));
        }
        let name = name.ok_or_else(|| fail(libc::EISDIR))?;
        // A directory still to be made has no identity yet.
        let dir_id = dir_id.filter(|_| missing.is_empty());
        dir.extend(missing);
        Ok((Walked::Target(Target { dir, name }), dir_id))
    }

    /// The kernel's `protected_symlinks` rule (fs/namei.c `may_follow_link`): in a
    /// sticky, world-writable directory, a link is followed only by its owner, or when
    /// the directory's owner owns it.
    fn check_protected(dir: &Path, link: &Path, link_meta: &std::fs::Metadata, path: &Path) -> Result<()> {
        let dir_meta = std::fs::metadata(dir).map_err(|e| Error::from_io(e, "stat", dir))?;
        // S_ISVTX | S_IWOTH (mode_t is u16 on macOS, u32 here).
        const STICKY_WORLD_WRITABLE: u32 = 0o1002;
        if dir_meta.mode() & STICKY_WORLD_WRITABLE != STICKY_WORLD_WRITABLE {
            return Ok(());
        }
        let follower = unsafe { libc::geteuid() };
        if link_meta.uid() == follower || link_meta.uid() == dir_meta.uid() {
            return Ok(());
        }
        Err(Error::new(libc::EACCES, "open", Some(path)).with_detail(format!(
            "refusing to follow the symlink '{}', owned by uid {}, in the sticky world-writable directory '{}' (owned by uid {}): \
             another user may have planted it to redirect this call; the kernel's protected_symlinks rule forbids it too. \
             Remove the link, or use the real path",
            link.display(),
            link_meta.uid(),
            dir.display(),
            dir_meta.uid()
        )))
    }
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

#[cfg(not(unix))]
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

    fn errno(path: &Path) -> i32 {
        resolve(path).unwrap_err().errno
    }

    #[test]
    fn shapes_that_name_a_directory_fail_as_open_does() {
        let tmp = TempDir::new();
        let d = tmp.path();
        std::fs::write(d.join("f"), b"x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("f", d.join("lf")).unwrap();
        for (given, expected) in [
            ("f/", libc::EISDIR),
            ("new/", libc::EISDIR),
            ("lf/", libc::EISDIR),
            ("sub/.", libc::EISDIR),
            ("sub/..", libc::EISDIR),
            ("sub//", libc::EISDIR),
            ("f/.", libc::ENOTDIR),
            ("f/..", libc::ENOTDIR),
            ("f/x", libc::ENOTDIR),
            ("missing/.", libc::ENOENT),
            ("missing/../f", libc::ENOENT),
            ("missing/x/", libc::ENOENT),
        ] {
            let err = resolve(&d.join(given)).unwrap_err();
            assert_eq!((err.errno, err.path.as_deref()), (expected, Some(d.join(given).as_path())), "{given}");
        }
        assert_eq!(errno(Path::new("/")), libc::EISDIR);
        assert_eq!(resolve(&d.join("sub/../f")).unwrap().path(), std::fs::canonicalize(d.join("f")).unwrap());
        // Missing directories are left to `mkdir`.
        let t = resolve(&d.join("a/b/c")).unwrap();
        assert_eq!((t.dir, t.name), (std::fs::canonicalize(d).unwrap().join("a/b"), "c".into()));
    }

    #[test]
    fn links_in_the_middle_are_followed_physically() {
        let tmp = TempDir::new();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("real/inner")).unwrap();
        std::os::unix::fs::symlink("real/inner", d.join("link")).unwrap();
        // `link/..` is the parent of what the link points to, as the kernel walks it.
        let t = resolve(&d.join("link/../x")).unwrap();
        assert_eq!(t.path(), std::fs::canonicalize(d.join("real")).unwrap().join("x"));
    }

    /// A sticky world-writable directory with a link owned by uid 65534 (root only).
    #[test]
    fn planted_links_in_sticky_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let tmp = TempDir::new();
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::write(tmp.path().join("victim"), b"secret").unwrap();
        let plant = |name: &str, to: &Path, uid: u32| {
            let link = shared.join(name);
            std::os::unix::fs::symlink(to, &link).unwrap();
            std::os::unix::fs::lchown(&link, Some(uid), Some(uid)).unwrap();
            link
        };
        let planted = plant("report", &tmp.path().join("victim"), 65534);
        let err = resolve(&planted).unwrap_err();
        assert_eq!(err.errno, libc::EACCES);
        let message = err.to_string();
        assert!(message.contains("uid 65534") && message.contains("sticky"), "{message}");
        // In the middle of a path too.
        let dir_link = plant("daily", tmp.path(), 65534);
        assert_eq!(errno(&dir_link.join("victim")), libc::EACCES);
        // The follower's own link, and any link outside a sticky directory, are followed.
        let own = plant("own", &tmp.path().join("victim"), 0);
        assert_eq!(resolve(&own).unwrap().name, "victim");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(resolve(&planted).unwrap().name, "victim");
        // Reads follow the same rule.
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(follow(&planted).unwrap_err().errno, libc::EACCES);
        assert_eq!(follow(&dir_link.join("victim")).unwrap_err().errno, libc::EACCES);
        assert_eq!(follow(&own).unwrap(), std::fs::canonicalize(tmp.path().join("victim")).unwrap());
    }

    /// What a remembered walk is reused for: the same directory only. Each change
    /// below would be missed by a cache that trusted the path without its identity.
    #[test]
    fn remembered_directories_are_revalidated() {
        let tmp = TempDir::new();
        let d = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::create_dir_all(d.join("elsewhere")).unwrap();
        let given = d.join("sub/f");
        assert_eq!(resolve(&given).unwrap().path(), d.join("sub/f"));
        assert_eq!(resolve(&given).unwrap().path(), d.join("sub/f"), "remembered");
        // The final name turns into a link: followed, as the walk follows it.
        std::fs::write(d.join("elsewhere/real"), b"x").unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere/real"), d.join("sub/f")).unwrap();
        assert_eq!(resolve(&given).unwrap().path(), d.join("elsewhere/real"));
        // The directory is moved away and a link to another one takes its place.
        std::fs::rename(d.join("sub"), d.join("moved")).unwrap();
        std::os::unix::fs::symlink("elsewhere", d.join("sub")).unwrap();
        assert_eq!(resolve(&given).unwrap().path(), d.join("elsewhere/f"));
        // A new directory under the old name.
        std::fs::remove_file(d.join("sub")).unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        assert_eq!(resolve(&given).unwrap().path(), d.join("sub/f"));
        // Gone: the walk leaves it to mkdir, as for a path never seen.
        std::fs::remove_dir(d.join("sub")).unwrap();
        assert_eq!(resolve(&given).unwrap().path(), d.join("sub/f"));
        known::forget_all();
    }

    /// A directory walked once, then replaced by a link another user planted in a
    /// sticky directory: refused, as on the first walk (root only: it needs lchown).
    #[test]
    fn a_remembered_directory_replaced_by_a_planted_link_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let tmp = TempDir::new();
        let d = std::fs::canonicalize(tmp.path()).unwrap();
        let shared = d.join("shared");
        std::fs::create_dir_all(shared.join("daily")).unwrap();
        std::fs::create_dir(d.join("secret")).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let given = shared.join("daily/report");
        assert_eq!(resolve(&given).unwrap().path(), given);
        std::fs::remove_dir(shared.join("daily")).unwrap();
        std::os::unix::fs::symlink(d.join("secret"), shared.join("daily")).unwrap();
        std::os::unix::fs::lchown(shared.join("daily"), Some(65534), Some(65534)).unwrap();
        assert_eq!(resolve(&given).unwrap_err().errno, libc::EACCES);
        // A planted final name too, in a remembered directory.
        let plain = shared.join("plain");
        assert_eq!(resolve(&plain).unwrap().path(), plain);
        std::os::unix::fs::symlink(d.join("secret/x"), &plain).unwrap();
        std::os::unix::fs::lchown(&plain, Some(65534), Some(65534)).unwrap();
        assert_eq!(resolve(&plain).unwrap_err().errno, libc::EACCES);
    }

    #[test]
    fn follow_leaves_what_cannot_be_walked_to_the_open() {
        let tmp = TempDir::new();
        let d = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::write(d.join("f"), b"x").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink("sub", d.join("ls")).unwrap();
        for (given, real) in [("ls", "sub"), ("ls/", "sub/"), ("ls/.", "sub/"), ("ls/..", ""), ("f/x", "f/x"), ("f/", "f/"), ("missing/../f", "missing/../f")] {
            assert_eq!(follow(&d.join(given)).unwrap(), d.join(real), "{given}");
        }
    }
}
