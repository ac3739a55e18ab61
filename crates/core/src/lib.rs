//! The atomic, durable write protocol of `atomicwriter`, free of any JavaScript.
//!
//! A write creates a temp in the target's directory (`O_TMPFILE` on Linux where the
//! filesystem allows, else an exclusive, no-follow, unpredictable name), sets owner
//! and mode on the fd, writes every byte, `fdatasync`s, renames over the target (or
//! links / `renameat2(RENAME_NOREPLACE)` for create-only), then syncs the directory,
//! one sync shared by concurrent commits. See [`AtomicFile`].

// Every public item is documented, and nothing is `pub` that the crate does not export.
#![deny(missing_docs, unreachable_pub)]

pub(crate) mod atomic_file;
pub mod checksum;
pub mod dataset;
pub(crate) mod dir_sync;
pub mod durability;
pub(crate) mod error;
pub mod lock;
pub mod pool;
pub mod publish_wait;
pub mod reader;
pub mod regular;
pub(crate) mod set_aside;
pub(crate) mod shared_file;
pub mod sweep;
pub(crate) mod sys;
pub mod target;
pub mod temp_name;
pub mod temp_registry;

#[cfg(test)]
mod test_support;

pub use atomic_file::{check_regular, remove_durable, write_file, AtomicFile, Options};
pub use durability::Durability;
pub use error::{Error, Result};
pub use shared_file::SharedFile;
pub use sys::FileKind;
pub use target::{resolve, Target};
