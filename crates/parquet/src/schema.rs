//! Column kinds and the Parquet schema they make. Every column is OPTIONAL (nullable),
//! as JS data may hold nulls anywhere.

use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::errors::Result;
use parquet::schema::types::Type;
use std::sync::Arc;

/// What a column holds and how its values buffer is laid out (little-endian, one entry
/// per row; null rows hold anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One byte per row, 0 or not.
    Boolean,
    /// i32 per row, annotated with the narrower JS type it came from.
    Int8,
    Int16,
    Int32,
    UInt8,
    UInt16,
    /// u32 per row (stored as INT32 bits, annotated unsigned).
    UInt32,
    /// i64 per row.
    Int64,
    /// u64 per row (stored as INT64 bits, annotated unsigned).
    UInt64,
    Float32,
    Float64,
    /// Bytes plus i32 offsets (rows + 1, absolute into the values buffer).
    Utf8,
    Binary,
    Json,
    /// f64 milliseconds since the epoch per row (what `Date#getTime` gives), stored as
    /// INT64 TIMESTAMP(MILLIS, UTC); fractions are floored.
    TimestampMillis,
    /// f64 milliseconds since the epoch per row, stored as INT32 DATE (days, floored).
    Date,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "boolean" => Kind::Boolean,
            "int8" => Kind::Int8,
            "int16" => Kind::Int16,
            "int32" => Kind::Int32,
            "uint8" => Kind::UInt8,
            "uint16" => Kind::UInt16,
            "uint32" => Kind::UInt32,
            "int64" => Kind::Int64,
            "uint64" => Kind::UInt64,
            "float32" => Kind::Float32,
            "float64" => Kind::Float64,
            "string" => Kind::Utf8,
            "binary" => Kind::Binary,
            "json" => Kind::Json,
            "timestamp" => Kind::TimestampMillis,
            "date" => Kind::Date,
            _ => return None,
        })
    }

    /// Bytes per row in the values buffer; `None` for variable-length kinds.
    pub(crate) fn width(self) -> Option<usize> {
        match self {
            Kind::Boolean => Some(1),
            Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::UInt8 | Kind::UInt16 | Kind::UInt32 | Kind::Float32 => Some(4),
            Kind::Int64 | Kind::UInt64 | Kind::Float64 | Kind::TimestampMillis | Kind::Date => Some(8),
            Kind::Utf8 | Kind::Binary | Kind::Json => None,
        }
    }

    fn physical(self) -> (Physical, Option<LogicalType>) {
        match self {
            Kind::Boolean => (Physical::BOOLEAN, None),
            Kind::Int8 => (Physical::INT32, Some(LogicalType::integer(8, true))),
            Kind::Int16 => (Physical::INT32, Some(LogicalType::integer(16, true))),
            Kind::Int32 => (Physical::INT32, None),
            Kind::UInt8 => (Physical::INT32, Some(LogicalType::integer(8, false))),
            Kind::UInt16 => (Physical::INT32, Some(LogicalType::integer(16, false))),
            Kind::UInt32 => (Physical::INT32, Some(LogicalType::integer(32, false))),
            Kind::Int64 => (Physical::INT64, None),
            Kind::UInt64 => (Physical::INT64, Some(LogicalType::integer(64, false))),
            Kind::Float32 => (Physical::FLOAT, None),
            Kind::Float64 => (Physical::DOUBLE, None),
            Kind::Utf8 => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            Kind::Binary => (Physical::BYTE_ARRAY, None),
            Kind::Json => (Physical::BYTE_ARRAY, Some(LogicalType::Json)),
            Kind::TimestampMillis => (Physical::INT64, Some(LogicalType::timestamp(true, TimeUnit::MILLIS))),
            Kind::Date => (Physical::INT32, Some(LogicalType::Date)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
}

pub(crate) fn message(fields: &[Field]) -> Result<Type> {
    let columns = fields
        .iter()
        .map(|f| {
            let (physical, logical) = f.kind.physical();
            Type::primitive_type_builder(&f.name, physical).with_repetition(Repetition::OPTIONAL).with_logical_type(logical).build().map(Arc::new)
        })
        .collect::<Result<Vec<_>>>()?;
    Type::group_type_builder("schema").with_fields(columns).build()
}
