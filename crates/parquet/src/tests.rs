//! Round trips through the parquet crate's own reader (JS tests read the files with
//! hyparquet and pyarrow, independent readers).

use super::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field as Value;

fn options(compression: Compression) -> Options {
    Options { compression, statistics: true, created_by: "test".into() }
}

fn le<T: Copy, const N: usize>(values: &[T], to: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

fn read(bytes: Vec<u8>) -> Vec<Vec<Value>> {
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    reader.get_row_iter(None).unwrap().map(|row| row.unwrap().get_column_iter().map(|(_, v)| v.clone()).collect()).collect()
}

#[test]
fn every_kind_with_nulls_round_trips() {
    let fields = [
        ("b", Kind::Boolean),
        ("i8", Kind::Int8),
        ("i32", Kind::Int32),
        ("u32", Kind::UInt32),
        ("i64", Kind::Int64),
        ("f32", Kind::Float32),
        ("f64", Kind::Float64),
        ("s", Kind::Utf8),
        ("bin", Kind::Binary),
        ("ts", Kind::TimestampMillis),
        ("d", Kind::Date),
    ]
    .map(|(name, kind)| Field { name: name.into(), kind })
    .to_vec();
    for compression in [Compression::None, Compression::Snappy, Compression::Zstd, Compression::Gzip] {
        let mut enc = Encoder::to_memory(fields.clone(), &options(compression)).unwrap();
        let bools = [1u8, 0, 1];
        let i32s = le(&[-7i32, 0, i32::MAX], i32::to_le_bytes);
        let u32s = le(&[u32::MAX, 0, 1], u32::to_le_bytes);
        let i64s = le(&[i64::MIN, 0, i64::MAX], i64::to_le_bytes);
        let f32s = le(&[1.5f32, 0.0, -2.0], f32::to_le_bytes);
        let f64s = le(&[f64::NAN, 0.25, f64::INFINITY], f64::to_le_bytes);
        let text = "héllo\u{1F600}".as_bytes().to_vec();
        let offsets = le(&[0i32, 6, 6, text.len() as i32], i32::to_le_bytes);
        let ms = le(&[86_400_000.0f64 * 2.0 + 5.0, -1.0, 0.0], f64::to_le_bytes);
        // Row 1 is null everywhere; the bitmap starts at bit 3 to test the offset.
        let validity = [0b0010_1000u8];
        fn column<'a>(values: &'a [u8], offsets: Option<&'a [u8]>, validity: &'a [u8]) -> Column<'a> {
            Column { values, offsets, validity: Some((validity, 3)) }
        }
        let col = |values, offsets| column(values, offsets, &validity);
        let columns = [
            col(&bools, None),
            col(&i32s, None),
            col(&i32s, None),
            col(&u32s, None),
            col(&i64s, None),
            col(&f32s, None),
            col(&f64s, None),
            col(&text, Some(&offsets)),
            col(&text, Some(&offsets)),
            col(&ms, None),
            col(&ms, None),
        ];
        enc.write_row_group(3, &columns).unwrap();
        enc.write_row_group(3, &columns).unwrap();
        enc.finish().unwrap();
        assert_eq!(enc.rows(), 6);
        let written = enc.bytes_written();
        let bytes = enc.take_bytes();
        assert_eq!(bytes.len() as u64, written);
        let rows = read(bytes);
        assert_eq!(rows.len(), 6);
        assert!(rows[1].iter().all(|v| *v == Value::Null), "{:?}", rows[1]);
        let r0 = &rows[0];
        assert_eq!(r0[0], Value::Bool(true));
        assert_eq!(r0[1], Value::Byte(-7));
        assert_eq!(r0[2], Value::Int(-7));
        assert_eq!(r0[3], Value::UInt(u32::MAX));
        assert_eq!(r0[4], Value::Long(i64::MIN));
        assert_eq!(r0[5], Value::Float(1.5));
        assert!(matches!(r0[6], Value::Double(x) if x.is_nan()));
        assert_eq!(r0[7], Value::Str("héllo".into()));
        assert_eq!(r0[8], Value::Bytes(ByteArrayOf("héllo".as_bytes())));
        assert_eq!(r0[9], Value::TimestampMillis(86_400_000 * 2 + 5));
        assert_eq!(r0[10], Value::Date(2));
        let r2 = &rows[2];
        assert_eq!(r2[4], Value::Long(i64::MAX));
        assert_eq!(r2[7], Value::Str("\u{1F600}".into()));
        assert_eq!(r2[10], Value::Date(0));
    }
}

