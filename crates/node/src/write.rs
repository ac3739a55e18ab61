//! Whole-file writes, open atomic files and sweep.

use crate::{from_path, js_error, run_async, to_path, PathArg};
use atomicwriter_core::{self as core, pool, AtomicFile, SharedFile, Target};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct WriteOptions {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub fsync: bool,
    pub exclusive: bool,
    pub mkdir: bool,
    pub named_temp: bool,
    /// `chown: false`: the writer owns the file, the old owner is not carried over.
    pub writer_owns: Option<bool>,
    /// Windows: ms to keep retrying a publish while another process holds the target
    /// open (absent: the core's default; 0: no retry).
    pub busy_timeout: Option<u32>,
}

impl From<&WriteOptions> for core::Options {
    fn from(o: &WriteOptions) -> core::Options {
        core::Options {
            mode: o.mode,
            owner: o.uid.zip(o.gid),
            fsync: o.fsync,
            exclusive: o.exclusive,
            mkdir: o.mkdir,
            named_temp: o.named_temp,
            writer_owns: o.writer_owns.unwrap_or(false),
            busy_timeout: o.busy_timeout.map(|ms| Duration::from_millis(ms.into())),
        }
    }
}

/// The real file a path writes to (symlinks followed, directory canonical): the key
/// that orders writes to one file, and the path handed back to the write calls.
#[napi(ts_return_type = "string | Buffer")]
pub fn resolve_target(#[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<PathArg> {
    let target = core::resolve(&to_path(&path)).map_err(js_error)?;
    Ok(from_path(&target.path()))
}

fn resolved(path: &PathArg) -> Result<Target> {
    Target::from_resolved(&to_path(path)).map_err(js_error)
}

#[napi(ts_return_type = "Promise<void>")]
pub fn write_file(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, data: Buffer, options: WriteOptions) -> Result<Object<'_>> {
    let target = resolved(&resolved_path)?;
    let opts = core::Options::from(&options);
    run_async(env, move || core::write_file(target, &data, &opts))
}

#[napi]
pub fn write_file_sync(#[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, data: &[u8], options: WriteOptions) -> Result<()> {
    let target = resolved(&resolved_path)?;
    core::write_file(target, data, &core::Options::from(&options)).map_err(js_error)
}

/// An open atomic write: a temp that is either committed or removed.
#[napi]
pub struct AtomicHandle {
    file: Arc<SharedFile>,
}

impl AtomicHandle {
    pub(crate) fn new(file: AtomicFile) -> AtomicHandle {
        AtomicHandle { file: Arc::new(SharedFile::new(file)) }
    }

    /// The open file, for encoders that write into it from Rust (parquet).
    pub(crate) fn shared(&self) -> Arc<SharedFile> {
        self.file.clone()
    }
}

#[napi]
impl AtomicHandle {
    #[napi(getter, ts_return_type = "string | Buffer | null")]
    pub fn temp_path(&self) -> Option<PathArg> {
        self.file.temp_path().map(|p| from_path(p))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn write<'env>(&self, env: &'env Env, data: Buffer) -> Result<Object<'env>> {
        let file = self.file.clone();
        run_async(env, move || file.write(&data))
    }

    #[napi]
    pub fn write_sync(&self, data: &[u8]) -> Result<()> {
        self.file.write(data).map_err(js_error)
    }

    /// `external`: the temp was written through its path by someone else.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit<'env>(&self, env: &'env Env, external: bool) -> Result<Object<'env>> {
        let file = self.file.clone();
        run_async(env, move || file.commit(external))
    }

    #[napi]
    pub fn commit_sync(&self, external: bool) -> Result<()> {
        self.file.commit(external).map_err(js_error)
    }

    /// Starts a CRC32C of the bytes written from now on (call before the first write).
    #[napi]
    pub fn track_checksum(&self) -> Result<()> {
        self.file.track_checksum().map_err(js_error)
    }

    /// Bytes written and their CRC32C (if tracked); call once writes have settled.
    #[napi]
    pub fn digest(&self) -> Result<crate::dataset::Digest> {
        let (bytes, crc32c) = self.file.digest().map_err(js_error)?;
        Ok(crate::dataset::Digest { bytes: bytes as f64, crc32c })
    }

    /// Never blocks: a write in progress finishes its chunk, then the temp is removed.
    #[napi]
    pub fn abort(&self) {
        self.file.abort();
    }
}

#[napi(ts_return_type = "Promise<AtomicHandle>")]
pub fn open_atomic(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, options: WriteOptions) -> Result<Object<'_>> {
    let target = resolved(&resolved_path)?;
    let opts = core::Options::from(&options);
    run_async(env, move || AtomicFile::create(target, &opts).map(AtomicHandle::new))
}

#[napi]
pub fn open_atomic_sync(#[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, options: WriteOptions) -> Result<AtomicHandle> {
    let target = resolved(&resolved_path)?;
    AtomicFile::create(target, &core::Options::from(&options)).map(AtomicHandle::new).map_err(js_error)
}

/// Removes a file (if present) and syncs its directory.
#[napi(ts_return_type = "Promise<void>")]
pub fn remove_durable(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, fsync: bool) -> Result<Object<'_>> {
    let target = resolved(&resolved_path)?;
    run_async(env, move || core::remove_durable(&target, fsync))
}

#[napi(ts_return_type = "Promise<Array<string | Buffer>>")]
pub fn sweep(env: &Env, #[napi(ts_arg_type = "string | Buffer")] dir: PathArg, older_than_ms: f64, dry_run: bool) -> Result<Object<'_>> {
    let dir = to_path(&dir);
    let older_than = Duration::from_secs_f64(older_than_ms.max(0.0) / 1000.0);
    run_async(env, move || {
        core::sweep::sweep(&dir, older_than, dry_run).map(|paths| paths.iter().map(|p| from_path(p)).collect::<Vec<_>>())
    })
}

/// Worker threads alive now (tests use it to show the libuv pool is not used).
#[napi]
pub fn thread_count() -> u32 {
    pool::thread_count() as u32
}
