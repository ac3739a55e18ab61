//! Reading a dataset back (`verify`, `isComplete`) without trusting what is in it.
//! The directory is opened once and everything below it is reached through
//! descriptors, one path component at a time, with no link followed: an entry named
//! `sub/passwd` where `sub -> /etc` is reported as a link, never read. Files are opened
//! without blocking (a FIFO at `_SUCCESS` or at an entry opens at once and is then
//! refused by `fstat`), and a marker is read only up to [`MARKER_LIMIT`].

use crate::checksum::digest_reader;
use crate::dataset::MARKER;
use crate::error::{Error, Result};
use crate::sys::{Dir, EntryInfo, FileKind};
use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::Path;

/// The largest `_SUCCESS` read: a manifest lists one line per file, so 64 MiB holds
/// several hundred thousand entries; anything larger is refused, not read.
pub const MARKER_LIMIT: u64 = 64 << 20;

/// What a `_SUCCESS` turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Marker {
    /// There is no `_SUCCESS`.
    Missing,
    /// A regular file's bytes.
    Text(Vec<u8>),
    /// Not a regular file (a link, a FIFO, a device, a directory): never read.
    NotRegular(FileKind),
    /// A regular file over [`MARKER_LIMIT`], with the size found.
    TooLarge(u64),
}

/// What a manifest entry turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    /// `None`: missing.
    pub kind: Option<FileKind>,
    /// The part of the name where it was found to be missing or not what it should be
    /// (`sub` for `sub/passwd` when `sub` is a link); the whole name otherwise.
    pub at: String,
    /// Size of what was found (0 unless a regular file).
    pub bytes: u64,
    /// Its CRC32C, when asked for and it is a regular file.
    pub crc32c: Option<u32>,
}

/// A dataset directory opened for verification: marker and parts are read through its
/// descriptor, no link followed.
pub struct DatasetDir {
    dir: Dir,
}

impl DatasetDir {
    /// `ENOENT` when the directory does not exist, `ENOTDIR` when it is not one,
    /// `EACCES` when a link on the way is one another user planted in a sticky
    /// directory (see [`crate::target::follow`]).
    pub fn open(path: &Path) -> Result<DatasetDir> {
        let real = crate::target::follow(path)?;
        let mut dir = Dir::open(&real).map_err(|e| Error::from_io(e, "opendir", path))?;
        // Messages name the path the caller gave (on Unix the descriptor is what is used).
        if cfg!(unix) {
            dir.path = path.to_path_buf();
        }
        Ok(DatasetDir { dir })
    }

    /// What the dataset's `_SUCCESS` is, read (up to [`MARKER_LIMIT`]) only when it is a
    /// regular file.
    pub fn read_marker(&self) -> Result<Marker> {
        let path = &self.dir.path.join(MARKER);
        let err = |syscall: &'static str| move |e: io::Error| Error::from_io(e, syscall, path);
        let name = OsStr::new(MARKER);
        let Some(info) = self.dir.lstat_entry(name).map_err(err("stat"))? else {
            return Ok(Marker::Missing);
        };
        if info.kind != FileKind::File {
            return Ok(Marker::NotRegular(info.kind));
        }
        let file = match self.dir.open_read(name) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Marker::Missing),
            // Replaced by a link since the stat.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Marker::NotRegular(FileKind::Symlink)),
            Err(e) => return Err(err("open")(e)),
        };
        // What was opened, not what the name was a moment ago.
        let opened = EntryInfo::of(&file.metadata().map_err(err("stat"))?);
        if opened.kind != FileKind::File {
            return Ok(Marker::NotRegular(opened.kind));
        }
        if opened.size > MARKER_LIMIT {
            return Ok(Marker::TooLarge(opened.size));
        }
        let mut text = Vec::with_capacity(opened.size as usize);
        // One byte more than the limit tells a file that grew since the stat.
        file.take(MARKER_LIMIT + 1).read_to_end(&mut text).map_err(err("read"))?;
        if text.len() as u64 > MARKER_LIMIT {
            return Ok(Marker::TooLarge(text.len() as u64));
        }
        Ok(Marker::Text(text))
    }

    /// Looks up `name` (relative, `/`-separated, already checked to stay inside)
    /// component by component; a regular file is opened without following a link and
    /// measured, and with `checksum` read through for its CRC32C.
    pub fn check(&self, name: &str, checksum: bool) -> Result<Found> {
        let components: Vec<&str> = name.split('/').collect();
        let Some((last, dirs)) = components.split_last() else {
            return Err(Error::new(libc::EINVAL, "open", Some(&self.dir.path)));
        };
        let not_found = |kind: Option<FileKind>, upto: usize| Found { kind, at: components[..upto].join("/"), bytes: 0, crc32c: None };
        let mut owned: Option<Dir> = None;
        for (i, component) in dirs.iter().enumerate() {
            let dir = owned.as_ref().unwrap_or(&self.dir);
            let path = dir.path.join(component);
            let sub = match dir.lstat_entry(OsStr::new(component)).map_err(|e| Error::from_io(e, "stat", &path))? {
                None => return Ok(not_found(None, i + 1)),
                Some(info) if info.kind != FileKind::Dir => return Ok(not_found(Some(info.kind), i + 1)),
                Some(_) => match dir.open_dir(OsStr::new(component)) {
                    Ok(sub) => sub,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(not_found(None, i + 1)),
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => return Ok(not_found(Some(FileKind::Other), i + 1)),
                    Err(e) => return Err(Error::from_io(e, "open", &path)),
                },
            };
            owned = Some(sub);
        }
        let dir = owned.as_ref().unwrap_or(&self.dir);
        let path = &dir.path.join(last);
        let err = |syscall: &'static str| move |e: io::Error| Error::from_io(e, syscall, path);
        let file_name = OsStr::new(last);
        let whole = components.len();
        match dir.lstat_entry(file_name).map_err(err("stat"))? {
            None => return Ok(not_found(None, whole)),
            Some(info) if info.kind != FileKind::File => return Ok(not_found(Some(info.kind), whole)),
            Some(_) => {}
        }
        let file = match dir.open_read(file_name) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(not_found(None, whole)),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(not_found(Some(FileKind::Symlink), whole)),
            Err(e) => return Err(err("open")(e)),
        };
        let opened = EntryInfo::of(&file.metadata().map_err(err("stat"))?);
        if opened.kind != FileKind::File {
            return Ok(not_found(Some(opened.kind), whole));
        }
        let (bytes, crc32c) = if checksum {
            let digest = digest_reader(&file).map_err(err("read"))?;
            (digest.bytes, Some(digest.crc32c))
        } else {
            (opened.size, None)
        };
        Ok(Found { kind: Some(FileKind::File), at: name.to_string(), bytes, crc32c })
    }

    /// Every regular file below the directory, `/`-separated; links are not followed.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let root = self.dir.try_clone().map_err(|e| Error::from_io(e, "open", &self.dir.path))?;
        list_into(&root, "", &mut out).map_err(|(e, path)| Error::from_io(e, "scandir", &path))?;
        Ok(out)
    }
}

