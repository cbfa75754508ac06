//! Storage: every SQL statement in confcal lives under this module.
//!
//! [`Store`] is the one contract the rest of confcal uses (schedule sync,
//! queries and filters, full-text search, agendas and stars, sources,
//! stats, health); two backends implement it in modules of their own:
//!
//! - [`sqlite`]: one file, the default (`--db confcal.db`);
//! - [`postgres`]: a shared PostgreSQL (`--db postgres://…`), for several
//!   replicas on several machines.
//!
//! `Store` is a cheap-clone handle over an enum of the two (enum dispatch,
//! not a trait object): the set of backends is closed and known here, the
//! generic methods (`each_session` with its callback, `sync_from_source`
//! with its hold rule) stay generic without boxing, and callers keep the
//! concrete type they had. The rules that are not SQL (the sync diff, the
//! `sequence`/`last_modified`/`version` rules, cancel-not-delete, the star
//! limit, the held-sync rule, the source lease) are in [`rules`], written
//! once; each backend reads what a rule needs in its own locked
//! transaction and writes what the rule answers. Migrations carry the
//! same numbers in both backends: migration N leaves the same logical
//! schema on SQLite and on PostgreSQL.

pub(crate) mod history;
pub mod postgres;
pub mod rules;
pub mod sqlite;
mod target;
mod types;

#[cfg(test)]
mod conformance;
#[cfg(test)]
pub(crate) mod testing;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use rules::{feed_code, is_feed_code, MAX_FEED_LINKS, MAX_STARS};
pub use sqlite::{
    backup, marker_path, register_search_function, BackupOptions, BackupReport, Pool,
};
pub use target::{DbTarget, PgUrl};
pub use types::{
    Attempt, Checkpoint, DbStats, Facets, FetchOutcome, Held, Outcome, RotateOutcome, SourceConfig,
    SourceRecord, SourceSync, SyncCounts, SyncReport, MAX_WARNINGS_KEPT,
};

/// The records the store returns are the domain's (so that what renders
/// them needs no storage); re-exported here, where they are read and written.
pub use crate::domain::records::{
    AgendaRecord, AgendaView, ConferenceRecord, SessionRecord, Status,
};

use crate::domain::agenda::{Star, Stars, TokenHash};
use crate::domain::changes::{Change, ChangeLog};
use crate::domain::{ConferenceSlug, Schedule, SessionData, SessionFilter, SessionId};

/// How the cause of [`StoreError::Busy`] begins when the connection, not
/// the statement, failed (PostgreSQL: the server ended it, restarted, or
/// cannot be reached). A read that meets it is tried once more on another
/// connection; what is still lost is worth a retry by the client.
pub const CONNECTION_LOST: &str = "the connection to the database was lost";

/// The cause of [`StoreError::Busy`] when a query was stopped at its
/// deadline (see [`SEARCH_DEADLINE`]), not kept waiting by a writer.
pub const DEADLINE_PASSED: &str = "the query ran past its deadline";

/// The longest a search may hold a reading connection: past it the
/// database stops the query (SQLite's progress handler, PostgreSQL's
/// `statement_timeout`), and the request is answered 503 with
/// `Retry-After` (see [`StoreError::Busy`]). The terms are bounded (see
/// [`crate::domain::filter::MAX_Q_WORDS`]) and read only the searched
/// conference's words, so an honest search of any conference stays far
/// below it, whatever else the database holds; this is the backstop for
/// what the bounds do not foresee.
pub const SEARCH_DEADLINE: Duration = Duration::from_millis(250);

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
    /// A proposed agenda token that another agenda already has.
    #[error("this token cannot be used: propose another")]
    TokenInUse,
    /// The lock or a connection was not had in time: another writer (in
    /// this process or another) holds the database, or the database
    /// server cannot be reached. Worth retrying.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The database cannot be written: its disk is full or it is
    /// read-only. Not worth retrying until an operator acts.
    #[error("the database cannot be written: {0}")]
    Storage(String),
    /// The database is not what was opened or cannot serve: files deleted,
    /// replaced, read-only, on a full disk, or a database server that does
    /// not answer (see [`Store::health`]). The text names no path or URL
    /// and is fit for a public answer.
    #[error("{0}")]
    Unhealthy(String),
    /// A database that had data was found without it: confcal will not
    /// create it anew (see [`marker_path`]).
    #[error("{0}")]
    Lost(String),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// An error of the PostgreSQL server or of the connection to it. Its
    /// text is the server's or the client library's, which never include
    /// the password.
    #[error("database error: {0}")]
    Postgres(#[source] ::postgres::Error),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// What this backend does not do (a file backup of PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
}

