//! CSV and NDJSON encoding for atomicwriter: rows arrive as columns in raw
//! little-endian buffers (a Float64Array's bytes, or a column's strings joined as
//! UTF-16 code units plus offsets), and come out as the bytes the JS writers in
//! `src/formats/csv.ts` and `src/formats/ndjson.ts` write for the same values.
//!
//! What JS decides and what happens here: JS sorts each column into numbers, strings,
//! or cells it has already formatted itself (Dates, objects, mixed columns: written
//! here as they are), and marks nulls and absent values. This crate formats the
//! numbers (as ECMAScript's `Number::toString`, through `ryu-js`: Rust's own float
//! formatting writes 1e21, 5e-7 and -0 differently), quotes or escapes the strings,
//! and joins the rows. Strings come as UTF-16 so that the rules JS applies to code
//! units (a CSV field holding the delimiter, a lone surrogate escaped by
//! JSON.stringify or written as U+FFFD by Buffer) are applied to the same units.
//!
//! Nothing here knows JavaScript; `crates/node/src/text.rs` converts its arguments.

#[cfg(test)]
mod tests;

/// The values of one column for `rows` rows.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// float64 values, little-endian (8 bytes a row).
    Numbers(&'a [u8]),
    /// UTF-16LE code units of the column's texts joined, and `rows + 1` offsets into
    /// them in code units (u32, little-endian): text `i` is `offsets[i]..offsets[i+1]`.
    Text { units: &'a [u8], offsets: &'a [u8] },
}

/// How a column's texts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    /// A CSV field: quoted (quotes doubled) when it holds a quote, CR, LF or the delimiter.
    Field,
    /// A JSON string, escaped as JSON.stringify escapes it.
    Json,
    /// Already formatted by JS: written as it is (as UTF-8).
    Verbatim,
}

/// A cell's state in `Column::state`.
pub const VALUE: u8 = 0;
/// CSV: an empty field. NDJSON: `null`.
pub const NULL: u8 = 1;
/// CSV: an empty field. NDJSON: the key is left out (undefined, as JSON.stringify does).
pub const ABSENT: u8 = 2;

#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    pub values: Values<'a>,
    pub mode: TextMode,
    /// One byte a row (`VALUE`, `NULL`, `ABSENT`); `None` when every cell is a value.
    pub state: Option<&'a [u8]>,
    /// NDJSON: the key as JSON with its colon (`"id":`). CSV: unused.
    pub key: &'a [u8],
}

#[derive(Debug, Clone)]
pub enum Layout {
    Csv {
        /// The delimiter as UTF-16 code units (what the quoting rule looks for).
        delimiter: Vec<u16>,
        /// `\n` or `\r\n`.
        eol: Vec<u8>,
        /// Numbers are quoted too when they hold the delimiter (a delimiter such as `.`).
        quote_numbers: bool,
    },
    /// One JSON object a row, keys in column order, `\n` after each.
    Ndjson,
}

impl<'a> Column<'a> {
    /// Rows `start..end` of the column (after `validate`).
    fn rows(&self, start: usize, end: usize) -> Column<'a> {
        let values = match self.values {
            Values::Numbers(bytes) => Values::Numbers(&bytes[start * 8..end * 8]),
            // Offsets index the units as they are: only their window moves.
            Values::Text { units, offsets } => Values::Text { units, offsets: &offsets[start * 4..(end + 1) * 4] },
        };
        Column { values, state: self.state.map(|s| &s[start..end]), ..*self }
    }
}

/// Below this many rows a part is encoded on one thread (a thread costs more than it saves).
const ROWS_PER_THREAD: usize = 8192;

/// `encode` with the rows shared among up to `threads` threads: the same bytes.
pub fn encode_parallel(layout: &Layout, rows: usize, columns: &[Column<'_>], threads: usize) -> Result<Vec<u8>, String> {
    validate(rows, columns)?;
    let threads = threads.min(rows / ROWS_PER_THREAD).max(1);
    if threads == 1 {
        return encode(layout, rows, columns);
    }
    let share = rows.div_ceil(threads);
    let slice = |t: usize| {
        let (start, end) = ((t * share).min(rows), ((t + 1) * share).min(rows));
        (end - start, columns.iter().map(|c| c.rows(start, end)).collect::<Vec<_>>())
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads)
            .map(|t| {
                let (n, columns) = slice(t);
                scope.spawn(move || encode(layout, n, &columns))
            })
            .collect();
        let (n, first) = slice(0);
        let mut out = encode(layout, n, &first)?;
        for other in others {
            out.extend_from_slice(&other.join().map_err(|_| "an encoding thread panicked".to_string())??);
        }
        Ok(out)
    })
}

