//! An [`AtomicFile`] shared between the thread that owns the handle (the JS thread)
//! and the workers that write to it. `abort` never blocks: a write in progress on a
//! worker holds the file, so abort only raises a flag that the worker honours as soon
//! as its current write returns, and the temp is removed then.

use crate::atomic_file::AtomicFile;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An [`AtomicFile`] shared between JS and the core's threads: writes and the commit take
/// turns, and an abort requested during a write takes effect when that write returns.
pub struct SharedFile {
    slot: Mutex<Option<AtomicFile>>,
    abort_requested: AtomicBool,
    temp_path: Option<PathBuf>,
}

impl SharedFile {
    /// Shares `file`.
    pub fn new(file: AtomicFile) -> SharedFile {
        SharedFile { temp_path: file.temp_path(), slot: Mutex::new(Some(file)), abort_requested: AtomicBool::new(false) }
    }

    /// The temp's path, if it has one (a named temp).
    pub fn temp_path(&self) -> Option<&PathBuf> {
        self.temp_path.as_ref()
    }

    /// Writes all of `buf` to the temp (`ECANCELED` once an abort was requested).
    pub fn write(&self, buf: &[u8]) -> Result<()> {
        let mut slot = self.slot.lock().unwrap();
        self.honour_abort(&mut slot)?;
        let result = slot.as_mut().ok_or_else(|| Error::closed("write"))?.write(buf);
        self.honour_abort(&mut slot)?;
        result
    }

    /// Computes a CRC32C of what is written from now on (see [`AtomicFile::track_checksum`]).
    pub fn track_checksum(&self) -> Result<()> {
        let mut slot = self.slot.lock().unwrap();
        slot.as_mut().ok_or_else(|| Error::closed("write"))?.track_checksum();
        Ok(())
    }

    /// Bytes written so far and their CRC32C, if tracked.
    pub fn digest(&self) -> Result<(u64, Option<u32>)> {
        let slot = self.slot.lock().unwrap();
        Ok(slot.as_ref().ok_or_else(|| Error::closed("write"))?.digest())
    }

    /// Syncs and publishes what was written through this handle.
    pub fn commit(&self) -> Result<()> {
        self.take_for_commit()?.commit()
    }

    /// Syncs and publishes a temp that was written through its path by someone else
    /// (see [`AtomicFile::commit_external`]).
    pub fn commit_external(&self) -> Result<()> {
        self.take_for_commit()?.commit_external()
    }

    fn take_for_commit(&self) -> Result<AtomicFile> {
        let mut slot = self.slot.lock().unwrap();
        self.honour_abort(&mut slot)?;
        slot.take().ok_or_else(|| Error::closed("rename"))
    }

    /// Removes the temp now, or as soon as the write in progress returns. Never blocks
    /// the caller: when a worker holds the file, a pool job waits for it and removes
    /// the temp (the worker may already be past its last look at the flag).
    pub fn abort(self: &Arc<Self>) {
        self.abort_requested.store(true, Ordering::SeqCst);
        match self.slot.try_lock() {
            Ok(mut slot) => {
                if let Some(file) = slot.take() {
                    file.abort();
                }
            }
            Err(_) => {
                let this = Arc::clone(self);
                crate::pool::spawn(move || {
                    if let Some(file) = this.slot.lock().unwrap().take() {
                        file.abort();
                    }
                });
            }
        }
    }

    fn honour_abort(&self, slot: &mut Option<AtomicFile>) -> Result<()> {
        if !self.abort_requested.load(Ordering::SeqCst) {
            return Ok(());
        }
        if let Some(file) = slot.take() {
            file.abort();
        }
        Err(Error::new(libc::ECANCELED, "write", None))
    }
}

/// Run on every OS (Windows under Wine in CI).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::resolve;
    use crate::test_support::{dir_with_file, named_temp};

    #[test]
    fn abort_during_a_write_removes_the_temp_when_the_write_returns() {
        let (_tmp, path) = dir_with_file(b"old");
        let shared = Arc::new(SharedFile::new(AtomicFile::create(resolve(&path).unwrap(), &named_temp()).unwrap()));
        let temp = shared.temp_path().unwrap().clone();
        let writer = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let chunk = vec![7u8; 8 << 20];
                (0..64).map(|_| shared.write(&chunk)).find(|r| r.is_err()).unwrap_or(Ok(()))
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        shared.abort();
        let result = writer.join().unwrap();
        assert_eq!(result.unwrap_err().code(), "ECANCELED");
        assert!(!temp.exists());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(shared.commit().unwrap_err().code(), "ECANCELED");
    }
}