/// The pools' one error is "no connection in time" (a connection that
/// cannot be opened also ends as a timeout): busy, worth a retry.
impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Busy(format!("no database connection in time: {e}"))
    }
}

/// How long the store waits, and when it calls the disk full.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Longest a write waits for the write lock (and for this process's
    /// other writes) before it fails with [`StoreError::Busy`].
    pub write_timeout: Duration,
    /// Free space on the database's file system below which
    /// [`Store::health`] reports the disk full (SQLite).
    pub min_free_bytes: u64,
    /// How long opening a PostgreSQL store keeps retrying a server that
    /// does not answer yet (a replica started before its database).
    pub connect_wait: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            min_free_bytes: 8 << 20,
            connect_wait: Duration::from_secs(60),
        }
    }
}

/// See [`StoreOptions::write_timeout`]: long enough for any ordinary write
/// queued behind another, short enough that a client hears "busy, retry"
/// long before its own timeout.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening a database waits for another process that is creating,
/// migrating or seeding the same database at the same time.
pub const STARTUP_LOCK_WAIT: Duration = Duration::from_secs(30);

/// The store: a cheap-clone handle on one backend (see the module docs).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and
    /// migrates it, with the default [`StoreOptions`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens the SQLite database at `path` (see [`sqlite::SqliteStore::open_with`]).
    pub fn open_with(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(sqlite::SqliteStore::open_with(path, options)?),
        })
    }

    /// Opens the database `--db` names: a file path (SQLite) or a
    /// `postgres://` URL (see [`DbTarget`]).
    pub fn open_target(target: &DbTarget, options: StoreOptions) -> Result<Store, StoreError> {
        match target {
            DbTarget::Sqlite(path) => Self::open_with(path, options),
            DbTarget::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(postgres::PgStore::open(url, options)?),
            }),
        }
    }

    /// Which backend this is, for logs and metrics: `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// SQLite's change probe (see [`sqlite::SqliteStore::data_version`]):
    /// a number that changes whenever any connection has committed a
    /// write. `None` on PostgreSQL: no such shortcut exists across
    /// machines, so a feed's stamps are read on every request there.
    pub fn data_version(&self) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.data_version().map(Some),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// Like [`Store::sessions`], but hands each session to `f` as it is
    /// read, so a 100,000-session feed never holds every session in memory.
    ///
    /// The conference (with its `version`) and the sessions are read in one
    /// snapshot: a cache keyed by that version can never file newer or
    /// older data under it.
    pub fn each_session<F>(
        &self,
        slug: &ConferenceSlug,
        filter: &SessionFilter,
        f: F,
    ) -> Result<ConferenceRecord, StoreError>
    where
        F: FnMut(&ConferenceRecord, SessionRecord),
    {
        match &self.backend {
            Backend::Sqlite(b) => b.each_session(slug, filter, f),
            Backend::Postgres(b) => b.each_session(slug, filter, f),
        }
    }

    /// The sessions of a conference that match `filter`, in start order.
    pub fn sessions(
        &self,
        slug: &ConferenceSlug,
        filter: &SessionFilter,
    ) -> Result<(ConferenceRecord, Vec<SessionRecord>), StoreError> {
        let mut sessions = Vec::new();
        let conf = self.each_session(slug, filter, |_, s| sessions.push(s))?;
        Ok((conf, sessions))
    }

    /// A conference as a schedule: its confirmed sessions in start order
    /// (cancelled sessions have no place in a schedule document).
    pub fn export(&self, slug: &ConferenceSlug) -> Result<Schedule, StoreError> {
        let mut sessions = Vec::new();
        let conf = self.each_session(slug, &SessionFilter::default(), |_, s| {
            if s.status == Status::Confirmed {
                sessions.push(s.data);
            }
        })?;
        Ok(Schedule {
            conference: conf.conference,
            sessions,
        })
    }

    /// Makes the stored conference equal to `schedule`: creates new
    /// sessions, updates changed ones, and cancels (never deletes) the ones
    /// the schedule no longer lists (see [`rules::plan_sync`]).
    pub fn sync_schedule(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError> {
        let mut reports = self.sync_schedules(std::slice::from_ref(schedule), now)?;
        Ok(reports.remove(0))
    }

    /// Syncs the conference from a schedule its source sent, and records
    /// the attempt, in one transaction. Before anything is written,
    /// `hold` is asked about what the sync would cancel; when it says so
    /// (and the operator has not confirmed) the schedule is left as it is
    /// and the source is marked held, its validators unchanged so that the
    /// next fetch reads the schedule again. `None` when the source changed
    /// or went meanwhile (its generation moved): nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub fn sync_from_source(
        &self,
        slug: &str,
        generation: i64,
        a: &Attempt,
        schedule: &Schedule,
        format_read: &str,
        warnings: &[String],
        confirm: bool,
        hold: impl FnOnce(&Held) -> bool,
    ) -> Result<Option<SourceSync>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.sync_from_source(
                slug,
                generation,
                a,
                schedule,
                format_read,
                warnings,
                confirm,
                hold,
            ),
            Backend::Postgres(b) => b.sync_from_source(
                slug,
                generation,
                a,
                schedule,
                format_read,
                warnings,
                confirm,
                hold,
            ),
        }
    }

    /// Copies every page of SQLite's WAL into the database file (see
    /// [`sqlite::SqliteStore::checkpoint_within`]); on PostgreSQL there is
    /// nothing of ours to checkpoint, and it is complete at once.
    pub fn checkpoint_within(&self, wait: Duration) -> Result<Checkpoint, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.checkpoint_within(wait),
            Backend::Postgres(_) => Ok(Checkpoint {
                complete: true,
                wal_frames: 0,
                copied: 0,
            }),
        }
    }

    /// [`Store::checkpoint_within`] with ten seconds, failing when it
    /// could not finish.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.checkpoint(),
            Backend::Postgres(_) => Ok(()),
        }
    }
}

