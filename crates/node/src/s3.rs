//! Checksums for S3 uploads: the CRC32C of one part, which S3 verifies on UploadPart.

use atomicwriter_core::checksum;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// CRC32C of `data` (hardware-accelerated; a few hundred microseconds for an 8 MiB
/// part, so it runs on the calling thread).
#[napi(js_name = "crc32c")]
pub fn crc32c(data: Buffer) -> u32 {
    checksum::crc32c(&data)
}
