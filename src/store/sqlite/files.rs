//! The database's files on disk, which SQLite trusts and cannot watch.
//!
//! A running server keeps its files open, so it goes on answering queries
//! from a database file or a `-wal` file that someone has deleted, replaced
//! or made read-only, and a query alone (what `/healthz` used to run)
//! cannot tell. What can go wrong, and what confcal does:
//!
//! - **The `-wal` deleted** (a clean-up script, an operator who thinks it is
//!   a log): every write since the last checkpoint lives only in that file,
//!   now unlinked, and is lost at the next crash or stop. [`SqliteStore::health`]
//!   sees the file gone, checkpoints at once (the open connections still
//!   reach the unlinked file, so its frames are copied into the database
//!   file) and keeps doing so on every check, reports 503 and logs why; a
//!   restart makes SQLite create a new WAL.
//! - **The database file deleted or replaced**: the server writes into a
//!   file nobody can open again. It says so, and writes a copy of what it
//!   can still read to `<db>.rescued-<time>` (once), with the online backup
//!   API.
//! - **Read-only** files, folder or file system, or **a full disk**: writes
//!   would fail (or the next start would): reported.
//! - **A database that had data and is found missing or empty** at start
//!   (its WAL deleted before a crash, the file truncated): refused, never
//!   created and seeded anew. What tells "had data" is a marker file beside
//!   the database, [`marker_path`], written once the schema is committed
//!   *and* checkpointed into the database file. The database cannot record
//!   this itself, since what is lost is the database; and the WAL's or the
//!   file's identity (inode) cannot either, since both are new after a
//!   restore. The marker is a few bytes; removing it (with the database) is
//!   how an operator says "start anew".

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{SqliteStore, StoreError};

/// The marker beside `db` that says it has held a schema: `confcal.db` →
/// `confcal.db-created` (see the module docs).
pub fn marker_path(db: &Path) -> PathBuf {
    suffixed(db, "-created")
}

fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Fails with [`StoreError::Lost`] when the marker says `db` has held data
/// but `db` is missing (`version` unknown: before opening) or has no schema
/// (`version` 0).
pub(super) fn refuse_if_lost(db: &Path, version: Option<i64>) -> Result<(), StoreError> {
    let marker = marker_path(db);
    let Ok(since) = fs::read_to_string(&marker) else {
        return Ok(());
    };
    let since = since
        .lines()
        .find_map(|l| l.strip_prefix("created: "))
        .unwrap_or("an earlier start")
        .trim()
        .to_owned();
    let what = match version {
        None if !db.exists() => "is missing",
        Some(0) => "is empty",
        _ => return Ok(()),
    };
    Err(StoreError::Lost(format!(
        "{db} {what}, but {marker} says it has held data since {since}: its contents were \
         lost (a deleted -wal file, a truncated or moved file?). confcal will not create it \
         anew. Restore a backup to {db} (with no -wal or -shm file beside it), or delete \
         {marker} to start a new, empty database",
        db = db.display(),
        marker = marker.display(),
    )))
}

/// Writes the marker if it is not there yet.
pub(super) fn write_marker(db: &Path) {
    let marker = marker_path(db);
    if marker.exists() {
        return;
    }
    let text = format!(
        "confcal: {} holds a confcal database.\n\
         created: {}\n\
         While this file exists, confcal refuses to start on that database if it is ever\n\
         found missing or empty, instead of creating a new one. Delete it only together\n\
         with the database.\n",
        db.display(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    // Beside the database, written whole (a crash leaves it or nothing).
    let tmp = suffixed(db, "-created.tmp");
    if let Err(e) = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &marker)) {
        let _ = fs::remove_file(&tmp);
        tracing::warn!(file = %marker.display(), error = %e, "cannot write the database's marker");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Db,
    Wal,
    Shm,
}

impl Which {
    const ALL: [Which; 3] = [Which::Db, Which::Wal, Which::Shm];

    fn name(self) -> &'static str {
        match self {
            Which::Db => "the database file",
            Which::Wal => "the database's -wal file",
            Which::Shm => "the database's -shm file",
        }
    }
}

/// What is wrong with the files, each with a text fit for a public answer
/// (no paths).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Gone(Which),
    Replaced(Which),
    ReadOnly(Which),
    FolderReadOnly,
    FileSystemReadOnly,
    DiskFull { free: u64 },
}

impl Problem {
    fn public(&self) -> String {
        match self {
            Problem::Gone(w) => format!("{} was deleted", w.name()),
            Problem::Replaced(w) => format!("{} was replaced by another file", w.name()),
            Problem::ReadOnly(w) => format!("{} is read-only", w.name()),
            Problem::FolderReadOnly => "the database's folder is read-only".into(),
            Problem::FileSystemReadOnly => "the database's file system is read-only".into(),
            Problem::DiskFull { free } => {
                format!("the database's disk is full ({free} bytes free)")
            }
        }
    }
}

