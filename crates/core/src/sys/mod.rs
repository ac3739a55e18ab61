//! The OS layer behind one interface: Unix (with Linux fast paths) through libc
//! `*at` calls, every other OS through Rust's std alone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(not(unix))]
mod portable;
#[cfg(not(unix))]
pub use portable::*;
