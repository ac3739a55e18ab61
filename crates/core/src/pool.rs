//! The core's own worker threads. Blocking work (fsync, large writes, lock waits)
//! runs here, never on libuv's pool, which Node shares with `fs`, `dns` and `crypto`
//! (4 threads by default): 64 slow writes must not stall a `stat` or a DNS lookup.
//!
//! Threads start on demand up to a cap and exit after a while idle. The cap is high
//! because a thread waiting in `fdatasync` costs nothing but a stack, and the disk
//! batches concurrent syncs into one journal commit.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

const IDLE_EXIT: Duration = Duration::from_secs(20);
const STACK_SIZE: usize = 256 * 1024;
const DEFAULT_MAX_THREADS: usize = 128;

struct Pool {
    state: Mutex<State>,
    work: Condvar,
    max_threads: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State::default()),
        work: Condvar::new(),
        max_threads: std::env::var("ATOMICWRITER_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0).unwrap_or(DEFAULT_MAX_THREADS),
    })
}

/// Runs `job` on a worker thread.
pub fn spawn(job: impl FnOnce() + Send + 'static) {
    let pool = pool();
    let mut state = pool.state.lock().unwrap();
    state.queue.push_back(Box::new(job));
    // More queued jobs than idle threads to take them: start one more thread.
    if state.queue.len() > state.idle && state.threads < pool.max_threads {
        let started = std::thread::Builder::new().name("atomicwriter".into()).stack_size(STACK_SIZE).spawn(worker);
        if started.is_ok() {
            state.threads += 1;
        } else if state.threads == 0 {
            // No thread at all could start: run it here rather than never.
            let job = state.queue.pop_back().expect("just pushed");
            drop(state);
            job();
            return;
        }
    }
    pool.work.notify_one();
}

fn worker() {
    let pool = pool();
    let mut state = pool.state.lock().unwrap();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            job();
            state = pool.state.lock().unwrap();
            continue;
        }
        state.idle += 1;
        let (next, timeout) = pool.work.wait_timeout(state, IDLE_EXIT).unwrap();
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.queue.is_empty() {
            state.threads -= 1;
            return;
        }
    }
}

/// Runs `job` on a thread of its own, outside the pool: for waits that can last
/// indefinitely (a contended lock), which must never occupy the workers that the
/// writes, including the lock holder's own, need to finish.
pub fn spawn_dedicated(job: impl FnOnce() + Send + 'static) {
    let slot: std::sync::Arc<Mutex<Option<Job>>> = std::sync::Arc::new(Mutex::new(Some(Box::new(job))));
    let theirs = slot.clone();
    let started = std::thread::Builder::new().name("atomicwriter-wait".into()).stack_size(STACK_SIZE).spawn(move || {
        if let Some(job) = theirs.lock().unwrap().take() {
            job();
        }
    });
    if started.is_err() {
        // Out of threads: the pool is the next best place (never drop the job).
        if let Some(job) = slot.lock().unwrap().take() {
            spawn(job);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_concurrently() {
        let (tx, rx) = mpsc::channel();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        for i in 0..8 {
            let tx = tx.clone();
            let barrier = barrier.clone();
            spawn(move || {
                barrier.wait(); // deadlocks unless 8 jobs run at once
                tx.send(i).unwrap();
            });
        }
        let mut got: Vec<i32> = (0..8).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..8).collect::<Vec<_>>());
    }
}
