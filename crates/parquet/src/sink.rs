//! Where the encoded bytes go: the staged temp of an atomic file (the one write path),
//! or memory for callers that hand the bytes on themselves. Bytes are gathered into
//! ~1 MiB chunks so the file sees few, large writes.

use atomicwriter_core::{self as core, SharedFile};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

pub(crate) const CHUNK: usize = 1 << 20;

pub(crate) enum Target {
    File(Arc<SharedFile>),
    Memory,
}

pub(crate) struct Sink {
    target: Target,
    buffer: Vec<u8>,
    /// Bytes accepted so far (the file's size once flushed).
    pub(crate) written: u64,
    /// The core's error for a failed file write: the parquet crate only carries an
    /// `io::Error` back, and the caller wants the Node-style one (ENOSPC, ECANCELED...).
    pub(crate) failure: Arc<Mutex<Option<core::Error>>>,
}

impl Sink {
    pub(crate) fn new(target: Target) -> Sink {
        let capacity = if matches!(target, Target::File(_)) { CHUNK } else { 0 };
        Sink { target, buffer: Vec::with_capacity(capacity), written: 0, failure: Arc::new(Mutex::new(None)) }
    }

    /// Memory target: the bytes produced since the last call.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        match self.target {
            Target::Memory => std::mem::take(&mut self.buffer),
            Target::File(_) => Vec::new(),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let Target::File(file) = &self.target else { return Ok(()) };
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = file.write(&self.buffer);
        self.buffer.clear();
        result.map_err(|e| {
            let io = io::Error::from_raw_os_error(e.errno);
            *self.failure.lock().unwrap() = Some(e);
            io
        })
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        self.written += buf.len() as u64;
        if matches!(self.target, Target::File(_)) && self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
