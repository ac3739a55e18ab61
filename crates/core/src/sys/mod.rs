//! The OS layer behind one interface: Unix (with Linux and macOS fast paths) through
//! libc `*at` calls, Windows through Win32, any other OS through Rust's std alone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(not(any(unix, windows)))]
mod portable;
#[cfg(not(any(unix, windows)))]
pub use portable::*;
