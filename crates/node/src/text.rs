//! CSV and NDJSON encoding (`crates/text`) of one part of rows: conversion and
//! dispatch only. The part is encoded on a core thread while JS prepares the next.

use crate::run_async;
use atomicwriter_text::{self as text, Column, Layout, TextMode, Values};
use napi::bindgen_prelude::*;
use napi_derive::napi;

const ENCODING_THREADS: usize = 2;

#[napi(object)]
pub struct TextLayout {
    /// csv, ndjson
    pub format: String,
    /// csv: the delimiter (well-formed UTF-16: JS checks).
    pub delimiter: Option<String>,
    /// csv: "\n" or "\r\n".
    pub eol: Option<String>,
    /// csv: numbers holding the delimiter are quoted.
    pub quote_numbers: Option<bool>,
}

/// One column of a part: float64 bytes, or texts as UTF-16LE units plus u32 offsets.
#[napi(object)]
pub struct TextColumn {
    pub numbers: Option<Buffer>,
    pub units: Option<Buffer>,
    pub offsets: Option<Buffer>,
    /// field (a CSV field, quoted when needed), json (a JSON string), verbatim
    pub mode: String,
    /// One byte a row: 0 a value, 1 null, 2 absent (undefined).
    pub state: Option<Buffer>,
    /// ndjson: the key as JSON with its colon.
    pub key: Option<String>,
}

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

fn layout(l: TextLayout) -> Result<Layout> {
    match l.format.as_str() {
        "ndjson" => Ok(Layout::Ndjson),
        "csv" => Ok(Layout::Csv {
            delimiter: l.delimiter.unwrap_or_else(|| ",".into()).encode_utf16().collect(),
            eol: l.eol.unwrap_or_else(|| "\n".into()).into_bytes(),
            quote_numbers: l.quote_numbers.unwrap_or(false),
        }),
        other => Err(invalid(format!("unknown text format {other:?}"))),
    }
}

fn mode(name: &str) -> Result<TextMode> {
    match name {
        "field" => Ok(TextMode::Field),
        "json" => Ok(TextMode::Json),
        "verbatim" => Ok(TextMode::Verbatim),
        other => Err(invalid(format!("unknown text mode {other:?}"))),
    }
}

/// The JS buffers of one part; columns view them without copying.
struct Part {
    columns: Vec<TextColumn>,
    modes: Vec<TextMode>,
}

impl Part {
    fn views(&self) -> Result<Vec<Column<'_>>> {
        self.columns
            .iter()
            .zip(&self.modes)
            .map(|(c, &mode)| {
                let values = match (&c.numbers, &c.units, &c.offsets) {
                    (Some(numbers), None, None) => Values::Numbers(numbers),
                    (None, Some(units), Some(offsets)) => Values::Text { units, offsets },
                    _ => return Err(invalid("a text column has either numbers, or units and offsets".into())),
                };
                Ok(Column { values, mode, state: c.state.as_deref(), key: c.key.as_deref().unwrap_or("").as_bytes() })
            })
            .collect()
    }
}

/// Encodes `rows` rows; resolves with their bytes. Bad buffers throw at once.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn encode_text(env: &Env, layout: TextLayout, rows: u32, columns: Vec<TextColumn>) -> Result<Object<'_>> {
    let layout = self::layout(layout)?;
    let modes = columns.iter().map(|c| mode(&c.mode)).collect::<Result<Vec<_>>>()?;
    let part = Part { columns, modes };
    text::validate(rows as usize, &part.views()?).map_err(invalid)?;
    run_async(env, move || {
        // Two threads (at most) beside the JS thread, which prepares the next part meanwhile.
        let bytes = text::encode_parallel(&layout, rows as usize, &part.views().expect("checked above"), ENCODING_THREADS).expect("validated above");
        Ok(Buffer::from(bytes))
    })
}
