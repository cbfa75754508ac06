//! The SQLite backend: the store in one file, as confcal has always had it.
//!
//! SQLite through rusqlite, behind r2d2 pools so request handlers can run
//! queries on blocking threads (`web::block`) and never stall the async
//! workers. The database runs in WAL mode, with foreign keys on.
//!
//! Readers and the writer have pools of their own: eight connections that
//! only read (`PRAGMA query_only`) and one that writes. In WAL mode a reader
//! never waits for a writer, and with separate pools no number of writes
//! waiting for the write lock (held by another process, or by a long import
//! here) can take the connections reads need: reads and `/healthz` keep
//! flowing. A write takes the lock up front (`BEGIN IMMEDIATE`) and waits
//! for it at most [`StoreOptions::write_timeout`], then fails with
//! [`StoreError::Busy`] (503 with `Retry-After`), never a 500.

mod agendas;
mod backup;
mod changes;
mod checkpoint;
mod feed_links;
mod files;
mod migrations;
mod queries;
mod search;
mod sources;
mod stats;
mod sync;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

pub use backup::{backup, BackupOptions, BackupReport};
pub use files::marker_path;
pub use search::{register as register_search_function, Words};

pub(crate) use super::{
    AgendaRecord, AgendaView, ConferenceRecord, SessionRecord, Status, StoreError, StoreOptions,
    DEADLINE_PASSED, STARTUP_LOCK_WAIT,
};

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

/// SQLite's "busy" and "locked" are waits that ran out, not faults of the
/// data; "full" and "read-only" are the disk's. Both are told apart here,
/// once, so every `?` on a rusqlite call classifies its error.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy(e.to_string())
            }
            Some(ErrorCode::DiskFull | ErrorCode::ReadOnly) => StoreError::Storage(e.to_string()),
            // Only a deadline interrupts a query (see `queries::SEARCH_DEADLINE`).
            Some(ErrorCode::OperationInterrupted) => StoreError::Busy(DEADLINE_PASSED.into()),
            _ => StoreError::Sqlite(e),
        }
    }
}

