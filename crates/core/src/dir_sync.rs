//! Group commit of directory syncs. A rename is durable once a directory fsync that
//! *started after the rename* has finished. When many commits land in one directory at
//! once, one fsync serves all whose renames came before it started: a commit waits for
//! the sync in flight to finish and then for one more, or starts that one itself.

use crate::sys::Dir;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

#[derive(Default)]
struct State {
    /// Number of syncs started so far; sync number `n` is the n-th to start.
    started: u64,
    /// Highest sync number that finished (successfully or not).
    finished: u64,
    running: bool,
    /// The latest failed sync and its errno: commits it covered fail with it.
    failed: Option<(u64, i32)>,
    /// Commits currently waiting on this directory; the entry is dropped at zero.
    users: usize,
}

type Slot = Arc<(Mutex<State>, Condvar)>;

fn directories() -> &'static Mutex<HashMap<PathBuf, Slot>> {
    static DIRS: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

/// Makes every rename already done in `dir` durable, sharing the fsync with concurrent
/// callers.
pub fn sync_after_rename(dir: &Dir) -> io::Result<()> {
    let slot = {
        let mut map = directories().lock().unwrap();
        let slot = map.entry(dir.path.clone()).or_default().clone();
        slot.0.lock().unwrap().users += 1;
        slot
    };
    let result = wait_or_sync(dir, &slot);
    let mut map = directories().lock().unwrap();
    let mut state = slot.0.lock().unwrap();
    state.users -= 1;
    if state.users == 0 {
        drop(state);
        map.remove(&dir.path);
    }
    result
}

fn wait_or_sync(dir: &Dir, slot: &Slot) -> io::Result<()> {
    let (lock, cond) = &**slot;
    let mut state = lock.lock().unwrap();
    // Any sync numbered `needed` or later starts after our rename.
    let needed = state.started + 1;
    loop {
        if let Some((seq, errno)) = state.failed {
            if seq >= needed {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        if state.finished >= needed {
            return Ok(());
        }
        if !state.running {
            state.started += 1;
            let mine = state.started;
            state.running = true;
            drop(state);
            let result = dir.sync();
            state = lock.lock().unwrap();
            state.running = false;
            state.finished = state.finished.max(mine);
            if let Err(e) = &result {
                state.failed = Some((mine, e.raw_os_error().unwrap_or(libc::EIO)));
            }
            cond.notify_all();
            return result;
        }
        state = cond.wait(state).unwrap();
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    #[test]
    fn concurrent_commits_share_syncs() {
        let tmp = TempDir::new();
        let path = tmp.path().to_path_buf();
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let dir = Dir::open(&path).unwrap();
                    for _ in 0..20 {
                        sync_after_rename(&dir).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(directories().lock().unwrap().is_empty(), "slots are released");
    }
}
