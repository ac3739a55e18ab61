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
use parquet::basic::{Compression as Codec, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use sink::{Sink, Target};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Snappy,
    Zstd,
    Gzip,
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
    /// Created with the first row group, which decides where dictionaries pay.
    writer: Option<SerializedFileWriter<Sink>>,
    start: Option<(Sink, WriterPropertiesBuilder)>,
    fields: Vec<Field>,
    failure: Arc<std::sync::Mutex<Option<core::Error>>>,
    rows: u64,
    finished: bool,
    broken: bool,
}

impl Encoder {
    /// Writes into the staged temp of `file`.
    pub fn to_file(file: Arc<SharedFile>, fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        Encoder::new(Target::File(file), fields, options)
    }

    /// Keeps the bytes for `take_bytes`.
    pub fn to_memory(fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        Encoder::new(Target::Memory, fields, options)
    }

    fn new(target: Target, fields: Vec<Field>, options: &Options) -> Result<Encoder> {
        // Refuse a bad schema now, before any row is encoded.
        schema::message(&fields).map_err(|e| Error::Parquet(e.to_string()))?;
        let codec = match options.compression {
            Compression::None => Codec::UNCOMPRESSED,
            Compression::Snappy => Codec::SNAPPY,
            Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
            Compression::Gzip => Codec::GZIP(GzipLevel::default()),
        };
        let statistics = if options.statistics { EnabledStatistics::Page } else { EnabledStatistics::None };
        let props = WriterProperties::builder()
            .set_compression(codec)
            .set_statistics_enabled(statistics)
            .set_created_by(options.created_by.clone())
            // Row groups are cut by the caller: one per `write_row_group`.
            .set_max_row_group_row_count(None);
        let sink = Sink::new(target);
        let failure = sink.failure.clone();
        Ok(Encoder { writer: None, start: Some((sink, props)), fields, failure, rows: 0, finished: false, broken: false })
    }

    /// The writer, created on first use with a dictionary only for the columns whose
    /// first values repeat (`sample`): a dictionary of mostly unique values makes the
    /// file larger and the write slower, and the crate would keep one until it fills.
    fn writer(&mut self, sample: Option<(usize, &[Column<'_>])>) -> Result<&mut SerializedFileWriter<Sink>> {
        if let Some((sink, mut props)) = self.start.take() {
            if let Some((rows, columns)) = sample {
                for (field, column) in self.fields.iter().zip(columns) {
                    let path = ColumnPath::new(vec![field.name.clone()]);
                    props = props.set_column_dictionary_enabled(path, columns::repeats(field.kind, column, rows));
                }
            }
            let schema = Arc::new(schema::message(&self.fields).map_err(|e| Error::Parquet(e.to_string()))?);
            match SerializedFileWriter::new(sink, schema, Arc::new(props.build())) {
                Ok(writer) => self.writer = Some(writer),
                Err(e) => {
                    self.broken = true;
                    return Err(self.error(e));
                }
            }
        }
        self.writer.as_mut().ok_or_else(|| Error::Invalid("an earlier write failed".into()))
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
        if self.finished || self.broken {
            return Err(Error::Invalid("the file is finished, or an earlier write failed".into()));
        }
        let fields = self.fields.clone();
        let writer = self.writer(Some((rows, columns)))?;
        let result = (|| {
            let mut group = writer.next_row_group()?;
            let mut scratch = columns::Scratch::default();
            for (field, column) in fields.iter().zip(columns) {
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
                self.broken = true;
                Err(self.error(e))
            }
        }
    }

    /// Writes the footer and hands every remaining byte to the file.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished || self.broken {
            return Err(Error::Invalid("the file is finished, or an earlier write failed".into()));
        }
        self.finished = true;
        // Flushes the crate's buffer, and so ours, into the file.
        let result = self.writer(None)?.finish().map(|_| ());
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
