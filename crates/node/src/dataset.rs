//! Dataset staging directories (see `atomicwriter-core::dataset`).

use crate::write::{AtomicHandle, WriteOptions};
use crate::{from_path, run_async, to_path, OrThrow, PathArg};
use atomicwriter_core::{self as core, dataset, reader, FileKind, Target};
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
    /// `replace: 'any'`: replace an existing directory even if it is not a dataset.
    pub replace_any: Option<bool>,
}

/// A file of a sealed staging directory.
#[napi(object)]
pub struct StagedFile {
    pub name: String,
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

    /// Opens the temp of a part, relative to the staging directory's descriptor.
    #[napi(ts_return_type = "Promise<AtomicHandle>")]
    pub fn open_part<'env>(&self, env: &'env Env, name: String, options: WriteOptions) -> Result<Object<'env>> {
        let slot = self.staging.clone();
        let opts = core::Options::from(&options);
        run_async(env, move || {
            let guard = slot.lock().unwrap();
            guard.as_ref().ok_or_else(closed)?.open_part(&name, &opts).map(AtomicHandle::new)
        })
    }

    /// Syncs the parts; lists them, with checksums read back for all but the `known`.
    #[napi(ts_return_type = "Promise<StagedFile[]>")]
    pub fn seal<'env>(&self, env: &'env Env, known: Vec<String>) -> Result<Object<'env>> {
        let slot = self.staging.clone();
        run_async(env, move || {
            let names: HashSet<String> = known.into_iter().collect();
            let guard = slot.lock().unwrap();
            let entries = guard.as_ref().ok_or_else(closed)?.seal(&names)?;
            Ok(entries.into_iter().map(|e| StagedFile { name: e.name, bytes: e.bytes as f64, crc32c: e.crc32c }).collect::<Vec<_>>())
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
    let opts = dataset::DatasetOptions { fsync: options.fsync, mkdir: options.mkdir, replace_any: options.replace_any.unwrap_or(false) };
    run_async(env, move || {
        let staging = dataset::Staging::create(target, &opts)?;
        let path = staging.path().to_path_buf();
        Ok(StagingHandle { staging: Arc::new(Mutex::new(Some(staging))), path })
    })
}

/// What a `_SUCCESS` turned out to be: `kind` is `missing`, `file` (then `text` holds
/// it), `too large` (`bytes`: its size) or the kind of non-regular file found.
#[napi(object)]
pub struct MarkerInfo {
    pub kind: String,
    /// For messages: "a FIFO", "a symbolic link".
    pub what: String,
    pub bytes: f64,
    pub text: Option<Buffer>,
}

/// What a manifest entry turned out to be (see `atomicwriter-core::reader::Found`).
#[napi(object)]
pub struct EntryFound {
    pub kind: String,
    pub what: String,
    /// The part of the name where it was found missing or not a file or directory.
    pub at: String,
    pub bytes: f64,
    #[napi(js_name = "crc32c")]
    pub crc32c: Option<u32>,
}

fn kind_name(kind: Option<FileKind>) -> (&'static str, &'static str) {
    let Some(kind) = kind else {
        return ("missing", "missing");
    };
    let name = match kind {
        FileKind::File => "file",
        FileKind::Dir => "directory",
        FileKind::Symlink => "symlink",
        FileKind::Fifo => "fifo",
        FileKind::Socket => "socket",
        FileKind::CharDevice => "character device",
        FileKind::BlockDevice => "block device",
        FileKind::Other => "other",
    };
    (name, kind.describe())
}

/// A dataset directory opened for reading (verify, isComplete): everything below it
/// is reached through its descriptor, on the core's threads. `close()` lets the
/// descriptor go (once the calls in flight are done) instead of when the collector
/// frees the object: an open descriptor keeps the directory's filesystem busy.
#[napi]
pub struct DatasetReader {
    dir: Mutex<Option<Arc<reader::DatasetDir>>>,
}

impl DatasetReader {
    fn dir(&self) -> Result<Arc<reader::DatasetDir>> {
        let dir = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        dir.clone().ok_or_else(|| Error::new(Status::GenericFailure, "the dataset reader is closed"))
    }
}

#[napi]
impl DatasetReader {
    /// Drops the reader's reference to the directory descriptor (calls in flight keep theirs).
    #[napi]
    pub fn close(&self) {
        self.dir.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    #[napi(ts_return_type = "Promise<MarkerInfo>")]
    pub fn read_marker<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let dir = self.dir()?;
        run_async(env, move || {
            Ok(match dir.read_marker()? {
                reader::Marker::Missing => MarkerInfo { kind: "missing".into(), what: "missing".into(), bytes: 0.0, text: None },
                reader::Marker::Text(text) => {
                    MarkerInfo { kind: "file".into(), what: FileKind::File.describe().into(), bytes: text.len() as f64, text: Some(text.into()) }
                }
                reader::Marker::TooLarge(bytes) => {
                    MarkerInfo { kind: "too large".into(), what: FileKind::File.describe().into(), bytes: bytes as f64, text: None }
                }
                reader::Marker::NotRegular(kind) => {
                    let (name, what) = kind_name(Some(kind));
                    MarkerInfo { kind: name.into(), what: what.into(), bytes: 0.0, text: None }
                }
            })
        })
    }

    /// Looks up a manifest entry without following links; `checksum`: read it through.
    #[napi(ts_return_type = "Promise<EntryFound>")]
    pub fn check<'env>(&self, env: &'env Env, name: String, checksum: bool) -> Result<Object<'env>> {
        let dir = self.dir()?;
        run_async(env, move || {
            let found = dir.check(&name, checksum)?;
            let (kind, what) = kind_name(found.kind);
            Ok(EntryFound { kind: kind.into(), what: what.into(), at: found.at, bytes: found.bytes as f64, crc32c: found.crc32c })
        })
    }

    /// Every regular file below the directory (links not followed).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn list<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let dir = self.dir()?;
        run_async(env, move || dir.list())
    }
}

/// Opens a dataset directory for reading (`ENOENT` when it does not exist).
#[napi(ts_return_type = "Promise<DatasetReader>")]
pub fn open_dataset_reader(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<Object<'_>> {
    let path = to_path(&path);
    run_async(env, move || reader::DatasetDir::open(&path).map(|dir| DatasetReader { dir: Mutex::new(Some(Arc::new(dir))) }))
}

/// Why `name` cannot be a dataset part's name (core `dataset.rs` `part_name_problem`:
/// relative, `/`-separated, inside the dataset, not shaped like a temp), or `null`.
#[napi]
pub fn part_name_problem(name: String) -> Option<&'static str> {
    core::dataset::part_name_problem(&name)
}