#[allow(non_snake_case)]
fn ByteArrayOf(b: &[u8]) -> parquet::data_type::ByteArray {
    parquet::data_type::ByteArray::from(b.to_vec())
}

#[test]
fn no_validity_means_no_nulls_and_bad_offsets_are_refused() {
    let fields = vec![Field { name: "s".into(), kind: Kind::Utf8 }];
    let mut enc = Encoder::to_memory(fields, &options(Compression::Snappy)).unwrap();
    let text = b"abc";
    let good = le(&[0i32, 1, 3], i32::to_le_bytes);
    enc.write_row_group(2, &[Column { values: text, offsets: Some(&good), validity: None }]).unwrap();
    let bad = le(&[0i32, 9, 3], i32::to_le_bytes);
    assert!(enc.write_row_group(2, &[Column { values: text, offsets: Some(&bad), validity: None }]).is_err());
    let short = le(&[0i32], i32::to_le_bytes);
    assert!(matches!(enc.write_row_group(2, &[Column { values: text, offsets: Some(&short), validity: None }]), Err(Error::Invalid(_))));
}

#[test]
fn writes_into_an_atomic_file_in_chunks() {
    use atomicwriter_core::{resolve, AtomicFile, Options as WriteOptions};
    let dir = std::env::temp_dir().join(format!("aw-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.parquet");
    let file = Arc::new(SharedFile::new(AtomicFile::create(resolve(&path).unwrap(), &WriteOptions::durable()).unwrap()));
    let fields = vec![Field { name: "x".into(), kind: Kind::Float64 }];
    let mut enc = Encoder::to_file(file.clone(), fields, &options(Compression::None)).unwrap();
    // Incompressible and larger than a chunk, so several writes reach the file.
    let values: Vec<f64> = (0..400_000u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64).collect();
    let bytes = le(&values, f64::to_le_bytes);
    enc.write_row_group(values.len(), &[Column { values: &bytes, offsets: None, validity: None }]).unwrap();
    enc.finish().unwrap();
    assert!(enc.bytes_written() > 3 * sink::CHUNK as u64);
    file.commit().unwrap();
    let rows = read(std::fs::read(&path).unwrap());
    assert_eq!(rows.len(), values.len());
    assert_eq!(rows[12345][0], Value::Double(values[12345]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dictionaries_only_for_columns_whose_values_repeat() {
    let fields = ["unique", "repeated", "unique_text", "repeated_text"]
        .map(|n| Field { name: n.into(), kind: if n.ends_with("text") { Kind::Utf8 } else { Kind::Int64 } })
        .to_vec();
    let mut enc = Encoder::to_memory(fields, &options(Compression::Snappy)).unwrap();
    let n = 10_000i64;
    let unique = le(&(0..n).collect::<Vec<_>>(), i64::to_le_bytes);
    let repeated = le(&(0..n).map(|i| i % 10).collect::<Vec<_>>(), i64::to_le_bytes);
    let text = |f: &dyn Fn(i64) -> String| {
        let mut values = Vec::new();
        let mut offsets = vec![0i32];
        for i in 0..n {
            values.extend_from_slice(f(i).as_bytes());
            offsets.push(values.len() as i32);
        }
        (values, le(&offsets, i32::to_le_bytes))
    };
    let (uv, uo) = text(&|i| format!("name-{i}"));
    let (rv, ro) = text(&|i| format!("cat-{}", i % 3));
    let plain = |values| Column { values, offsets: None, validity: None };
    enc.write_row_group(
        n as usize,
        &[
            plain(&unique),
            plain(&repeated),
            Column { values: &uv, offsets: Some(&uo), validity: None },
            Column { values: &rv, offsets: Some(&ro), validity: None },
        ],
    )
    .unwrap();
    enc.finish().unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(enc.take_bytes())).unwrap();
    let group = reader.metadata().row_group(0);
    let dictionary: Vec<bool> = group.columns().iter().map(|c| c.dictionary_page_offset().is_some()).collect();
    assert_eq!(dictionary, [false, true, false, true]);
}
