//! Core errors become real JS errors, built here on the JS thread with Node's fields
//! set (`code`, `errno` negated as Node reports it, `syscall`, `path`, `dest`), and
//! thrown or rejected as that very object: nothing is encoded into a message string,
//! so no path (control characters, U+2028, invalid UTF-8) can break the transport.
//! The hints that say what to do are added by `src/binding/native.ts`, which knows the
//! operation and the options of the call (see `src/binding/errors.ts`).

use atomicwriter_core as core;
use napi::bindgen_prelude::*;
use napi::{Env, JsValue};

/// A core error as the JS error Node's `fs` would give for it.
pub(crate) fn js_error(env: &Env, e: &core::Error) -> Error {
    match node_error(env, e) {
        Ok(object) => Error::from(object.to_unknown()),
        // Only when the environment cannot build objects (it is shutting down): the
        // plain napi error still carries the message.
        Err(_) => Error::new(Status::GenericFailure, e.to_string()),
    }
}

fn node_error<'env>(env: &'env Env, e: &core::Error) -> Result<Object<'env>> {
    let mut error = env.create_error(Error::new(Status::GenericFailure, e.to_string()))?;
    error.set_named_property("errno", -e.errno)?;
    error.set_named_property("code", e.code())?;
    error.set_named_property("syscall", e.syscall)?;
    // As `fs` does for a Buffer path that is not UTF-8: a string, with U+FFFD for the
    // bytes that do not decode.
    if let Some(path) = &e.path {
        error.set_named_property("path", path.to_string_lossy().as_ref())?;
    }
    if let Some(dest) = &e.dest {
        error.set_named_property("dest", dest.to_string_lossy().as_ref())?;
    }
    Ok(error)
}

/// `result.or_throw(env)?` in a synchronous binding function: a core error is thrown
/// as [`js_error`] builds it.
pub(crate) trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T> OrThrow<T> for core::Result<T> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| js_error(env, &e))
    }
}
