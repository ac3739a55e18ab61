//! Cross-process locks. The uncontested path stays on the JS thread: opening the lock
//! file and one non-blocking `F_OFD_SETLK` cannot block. Only a contended wait goes to
//! the core's threads (never libuv's), where the kernel wakes it on release.

use crate::write::WriteOptions;
use crate::{run_async, run_async_waiting, to_path, OrThrow, PathArg};
use atomicwriter_core::lock::{Interrupt, LockFile, LockOptions, Mode, Range};
use atomicwriter_core::{self as core, publish_wait, AtomicFile, Target};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[napi(object)]
pub struct LockRequest {
    pub shared: bool,
    /// First byte of the range (0 for the whole file).
    pub offset: f64,
    /// Bytes in the range; 0 reaches to the end of the file, however far it grows.
    pub length: f64,
    /// Create missing parent directories of the lock file.
    pub mkdir: bool,
}

#[napi(object)]
pub struct LockHolder {
    pub shared: bool,
    /// Processes found holding the conflicting lock; empty when the OS cannot tell.
    pub pids: Vec<u32>,
}

/// One lock request on its own open of the lock file.
#[napi]
pub struct LockHandle {
    /// `None` once released: the fd is closed then, not when the GC gets to the handle
    /// (thousands of lock/release cycles must not pile up open files).
    lock: Mutex<Option<Arc<LockFile>>>,
    waiting: Mutex<Option<Interrupt>>,
}

impl LockHandle {
    fn get(&self) -> core::Result<Arc<LockFile>> {
        self.lock.lock().unwrap().clone().ok_or_else(|| core::Error::closed("fcntl"))
    }
}

/// Opens (creates) the lock file; locks nothing yet. Runs on the JS thread.
#[napi(catch_unwind)]
pub fn open_lock(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg, request: LockRequest) -> Result<LockHandle> {
    let opts = LockOptions {
        mode: if request.shared { Mode::Shared } else { Mode::Exclusive },
        range: Range { offset: request.offset as u64, length: request.length as u64 },
        mkdir: request.mkdir,
    };
    let lock = LockFile::open(&to_path(&path), &opts).or_throw(env)?;
    Ok(LockHandle { lock: Mutex::new(Some(Arc::new(lock))), waiting: Mutex::new(None) })
}

/// The uncontested path in one call: opens the lock file and tries once, on the JS
/// thread. `null` when the lock is busy (the file is closed again; a wait opens its own).
#[napi(catch_unwind)]
pub fn lock_now(
    env: &Env,
    #[napi(ts_arg_type = "string | Buffer")] path: PathArg,
    shared: bool,
    offset: f64,
    length: f64,
    mkdir: bool,
) -> Result<Option<LockHandle>> {
    let handle = open_lock(env, path, LockRequest { shared, offset, length, mkdir })?;
    if handle.try_lock(env)? {
        Ok(Some(handle))
    } else {
        Ok(None)
    }
}

#[napi]
impl LockHandle {
    /// One non-blocking attempt, on the JS thread.
    #[napi(catch_unwind)]
    pub fn try_lock(&self, env: &Env) -> Result<bool> {
        self.get().and_then(|lock| lock.try_lock()).or_throw(env)
    }

    /// Device and inode of the lock file: one key for every path to it.
    #[napi(getter)]
    pub fn key(&self, env: &Env) -> Result<String> {
        self.get().map(|lock| lock.key()).or_throw(env)
    }

    /// Waits on a core thread until the lock is granted; rejects with `ETIMEDOUT`
    /// after `timeout_ms` (negative: never) or `ECANCELED` after `cancel()`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn wait<'env>(&self, env: &'env Env, timeout_ms: f64) -> Result<Object<'env>> {
        let timeout = (timeout_ms >= 0.0).then(|| Duration::try_from_secs_f64(timeout_ms / 1000.0).unwrap_or(Duration::MAX));
        // The deadline counts from this call, so time queued for a thread counts too.
        let interrupt = Interrupt::new(timeout);
        let lock = self.get().or_throw(env)?;
        *self.waiting.lock().unwrap() = Some(interrupt.clone());
        run_async_waiting(env, move || lock.lock(&interrupt))
    }

    /// Ends a wait in progress (abort). Cheap: safe on the JS thread.
    #[napi(catch_unwind)]
    pub fn cancel(&self) {
        if let Some(interrupt) = self.waiting.lock().unwrap().as_ref() {
            interrupt.cancel();
        }
    }

    /// A new descriptor sharing the held lock, for a child process to inherit; -1 where
    /// the OS lock is not tied to the open file description. The caller closes it.
    #[napi(catch_unwind)]
    pub fn inheritable_fd(&self, env: &Env) -> Result<i32> {
        #[cfg(unix)]
        {
            use std::os::fd::IntoRawFd;
            Ok(self.get().and_then(|lock| lock.inheritable_fd()).or_throw(env)?.map_or(-1, IntoRawFd::into_raw_fd))
        }
        #[cfg(not(unix))]
        {
            let _ = env;
            Ok(-1)
        }
    }

    /// Releases the lock and closes the file (idempotent). A write still running
    /// through `write_and_release` keeps its own reference until it ends.
    #[napi(catch_unwind)]
    pub fn release(&self, env: &Env) -> Result<()> {
        match self.lock.lock().unwrap().take() {
            Some(lock) => lock.unlock().or_throw(env),
            None => Ok(()),
        }
    }

    #[napi(catch_unwind)]
    pub fn holder(&self) -> Option<LockHolder> {
        self.get().ok()?.holder().map(|h| LockHolder { shared: h.mode == Mode::Shared, pids: h.pids })
    }

    /// Writes `data` to the (already resolved) target while this lock is held and
    /// releases the lock as soon as the new content is published, before the
    /// directory sync; the promise settles after that sync. The lock is released on
    /// every path, failure included.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn write_and_release<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg,
        data: Buffer,
        options: WriteOptions,
    ) -> Result<Object<'env>> {
        let target = Target::from_resolved(&to_path(&resolved_path)).or_throw(env)?;
        let opts = core::Options::from(&options);
        let lock = self.get().or_throw(env)?;
        // A writeFileSync called after this update waits for it (see `src/file/queue.ts`).
        let publishing = publish_wait::begin(&target.path());
        run_async(env, move || {
            let _publishing = publishing;
            let result = (|| {
                let mut file = AtomicFile::create(target, &opts)?;
                file.write(&data)?;
                file.commit_then(|| {
                    let _ = lock.unlock();
                })
            })();
            let unlocked = lock.unlock();
            result.and(unlocked)
        })
    }
}
