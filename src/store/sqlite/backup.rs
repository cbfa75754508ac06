//! Online backups (`confcal backup`): a consistent copy of the database
//! written while the server may be running, renamed into place, and the
//! cleaning up of what a killed backup left behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// How [`backup`] paces itself.
#[derive(Debug, Clone, Copy)]
pub struct BackupOptions {
    /// Pages copied per step (4 KiB each by default).
    pub pages_per_step: i32,
    /// Pause between steps, so the copy never hogs the disk.
    pub pause: Duration,
    /// A write by another connection between two steps restarts the copy
    /// (SQLite's rule: the copy must be one snapshot). After this many
    /// restarts the rest is copied in one step, which in WAL mode holds a
    /// read snapshot only and blocks no writer: a busy server cannot keep a
    /// backup from finishing.
    pub max_restarts: u32,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            pages_per_step: 1024,
            pause: Duration::from_millis(10),
            max_restarts: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub pages: i32,
    pub restarts: u32,
    /// Temporary files of earlier, interrupted backups removed from the
    /// destination's folder (path, bytes): see [`backup`].
    pub removed_stale: Vec<(PathBuf, u64)>,
}

/// Writes a consistent copy of the database at `src` (which may be in use
/// by a running server) to `dest`, with SQLite's online backup API. The copy
/// goes to a temporary file beside `dest`, is synced, and is then renamed
/// into place: `dest` is either the old file or a complete new one.
///
/// A backup killed midway leaves its temporary file, as big as the
/// database. Each run therefore first removes the ones earlier runs left in
/// the destination's folder, whatever destination they were for (dated
/// names differ every day), and logs each: see [`stale_temporary`] for how
/// they are told from a backup still running.
pub fn backup(src: &Path, dest: &Path, opts: BackupOptions) -> Result<BackupReport, StoreError> {
    if !src.is_file() {
        return Err(StoreError::Limit(format!(
            "no database at {}",
            src.display()
        )));
    }
    if dest.exists() && fs::canonicalize(dest).ok() == fs::canonicalize(src).ok() {
        return Err(StoreError::Limit(
            "the backup must not overwrite the database itself".into(),
        ));
    }
    // A WAL or shared-memory file left beside `dest` would be applied to
    // the new copy when it is opened: refuse rather than corrupt it.
    for side in ["-wal", "-shm"] {
        let mut p = dest.as_os_str().to_owned();
        p.push(side);
        if Path::new(&p).exists() {
            return Err(StoreError::Limit(format!(
                "{} exists: is {} open as a database? Remove it or back up elsewhere",
                Path::new(&p).display(),
                dest.display()
            )));
        }
    }
    let file_name = dest
        .file_name()
        .ok_or_else(|| StoreError::Limit(format!("{} is not a file path", dest.display())))?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = temporary_path(&dir, file_name, std::process::id());
    // Ours, locked for as long as this run lasts: another run's clean-up
    // (in another pid namespace, where our pid means nothing) leaves it.
    let cannot =
        |e: std::io::Error| StoreError::Limit(format!("cannot write {}: {e}", tmp.display()));
    let _ = fs::remove_file(&tmp);
    let lock = fs::File::create(&tmp).map_err(cannot)?;
    if !try_lock(&lock) {
        return Err(StoreError::Limit(format!(
            "{} is locked by another backup",
            tmp.display()
        )));
    }
    let removed_stale = remove_stale(&dir, &tmp);

    let result = copy(src, &tmp, opts).and_then(|(pages, restarts)| {
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| fs::rename(&tmp, dest))
            .and_then(|()| fs::File::open(&dir).and_then(|d| d.sync_all()))
            .map_err(|e| StoreError::Limit(format!("cannot write {}: {e}", dest.display())))?;
        Ok(BackupReport {
            pages,
            restarts,
            removed_stale,
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    drop(lock);
    result
}

/// What a backup's temporary file has between its destination's name and
/// the pid of the process writing it: `.<name>.tmp-<pid>`.
const TMP_MARK: &str = ".tmp-";

/// Where a backup to `dir/file_name` by process `pid` writes its copy.
fn temporary_path(dir: &Path, file_name: &std::ffi::OsStr, pid: u32) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(file_name);
    name.push(format!("{TMP_MARK}{pid}"));
    dir.join(name)
}

/// Removes the temporary files of interrupted backups in `dir` (all but
/// `ours`), logging each; returns them with their sizes.
fn remove_stale(dir: &Path, ours: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path == ours || !stale_temporary(&path) {
            continue;
        }
        let bytes = entry.metadata().map_or(0, |m| m.len());
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(
                    file = %path.display(),
                    bytes,
                    "removed the temporary file of an interrupted backup"
                );
                removed.push((path, bytes));
            }
            Err(e) => tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot remove the temporary file of an interrupted backup"
            ),
        }
    }
    removed
}

