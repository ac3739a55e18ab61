//! Named temps alive in this process. A process that exits normally or dies of a
//! signal's default action while writes are in flight removes them first (the JS side
//! calls [`remove_live`] from its exit and signal hooks), so only `kill -9` or a crash
//! leaves work for `sweep`. Anonymous (`O_TMPFILE`) temps need nothing: they have no
//! name.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static LIVE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A named temp now exists at `path`.
pub(crate) fn add(path: PathBuf) {
    live().get_or_insert_with(HashSet::new).insert(path);
}

/// The temp at `path` was published or removed.
pub(crate) fn forget(path: &Path) {
    if let Some(set) = live().as_mut() {
        set.remove(path);
    }
}

/// Removes every named temp still alive; returns how many were removed. For the exit
/// path only: writes still in flight then fail (their process is going away).
pub fn remove_live() -> usize {
    let paths: Vec<PathBuf> = live().as_mut().map(|set| set.drain().collect()).unwrap_or_default();
    paths.iter().filter(|p| std::fs::remove_file(p).is_ok()).count()
}

#[cfg(all(test, unix))]
fn is_live(path: &Path) -> bool {
    live().as_ref().is_some_and(|set| set.contains(path))
}

// `remove_live` is not called here: it would remove the temps of tests running
// beside these (the JS tests exercise it in real child processes).
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::atomic_file::{AtomicFile, Options};
    use crate::target::resolve;
    use crate::test_support::TempDir;

    fn open(dir: &TempDir) -> (AtomicFile, PathBuf) {
        let opts = Options { named_temp: true, ..Options::durable() };
        let file = AtomicFile::create(resolve(&dir.path().join("t")).unwrap(), &opts).unwrap();
        let temp = file.temp_path().unwrap();
        assert!(is_live(&temp), "a named temp is registered once created");
        (file, temp)
    }

    #[test]
    fn named_temps_leave_the_registry_when_published_or_removed() {
        let dir = TempDir::new();
        let (mut file, temp) = open(&dir);
        file.write(b"x").unwrap();
        file.commit().unwrap();
        assert!(!is_live(&temp));

        let (file, temp) = open(&dir);
        file.abort();
        assert!(!is_live(&temp));

        let (file, temp) = open(&dir);
        drop(file);
        assert!(!is_live(&temp));
    }
}