/// Busy timeout of reading connections. In WAL mode a reader waits only
/// for another connection's recovery of the WAL index, which is short.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    /// Eight connections that only read.
    readers: Pool,
    /// The one connection that writes (see the module docs).
    writer: Pool,
    /// A connection of its own, never used to write data: the change probe
    /// ([`SqliteStore::data_version`]) and the checkpointer, so that neither
    /// waits for a pooled connection.
    probe: Arc<Mutex<Connection>>,
    /// What the database's files were when opened (see [`SqliteStore::health`]).
    files: Arc<files::Watch>,
    options: StoreOptions,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it,
    /// with the default [`StoreOptions`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// Safe when several processes open a new file at once: each waits for
    /// the write lock before it reads the schema version (see
    /// [`migrations`]). A database that has had data (its marker file says
    /// so, see [`marker_path`]) but is now missing or empty is refused with
    /// [`StoreError::Lost`] instead of being created anew. Once created or
    /// migrated, the WAL is checkpointed so that the schema lives in the
    /// database file itself, not only in a `-wal` file someone might delete.
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<SqliteStore, StoreError> {
        files::refuse_if_lost(path, None)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(STARTUP_LOCK_WAIT)?;
        // Before anything writes to the file: an empty file that had data
        // is left exactly as found.
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        files::refuse_if_lost(path, Some(version))?;
        // WAL is a property of the file: set once, before the pools open.
        set_wal(&conn)?;
        configure(&mut conn)?;
        conn.busy_timeout(STARTUP_LOCK_WAIT)?;
        let migrated = migrations::run(&mut conn, path)?;
        // Without CREATE: a pooled connection opened later (after a broken
        // one) must fail on a deleted file, not make an empty database.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let readers = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(10))
            // Connections live as long as the store: reopening one later
            // could meet another file at the path (see `SqliteStore::health`).
            .idle_timeout(None)
            .max_lifetime(None)
            .build(
                SqliteConnectionManager::file(path)
                    .with_flags(flags)
                    .with_init(|c| {
                        configure(c)?;
                        c.busy_timeout(READ_BUSY_TIMEOUT)?;
                        c.pragma_update(None, "query_only", true)
                    }),
            )?;
        let writer = r2d2::Pool::builder()
            .max_size(1)
            .connection_timeout(options.write_timeout.max(Duration::from_secs(10)))
            .idle_timeout(None)
            .max_lifetime(None)
            .build(
                SqliteConnectionManager::file(path)
                    .with_flags(flags)
                    .with_init(configure),
            )?;
        let store = SqliteStore {
            readers,
            writer,
            probe: Arc::new(Mutex::new(conn)),
            files: Arc::new(files::Watch::new(path, options.min_free_bytes)),
            options,
        };
        if migrated > 0 || !marker_path(path).exists() {
            store.make_durable()?;
        } else {
            store.files.record();
        }
        Ok(store)
    }

    /// A number that changes whenever any other connection, in this
    /// process or another, has committed a write since the last call
    /// (`PRAGMA data_version`). It reads only the WAL index in shared
    /// memory, a few microseconds, so it is cheap enough to call on an async
    /// worker for every feed request: equal numbers mean nothing changed and
    /// the stamps read before are still current.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        let conn = self.probe.lock().unwrap_or_else(|e| e.into_inner());
        let v = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        Ok(v)
    }

    /// A reading connection (`PRAGMA query_only`: a write through it fails).
    /// Private to the store: everything outside it asks the store for what
    /// it needs, never for SQL.
    fn conn(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.readers.get()?)
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`) and commits,
    /// waiting for the lock at most [`StoreOptions::write_timeout`].
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.write_waiting(self.options.write_timeout, f)
    }

    /// [`SqliteStore::write`] with its own bound on the wait. The bound covers
    /// both waits a write has, for this process's writer connection and for
    /// SQLite's write lock, so a write answers within it whoever holds what.
    pub(crate) fn write_waiting<R>(
        &self,
        wait: Duration,
        f: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let deadline = Instant::now() + wait;
        let mut conn = self.writer.get_timeout(wait).map_err(|e| {
            StoreError::Busy(format!(
                "another write held the database for {} ms: {e}",
                wait.as_millis()
            ))
        })?;
        let left = deadline.saturating_duration_since(Instant::now());
        conn.busy_timeout(left.max(Duration::from_millis(1)))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// True when no conference is stored yet (a fresh database to seed).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))?;
        Ok(n == 0)
    }
}

/// Puts the file in WAL mode. Switching takes an exclusive lock, and when
/// servers start together on a new file SQLite answers SQLITE_BUSY at once
/// instead of waiting (waiting could deadlock two upgrading connections), so
/// it is retried here until the busy timeout's worth of time has passed.
/// A file already in WAL mode needs no lock.
fn set_wal(conn: &Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        let mode: Result<String, _> = conn.pragma_query_value(None, "journal_mode", |r| r.get(0));
        let done = match mode {
            Ok(m) if m.eq_ignore_ascii_case("wal") => Ok(()),
            Ok(_) => conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match done {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < STARTUP_LOCK_WAIT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

fn configure(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(READ_BUSY_TIMEOUT)?;
    // The search index's triggers call it (migrations too).
    search::register(conn)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a write acknowledged to a user survives a power cut, not only a
    // crash of the process. Writes are small, so the cost is small.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Read the first 64 MiB of the file through a memory map instead of
    // read() calls: copying every page out of the OS cache was a tenth of a
    // whole-feed render. Capped so that a very large database does not
    // count its whole file in the process's resident memory.
    conn.pragma_update(None, "mmap_size", 64i64 << 20)?;
    Ok(())
}

pub(crate) fn to_ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) use crate::store::types::from_ts;

#[cfg(test)]
mod tests {
    use super::*;

    /// A long write in this process (an admin import of a huge schedule)
    /// holds the one writer connection: other writes give up after the
    /// write timeout with `Busy`, reads go on, and nothing writes through a
    /// reading connection.
    #[test]
    fn a_long_write_here_makes_other_writes_busy_not_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with(
            &dir.path().join("w.db"),
            StoreOptions {
                write_timeout: Duration::from_millis(100),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let (held_tx, held) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let long = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.write(|tx| {
                    tx.execute("INSERT INTO agendas (token_hash, created, last_modified) VALUES (x'01', 0, 0)", [])?;
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
            })
        };
        held.recv().unwrap();
        let hash = crate::domain::agenda::TokenHash([2; 32]);
        let e = store.create_agenda(&hash, None, Utc::now()).unwrap_err();
        assert!(matches!(e, StoreError::Busy(_)), "{e}");
        assert!(store.conferences().unwrap().is_empty(), "reads go on");
        store.ping().unwrap();
        let through_reader = store
            .conn()
            .unwrap()
            .execute("DELETE FROM agendas", [])
            .map_err(StoreError::from)
            .unwrap_err();
        assert!(
            through_reader.to_string().contains("readonly"),
            "{through_reader}"
        );
        release.send(()).unwrap();
        long.join().unwrap().unwrap();
        store.create_agenda(&hash, None, Utc::now()).unwrap();
    }
}