/// Whether the buffers fit `rows` rows; an error is a bug in the caller.
pub fn validate(rows: usize, columns: &[Column<'_>]) -> Result<(), String> {
    for (c, column) in columns.iter().enumerate() {
        check(column, rows).map_err(|m| format!("column {c}: {m}"))?;
    }
    Ok(())
}

/// Encodes `rows` rows (after `validate`: an error is a bug in the caller).
pub fn encode(layout: &Layout, rows: usize, columns: &[Column<'_>]) -> Result<Vec<u8>, String> {
    validate(rows, columns)?;
    let mut out = Out { bytes: Vec::with_capacity(rows * (columns.len() * 12 + 2)), numbers: ryu_js::Buffer::new() };
    match layout {
        Layout::Csv { delimiter, eol, quote_numbers } => {
            let delimiter_utf8 = String::from_utf16_lossy(delimiter).into_bytes();
            let csv = Csv { delimiter, delimiter_utf8: &delimiter_utf8, quote_numbers: *quote_numbers };
            for row in 0..rows {
                for (c, column) in columns.iter().enumerate() {
                    if c > 0 {
                        out.bytes.extend_from_slice(&delimiter_utf8);
                    }
                    if state(column, row) == VALUE {
                        csv.cell(&mut out, column, row);
                    }
                }
                out.bytes.extend_from_slice(eol);
            }
        }
        Layout::Ndjson => {
            for row in 0..rows {
                out.bytes.push(b'{');
                let mut first = true;
                for column in columns {
                    let state = state(column, row);
                    if state == ABSENT {
                        continue;
                    }
                    if !first {
                        out.bytes.push(b',');
                    }
                    first = false;
                    out.bytes.extend_from_slice(column.key);
                    if state == NULL {
                        out.bytes.extend_from_slice(b"null");
                    } else {
                        json_cell(&mut out, column, row);
                    }
                }
                out.bytes.extend_from_slice(b"}\n");
            }
        }
    }
    Ok(out.bytes)
}

fn check(column: &Column<'_>, rows: usize) -> Result<(), String> {
    if let Some(state) = column.state {
        if state.len() < rows {
            return Err(format!("{} states for {rows} rows", state.len()));
        }
    }
    match column.values {
        Values::Numbers(bytes) if bytes.len() < rows * 8 => Err(format!("{} bytes of float64 for {rows} rows", bytes.len())),
        Values::Numbers(_) => Ok(()),
        Values::Text { units, offsets } => {
            if offsets.len() < (rows + 1) * 4 {
                return Err(format!("{} bytes of offsets for {rows} rows", offsets.len()));
            }
            let mut previous = 0;
            for i in 0..=rows {
                let at = offset(offsets, i);
                if at < previous || at * 2 > units.len() {
                    return Err(format!("offset {i} ({at}) out of order or past the {} text units", units.len() / 2));
                }
                previous = at;
            }
            Ok(())
        }
    }
}

struct Out {
    bytes: Vec<u8>,
    /// Formats a number as `String(n)` does: NaN, Infinity, -Infinity, -0 as 0.
    numbers: ryu_js::Buffer,
}

fn state(column: &Column<'_>, row: usize) -> u8 {
    column.state.map_or(VALUE, |s| s[row])
}

fn offset(offsets: &[u8], i: usize) -> usize {
    u32::from_le_bytes([offsets[i * 4], offsets[i * 4 + 1], offsets[i * 4 + 2], offsets[i * 4 + 3]]) as usize
}

fn number(bytes: &[u8], row: usize) -> f64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[row * 8..row * 8 + 8]);
    f64::from_le_bytes(b)
}

/// The UTF-16 code units of text `row` of a text column.
fn text<'a>(units: &'a [u8], offsets: &[u8], row: usize) -> &'a [u8] {
    &units[offset(offsets, row) * 2..offset(offsets, row + 1) * 2]
}

fn units(text: &[u8]) -> impl Iterator<Item = u16> + '_ {
    text.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]]))
}

fn is_high(u: u16) -> bool {
    (0xD800..0xDC00).contains(&u)
}

fn is_low(u: u16) -> bool {
    (0xDC00..0xE000).contains(&u)
}

/// Appends UTF-16 `text` as UTF-8, as Buffer.from(text) does (a lone surrogate is
/// U+FFFD); `escape` may write a unit its own way (it returns true when it did).
fn utf8(out: &mut Vec<u8>, text: &[u8], mut escape: impl FnMut(&mut Vec<u8>, u16) -> bool) {
    let n = text.len() / 2;
    let at = |i: usize| u16::from_le_bytes([text[i * 2], text[i * 2 + 1]]);
    out.reserve(n);
    let mut i = 0;
    while i < n {
        let u = at(i);
        i += 1;
        if escape(out, u) {
            continue;
        }
        match u {
            0..=0x7F => out.push(u as u8),
            0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (u >> 6) as u8, 0x80 | (u & 0x3F) as u8]),
            _ if is_high(u) && i < n && is_low(at(i)) => {
                let c = 0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(at(i)) - 0xDC00);
                i += 1;
                out.extend_from_slice(&[0xF0 | (c >> 18) as u8, 0x80 | ((c >> 12) & 0x3F) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]);
            }
            _ if is_high(u) || is_low(u) => out.extend_from_slice("\u{FFFD}".as_bytes()),
            _ => out.extend_from_slice(&[0xE0 | (u >> 12) as u8, 0x80 | ((u >> 6) & 0x3F) as u8, 0x80 | (u & 0x3F) as u8]),
        }
    }
}