/// Whether `path` is what a killed backup left. All of:
///
/// - its name is a backup's temporary name, `.<name>.tmp-<pid>`, or that
///   with SQLite's `-journal`, `-wal` or `-shm` after it;
/// - the pid in it is not a running process (a running backup's file is
///   never touched);
/// - the file itself is an SQLite database (or SQLite's side file, or
///   empty: killed before the first page), not anything else of that name;
/// - no process holds a lock on it: every run locks its own file while it
///   lasts, which protects a backup running in another pid namespace
///   (`docker exec`) whose pid means nothing here.
fn stale_temporary(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if !name.starts_with('.') {
        return false;
    }
    let (base, side) = match ["-journal", "-wal", "-shm"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
    {
        Some(b) => (b, true),
        None => (name, false),
    };
    let Some((stem, pid)) = base.rsplit_once(TMP_MARK) else {
        return false;
    };
    if stem.len() < 2 || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid_alive(pid) {
        return false;
    }
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 16];
    let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
    let sqlite = n == 0 || head.starts_with(b"SQLite format 3\0");
    (sqlite || side) && try_lock(&f)
}

/// Whether a process with this pid exists (is running or a zombie).
#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 1 {
        return true;
    }
    // SAFETY: signal 0 checks only that the process exists; nothing is sent.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn pid_alive(_pid: u32) -> bool {
    true
}

/// An exclusive `flock` without waiting; released when `f` is closed.
#[cfg(unix)]
fn try_lock(f: &fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: a valid open descriptor; flock touches nothing else.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(_f: &fs::File) -> bool {
    true
}

/// Copies `src` into `tmp`: (pages, restarts).
fn copy(src: &Path, tmp: &Path, opts: BackupOptions) -> Result<(i32, u32), StoreError> {
    // Read-write without CREATE: a missing file is an error, not a new
    // empty database, and the WAL index can be used like the server does.
    let source = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(Duration::from_secs(10))?;
    let mut dest = Connection::open(tmp)?;
    let mut restarts = 0;
    let pages;
    {
        let b = Backup::new(&source, &mut dest)?;
        let mut copied_before: Option<i32> = None;
        loop {
            let step = if restarts >= opts.max_restarts {
                -1
            } else {
                opts.pages_per_step.max(1)
            };
            match b.step(step)? {
                StepResult::Done => break,
                StepResult::More => {
                    let p = b.progress();
                    let copied = p.pagecount - p.remaining;
                    if copied_before.is_some_and(|before| copied <= before) {
                        restarts += 1;
                    }
                    copied_before = Some(copied);
                }
                // Busy/Locked (and any future variant): wait and retry.
                _ => {}
            }
            std::thread::sleep(opts.pause);
        }
        pages = b.progress().pagecount;
    }
    // The copy carries the source's header, WAL mode included; leave it as
    // a single self-contained file.
    let check: String = dest.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the backup fails its check: {check}"
        )));
    }
    dest.close().map_err(|(_, e)| StoreError::from(e))?;
    Ok((pages, restarts))
}

#[cfg(test)]
mod tests {
    use super::super::stats::wal_path;
    use super::super::SqliteStore;
    use super::*;

    #[test]
    fn backup_copies_and_refuses_to_overwrite_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let store = SqliteStore::open(&db).unwrap();
        store.ping().unwrap();
        let stats = store.stats().unwrap();
        assert!(stats.size_bytes > 0);
        assert_eq!(stats.conferences, 0);

        let out = dir.path().join("b.db");
        let report = backup(&db, &out, BackupOptions::default()).unwrap();
        assert!(report.pages > 0);
        assert!(
            !wal_path(&out).exists(),
            "the copy is one self-contained file"
        );
        let copy = Connection::open(&out).unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        drop(copy);
        assert!(backup(&db, &db, BackupOptions::default()).is_err());
        assert!(backup(
            &dir.path().join("missing.db"),
            &out,
            BackupOptions::default()
        )
        .is_err());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        store.checkpoint().unwrap();
    }

    #[test]
    fn what_a_killed_backup_leaves_is_told_from_a_running_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        drop(SqliteStore::open(&db).unwrap());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let name = std::ffi::OsStr::new("b.db");
        let left = temporary_path(dir.path(), name, dead);
        fs::copy(&db, &left).unwrap();
        let journal = PathBuf::from(format!("{}-journal", left.display()));
        fs::write(&journal, b"\xd9\xd5\x05\xf9 journal").unwrap();
        assert!(stale_temporary(&left) && stale_temporary(&journal));
        // Locked by a run in another pid namespace: left alone.
        let held = fs::File::open(&left).unwrap();
        assert!(try_lock(&held));
        assert!(!stale_temporary(&left));
        drop(held);
        // A live pid, a file that is not a database, other names: left alone.
        let mine = temporary_path(dir.path(), name, std::process::id());
        fs::copy(&db, &mine).unwrap();
        assert!(!stale_temporary(&mine));
        let text = temporary_path(dir.path(), std::ffi::OsStr::new("notes"), dead);
        fs::write(&text, b"not a database").unwrap();
        assert!(!stale_temporary(&text));
        assert!(!stale_temporary(&db));
        assert!(!stale_temporary(
            &dir.path().join(format!("b.db.tmp-{dead}"))
        ));
        let removed = remove_stale(dir.path(), &mine);
        let removed: Vec<&Path> = removed.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(removed.contains(&left.as_path()) && removed.contains(&journal.as_path()));
        assert!(mine.exists() && text.exists() && db.exists());
    }
}
