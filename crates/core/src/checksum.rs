//! CRC32C (Castagnoli), the checksum `_SUCCESS` manifests carry for every file: S3 and
//! GCS verify it natively, and x86-64 (SSE4.2) and ARMv8 (CRC) compute it in hardware
//! at several GB/s, so it can run on every byte while the byte is written and a
//! multi-GiB file never has to be read back. Other CPUs use an 8-way table method.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The CRC32C polynomial, bit-reflected.
const POLY: u32 = 0x82F6_3B78;
const READ_CHUNK: usize = 1 << 20;

/// A running CRC32C.
#[derive(Debug, Clone, Copy)]
pub struct Crc32c(u32);

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c::new()
    }
}

impl Crc32c {
    /// A CRC32C with nothing hashed yet.
    pub fn new() -> Crc32c {
        Crc32c(!0)
    }

    /// Adds `data` to the checksum.
    pub fn update(&mut self, data: &[u8]) {
        self.0 = update(self.0, data);
    }

    /// The CRC32C of everything added so far.
    pub fn value(&self) -> u32 {
        !self.0
    }
}

/// The CRC32C (Castagnoli) of `data`, as GCS and S3 report it.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(data);
    crc.value()
}

/// Size and checksum of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Length of the content.
    pub bytes: u64,
    /// CRC32C of the content.
    pub crc32c: u32,
}

/// Reads `file` from its current position to the end.
pub fn digest_reader(mut file: &File) -> io::Result<Digest> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut crc = Crc32c::new();
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        crc.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Digest { bytes, crc32c: crc.value() })
}

/// Digests the regular file at `path`. It is opened without blocking (a FIFO put in
/// its place opens at once) and anything but a regular file is `EINVAL`, never read.
pub fn digest_file(path: &Path) -> io::Result<Digest> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    digest_reader(&file)
}

fn update(state: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { update_x86(state, data) };
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("crc") {
        // SAFETY: the CPU has the CRC extension, checked just above.
        return unsafe { update_arm(state, data) };
    }
    update_table(state, data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn update_x86(state: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut words = data.chunks_exact(8);
    let mut crc = state as u64;
    for word in &mut words {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    let mut crc = crc as u32;
    for &b in words.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    crc
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "crc")]
unsafe fn update_arm(state: u32, data: &[u8]) -> u32 {
    use std::arch::aarch64::{__crc32cb, __crc32cd};
    let mut words = data.chunks_exact(8);
    let mut crc = state;
    for word in &mut words {
        crc = __crc32cd(crc, u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    for &b in words.remainder() {
        crc = __crc32cb(crc, b);
    }
    crc
}

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes, so eight bytes are
/// folded in with eight lookups.
static TABLES: [[u32; 256]; 8] = make_tables();

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    t
}

fn update_table(state: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut crc = state;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let lo = crc ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in words.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xff) as usize];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.
    #[test]
    fn known_vectors() {
        let ascending: Vec<u8> = (0u8..32).collect();
        let descending: Vec<u8> = (0u8..32).rev().collect();
        for (data, want) in [
            (&b"123456789"[..], 0xE306_9283),
            (&[0u8; 32][..], 0x8A91_36AA),
            (&[0xffu8; 32][..], 0x62A8_AB43),
            (&ascending[..], 0x46DD_794E),
            (&descending[..], 0x113F_DB5C),
            (&[][..], 0),
        ] {
            assert_eq!(crc32c(data), want, "{data:?}");
            assert_eq!(!update_table(!0, data), want, "table method, {data:?}");
        }
    }

    #[test]
    fn hardware_and_table_agree_across_splits() {
        let data: Vec<u8> = (0..100_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = crc32c(&data);
        assert_eq!(!update_table(!0, &data), whole);
        for split in [1, 7, 8, 9, 4096, 65_537] {
            let mut crc = Crc32c::new();
            for piece in data.chunks(split) {
                crc.update(piece);
            }
            assert_eq!(crc.value(), whole, "split {split}");
        }
    }

    #[test]
    fn digests_a_file() {
        let tmp = crate::test_support::TempDir::new();
        let path = tmp.path().join("f");
        let data = vec![7u8; 3 * READ_CHUNK + 5];
        std::fs::write(&path, &data).unwrap();
        assert_eq!(digest_file(&path).unwrap(), Digest { bytes: data.len() as u64, crc32c: crc32c(&data) });
        #[cfg(unix)]
        {
            let fifo = tmp.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert_eq!(digest_file(&fifo).unwrap_err().raw_os_error(), Some(libc::EINVAL), "refused, not read");
        }
    }
}
