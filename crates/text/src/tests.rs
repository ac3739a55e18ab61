// The byte-for-byte comparison with the JS writers is in test/formats-text-core.test.ts
// (every case there runs through both); these pin the rules themselves.

use super::*;

fn numbers(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Texts as JS hands them: UTF-16LE units joined, and offsets.
fn texts(values: &[&[u16]]) -> (Vec<u8>, Vec<u8>) {
    let mut units = Vec::new();
    let mut offsets = vec![0u8; 4];
    let mut at = 0u32;
    for v in values {
        units.extend(v.iter().flat_map(|u| u.to_le_bytes()));
        at += v.len() as u32;
        offsets.extend(at.to_le_bytes());
    }
    (units, offsets)
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn csv(delimiter: &str) -> Layout {
    Layout::Csv { delimiter: utf16(delimiter), eol: b"\n".to_vec(), quote_numbers: delimiter.chars().any(|c| c.is_alphanumeric() || "._+-".contains(c)) }
}

fn column<'a>(values: Values<'a>, mode: TextMode, state: Option<&'a [u8]>, key: &'a [u8]) -> Column<'a> {
    Column { values, mode, state, key }
}

fn one_column(layout: &Layout, values: Values<'_>, mode: TextMode, state: Option<&[u8]>, rows: usize) -> String {
    String::from_utf8(encode(layout, rows, &[column(values, mode, state, b"\"k\":")]).unwrap()).unwrap()
}

