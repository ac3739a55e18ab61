//! Names of named temps: `.<target>.aw<16 hex>.tmp`. The leading dot hides them
//! from readers that skip dot files (Spark, Hive, shells); 64 random bits make them
//! unpredictable, so nobody can plant a file or link at the name in advance; the
//! fixed shape lets `sweep` recognize orphans and nothing else.

use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const TAG: &str = ".aw";
const SUFFIX: &str = ".tmp";
const OLD_SUFFIX: &str = ".old";
const RANDOM_HEX: usize = 16;
/// NAME_MAX on every filesystem we target.
const NAME_MAX: usize = 255;

/// A fresh temp name for `target_name`: `.<name>.aw<16 random hex>.tmp`, shortened to fit NAME_MAX.
pub fn new_temp_name(target_name: &OsStr) -> OsString {
    let hex = format!("{:016x}", unpredictable_u64());
    let budget = NAME_MAX - 1 - TAG.len() - RANDOM_HEX - SUFFIX.len();
    let stem = truncate_bytes(target_name, budget);
    let mut name = OsString::from(".");
    name.push(stem);
    name.push(TAG);
    name.push(hex);
    name.push(SUFFIX);
    name
}

/// The name a dataset's previous version is moved to where the filesystem cannot
/// swap two directories: `.<target>.aw<16 hex>.old`. Not a temp: until the new version
/// is in place it is the only complete copy, so `sweep` restores it when the target is
/// missing and removes it only once the target exists again.
pub fn new_set_aside_name(target_name: &OsStr) -> OsString {
    let temp = new_temp_name(target_name);
    let mut name = temp.to_string_lossy().into_owned();
    name.truncate(name.len() - SUFFIX.len());
    name.push_str(OLD_SUFFIX);
    OsString::from(name)
}

/// The target a set-aside name belongs to, when `name` has that shape and the target
/// name was kept whole (a name cut short to fit NAME_MAX cannot be restored).
pub fn set_aside_target(name: &OsStr) -> Option<OsString> {
    let name = name.to_string_lossy();
    let rest = name.strip_prefix('.')?.strip_suffix(OLD_SUFFIX)?;
    if rest.len() < TAG.len() + RANDOM_HEX {
        return None;
    }
    let (head, hex) = rest.split_at(rest.len() - RANDOM_HEX);
    let stem = head.strip_suffix(TAG)?;
    let whole = 1 + stem.len() + TAG.len() + RANDOM_HEX + SUFFIX.len() < NAME_MAX;
    (!stem.is_empty() && whole && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| OsString::from(stem))
}

/// Whether `name` has the shape of one of our temps.
pub fn is_temp_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let Some(rest) = name.strip_prefix('.') else { return false };
    let Some(rest) = rest.strip_suffix(SUFFIX) else { return false };
    if rest.len() < TAG.len() + RANDOM_HEX {
        return false;
    }
    let (head, hex) = rest.split_at(rest.len() - RANDOM_HEX);
    head.ends_with(TAG) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn truncate_bytes(name: &OsStr, max: usize) -> OsString {
    let lossy = name.to_string_lossy();
    if lossy.len() <= max {
        return name.to_os_string();
    }
    let mut end = max;
    while !lossy.is_char_boundary(end) {
        end -= 1;
    }
    OsString::from(&lossy[..end])
}

/// 64 bits nobody outside this process can predict: SipHash (a keyed pseudo-random
/// function) of a counter, under a key drawn from the OS once per process, so a write
/// costs no `getrandom`. After a fork the child repeats the parent's sequence; the
/// exclusive create then fails with EEXIST and the next name is tried.
fn unpredictable_u64() -> u64 {
    static KEY: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let &(k0, k1) = KEY.get_or_init(|| {
        let mut key = [0u8; 16];
        crate::sys::fill_random(&mut key);
        (u64::from_le_bytes(key[..8].try_into().unwrap()), u64::from_le_bytes(key[8..].try_into().unwrap()))
    });
    siphash24(k0, k1, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// SipHash-2-4 of one 64-bit word (std's SipHasher is deprecated, and its
/// `RandomState` keys cannot be set).
fn siphash24(k0: u64, k1: u64, m: u64) -> u64 {
    let mut v = [k0 ^ 0x736f_6d65_7073_6575, k1 ^ 0x646f_7261_6e64_6f6d, k0 ^ 0x6c79_6765_6e65_7261, k1 ^ 0x7465_6462_7974_6573];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    // One 8-byte block, then the final block holding the length (8) in its top byte.
    for block in [m, 8u64 << 56] {
        v[3] ^= block;
        round(&mut v);
        round(&mut v);
        v[0] ^= block;
    }
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Used only where the OS has no `getrandom`: std's per-process random hash keys,
/// mixed with a counter and the clock.
pub fn fallback_random(buf: &mut [u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for chunk in buf.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        h.write_u32(std::process::id());
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognizable_and_distinct() {
        let a = new_temp_name(OsStr::new("data.json"));
        let b = new_temp_name(OsStr::new("data.json"));
        assert_ne!(a, b);
        assert!(is_temp_name(&a), "{a:?}");
        assert!(a.to_str().unwrap().starts_with(".data.json.aw"));
        assert!(!is_temp_name(OsStr::new("data.json")));
        assert!(!is_temp_name(OsStr::new(".data.json.awXYZ.tmp")));
        let old = new_set_aside_name(OsStr::new("ds"));
        assert!(!is_temp_name(&old), "{old:?}");
        assert_eq!(set_aside_target(&old), Some(OsString::from("ds")));
        assert_eq!(set_aside_target(&a), None);
        assert_eq!(set_aside_target(OsStr::new(".ds.awXYZ.old")), None);
        assert!(!is_temp_name(OsStr::new(".hidden.tmp")));
    }

    /// The reference vector of the SipHash paper (key 00..0f, message 00..07).
    #[test]
    fn siphash_matches_the_reference() {
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let m = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(siphash24(k0, k1, m), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn long_target_names_fit_name_max() {
        let long = "é".repeat(200);
        let name = new_temp_name(OsStr::new(&long));
        assert!(name.len() <= NAME_MAX);
        assert!(is_temp_name(&name));
    }
}