fn list_into(dir: &Dir, prefix: &str, out: &mut Vec<String>) -> std::result::Result<(), (io::Error, std::path::PathBuf)> {
    for os_name in dir.names().map_err(|e| (e, dir.path.clone()))? {
        let fail = |e| (e, dir.path.join(&os_name));
        let Some(info) = dir.lstat_entry(&os_name).map_err(fail)? else {
            continue;
        };
        let name = format!("{prefix}{}", os_name.to_string_lossy());
        match info.kind {
            FileKind::Dir => match dir.open_dir(&os_name) {
                Ok(sub) => list_into(&sub, &format!("{name}/"), out)?,
                // Gone or replaced meanwhile: `verify` compares identities and looks again.
                Err(_) => continue,
            },
            FileKind::File => out.push(name),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::checksum::crc32c;
    use crate::test_support::TempDir;

    #[test]
    fn reads_markers_without_trusting_them() {
        let tmp = TempDir::new();
        let ds = DatasetDir::open(tmp.path()).unwrap();
        assert_eq!(ds.read_marker().unwrap(), Marker::Missing);
        std::fs::write(tmp.path().join(MARKER), b"{}").unwrap();
        assert_eq!(ds.read_marker().unwrap(), Marker::Text(b"{}".to_vec()));
        std::fs::remove_file(tmp.path().join(MARKER)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", tmp.path().join(MARKER)).unwrap();
        assert_eq!(ds.read_marker().unwrap(), Marker::NotRegular(FileKind::Symlink));
        std::fs::remove_file(tmp.path().join(MARKER)).unwrap();
        let big = std::fs::File::create(tmp.path().join(MARKER)).unwrap();
        big.set_len(MARKER_LIMIT + 1).unwrap();
        assert_eq!(ds.read_marker().unwrap(), Marker::TooLarge(MARKER_LIMIT + 1));
        assert_eq!(DatasetDir::open(&tmp.path().join("missing")).err().unwrap().code(), "ENOENT");
    }

    #[test]
    fn entries_are_never_read_through_links() {
        let tmp = TempDir::new();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        std::fs::write(tmp.path().join("real/a"), b"abc").unwrap();
        std::os::unix::fs::symlink("/etc", tmp.path().join("sub")).unwrap();
        let ds = DatasetDir::open(tmp.path()).unwrap();
        assert_eq!(ds.check("real/a", true).unwrap(), Found { kind: Some(FileKind::File), at: "real/a".into(), bytes: 3, crc32c: Some(crc32c(b"abc")) });
        assert_eq!(ds.check("sub/passwd", true).unwrap(), Found { kind: Some(FileKind::Symlink), at: "sub".into(), bytes: 0, crc32c: None });
        assert_eq!(ds.check("real/b", true).unwrap().kind, None);
        assert_eq!(ds.check("nope/b", false).unwrap(), Found { kind: None, at: "nope".into(), bytes: 0, crc32c: None });
        assert_eq!(ds.list().unwrap(), vec!["real/a".to_string()]);
    }
}
