//! Finds and removes temps orphaned by a crash (a process killed between creating a
//! named temp and publishing it). Only regular files with our temp name shape, older
//! than a cutoff and not marked in use by a live writer, are removed; nothing else is
//! touched.

use crate::error::{Error, Result};
use crate::sys::{self, Dir};
use crate::temp_name::is_temp_name;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub fn sweep(dir: &Path, older_than: Duration, dry_run: bool) -> Result<Vec<PathBuf>> {
    let handle = Dir::open(dir).map_err(|e| Error::from_io(e, "opendir", dir))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::from_io(e, "scandir", dir))?;
    let cutoff = SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !is_temp_name(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.file_type().is_file() || meta.modified().map(|m| m > cutoff).unwrap_or(true) {
            continue;
        }
        let Ok(file) = handle.open_existing(&name) else { continue };
        if sys::is_in_use(&file) {
            continue;
        }
        if !dry_run {
            if let Err(e) = handle.unlink(&name) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(Error::from_io(e, "unlink", &dir.join(&name)));
                }
                continue;
            }
        }
        removed.push(dir.join(&name));
    }
    removed.sort();
    Ok(removed)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic_file::{AtomicFile, Options};
    use crate::target::resolve;
    use crate::temp_name::new_temp_name;
    use crate::test_support::TempDir;

    #[test]
    fn removes_orphans_only() {
        let tmp = TempDir::new();
        let orphan = tmp.path().join(new_temp_name("data.json".as_ref()));
        std::fs::write(&orphan, b"partial").unwrap();
        std::fs::write(tmp.path().join("data.json"), b"keep").unwrap();
        std::fs::write(tmp.path().join(".data.json.tmp"), b"not ours").unwrap();
        let opts = Options { named_temp: true, ..Options::durable() };
        let live = AtomicFile::create(resolve(&tmp.path().join("other")).unwrap(), &opts).unwrap();
        let live_temp = live.temp_path().unwrap();

        let found = sweep(tmp.path(), Duration::ZERO, true).unwrap();
        assert_eq!(found, vec![orphan.clone()], "dry run lists the orphan, not the live temp");
        assert!(orphan.exists());
        let removed = sweep(tmp.path(), Duration::ZERO, false).unwrap();
        assert_eq!(removed, vec![orphan.clone()]);
        assert!(!orphan.exists());
        assert!(live_temp.exists(), "a temp in use by a live writer is kept");
        assert!(tmp.path().join(".data.json.tmp").exists());
        assert!(sweep(tmp.path(), Duration::from_secs(3600), false).unwrap().is_empty());
        live.abort();
    }
}
