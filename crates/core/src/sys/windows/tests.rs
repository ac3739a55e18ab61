//! The Windows path, run under Wine in CI (`.ci/windows-tests`). Wine is faithful for
//! `CREATE_NEW`, `MoveFileExW` replace, the access-denied rename while another handle
//! holds the target open, sharing checks and `LockFileEx` conflicts. It is not for
//! mandatory lock enforcement on reads and writes, replacing a read-only file,
//! symlinks (reparse points), POSIX rename/delete semantics and write-through
//! durability; the tests that touch those say so and relax only that assertion when
//! [`is_wine`] is true.

use super::*;
use crate::atomic_file::{write_file, AtomicFile, Options};
use crate::dataset::{DatasetOptions, Staging};
use crate::lock::{LockFile, LockOptions, Mode, Range};
use crate::target::resolve;
use crate::test_support::{dir_with_file, entries, named_temp, TempDir};
use std::collections::HashSet;
use std::os::windows::fs::OpenOptionsExt;
use std::sync::mpsc;
use std::time::Duration;

/// Opens `path` the way a scanner or a careless reader does: without delete sharing,
/// so nobody can rename over it while the handle is open.
fn hold_without_delete_sharing(path: &Path) -> File {
    OpenOptions::new().read(true).share_mode(fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE).open(path).unwrap()
}

// The platform-neutral write tests (replace, abort and drop, mkdir, exclusive, failed
// writes) live in atomic_file.rs and run here too; these are Windows' own.

#[test]
fn reports_whether_this_is_wine() {
    // Not an assertion: the log says which assertions below were relaxed.
    eprintln!("running under Wine: {}", is_wine());
}

#[test]
fn temps_are_created_exclusively() {
    let tmp = TempDir::new();
    let dir = Dir::open(tmp.path()).unwrap();
    let name = OsStr::new(".f.aw0123456789abcdef.tmp");
    drop(dir.create_named(name, 0o600).unwrap());
    let err = dir.create_named(name, 0o600).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(crate::Error::from_io(err, "open", tmp.path()).code(), "EEXIST");
}

#[test]
fn exclusive_refuses_an_existing_target_and_creates_a_new_one() {
    let (tmp, path) = dir_with_file(b"old");
    let opts = Options { exclusive: true, ..Options::durable() };
    let err = write_file(resolve(&path).unwrap(), b"new", &opts).unwrap_err();
    assert_eq!((err.code(), err.syscall), ("EEXIST", "rename"));
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(entries(tmp.path()), vec!["f"], "the temp is removed");
    let fresh = tmp.path().join("fresh");
    write_file(resolve(&fresh).unwrap(), b"new", &opts).unwrap();
    assert_eq!(std::fs::read(&fresh).unwrap(), b"new");
}

