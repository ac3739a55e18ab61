//! Group commit of directory syncs. A rename is durable once a directory fsync that
//! *started after the rename* has finished. When many commits land in one directory at
//! once, one fsync serves all whose renames came before it started: a commit waits for
//! the sync in flight to finish and then for one more, or starts that one itself.
//!
//! A sync about to start also waits (briefly, bounded) for commits that are between
//! their data sync and their rename, so that one directory fsync covers them too. This
//! matters on filesystems where a directory fsync holds the directory's lock while it
//! waits for the disk (ext4 without a journal): fewer, fuller syncs let renames through.

use crate::sys::{Dir, DirKey};
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Longest a sync waits for renames that are about to happen.
const GATHER_LIMIT: Duration = Duration::from_millis(1);

#[derive(Default)]
struct State {
    /// Number of syncs started so far; sync number `n` is the n-th to start.
    started: u64,
    /// Highest sync number that finished (successfully or not).
    finished: u64,
    /// Highest sync number that succeeded: it covers every rename done before it started.
    succeeded: u64,
    running: bool,
    /// The latest failed sync and its errno: commits it covered fail with it.
    failed: Option<(u64, i32)>,
    /// Commits registered and not yet renamed.
    renaming: usize,
    /// Commits registered on this directory; the entry is dropped at zero.
    users: usize,
    /// Threads waiting for a sync to finish (on `Slot::synced`), and the one syncer
    /// gathering renames (on `Slot::renamed`). Two condvars, so that a commit's
    /// rename wakes only the gatherer, not every commit waiting for a sync: with one,
    /// each of 64 concurrent commits woke all the others (34 context switches per
    /// 1 KiB write with 64 callers on ext4, 65 % of them in these waits;
    /// bench/notes/perf.md). A wake-up with nobody waiting is a futex call for
    /// nothing, and a lone sequential writer would make two per write.
    waiting_sync: usize,
    gathering: usize,
}

impl State {
    fn wake_synced(&self, slot: &Slot) {
        if self.waiting_sync > 0 {
            slot.synced.notify_all();
        }
    }

    fn wake_gatherer(&self, slot: &Slot) {
        if self.gathering > 0 {
            slot.renamed.notify_one();
        }
    }
}

fn wait<'a>(mut state: MutexGuard<'a, State>, cond: &Condvar, timeout: Option<Duration>, count: fn(&mut State) -> &mut usize) -> MutexGuard<'a, State> {
    *count(&mut state) += 1;
    let mut state = match timeout {
        Some(t) => cond.wait_timeout(state, t).unwrap().0,
        None => cond.wait(state).unwrap(),
    };
    *count(&mut state) -= 1;
    state
}

#[derive(Default)]
struct SlotState {
    state: Mutex<State>,
    synced: Condvar,
    renamed: Condvar,
}

type Slot = Arc<SlotState>;

/// Slots are keyed by the directory itself (device and inode), not its path: a path
/// can name a new directory (a dataset swapped in) while commits into the old one are
/// still waiting, and a sync of one must not count for the other.
fn directories() -> &'static Mutex<HashMap<DirKey, Slot>> {
    static DIRS: OnceLock<Mutex<HashMap<DirKey, Slot>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

/// A commit in `dir` that is about to rename. Register before the rename, call
/// [`PendingRename::renamed`] after it; dropping it (the rename failed) unregisters.
pub(crate) struct PendingRename {
    key: DirKey,
    slot: Slot,
    renamed: bool,
}

pub(crate) fn before_rename(dir: &Dir) -> PendingRename {
    let mut map = directories().lock().unwrap();
    let key = dir.key();
    let slot = map.entry(key).or_default().clone();
    {
        let mut state = slot.state.lock().unwrap();
        state.users += 1;
        state.renaming += 1;
    }
    PendingRename { key, slot, renamed: false }
}

impl PendingRename {
    /// Makes the rename just done in `dir` durable, sharing the fsync with concurrent
    /// commits.
    pub(crate) fn renamed(mut self, dir: &Dir) -> io::Result<()> {
        self.renamed = true;
        wait_or_sync(dir, &self.slot)
    }
}

impl Drop for PendingRename {
    fn drop(&mut self) {
        let mut map = directories().lock().unwrap();
        let mut state = self.slot.state.lock().unwrap();
        if !self.renamed {
            state.renaming -= 1;
            state.wake_gatherer(&self.slot);
        }
        state.users -= 1;
        if state.users == 0 {
            drop(state);
            map.remove(&self.key);
        }
    }
}

fn wait_or_sync(dir: &Dir, slot: &Slot) -> io::Result<()> {
    let mut state = slot.state.lock().unwrap();
    state.renaming -= 1;
    state.wake_gatherer(slot);
    // Any sync numbered `needed` or later starts after our rename.
    let needed = state.started + 1;
    loop {
        if state.succeeded >= needed {
            return Ok(());
        }
        if let Some((seq, errno)) = state.failed {
            if seq >= needed {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        if state.finished >= needed {
            return Ok(());
        }
        if !state.running {
            state.running = true;
            state = gather_renames(state, slot);
            state.started += 1;
            let mine = state.started;
            drop(state);
            let result = dir.sync();
            let mut state = slot.state.lock().unwrap();
            state.running = false;
            state.finished = state.finished.max(mine);
            match &result {
                Ok(()) => state.succeeded = state.succeeded.max(mine),
                Err(e) => state.failed = Some((mine, e.raw_os_error().unwrap_or(libc::EIO))),
            }
            state.wake_synced(slot);
            return result;
        }
        state = wait(state, &slot.synced, None, |s| &mut s.waiting_sync);
    }
}

/// Lets commits that are about to rename do so before the sync starts, so it covers them.
fn gather_renames<'a>(mut state: MutexGuard<'a, State>, slot: &Slot) -> MutexGuard<'a, State> {
    let deadline = Instant::now() + GATHER_LIMIT;
    while state.renaming > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        state = wait(state, &slot.renamed, Some(left), |s| &mut s.gathering);
    }
    state
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
                        before_rename(&dir).renamed(&dir).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Other tests commit in parallel: look only at this directory's slot.
        let key = Dir::open(&path).unwrap().key();
        assert!(!directories().lock().unwrap().contains_key(&key), "slots are released");
    }

    #[test]
    fn a_failed_rename_unregisters() {
        let tmp = TempDir::new();
        let dir = Dir::open(tmp.path()).unwrap();
        drop(before_rename(&dir));
        before_rename(&dir).renamed(&dir).unwrap();
        assert!(!directories().lock().unwrap().contains_key(&dir.key()));
    }
}