/// Appends a number as `String(n)` writes it: NaN, Infinity, -Infinity, -0 as 0.
fn push_number(out: &mut Out, v: f64) {
    // Integers below 2^53 are their own shortest form: no need for ryu's search.
    if v.fract() == 0.0 && v.abs() < 9007199254740992.0 {
        push_integer(&mut out.bytes, v as i64);
    } else {
        out.bytes.extend_from_slice(out.numbers.format(v).as_bytes());
    }
}

fn push_integer(out: &mut Vec<u8>, v: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = v.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

struct Csv<'a> {
    delimiter: &'a [u16],
    delimiter_utf8: &'a [u8],
    quote_numbers: bool,
}

impl Csv<'_> {
    fn cell(&self, out: &mut Out, column: &Column<'_>, row: usize) {
        match column.values {
            Values::Numbers(bytes) => {
                let start = out.bytes.len();
                push_number(out, number(bytes, row));
                // Number text is ASCII: the delimiter's UTF-8 occurs in it iff its units do.
                if self.quote_numbers && contains(&out.bytes[start..], self.delimiter_utf8) {
                    out.bytes.insert(start, b'"');
                    out.bytes.push(b'"');
                }
            }
            Values::Text { units: all, offsets } => {
                let text = text(all, offsets, row);
                if column.mode == TextMode::Field && self.needs_quotes(text) {
                    out.bytes.push(b'"');
                    utf8(&mut out.bytes, text, |out, u| {
                        if u == u16::from(b'"') {
                            out.extend_from_slice(b"\"\"");
                        }
                        u == u16::from(b'"')
                    });
                    out.bytes.push(b'"');
                } else {
                    utf8(&mut out.bytes, text, |_, _| false);
                }
            }
        }
    }

    /// csv.ts's rule, on the same code units: a quote, CR, LF, or the delimiter.
    fn needs_quotes(&self, text: &[u8]) -> bool {
        let d = self.delimiter;
        if units(text).any(|u| u == 0x22 || u == 0x0D || u == 0x0A || (d.len() == 1 && u == d[0])) {
            return true;
        }
        d.len() > 1 && {
            let all: Vec<u16> = units(text).collect();
            all.windows(d.len()).any(|w| w == d)
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn json_cell(out: &mut Out, column: &Column<'_>, row: usize) {
    match column.values {
        Values::Numbers(bytes) => {
            let v = number(bytes, row);
            if v.is_finite() {
                push_number(out, v);
            } else {
                // JSON.stringify writes NaN and the infinities as null.
                out.bytes.extend_from_slice(b"null");
            }
        }
        Values::Text { units: all, offsets } => {
            let text = text(all, offsets, row);
            if column.mode == TextMode::Verbatim {
                utf8(&mut out.bytes, text, |_, _| false);
            } else {
                json_string(&mut out.bytes, text);
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn unicode_escape(out: &mut Vec<u8>, u: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[usize::from((u >> shift) & 0xF)]);
    }
}

/// A JSON string as JSON.stringify writes it: `"` and `\` escaped, the short escapes
/// for \b \t \n \f \r, other controls and lone surrogates as lowercase `\u` escapes,
/// everything else (U+2028 and U+2029 included) as it is.
fn json_string(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    let n = text.len() / 2;
    let at = |i: usize| u16::from_le_bytes([text[i * 2], text[i * 2 + 1]]);
    let lone = |i: usize| -> bool {
        let u = at(i);
        (is_high(u) && !(i + 1 < n && is_low(at(i + 1)))) || (is_low(u) && !(i > 0 && is_high(at(i - 1))))
    };
    let mut i = 0;
    while i < n {
        // The longest run without anything to escape goes through the UTF-8 writer at once.
        let start = i;
        while i < n {
            let u = at(i);
            if u < 0x20 || u == 0x22 || u == 0x5C || ((is_high(u) || is_low(u)) && lone(i)) {
                break;
            }
            i += 1;
        }
        utf8(out, &text[start * 2..i * 2], |_, _| false);
        if i == n {
            break;
        }
        match at(i) {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5C => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            u => unicode_escape(out, u),
        }
        i += 1;
    }
    out.push(b'"');
}