/// npm/write-file-atomic#28: another process has the target open (without delete
/// sharing) at the moment we publish; the rename fails with access denied until that
/// handle closes. Our publish retries and succeeds once it does.
#[test]
fn publish_waits_out_a_reader_holding_the_target_open() {
    let tmp = TempDir::new();
    let path = tmp.path().join("state.json");
    std::fs::write(&path, b"old").unwrap();
    let reader = hold_without_delete_sharing(&path);

    // Proof that the case is real here: one attempt fails as it does for wfa users.
    let once = Options { busy_timeout: Some(Duration::ZERO), ..Options::durable() };
    let err = write_file(resolve(&path).unwrap(), b"lost", &once).unwrap_err();
    assert_eq!((err.code(), err.syscall), ("EPERM", "rename"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(entries(tmp.path()), vec!["state.json"], "a failed publish leaves no temp");

    let (tx, rx) = mpsc::channel();
    let target = resolve(&path).unwrap();
    std::thread::spawn(move || tx.send(write_file(target, b"new", &Options::durable())).unwrap());
    // Still retrying while the reader holds on (the default budget is seconds).
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "must wait for the reader");
    drop(reader);
    rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(entries(tmp.path()), vec!["state.json"]);
}

#[test]
fn busy_timeout_bounds_the_retry() {
    let (tmp, path) = dir_with_file(b"old");
    let _reader = hold_without_delete_sharing(&path);
    let opts = Options { busy_timeout: Some(Duration::from_millis(200)), ..Options::durable() };
    let err = write_file(resolve(&path).unwrap(), b"new", &opts).unwrap_err();
    assert_eq!(err.code(), "EPERM");
    assert_eq!(err.dest.as_deref(), Some(path.as_path()));
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(entries(tmp.path()), vec!["f"]);
}

#[test]
fn a_real_permission_error_is_not_retried() {
    // A read-only target cannot be replaced: the probe sees no other handle, so the
    // error comes back on the first attempt even with an hour of retry budget (a
    // retrying implementation would hang this test).
    let tmp = TempDir::new();
    let path = tmp.path().join("ro");
    std::fs::write(&path, b"old").unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms.clone()).unwrap();
    let opts = Options { busy_timeout: Some(Duration::from_secs(3600)), ..Options::durable() };
    let result = write_file(resolve(&path).unwrap(), b"new", &opts);
    if is_wine() && result.is_ok() {
        // Wine lets MoveFileExW replace a read-only file; Windows refuses.
        eprintln!("Wine replaced a read-only file: assertion relaxed");
    } else {
        let err = result.unwrap_err();
        assert_eq!(err.code(), "EPERM", "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
    assert_eq!(entries(tmp.path()), vec!["ro"]);
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
}

#[test]
fn a_sharing_violation_is_retried_too() {
    let (_tmp, path) = dir_with_file(b"x");
    let mut calls = 0;
    let result = retry_busy(Duration::from_secs(30), &path, || {
        calls += 1;
        if calls < 4 {
            Err(os_error(win::ERROR_SHARING_VIOLATION))
        } else {
            Ok(())
        }
    });
    result.unwrap();
    assert_eq!(calls, 4);
    let mut calls = 0;
    let err = retry_busy(Duration::from_secs(30), &path, || {
        calls += 1;
        Err(os_error(win::ERROR_DISK_FULL))
    })
    .unwrap_err();
    assert_eq!((calls, crate::Error::from_io(err, "rename", &path).code()), (1, "ENOSPC"));
}

#[test]
fn errors_carry_node_codes() {
    let tmp = TempDir::new();
    let missing = tmp.path().join("no/such/dir/f");
    let err = write_file(resolve(&missing).unwrap(), b"x", &Options::durable()).unwrap_err();
    assert_eq!((err.code(), err.syscall), ("ENOENT", "open"));
    assert!(err.to_string().starts_with("ENOENT: no such file or directory, open"), "{err}");
    for (code, errno) in [
        (win::ERROR_ACCESS_DENIED, "EPERM"),
        (win::ERROR_SHARING_VIOLATION, "EBUSY"),
        (win::ERROR_LOCK_VIOLATION, "EBUSY"),
        (win::ERROR_ALREADY_EXISTS, "EEXIST"),
        (win::ERROR_PATH_NOT_FOUND, "ENOENT"),
        (win::ERROR_DIR_NOT_EMPTY, "ENOTEMPTY"),
        (win::ERROR_HANDLE_DISK_FULL, "ENOSPC"),
    ] {
        assert_eq!(crate::error::errno_code(errno_from_os(code as i32)), errno, "Windows error {code}");
    }
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let err = write_file(resolve(&dir).unwrap(), b"x", &Options::durable()).unwrap_err();
    assert_eq!(err.code(), "EISDIR");
}

#[test]
fn directory_sync_and_flush_succeed() {
    let tmp = TempDir::new();
    Dir::open(tmp.path()).unwrap().sync().unwrap();
    let file = tmp.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    fdatasync(&OpenOptions::new().write(true).open(&file).unwrap()).unwrap();
    // Durability itself (write-through reaching the media) cannot be observed here,
    // least of all under Wine, which maps both calls onto the host's page cache.
}

#[test]
fn sweep_spares_a_live_temp_and_removes_an_orphan() {
    let tmp = TempDir::new();
    let path = tmp.path().join("f");
    let opts = named_temp();
    let live = AtomicFile::create(resolve(&path).unwrap(), &opts).unwrap();
    let live_temp = live.temp_path().unwrap();
    let orphan = tmp.path().join(crate::temp_name::new_temp_name(OsStr::new("f")));
    std::fs::write(&orphan, b"left by a crash").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let removed = crate::sweep::sweep(tmp.path(), Duration::ZERO, false).unwrap();
    assert_eq!(removed, vec![orphan.clone()]);
    assert!(live_temp.exists(), "the in-use mark protects a running write");
    assert!(!orphan.exists());
    drop(live);
}

#[test]
fn datasets_publish_and_replace() {
    let tmp = TempDir::new();
    let target = tmp.path().join("ds");
    let opts = DatasetOptions { fsync: true, mkdir: false, replace_any: false };
    for round in ["one", "two"] {
        let staging = Staging::create(resolve(&target).unwrap(), &opts).unwrap();
        std::fs::write(staging.path().join("part-0"), round).unwrap();
        staging.seal(&HashSet::new()).unwrap();
        staging.publish(Some(b"{}")).unwrap();
        assert_eq!(std::fs::read_to_string(target.join("part-0")).unwrap(), round);
        assert!(target.join("_SUCCESS").exists());
    }
    assert_eq!(entries(tmp.path()), vec!["ds"], "no staging or old version left");
}

fn lock(path: &Path, mode: Mode, range: Range) -> LockFile {
    LockFile::open(path, &LockOptions { mode, range, mkdir: false }).unwrap()
}

#[test]
fn byte_ranges_lock_independently() {
    let tmp = TempDir::new();
    let path = tmp.path().join("r.lock");
    let r = |offset, length| lock(&path, Mode::Exclusive, Range { offset, length });
    let (a, b, c, far) = (r(0, 10), r(10, 10), r(5, 10), r(1 << 40, 1));
    assert!(a.try_lock().unwrap());
    assert!(b.try_lock().unwrap(), "adjacent ranges do not overlap");
    assert!(!c.try_lock().unwrap(), "overlaps both");
    assert!(far.try_lock().unwrap());
    drop(a);
    drop(b);
    assert!(c.try_lock().unwrap());
    let rest = r(100, 0);
    assert!(!rest.try_lock().unwrap(), "length 0 reaches every byte from the offset on");
}

#[test]
fn locks_are_mandatory_for_data_access() {
    // Why the lock lives on a sidecar: on Windows a locked range refuses other
    // handles' reads and writes. Wine does not enforce this (its locks are advisory
    // for read/write), so there we only check that the lock itself held.
    let tmp = TempDir::new();
    let path = tmp.path().join("m.lock");
    std::fs::write(&path, b"0123456789").unwrap();
    let held = lock(&path, Mode::Exclusive, Range::WHOLE);
    assert!(held.try_lock().unwrap());
    let mut other = OpenOptions::new().write(true).open(&path).unwrap();
    let write = other.write_all(b"x");
    if is_wine() {
        eprintln!("Wine: mandatory lock enforcement not checked (write returned {write:?})");
    } else {
        let err = write.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(win::ERROR_LOCK_VIOLATION as i32));
    }
    assert!(!lock(&path, Mode::Shared, Range::WHOLE).try_lock().unwrap());
}

#[test]
fn lock_path_that_is_a_directory_is_refused() {
    let tmp = TempDir::new();
    let err = LockFile::open(tmp.path(), &LockOptions::default()).unwrap_err();
    assert!(matches!(err.code(), "EISDIR" | "EPERM" | "EACCES" | "EINVAL"), "{err}");
}

#[test]
fn paths_are_plain_and_long_paths_work() {
    let tmp = TempDir::new();
    let target = resolve(&tmp.path().join("f")).unwrap();
    assert!(!target.dir.to_string_lossy().starts_with(r"\\?\"), "{:?}", target.dir);
    // Beyond MAX_PATH (260): the rename goes through the \\?\ form.
    let mut dir = tmp.path().to_path_buf();
    while dir.as_os_str().len() < 300 {
        dir.push("a-rather-long-directory-name");
    }
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("f.json");
    write_file(resolve(&path).unwrap(), b"old", &Options::durable()).unwrap();
    write_file(resolve(&path).unwrap(), b"long", &Options::durable()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"long");
    assert_eq!(entries(&dir), vec!["f.json"]);
}

#[test]
fn a_link_planted_at_a_temp_name_is_never_followed() {
    let tmp = TempDir::new();
    let dir = Dir::open(tmp.path()).unwrap();
    let victim = tmp.path().join("victim");
    let name = OsStr::new(".f.aw00000000000000aa.tmp");
    // Symlinks need a privilege on Windows; Wine grants it. Skip where refused.
    if std::os::windows::fs::symlink_file(&victim, tmp.path().join(name)).is_err() {
        eprintln!("no symlink privilege: skipped");
        return;
    }
    let created = dir.create_named(name, 0o600);
    if is_wine() {
        // Wine 8 stores the link as a host symlink and does not treat it as a name
        // that exists for CREATE_NEW; Windows does (ERROR_FILE_EXISTS).
        eprintln!("Wine: CREATE_NEW over a dangling link returned {:?}, victim created: {}; not asserted", created.as_ref().map(|_| ()), victim.exists());
        return;
    }
    assert_eq!(created.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    assert!(!victim.exists(), "the dangling link's target was not created");
    assert_eq!(crate::Error::from_io(dir.open_existing(name).unwrap_err(), "open", tmp.path()).code(), "ELOOP");
}
