//! Whole-file writes, open atomic files and sweep.

use crate::{from_path, run_async, to_path, OrThrow, PathArg};
use atomicwriter_core::{self as core, publish_wait, AtomicFile, SharedFile, Target};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct WriteOptions {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub fsync: bool,
    /// `durability: 'data'`: with `fsync`, the directory is not synced after the rename.
    pub data_only: Option<bool>,
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
            data_only: o.data_only.unwrap_or(false),
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
#[napi(catch_unwind, ts_return_type = "string | Buffer")]
pub fn resolve_target(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<PathArg> {
    let target = core::resolve(&to_path(&path)).or_throw(env)?;
    Ok(from_path(&target.path()))
}

fn resolved(env: &Env, path: &PathArg) -> Result<Target> {
    Target::from_resolved(&to_path(path)).or_throw(env)
}

#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn write_file(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, data: Buffer, options: WriteOptions) -> Result<Object<'_>> {
    let target = resolved(env, &resolved_path)?;
    let opts = core::Options::from(&options);
    let publishing = publish_wait::begin(&target.path());
    run_async(env, move || {
        let _publishing = publishing;
        core::write_file(target, &data, &opts)
    })
}

/// Blocks until the async writes dispatched to this (resolved) path have finished:
/// a sync write issued after them then lands last.
/// Whether a `durability: 'full'` write into the directory `dir` takes one device flush
/// (see the core's durability module): for the power-cut trials and the benchmarks,
/// which must know which path they measured. Not part of the package's API.
#[napi(catch_unwind)]
pub fn one_flush_at(env: &Env, #[napi(ts_arg_type = "string | Buffer")] dir: PathArg) -> Result<bool> {
    let path = to_path(&dir);
    let file = std::fs::File::open(&path).map_err(|e| core::Error::from_io(e, "open", &path)).or_throw(env)?;
    Ok(core::durability::one_flush(&file))
}

#[napi(catch_unwind)]
pub fn wait_for_publishes(#[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg) {
    publish_wait::wait_idle(&to_path(&resolved_path));
}

/// Removes every named temp of this process that is still alive (exit hooks only).
#[napi(catch_unwind)]
pub fn remove_live_temps() -> u32 {
    core::temp_registry::remove_live() as u32
}

#[napi(catch_unwind)]
pub fn write_file_sync(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, data: &[u8], options: WriteOptions) -> Result<()> {
    let target = resolved(env, &resolved_path)?;
    core::write_file(target, data, &core::Options::from(&options)).or_throw(env)
}

/// An open atomic write: a temp that is either committed or removed.
#[napi]
pub struct AtomicHandle {
    file: Arc<SharedFile>,
    /// The file a commit replaces (the key of publish_wait).
    target: PathBuf,
}

impl AtomicHandle {
    pub(crate) fn new(file: AtomicFile) -> AtomicHandle {
        AtomicHandle { target: file.target_path(), file: Arc::new(SharedFile::new(file)) }
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

    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn write<'env>(&self, env: &'env Env, data: Buffer) -> Result<Object<'env>> {
        let file = self.file.clone();
        run_async(env, move || file.write(&data))
    }

    #[napi(catch_unwind)]
    pub fn write_sync(&self, env: &Env, data: &[u8]) -> Result<()> {
        self.file.write(data).or_throw(env)
    }

    /// Publishes what was written through this handle.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn commit<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let file = self.file.clone();
        let publishing = publish_wait::begin(&self.target);
        run_async(env, move || {
            let _publishing = publishing;
            file.commit()
        })
    }

    /// Publishes a temp that was written through its path by someone else.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn commit_external<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let file = self.file.clone();
        let publishing = publish_wait::begin(&self.target);
        run_async(env, move || {
            let _publishing = publishing;
            file.commit_external()
        })
    }

    #[napi(catch_unwind)]
    pub fn commit_sync(&self, env: &Env) -> Result<()> {
        self.file.commit().or_throw(env)
    }

    #[napi(catch_unwind)]
    pub fn commit_external_sync(&self, env: &Env) -> Result<()> {
        self.file.commit_external().or_throw(env)
    }

    /// Starts a CRC32C of the bytes written from now on (call before the first write).
    #[napi(catch_unwind)]
    pub fn track_checksum(&self, env: &Env) -> Result<()> {
        self.file.track_checksum().or_throw(env)
    }

    /// Bytes written and their CRC32C (if tracked); call once writes have settled.
    #[napi(catch_unwind)]
    pub fn digest(&self, env: &Env) -> Result<crate::checksum::Digest> {
        let (bytes, crc32c) = self.file.digest().or_throw(env)?;
        Ok(crate::checksum::Digest { bytes: bytes as f64, crc32c })
    }

    /// Never blocks: a write in progress finishes its chunk, then the temp is removed.
    #[napi(catch_unwind)]
    pub fn abort(&self) {
        self.file.abort();
    }
}

#[napi(catch_unwind, ts_return_type = "Promise<AtomicHandle>")]
pub fn open_atomic(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, options: WriteOptions) -> Result<Object<'_>> {
    let target = resolved(env, &resolved_path)?;
    let opts = core::Options::from(&options);
    run_async(env, move || AtomicFile::create(target, &opts).map(AtomicHandle::new))
}

#[napi(catch_unwind)]
pub fn open_atomic_sync(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, options: WriteOptions) -> Result<AtomicHandle> {
    let target = resolved(env, &resolved_path)?;
    AtomicFile::create(target, &core::Options::from(&options)).map(AtomicHandle::new).or_throw(env)
}

/// Removes a file (if present) and syncs its directory.
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn remove_durable(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg, fsync: bool) -> Result<Object<'_>> {
    let target = resolved(env, &resolved_path)?;
    run_async(env, move || core::remove_durable(&target, fsync))
}

/// Fails unless the file is missing or regular (see `core::check_regular`).
#[napi(catch_unwind, ts_return_type = "Promise<void>")]
pub fn check_regular(env: &Env, #[napi(ts_arg_type = "string | Buffer")] resolved_path: PathArg) -> Result<Object<'_>> {
    let target = resolved(env, &resolved_path)?;
    run_async(env, move || core::check_regular(&target))
}

#[napi(catch_unwind, ts_return_type = "Promise<Array<string | Buffer>>")]
pub fn sweep(env: &Env, #[napi(ts_arg_type = "string | Buffer")] dir: PathArg, older_than_ms: f64, dry_run: bool) -> Result<Object<'_>> {
    let dir = to_path(&dir);
    // Longer than a Duration holds (Infinity included): nothing is that old.
    let older_than = Duration::try_from_secs_f64(older_than_ms.max(0.0) / 1000.0).unwrap_or(Duration::MAX);
    run_async(env, move || core::sweep::sweep(&dir, older_than, dry_run).map(|paths| paths.iter().map(|p| from_path(p)).collect::<Vec<_>>()))
}

/// A whole regular file, read on a core thread. A FIFO, socket or device is an error,
/// found without blocking (see `core::regular`).
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
pub fn read_regular(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<Object<'_>> {
    let path = to_path(&path);
    run_async(env, move || core::regular::read_regular(&path).map(Buffer::from))
}

/// [`read_regular`] on the calling thread: for updateJson's read inside its lock, where
/// nothing else may take the descriptor the read needs between the lock and the read
/// (the check is the same: a FIFO or device is refused without blocking).
#[napi(catch_unwind)]
pub fn read_regular_sync(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<Buffer> {
    core::regular::read_regular(&to_path(&path)).map(Buffer::from).or_throw(env)
}
