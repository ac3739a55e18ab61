//! The N-API binding: converts arguments, dispatches to `atomicwriter-core` on the
//! core's own threads, and turns core errors into JS errors (see `error.rs`). No
//! protocol logic here.
//! One module per concept; this file holds the conversions they share.

mod checksum;
mod completions;
mod dataset;
mod error;
mod lock;
mod parquet;
mod text;
mod write;

use atomicwriter_core::{self as core, pool};
pub(crate) use error::{js_error, OrThrow};
use napi::bindgen_prelude::*;
use napi::Env;
use std::path::{Path, PathBuf};

/// A path as JS gives it: a string, or raw bytes (a Buffer path).
pub(crate) type PathArg = Either<String, Buffer>;

pub(crate) fn to_path(arg: &PathArg) -> PathBuf {
    match arg {
        Either::A(s) => PathBuf::from(s),
        Either::B(bytes) => bytes_to_path(bytes),
    }
}

#[cfg(unix)]
fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

pub(crate) fn from_path(path: &Path) -> PathArg {
    match path.to_str() {
        Some(s) => Either::A(s.to_owned()),
        None => Either::B(path_bytes(path).into()),
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().as_bytes().to_vec()
}

/// Runs `work` on a core thread and settles a promise with its result.
pub(crate) fn run_async<T, W>(env: &Env, work: W) -> Result<Object<'_>>
where
    T: ToNapiValue + Send + 'static,
    W: FnOnce() -> core::Result<T> + Send + 'static,
{
    settle_on(env, work, pool::spawn)
}

/// [`run_async`] for a wait that may last indefinitely: a thread of its own, so waits
/// never hold the pool's workers (see `pool::spawn_dedicated`).
pub(crate) fn run_async_waiting<T, W>(env: &Env, work: W) -> Result<Object<'_>>
where
    T: ToNapiValue + Send + 'static,
    W: FnOnce() -> core::Result<T> + Send + 'static,
{
    settle_on(env, work, pool::spawn_dedicated)
}

fn settle_on<T, W>(env: &Env, work: W, spawn: impl FnOnce(Box<dyn FnOnce() + Send>)) -> Result<Object<'_>>
where
    T: ToNapiValue + Send + 'static,
    W: FnOnce() -> core::Result<T> + Send + 'static,
{
    // Settled through the environment's shared completion queue: many finished writes,
    // one wake-up of the JS thread (see completions.rs).
    let (completions, pending, promise) = completions::promise(env)?;
    // A panic is a bug, but it must reach the caller as an error: unwinding out of the
    // core's thread would leave the promise pending forever (or abort the process).
    spawn(Box::new(move || {
        let settle: completions::Settle = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(Ok(value)) => Box::new(move |env| unsafe { T::to_napi_value(env.raw(), value) }),
            // The error object is made on the JS thread, where the settling runs.
            Ok(Err(e)) => Box::new(move |env| Err(js_error(&env, &e))),
            Err(panic) => {
                let e = napi::bindgen_prelude::panic_to_error(panic);
                let error = Error::new(e.status, format!("atomicwriter internal error (a bug, please report it): {}", e.reason));
                Box::new(move |_| Err(error))
            }
        };
        completions.settle(pending, settle);
    }));
    Ok(promise)
}
