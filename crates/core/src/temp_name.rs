//! Names of named temps: `.<target>.aw<16 hex>.tmp`. The leading dot hides them
//! from readers that skip dot files (Spark, Hive, shells); 64 random bits make them
//! unpredictable, so nobody can plant a file or link at the name in advance; the
//! fixed shape lets `sweep` recognize orphans and nothing else.

use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

const TAG: &str = ".aw";
const SUFFIX: &str = ".tmp";
const OLD_SUFFIX: &str = ".old";
const RANDOM_HEX: usize = 16;
/// NAME_MAX on every filesystem we target.
const NAME_MAX: usize = 255;

pub fn new_temp_name(target_name: &OsStr) -> OsString {
    let mut random = [0u8; RANDOM_HEX / 2];
    crate::sys::fill_random(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
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

    #[test]
    fn long_target_names_fit_name_max() {
        let long = "é".repeat(200);
        let name = new_temp_name(OsStr::new(&long));
        assert!(name.len() <= NAME_MAX);
        assert!(is_temp_name(&name));
    }
}
