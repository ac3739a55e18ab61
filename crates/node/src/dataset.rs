//! Dataset staging directories and file checksums (see `atomicwriter-core::dataset`).

use crate::{from_path, run_async, to_path, OrThrow, PathArg};
use atomicwriter_core::{self as core, checksum, dataset, Target};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[napi(object)]
pub struct StagingOptions {
    pub fsync: bool,
    pub mkdir: bool,
}

/// A file of a sealed staging directory.
#[napi(object)]
pub struct StagedFile {
    pub name: String,
    pub bytes: f64,
    #[napi(js_name = "crc32c")]
    pub crc32c: Option<u32>,
}

/// Size and CRC32C of bytes written or read.
#[napi(object)]
pub struct Digest {
    pub bytes: f64,
    #[napi(js_name = "crc32c")]
    pub crc32c: Option<u32>,
}

#[napi]
pub struct StagingHandle {
    staging: Arc<Mutex<Option<dataset::Staging>>>,
    path: PathBuf,
}

fn closed() -> core::Error {
    core::Error::closed("rename")
}

#[napi]
impl StagingHandle {
    /// The staging directory, where parts go until `publish`.
    #[napi(getter, ts_return_type = "string | Buffer")]
    pub fn path(&self) -> PathArg {
        from_path(&self.path)
    }

    /// Creates the directories a part lives in (cheap: runs right here).
    #[napi]
    pub fn make_parent(&self, env: &Env, name: String) -> Result<()> {
        let guard = self.staging.lock().unwrap();
        guard.as_ref().ok_or_else(closed).and_then(|s| s.make_parent(&name)).or_throw(env)
    }

    /// Syncs the parts; lists them, with checksums read back for all but the `known`.
    #[napi(ts_return_type = "Promise<StagedFile[]>")]
    pub fn seal<'env>(&self, env: &'env Env, known: Vec<String>) -> Result<Object<'env>> {
        let slot = self.staging.clone();
        run_async(env, move || {
            let names: HashSet<String> = known.into_iter().collect();
            let guard = slot.lock().unwrap();
            let entries = guard.as_ref().ok_or_else(closed)?.seal(&names)?;
            Ok(entries
                .into_iter()
                .map(|e| StagedFile { name: e.name, bytes: e.bytes as f64, crc32c: e.crc32c })
                .collect::<Vec<_>>())
        })
    }

    /// Writes `_SUCCESS` (when given) and puts the dataset in place.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn publish<'env>(&self, env: &'env Env, marker: Option<Buffer>) -> Result<Object<'env>> {
        let slot = self.staging.clone();
        run_async(env, move || {
            let staging = slot.lock().unwrap().take().ok_or_else(closed)?;
            staging.publish(marker.as_deref())
        })
    }

    /// Removes the staging directory (on a worker: it may hold many files).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn abort<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let slot = self.staging.clone();
        run_async(env, move || {
            if let Some(staging) = slot.lock().unwrap().take() {
                staging.abort();
            }
            Ok(())
        })
    }
}

#[napi(ts_return_type = "Promise<StagingHandle>")]
pub fn open_staging(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, options: StagingOptions) -> Result<Object<'_>> {
    let target = Target::from_resolved(&to_path(&resolved_path)).or_throw(env)?;
    let opts = dataset::DatasetOptions { fsync: options.fsync, mkdir: options.mkdir };
    run_async(env, move || {
        let staging = dataset::Staging::create(target, &opts)?;
        let path = staging.path().to_path_buf();
        Ok(StagingHandle { staging: Arc::new(Mutex::new(Some(staging))), path })
    })
}

/// Reads a file through and returns its size and CRC32C.
#[napi(ts_return_type = "Promise<Digest>")]
pub fn digest_file(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<Object<'_>> {
    let path = to_path(&path);
    run_async(env, move || {
        let digest = checksum::digest_file(&path).map_err(|e| core::Error::from_io(e, "open", &path))?;
        Ok(Digest { bytes: digest.bytes as f64, crc32c: Some(digest.crc32c) })
    })
}
