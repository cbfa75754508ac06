//! Storage: every SQL statement in confcal lives under this module.
//!
//! SQLite through rusqlite, behind an r2d2 pool so request handlers can run
//! queries on blocking threads (`web::block`) and never stall the async
//! workers. The database runs in WAL mode (readers never wait for the
//! writer), with foreign keys on, and writes take the lock up front
//! (`BEGIN IMMEDIATE`) so concurrent writers queue instead of failing.

mod agendas;
mod backup;
mod feed_links;
mod migrations;
mod queries;
mod sync;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::domain::{Conference, SessionData};

pub use agendas::{AgendaRecord, AgendaView, MAX_STARS};
pub use backup::{backup, BackupOptions, BackupReport, DbStats};
pub use feed_links::{feed_code, is_feed_code, MAX_FEED_LINKS};
pub use queries::Facets;
pub use sync::{Outcome, SyncReport};

pub type Pool = r2d2::Pool<SqliteConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no conference {0:?}")]
    ConferenceNotFound(String),
    #[error("no session {session:?} in conference {conference:?}")]
    SessionNotFound { conference: String, session: String },
    /// Unknown, rotated and deleted tokens all look the same.
    #[error("no such agenda")]
    AgendaNotFound,
    #[error("{0}")]
    Limit(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// Whether a session is on. Cancelled sessions are kept, never deleted, so
/// feeds can tell calendars about the cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Confirmed,
    Cancelled,
}

impl Status {
    fn as_sql(self) -> &'static str {
        match self {
            Status::Confirmed => "confirmed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// A stored conference.
#[derive(Debug, Clone)]
pub struct ConferenceRecord {
    pub conference: Conference,
    /// Changes whenever the conference or any of its sessions changes.
    pub version: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub session_count: i64,
    pub first_start: Option<DateTime<Utc>>,
    pub last_end: Option<DateTime<Utc>>,
}

/// A stored session: its content plus what calendars need to order changes.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub data: SessionData,
    pub status: Status,
    /// iCalendar SEQUENCE: incremented on every change to the content.
    pub sequence: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// A connection of its own, never used to write: see
    /// [`Store::data_version`].
    probe: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        // WAL is a property of the file: set once, before the pool opens.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        configure(&mut conn)?;
        migrations::run(&mut conn)?;
        // The migration connection stays open as the change probe.
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        Ok(Store {
            pool,
            probe: Arc::new(Mutex::new(conn)),
        })
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

    pub fn conn(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// True when no conference is stored yet (a fresh database to seed).
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))?;
        Ok(n == 0)
    }
}

fn configure(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_secs(10))?;
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

pub(crate) fn from_ts(ts: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_opt(ts, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ts} out of range")))
}