/// Methods that are the same call on either backend, each documented on
/// the SQLite backend's method of the same name.
macro_rules! delegate {
    ($( $(#[$m:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        impl Store {
            $(
                $(#[$m])*
                pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.backend {
                        Backend::Sqlite(b) => b.$name($($arg),*),
                        Backend::Postgres(b) => b.$name($($arg),*),
                    }
                }
            )*
        }
    };
}

delegate! {
    /// True when no conference is stored yet (a fresh database to seed).
    fn is_empty(&self) -> Result<bool, StoreError>;
    fn conferences(&self) -> Result<Vec<ConferenceRecord>, StoreError>;
    fn conference(&self, slug: &ConferenceSlug) -> Result<ConferenceRecord, StoreError>;
    /// The conference's data version: a cheap query that tells whether a
    /// cached rendering is still current.
    fn conference_version(&self, slug: &ConferenceSlug) -> Result<i64, StoreError>;
    fn session(&self, slug: &ConferenceSlug, id: &SessionId) -> Result<(ConferenceRecord, SessionRecord), StoreError>;
    /// Local days on which the conference has sessions, its rooms and its
    /// session kinds: the choices a filter form offers.
    fn facets(&self, slug: &ConferenceSlug) -> Result<Facets, StoreError>;
    /// [`Store::sync_schedule`] for several conferences in one transaction.
    fn sync_schedules(&self, schedules: &[Schedule], now: DateTime<Utc>) -> Result<Vec<SyncReport>, StoreError>;
    /// Seeds a new database: imports `schedules` in one transaction if no
    /// conference is stored yet, and answers `None` (importing nothing) if
    /// one is. Of several servers started at once exactly one seeds.
    fn seed(&self, schedules: &[Schedule], now: DateTime<Utc>) -> Result<Option<Vec<SyncReport>>, StoreError>;
    /// Creates or replaces one session of an existing conference.
    fn put_session(&self, slug: &ConferenceSlug, session: &SessionData, now: DateTime<Utc>) -> Result<Outcome, StoreError>;
    /// Cancels one session: it stays stored, and in the feeds, as cancelled.
    fn cancel_session(&self, slug: &ConferenceSlug, id: &SessionId, now: DateTime<Utc>) -> Result<Outcome, StoreError>;
    fn create_agenda(&self, hash: &TokenHash, name: Option<&str>, now: DateTime<Utc>) -> Result<AgendaRecord, StoreError>;
    /// What an agenda feed is rendered from, as one string: the agenda's
    /// version and the version of every conference it has stars in.
    fn agenda_stamp(&self, hash: &TokenHash) -> Result<String, StoreError>;
    fn agenda(&self, hash: &TokenHash) -> Result<AgendaView, StoreError>;
    /// Stars (`true`) or unstars a session. Idempotent; returns whether
    /// anything changed.
    fn set_star(&self, hash: &TokenHash, conf: &ConferenceSlug, id: &SessionId, starred: bool, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Replaces the token `old` by `new` (safe to repeat: see the SQLite
    /// backend's method).
    fn rotate_agenda(&self, old: &TokenHash, new: &TokenHash, now: DateTime<Utc>) -> Result<RotateOutcome, StoreError>;
    fn delete_agenda(&self, hash: &TokenHash) -> Result<(), StoreError>;
    /// The conference's newest `limit` changes, newest first, read in one
    /// snapshot with the conference (whose `version` moves with every
    /// change recorded).
    fn changes(&self, slug: &ConferenceSlug, limit: usize) -> Result<(ConferenceRecord, Vec<Change>), StoreError>;
    /// The newest `limit` changes to the sessions an agenda stars (in any
    /// conference), newest first, with those conferences and the agenda.
    /// Unknown tokens are [`StoreError::AgendaNotFound`].
    fn agenda_changes(&self, hash: &TokenHash, limit: usize) -> Result<(AgendaRecord, ChangeLog), StoreError>;
    /// The short code for a conference's feed with canonical `query`.
    fn ensure_feed_link(&self, slug: &ConferenceSlug, query: &str) -> Result<String, StoreError>;
    /// The conference and canonical query a code stands for.
    fn feed_link(&self, code: &str) -> Result<Option<(ConferenceSlug, String)>, StoreError>;
    /// Sets the source of a conference and makes a fetch due now (see
    /// [`rules::source_change`]). `true` when the conference had none.
    fn put_source(&self, slug: &ConferenceSlug, config: &SourceConfig, now: DateTime<Utc>) -> Result<(bool, SourceRecord), StoreError>;
    fn source(&self, slug: &ConferenceSlug) -> Result<Option<SourceRecord>, StoreError>;
    /// Every source, by conference.
    fn sources(&self) -> Result<Vec<SourceRecord>, StoreError>;
    /// Stops following: the source and its state go; the conference stays.
    fn delete_source(&self, slug: &ConferenceSlug) -> Result<bool, StoreError>;
    /// The earliest time a fetch is due, if any source is followed.
    fn next_source_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Conferences whose fetch is due at `now`, the longest waiting first.
    fn due_sources(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Takes a source's next fetch: moves its due time to `lease_until`, so
    /// that no other server on this database fetches it meanwhile (see
    /// [`rules::may_claim`]).
    fn claim_source(&self, slug: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, force: bool) -> Result<Option<SourceRecord>, StoreError>;
    /// Records a 304 (`false` when the source changed or went meanwhile).
    fn record_not_modified(&self, slug: &str, generation: i64, a: &Attempt) -> Result<bool, StoreError>;
    /// Records an attempt that applied nothing, and why.
    fn record_failure(&self, slug: &str, generation: i64, a: &Attempt, error: &str) -> Result<bool, StoreError>;
    /// One round trip to the database.
    fn ping(&self) -> Result<(), StoreError>;
    /// Counts and size, read in one snapshot.
    fn stats(&self) -> Result<DbStats, StoreError>;
    /// Whether the database can serve: [`StoreError::Unhealthy`] naming
    /// what is wrong when not (`/healthz`, and every second by the server).
    fn health(&self) -> Result<(), StoreError>;
}

/// Starring from the pages (see [`crate::domain::agenda::starring`]).
impl Stars for Store {
    type Error = StoreError;

    fn star(&self, agenda: &TokenHash, star: Star<'_>) -> Result<Option<bool>, StoreError> {
        let Star {
            conference,
            session,
            starred,
            at,
        } = star;
        match self.set_star(agenda, conference, session, starred, at) {
            Err(StoreError::AgendaNotFound) => Ok(None),
            other => other.map(Some),
        }
    }

    fn require_session(&self, star: Star<'_>) -> Result<(), StoreError> {
        self.session(star.conference, star.session).map(|_| ())
    }

    fn create(&self, agenda: &TokenHash, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.create_agenda(agenda, None, now).map(|_| ())
    }
}