#[test]
fn numbers_are_written_as_javascript_writes_them() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-7, "5e-7"),
        (1e-6, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (2f64.powi(53), "9007199254740992"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    let values: Vec<f64> = cases.iter().map(|c| c.0).collect();
    let bytes = numbers(&values);
    let expected: String = cases.iter().map(|c| format!("{}\n", c.1)).collect();
    assert_eq!(one_column(&csv(","), Values::Numbers(&bytes), TextMode::Field, None, cases.len()), expected);
    // JSON.stringify: the non-finite ones are null.
    let json = one_column(&Layout::Ndjson, Values::Numbers(&bytes), TextMode::Json, None, cases.len());
    let expected: String = cases.iter().map(|c| format!("{{\"k\":{}}}\n", if c.0.is_finite() { c.1 } else { "null" })).collect();
    assert_eq!(json, expected);
}

#[test]
fn csv_fields_are_quoted_when_they_hold_a_quote_a_line_break_or_the_delimiter() {
    let values = ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", "", "ünï😀"].map(utf16);
    let refs: Vec<&[u16]> = values.iter().map(|v| v.as_slice()).collect();
    let (units, offsets) = texts(&refs);
    let out = one_column(&csv(","), Values::Text { units: &units, offsets: &offsets }, TextMode::Field, None, values.len());
    assert_eq!(out, "plain\n\"a,b\"\n\"say \"\"hi\"\"\"\n\"two\nlines\"\n\"cr\r\"\n\nünï😀\n");
    // A delimiter of several units, and one that numbers can hold.
    let out = one_column(&csv("::"), Values::Text { units: &units, offsets: &offsets }, TextMode::Field, None, 2);
    assert_eq!(out, "plain\na,b\n");
    let bytes = numbers(&[1.5, 2.0, f64::NAN]);
    assert_eq!(one_column(&csv("."), Values::Numbers(&bytes), TextMode::Field, None, 3), "\"1.5\"\n2\nNaN\n");
    assert_eq!(one_column(&csv("a"), Values::Numbers(&bytes), TextMode::Field, None, 3), "1.5\n2\n\"NaN\"\n");
    // Verbatim cells are not quoted again.
    let out = one_column(&csv(","), Values::Text { units: &units, offsets: &offsets }, TextMode::Verbatim, None, 2);
    assert_eq!(out, "plain\na,b\n");
}

#[test]
fn lone_surrogates_are_replacement_characters_in_csv_and_escapes_in_json() {
    let values: [&[u16]; 4] = [&[0xD83D], &[0xDE00, 0x61], &[0xD83D, 0xDE00], &[0x61, 0xDC00, 0xD800]];
    let (units, offsets) = texts(&values);
    let out = one_column(&csv(","), Values::Text { units: &units, offsets: &offsets }, TextMode::Field, None, 4);
    // Each text alone: a pair split across two texts is two lone surrogates.
    assert_eq!(out, "\u{FFFD}\n\u{FFFD}a\n😀\na\u{FFFD}\u{FFFD}\n");
    let out = one_column(&Layout::Ndjson, Values::Text { units: &units, offsets: &offsets }, TextMode::Json, None, 4);
    assert_eq!(out, "{\"k\":\"\\ud83d\"}\n{\"k\":\"\\ude00a\"}\n{\"k\":\"😀\"}\n{\"k\":\"a\\udc00\\ud800\"}\n");
}

#[test]
fn json_strings_are_escaped_as_json_stringify_escapes_them() {
    let s = utf16("q\"b\\s/\u{8}\u{9}\n\u{c}\r\u{1}\u{1f}\u{7f}\u{2028}é");
    let (units, offsets) = texts(&[&s]);
    let out = one_column(&Layout::Ndjson, Values::Text { units: &units, offsets: &offsets }, TextMode::Json, None, 1);
    assert_eq!(out, "{\"k\":\"q\\\"b\\\\s/\\b\\t\\n\\f\\r\\u0001\\u001f\u{7f}\u{2028}é\"}\n");
}

#[test]
fn nulls_and_absent_values() {
    let bytes = numbers(&[1.0, 0.0, 0.0]);
    let state = [VALUE, NULL, ABSENT];
    let (units, offsets) = texts(&[&utf16("x"), &utf16(""), &utf16("")]);
    let both = |layout: &Layout| {
        let columns = [
            column(Values::Numbers(&bytes), TextMode::Field, Some(&state), b"\"n\":"),
            column(Values::Text { units: &units, offsets: &offsets }, TextMode::Json, Some(&[ABSENT, VALUE, NULL]), b"\"s\":"),
        ];
        String::from_utf8(encode(layout, 3, &columns).unwrap()).unwrap()
    };
    assert_eq!(both(&csv(",")), "1,\n,\n,\n");
    assert_eq!(both(&Layout::Ndjson), "{\"n\":1}\n{\"n\":null,\"s\":\"\"}\n{\"s\":null}\n");
    let crlf = Layout::Csv { delimiter: utf16("\t"), eol: b"\r\n".to_vec(), quote_numbers: false };
    assert_eq!(both(&crlf), "1\t\r\n\t\r\n\t\r\n");
    // No columns: empty rows.
    assert_eq!(encode(&Layout::Ndjson, 2, &[]).unwrap(), b"{}\n{}\n");
}

#[test]
fn buffers_too_short_for_the_rows_are_refused() {
    let bytes = numbers(&[1.0]);
    let err = encode(&Layout::Ndjson, 2, &[column(Values::Numbers(&bytes), TextMode::Json, None, b"")]).unwrap_err();
    assert!(err.contains("8 bytes of float64 for 2 rows"), "{err}");
    let (units, mut offsets) = texts(&[&utf16("ab")]);
    offsets[4] = 9; // past the text
    let err = encode(&Layout::Ndjson, 1, &[column(Values::Text { units: &units, offsets: &offsets }, TextMode::Json, None, b"")]).unwrap_err();
    assert!(err.contains("offset 1 (9)"), "{err}");
    let err = encode(&Layout::Ndjson, 2, &[column(Values::Numbers(&numbers(&[1.0, 2.0])), TextMode::Json, Some(&[0]), b"")]).unwrap_err();
    assert!(err.contains("1 states for 2 rows"), "{err}");
}

#[test]
fn rows_shared_among_threads_make_the_same_bytes() {
    let rows = 3 * ROWS_PER_THREAD + 7;
    let values: Vec<f64> = (0..rows).map(|i| i as f64 / 3.0).collect();
    let bytes = numbers(&values);
    let state: Vec<u8> = (0..rows).map(|i| [VALUE, NULL, ABSENT][i % 3]).collect();
    let strings: Vec<Vec<u16>> = (0..rows).map(|i| utf16(&format!("s{i},\"x\"\u{1F600}"))).collect();
    let refs: Vec<&[u16]> = strings.iter().map(|v| v.as_slice()).collect();
    let (units, offsets) = texts(&refs);
    let columns = [
        column(Values::Numbers(&bytes), TextMode::Field, Some(&state), b"\"n\":"),
        column(Values::Text { units: &units, offsets: &offsets }, TextMode::Field, None, b"\"s\":"),
    ];
    for layout in [csv(","), Layout::Ndjson] {
        let one = encode(&layout, rows, &columns).unwrap();
        for threads in [2, 3, 4, 64] {
            assert_eq!(encode_parallel(&layout, rows, &columns, threads).unwrap(), one, "{threads} threads");
        }
    }
    // Too few rows for a second thread; a short buffer is refused before any thread starts.
    assert_eq!(encode_parallel(&Layout::Ndjson, 10, &columns, 4).unwrap(), encode(&Layout::Ndjson, 10, &columns).unwrap());
    assert!(encode_parallel(&Layout::Ndjson, rows + 1, &columns, 4).is_err());
}
