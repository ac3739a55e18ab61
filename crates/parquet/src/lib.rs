//! Parquet encoding for atomicwriter: columns arrive as raw little-endian buffers (what a
//! JS TypedArray or Buffer holds, no per-value conversion on the JS side), are encoded
//! with the `parquet` crate's low-level writer, one row group per call, and the bytes
//! go straight into an atomic file's staged temp (or to memory).
//!
//! Nothing here knows JavaScript; `crates/node/src/parquet.rs` converts its arguments.

mod columns;
mod schema;
mod sink;

pub use columns::Column;
pub use schema::{Field, Kind};

use atomicwriter_core::{self as core, SharedFile};
use parquet::basic::{Compression as Codec, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use sink::{Sink, Target};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Snappy,
    Zstd,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub compression: Compression,
    /// Min/max (and null counts) per page and column chunk; off: none at all.
    pub statistics: bool,
    pub created_by: String,
}

#[derive(Debug)]
pub enum Error {
    /// Writing to the file failed (the core's Node-style error).
    Io(core::Error),
    /// Input that does not fit the schema (a bug in the caller: JS checks first).
    Invalid(String),
    /// The parquet crate refused.
    Parquet(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Invalid(m) => write!(f, "invalid parquet input: {m}"),
            Error::Parquet(m) => write!(f, "parquet: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// An open Parquet file: `write_row_group` as many times as needed, then `finish`.
pub struct Encoder {
    writer: Option<SerializedFileWriter<Sink>>,
    fields: Vec<Field>,
    failure: Arc<std::sync::Mutex<Option<core::Error>>>,
    rows: u64,
    finished: bool,
}

impl Encoder {
    /// Writes into the staged temp of `file` (the header is written at once).
    pub fn to_file(file: Arc<SharedFile>, fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        Encoder::new(Target::File(file), fields, options)
    }

    /// Keeps the bytes for `take_bytes`.
    pub fn to_memory(fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        Encoder::new(Target::Memory, fields, options)
    }

    fn new(target: Target, fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        let schema = Arc::new(schema::message(&fields).map_err(|e| Error::Parquet(e.to_string()))?);
        let codec = match options.compression {
            Compression::None => Codec::UNCOMPRESSED,
            Compression::Snappy => Codec::SNAPPY,
            Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
        };
        let statistics = if options.statistics { EnabledStatistics::Page } else { EnabledStatistics::None };
        let props = WriterProperties::builder()
            .set_compression(codec)
            .set_statistics_enabled(statistics)
            .set_created_by(options.created_by.clone())
            // Row groups are cut by the caller: one per `write_row_group`.
            .set_max_row_group_row_count(None)
            .build();
        let sink = Sink::new(target);
        let failure = sink.failure.clone();
        let mut encoder = Encoder { writer: None, fields, failure, rows: 0, finished: false };
        let writer = SerializedFileWriter::new(sink, schema, Arc::new(props)).map_err(|e| encoder.error(e))?;
        encoder.writer = Some(writer);
        Ok(encoder)
    }

    /// The core's error if the file write failed, else the parquet crate's.
    fn error(&self, e: impl fmt::Display) -> Error {
        match self.failure.lock().unwrap().take() {
            Some(io) => Error::Io(io),
            None => Error::Parquet(e.to_string()),
        }
    }

    /// Encodes one row group of `rows` rows: one `Column` per field, in order.
    pub fn write_row_group(&mut self, rows: usize, columns: &[Column<'_>]) -> Result<()> {
        if columns.len() != self.fields.len() {
            return Err(Error::Invalid(format!("{} columns for {} fields", columns.len(), self.fields.len())));
        }
        for (field, column) in self.fields.iter().zip(columns) {
            column.check(field, rows)?;
        }
        if self.finished {
            return Err(Error::Invalid("the file is finished".into()));
        }
        let writer = self.writer.as_mut().ok_or_else(|| Error::Invalid("an earlier row group failed".into()))?;
        let result = (|| {
            let mut group = writer.next_row_group()?;
            let mut scratch = columns::Scratch::default();
            for (field, column) in self.fields.iter().zip(columns) {
                let mut out = group.next_column()?.expect("one column writer per field");
                columns::write(&mut out, field.kind, column, rows, &mut scratch)?;
                out.close()?;
            }
            group.close()?;
            Ok::<(), parquet::errors::ParquetError>(())
        })();
        match result {
            Ok(()) => {
                self.rows += rows as u64;
                Ok(())
            }
            Err(e) => {
                // A half-written row group cannot be continued.
                self.writer = None;
                Err(self.error(e))
            }
        }
    }

    /// Writes the footer and hands every remaining byte to the file.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(Error::Invalid("the file is finished".into()));
        }
        let writer = self.writer.as_mut().ok_or_else(|| Error::Invalid("an earlier row group failed".into()))?;
        self.finished = true;
        // Flushes the crate's buffer, and so ours, into the file.
        let result = writer.finish().map(|_| ());
        result.map_err(|e| self.error(e))
    }

    /// Memory target: the bytes encoded since the last call.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        match self.writer.as_mut() {
            Some(w) => {
                // Whatever the crate's own buffer holds goes first.
                let _ = w.flush();
                w.inner_mut().take()
            }
            None => Vec::new(),
        }
    }

    /// Bytes encoded so far.
    pub fn bytes_written(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.inner().written)
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

#[cfg(test)]
mod tests;
