//! Parquet encoding (`crates/parquet`) into an open atomic file: conversion and
//! dispatch only. Row groups are encoded on the core's threads.

use crate::js_error;
use crate::write::AtomicHandle;
use atomicwriter_core::pool;
use atomicwriter_parquet::{self as pq, Column, Compression, Encoder, Field, Kind};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use std::sync::{Arc, Mutex};

#[napi(object)]
pub struct ParquetField {
    pub name: String,
    /// boolean, int8, int16, int32, uint8, uint16, uint32, int64, uint64, float32,
    /// float64, string, binary, json, timestamp, date
    pub kind: String,
}

#[napi(object)]
pub struct ParquetOptions {
    /// none, snappy, zstd, gzip
    pub compression: String,
    pub statistics: bool,
    pub created_by: String,
}

/// One column of a row group: the bytes of a TypedArray (or Buffer), offsets for
/// strings and binary, and a validity bitmap (LSB first, from `validityOffset`).
#[napi(object)]
pub struct ParquetColumn {
    pub values: Buffer,
    pub offsets: Option<Buffer>,
    pub validity: Option<Buffer>,
    pub validity_offset: Option<u32>,
}

#[napi(object)]
pub struct ParquetOutput {
    /// Bytes encoded so far.
    pub bytes: f64,
    /// Memory encoders: the bytes produced by this call.
    pub data: Option<Buffer>,
}

#[napi]
pub struct ParquetEncoder {
    encoder: Arc<Mutex<Encoder>>,
    memory: bool,
}

fn fields(list: Vec<ParquetField>) -> Result<Vec<Field>> {
    list.into_iter()
        .map(|f| match Kind::parse(&f.kind) {
            Some(kind) => Ok(Field { name: f.name, kind }),
            None => Err(Error::new(Status::InvalidArg, format!("unknown parquet column kind {:?}", f.kind))),
        })
        .collect()
}

fn options(o: ParquetOptions) -> Result<pq::Options> {
    let compression = match o.compression.as_str() {
        "none" => Compression::None,
        "snappy" => Compression::Snappy,
        "zstd" => Compression::Zstd,
        "gzip" => Compression::Gzip,
        other => return Err(Error::new(Status::InvalidArg, format!("unknown parquet compression {other:?}"))),
    };
    Ok(pq::Options { compression, statistics: o.statistics, created_by: o.created_by })
}

fn to_js(env: &Env, e: pq::Error) -> Error {
    match e {
        pq::Error::Io(e) => js_error(env, &e),
        other => Error::new(Status::GenericFailure, other.to_string()),
    }
}

fn output(memory: bool, encoder: &mut Encoder) -> ParquetOutput {
    let data = memory.then(|| encoder.take_bytes().into());
    ParquetOutput { bytes: encoder.bytes_written() as f64, data }
}

impl ParquetEncoder {
    /// Runs `work` on a core thread with the encoder, and settles a promise.
    fn run<'env>(&self, env: &'env Env, work: impl FnOnce(&mut Encoder) -> pq::Result<()> + Send + 'static) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<ParquetOutput, Box<dyn FnOnce(Env) -> Result<ParquetOutput> + Send>>()?;
        let encoder = self.encoder.clone();
        let memory = self.memory;
        pool::spawn(move || {
            let mut encoder = encoder.lock().unwrap();
            match work(&mut encoder) {
                Ok(()) => {
                    let out = output(memory, &mut encoder);
                    deferred.resolve(Box::new(move |_| Ok(out)))
                }
                Err(e) => deferred.resolve(Box::new(move |env| Err(to_js(&env, e)))),
            }
        });
        Ok(promise)
    }
}

#[napi]
impl ParquetEncoder {
    /// Encodes into the staged temp of `handle` (the one write path).
    #[napi(factory)]
    pub fn to_file(env: &Env, handle: &AtomicHandle, fields: Vec<ParquetField>, options: ParquetOptions) -> Result<ParquetEncoder> {
        let encoder = Encoder::to_file(handle.shared(), self::fields(fields)?, &self::options(options)?).map_err(|e| to_js(env, e))?;
        Ok(ParquetEncoder { encoder: Arc::new(Mutex::new(encoder)), memory: false })
    }

    /// Encodes into memory: each call resolves with the bytes it produced.
    #[napi(factory)]
    pub fn to_memory(env: &Env, fields: Vec<ParquetField>, options: ParquetOptions) -> Result<ParquetEncoder> {
        let encoder = Encoder::to_memory(self::fields(fields)?, &self::options(options)?).map_err(|e| to_js(env, e))?;
        Ok(ParquetEncoder { encoder: Arc::new(Mutex::new(encoder)), memory: true })
    }

    /// One row group of `rows` rows, one column per field. Await it before the next.
    #[napi(ts_return_type = "Promise<ParquetOutput>")]
    pub fn write_row_group<'env>(&self, env: &'env Env, rows: u32, columns: Vec<ParquetColumn>) -> Result<Object<'env>> {
        self.run(env, move |encoder| {
            let views: Vec<Column<'_>> = columns
                .iter()
                .map(|c| Column {
                    values: &c.values,
                    offsets: c.offsets.as_deref(),
                    validity: c.validity.as_deref().map(|v| (v, c.validity_offset.unwrap_or(0) as usize)),
                })
                .collect();
            encoder.write_row_group(rows as usize, &views)
        })
    }

    /// Writes the footer; the caller then commits the atomic file.
    #[napi(ts_return_type = "Promise<ParquetOutput>")]
    pub fn finish<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        self.run(env, |encoder| encoder.finish())
    }
}