/// A file's identity: device and inode, so a file replaced at the same
/// path is told from the one that was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

fn file_id(m: &fs::Metadata) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        FileId(m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        FileId(0, 0)
    }
}

/// The files as they were opened, and what was last reported about them.
pub(super) struct Watch {
    db: PathBuf,
    wal: PathBuf,
    shm: PathBuf,
    dir: PathBuf,
    min_free: u64,
    state: Mutex<WatchState>,
}

#[derive(Default)]
struct WatchState {
    /// Identities first seen, by [`Which`] order.
    ids: [Option<FileId>; 3],
    /// What the last check found (logged when it changes).
    last: Vec<Problem>,
    /// Where the rescue copy went, once written.
    rescued: Option<PathBuf>,
}

impl Watch {
    pub(super) fn new(db: &Path, min_free: u64) -> Watch {
        let dir = match db.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        Watch {
            db: db.to_owned(),
            wal: suffixed(db, "-wal"),
            shm: suffixed(db, "-shm"),
            dir,
            min_free,
            state: Mutex::default(),
        }
    }

    fn path(&self, w: Which) -> &Path {
        match w {
            Which::Db => &self.db,
            Which::Wal => &self.wal,
            Which::Shm => &self.shm,
        }
    }

    /// Remembers the files' identities (called once they all exist, after
    /// the first checkpoint). A file first seen later is remembered then.
    pub(super) fn record(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (i, w) in Which::ALL.into_iter().enumerate() {
            if let Ok(m) = fs::metadata(self.path(w)) {
                st.ids[i] = Some(file_id(&m));
            }
        }
    }

    fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (i, w) in Which::ALL.into_iter().enumerate() {
            match (fs::metadata(self.path(w)), st.ids[i]) {
                (Ok(m), Some(id)) if file_id(&m) != id => problems.push(Problem::Replaced(w)),
                (Ok(m), known) => {
                    if known.is_none() {
                        st.ids[i] = Some(file_id(&m));
                    }
                    if m.permissions().readonly() {
                        problems.push(Problem::ReadOnly(w));
                    }
                }
                (Err(_), Some(_)) => problems.push(Problem::Gone(w)),
                (Err(_), None) => {}
            }
        }
        drop(st);
        if fs::metadata(&self.dir).is_ok_and(|m| m.permissions().readonly()) {
            problems.push(Problem::FolderReadOnly);
        }
        if let Some((free, read_only)) = space(&self.dir) {
            if read_only {
                problems.push(Problem::FileSystemReadOnly);
            }
            if free < self.min_free {
                problems.push(Problem::DiskFull { free });
            }
        }
        problems
    }
}

/// Bytes free to unprivileged users on the file system holding `dir`, and
/// whether it is mounted read-only.
#[cfg(unix)]
fn space(dir: &Path) -> Option<(u64, bool)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `buf` a properly
    // sized, writable statvfs that the call fills in.
    let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ by platform
    let free = (buf.f_bavail as u64).saturating_mul(buf.f_frsize as u64);
    Some((free, buf.f_flag & libc::ST_RDONLY != 0))
}

#[cfg(not(unix))]
fn space(_dir: &Path) -> Option<(u64, bool)> {
    None
}

