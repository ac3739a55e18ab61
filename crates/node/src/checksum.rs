//! Checksums: the CRC32C of a buffer (an object-store part, which the service
//! verifies) and of a file read through (datasets' manifests, verify).

use crate::{run_async, to_path, PathArg};
use atomicwriter_core::{self as core, checksum};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

/// CRC32C of `data` (hardware-accelerated; a few hundred microseconds for an 8 MiB
/// part, so it runs on the calling thread).
#[napi(js_name = "crc32c")]
pub fn crc32c(data: Buffer) -> u32 {
    checksum::crc32c(&data)
}

/// Size and CRC32C of bytes written or read.
#[napi(object)]
pub struct Digest {
    pub bytes: f64,
    #[napi(js_name = "crc32c")]
    pub crc32c: Option<u32>,
}

/// Reads a file through and returns its size and CRC32C.
#[napi(ts_return_type = "Promise<Digest>")]
pub fn digest_file(env: &Env, #[napi(ts_arg_type = "string | Buffer")] path: PathArg) -> Result<Object<'_>> {
    let path = to_path(&path);
    run_async(env, move || {
        // A caller's path: its links are followed under the core's sticky-directory rule.
        let real = core::target::follow(&path)?;
        let digest = checksum::digest_file(&real).map_err(|e| core::Error::from_io(e, "open", &path))?;
        Ok(Digest { bytes: digest.bytes as f64, crc32c: Some(digest.crc32c) })
    })
}
