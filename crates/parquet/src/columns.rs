//! One column of one row group: raw little-endian buffers in, a Parquet column chunk out.
//! Null rows are dropped from the values and marked by definition level 0.

use crate::schema::{Field, Kind};
use crate::{Error, Result};
use bytes::Bytes;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DataType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::errors::Result as PqResult;
use parquet::file::writer::SerializedColumnWriter;

const DAY_MS: f64 = 86_400_000.0;

/// A column's rows as buffers (borrowed from the caller for the length of the call).
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// One entry per row, laid out as `Kind` says.
    pub values: &'a [u8],
    /// Variable-length kinds: rows + 1 little-endian i32 offsets into `values`.
    pub offsets: Option<&'a [u8]>,
    /// Which rows are not null: a bitmap, least significant bit first (Arrow's layout),
    /// starting at the given bit. `None`: no nulls.
    pub validity: Option<(&'a [u8], usize)>,
}

impl Column<'_> {
    pub(crate) fn check(&self, field: &Field, rows: usize) -> Result<()> {
        let bad = |what: String| Err(Error::Invalid(format!("column \"{}\": {what}", field.name)));
        match field.kind.width() {
            Some(width) if self.values.len() < rows * width => return bad(format!("{} value bytes for {rows} rows of {width}", self.values.len())),
            Some(_) => {}
            None => match self.offsets {
                None => return bad("no offsets".into()),
                Some(o) if o.len() < (rows + 1) * 4 => return bad(format!("{} offset bytes for {rows} rows", o.len())),
                Some(_) => {}
            },
        }
        if let Some((bits, start)) = self.validity {
            if bits.len() * 8 < start + rows {
                return bad(format!("a validity bitmap of {} bytes for {rows} rows from bit {start}", bits.len()));
            }
        }
        Ok(())
    }

    fn valid(&self, row: usize) -> bool {
        match self.validity {
            None => true,
            Some((bits, start)) => {
                let i = start + row;
                bits[i >> 3] & (1 << (i & 7)) != 0
            }
        }
    }
}

/// Whether the first values of a column repeat enough for a dictionary to pay: at most
/// half of a sample of up to 4096 non-null values are distinct.
pub(crate) fn repeats(kind: Kind, column: &Column<'_>, rows: usize) -> bool {
    const SAMPLE: usize = 4096;
    let mut seen = std::collections::HashSet::new();
    let mut taken = 0;
    for r in (0..rows).filter(|&r| column.valid(r)).take(SAMPLE) {
        let value = match kind.width() {
            Some(w) => &column.values[r * w..(r + 1) * w],
            None => {
                let o = column.offsets.expect("checked");
                let at = |i: usize| i32::from_le_bytes(o[i * 4..i * 4 + 4].try_into().unwrap()).max(0) as usize;
                let (a, b) = (at(r), at(r + 1));
                if a > b || b > column.values.len() {
                    return true; // refused when written
                }
                &column.values[a..b]
            }
        };
        seen.insert(value);
        taken += 1;
    }
    seen.len() * 2 <= taken
}

/// Buffers reused from one column to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    levels: Vec<i16>,
}

impl Scratch {
    /// Definition levels: 1 for a value, 0 for a null.
    fn levels(&mut self, column: &Column<'_>, rows: usize) -> &[i16] {
        self.levels.clear();
        match column.validity {
            None => self.levels.resize(rows, 1),
            Some(_) => self.levels.extend((0..rows).map(|r| column.valid(r) as i16)),
        }
        &self.levels
    }
}

/// The non-null rows' values, decoded from `width`-byte little-endian entries.
fn gather<T, const N: usize>(column: &Column<'_>, rows: usize, decode: impl Fn([u8; N]) -> T) -> Vec<T> {
    let entries = column.values[..rows * N].chunks_exact(N).map(|c| decode(c.try_into().expect("N bytes")));
    match column.validity {
        None => entries.collect(),
        Some(_) => entries.enumerate().filter(|(r, _)| column.valid(*r)).map(|(_, v)| v).collect(),
    }
}

fn put<T: DataType>(out: &mut SerializedColumnWriter<'_>, values: &[T::T], levels: &[i16]) -> PqResult<()> {
    out.typed::<T>().write_batch(values, Some(levels), None)?;
    Ok(())
}

fn byte_arrays(column: &Column<'_>, rows: usize) -> std::result::Result<Vec<ByteArray>, String> {
    let offsets: Vec<i32> = column.offsets.expect("checked")[..(rows + 1) * 4].chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    let first = offsets[0];
    let last = offsets[rows];
    if first < 0 || last < first || last as usize > column.values.len() {
        return Err(format!("offsets {first}..{last} outside {} value bytes", column.values.len()));
    }
    // One copy of the group's bytes; each value is a cheap slice of it.
    let all = Bytes::copy_from_slice(&column.values[first as usize..last as usize]);
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        if !column.valid(r) {
            continue;
        }
        let (a, b) = (offsets[r], offsets[r + 1]);
        if a < first || b < a || b > last {
            return Err(format!("offsets of row {r} ({a}..{b}) are not increasing"));
        }
        out.push(ByteArray::from(all.slice((a - first) as usize..(b - first) as usize)));
    }
    Ok(out)
}

pub(crate) fn write(out: &mut SerializedColumnWriter<'_>, kind: Kind, column: &Column<'_>, rows: usize, scratch: &mut Scratch) -> PqResult<()> {
    let levels = scratch.levels(column, rows);
    match kind {
        Kind::Boolean => put::<BoolType>(out, &gather(column, rows, |[b]: [u8; 1]| b != 0), levels),
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::UInt8 | Kind::UInt16 | Kind::UInt32 => {
            put::<Int32Type>(out, &gather(column, rows, i32::from_le_bytes), levels)
        }
        Kind::Int64 | Kind::UInt64 => put::<Int64Type>(out, &gather(column, rows, i64::from_le_bytes), levels),
        Kind::Float32 => put::<FloatType>(out, &gather(column, rows, f32::from_le_bytes), levels),
        Kind::Float64 => put::<DoubleType>(out, &gather(column, rows, f64::from_le_bytes), levels),
        Kind::TimestampMillis => put::<Int64Type>(out, &gather(column, rows, |b| f64::from_le_bytes(b).floor() as i64), levels),
        Kind::Date => put::<Int32Type>(out, &gather(column, rows, |b| (f64::from_le_bytes(b) / DAY_MS).floor() as i32), levels),
        Kind::Utf8 | Kind::Binary | Kind::Json => {
            let values = byte_arrays(column, rows).map_err(parquet::errors::ParquetError::General)?;
            put::<ByteArrayType>(out, &values, levels)
        }
    }
}