impl SqliteStore {
    /// Whether the database's files are still the ones opened, writable,
    /// on a disk with room: [`StoreError::Unhealthy`] naming what is wrong
    /// (no paths; the log line has them) when not. Cheap (a few `stat`s),
    /// called by `/healthz` and every second by the server.
    ///
    /// A deleted or replaced `-wal` is also rescued here: a passive
    /// checkpoint copies what the open connections wrote into the unlinked
    /// file into the database file, on every call while it lasts. A deleted
    /// or replaced database file gets one copy, `<db>.rescued-<time>`.
    /// Changes are logged once, an error when problems appear, info when
    /// they are gone.
    pub fn health(&self) -> Result<(), StoreError> {
        let w = &self.files;
        let problems = w.check();
        let wal_lost = problems
            .iter()
            .any(|p| matches!(p, Problem::Gone(Which::Wal) | Problem::Replaced(Which::Wal)));
        let db_lost = problems
            .iter()
            .any(|p| matches!(p, Problem::Gone(Which::Db) | Problem::Replaced(Which::Db)));
        let mut done = Vec::new();
        if wal_lost {
            match self.checkpoint_passive() {
                Ok(c) => done.push(format!(
                    "checkpointed {} of {} WAL frames into the database file",
                    c.copied, c.wal_frames
                )),
                Err(e) => done.push(format!("the rescuing checkpoint failed: {e}")),
            }
        }
        if db_lost {
            let already = w
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .rescued
                .clone();
            match already {
                Some(p) => done.push(format!("a copy was written to {}", p.display())),
                None => match self.rescue_copy() {
                    Ok(p) => {
                        done.push(format!("a copy was written to {}", p.display()));
                        w.state.lock().unwrap_or_else(|e| e.into_inner()).rescued = Some(p);
                    }
                    Err(e) => done.push(format!("no copy could be written: {e}")),
                },
            }
        }
        let changed = {
            let mut st = w.state.lock().unwrap_or_else(|e| e.into_inner());
            let changed = st.last != problems;
            st.last.clone_from(&problems);
            changed
        };
        if changed {
            if problems.is_empty() {
                tracing::info!(db = %w.db.display(), "database files healthy again");
            } else {
                let what: Vec<String> = problems.iter().map(Problem::public).collect();
                let advice = if wal_lost || db_lost {
                    "writes may be lost at the next stop or crash: restart confcal once the \
                     files are back (or from the rescued copy)"
                } else {
                    "writes will fail, or the next start will"
                };
                tracing::error!(
                    db = %w.db.display(),
                    problems = %what.join("; "),
                    done = %done.join("; "),
                    "database files unhealthy: {}; {advice}",
                    what.join("; ")
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            let what: Vec<String> = problems.iter().map(Problem::public).collect();
            Err(StoreError::Unhealthy(what.join("; ")))
        }
    }

    /// A copy of the database as this process still reads it, beside where
    /// the file was: `<db>.rescued-<UTC time>`.
    fn rescue_copy(&self) -> Result<PathBuf, StoreError> {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut name = OsString::from(self.files.db.file_name().unwrap_or_default());
        name.push(format!(".rescued-{stamp}"));
        let dest = self.files.dir.join(name);
        let mut tmp = dest.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let conn = self.conn()?;
        let result = conn
            .backup(rusqlite::MAIN_DB, &tmp, None)
            .map_err(StoreError::from)
            .and_then(|()| fs::rename(&tmp, &dest).map_err(|e| StoreError::Limit(e.to_string())));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| dest)
    }

    /// After migrating or seeding: checkpoints so that everything committed
    /// lives in the database file, then writes the marker (see
    /// [`marker_path`]) if it is not there.
    ///
    /// PASSIVE checkpoints, retried for up to [`DURABLE_WAIT`] until one
    /// copies every frame: unlike TRUNCATE or RESTART, a passive one never
    /// holds up another process's writers (a server running while
    /// `confcal import` opens the file) and never waits itself. One that
    /// cannot finish (another process keeps an old snapshot open) is
    /// logged, and the marker is left for a later start.
    pub(super) fn make_durable(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let c = loop {
            let c = self.checkpoint_passive()?;
            if c.complete || started.elapsed() >= DURABLE_WAIT {
                break c;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        if c.complete {
            write_marker(&self.files.db);
        } else {
            tracing::warn!(
                wal_frames = c.wal_frames,
                copied = c.copied,
                "the database file does not hold everything yet: another connection keeps \
                 an old snapshot; the WAL holds the rest"
            );
        }
        self.files.record();
        Ok(())
    }
}

/// See [`SqliteStore::make_durable`].
const DURABLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn health_reports_each_kind_of_problem() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let store = SqliteStore::open(&db).unwrap();
        store.health().unwrap();
        assert!(marker_path(&db).is_file());

        // A disk with less room than asked for is full.
        let full = SqliteStore::open_with(
            &db,
            StoreOptions {
                min_free_bytes: u64::MAX,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let e = full.health().unwrap_err().to_string();
        assert!(e.contains("disk is full"), "{e}");

        // A replaced -shm is told from the one opened.
        let shm = suffixed(&db, "-shm");
        let copy = suffixed(&db, "-shm.copy");
        fs::copy(&shm, &copy).unwrap();
        fs::rename(&copy, &shm).unwrap();
        let e = store.health().unwrap_err().to_string();
        assert!(e.contains("-shm file was replaced"), "{e}");
    }

    #[test]
    fn a_lost_database_is_refused_and_a_new_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        refuse_if_lost(&db, None).unwrap();
        drop(SqliteStore::open(&db).unwrap());
        refuse_if_lost(&db, None).unwrap();
        fs::remove_file(&db).unwrap();
        let e = refuse_if_lost(&db, None).unwrap_err().to_string();
        assert!(e.contains("is missing") && e.contains("-created"), "{e}");
        assert!(SqliteStore::open(&db).is_err());
        assert!(!db.exists(), "not created anew");
        fs::File::create(&db).unwrap();
        let e = SqliteStore::open(&db).err().unwrap().to_string();
        assert!(e.contains("is empty"), "{e}");
        assert_eq!(fs::metadata(&db).unwrap().len(), 0, "left as found");
        // The operator's way out: remove the marker.
        fs::remove_file(marker_path(&db)).unwrap();
        SqliteStore::open(&db).unwrap();
    }
}
