//! Publishes in flight per target, so that a synchronous write can let the
//! asynchronous writes issued before it land first: call order holds across sync and
//! async calls to one file (see `src/file/queue.ts`). A [`Publishing`] is taken on the
//! caller's thread when the work is dispatched (not when a worker starts it, which
//! would leave a window) and dropped when the work is done.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

type Counts = Option<HashMap<PathBuf, usize>>;

static COUNTS: Mutex<Counts> = Mutex::new(None);
static IDLE: Condvar = Condvar::new();

fn counts() -> MutexGuard<'static, Counts> {
    // A panic elsewhere while holding the lock leaves plain counts: still usable.
    COUNTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// One dispatched write that may publish to `path`; the count drops with it.
pub struct Publishing {
    path: PathBuf,
}

/// Counts a write that may publish to `path` until the returned guard drops.
pub fn begin(path: &Path) -> Publishing {
    *counts().get_or_insert_with(HashMap::new).entry(path.to_path_buf()).or_insert(0) += 1;
    Publishing { path: path.to_path_buf() }
}

impl Drop for Publishing {
    fn drop(&mut self) {
        let mut counts = counts();
        if let Some(map) = counts.as_mut() {
            if let Some(n) = map.get_mut(&self.path) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.path);
                }
            }
        }
        drop(counts);
        IDLE.notify_all();
    }
}

/// Blocks until no write dispatched to `path` is in flight. Those writes run on the
/// core's workers and need nothing from the waiting thread, so this always returns.
pub fn wait_idle(path: &Path) {
    let mut counts = counts();
    while counts.as_ref().is_some_and(|map| map.contains_key(path)) {
        counts = IDLE.wait(counts).unwrap_or_else(|e| e.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn waits_for_work_in_flight_and_not_for_other_files() {
        let path = Path::new("/nonexistent/publish_wait/a");
        wait_idle(path);
        let guard = begin(path);
        let other = begin(Path::new("/nonexistent/publish_wait/b"));
        let started = Instant::now();
        let worker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(guard);
        });
        wait_idle(path);
        assert!(started.elapsed() >= Duration::from_millis(50));
        worker.join().unwrap();
        drop(other);
        wait_idle(Path::new("/nonexistent/publish_wait/b"));
    }
}
