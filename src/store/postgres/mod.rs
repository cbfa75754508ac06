//! The PostgreSQL backend: one database shared by any number of confcal
//! replicas on any number of machines.
//!
//! The same contract as [`super::sqlite`], with what sharing asks for:
//!
//! - **Writers lock what they change.** Every write is one transaction
//!   that first locks its row (`SELECT … FOR UPDATE`): the conference for
//!   a sync or a session write, the agenda for stars and rotations, the
//!   source for a claim or a source's sync. Writers of one conference (on
//!   any replica) so run one after another, each reading what the one
//!   before committed (READ COMMITTED reads the latest commit after the
//!   lock), which is what SQLite's `BEGIN IMMEDIATE` gives one file. A
//!   lock waits at most [`StoreOptions::write_timeout`] (`lock_timeout`),
//!   then the write fails with [`StoreError::Busy`].
//! - **Reads are snapshots**: a feed's conference and sessions are read in
//!   one REPEATABLE READ transaction, so a cache keyed by the version read
//!   never files other data under it. There is no `data_version` shortcut
//!   (see [`super::Store::data_version`]): the stamps are read on every
//!   request, one indexed lookup, so every replica's cache is exact.
//! - **Search** gives the sessions SQLite's FTS5 gives: the words are made
//!   by the very tokenizer SQLite uses (`unicode61 remove_diacritics 2`,
//!   run through an in-memory SQLite, see [`super::sqlite::Words`]) and
//!   kept in `session_words` with their column and position, so phrases,
//!   prefixes (`LIKE 'w%'` on a `text_pattern_ops` index), accents and case
//!   match as FTS5's (see `search.rs`). A search runs under a
//!   `statement_timeout` of [`super::SEARCH_DEADLINE`].
//! - **Connections** are checked when the pool hands them out (r2d2's
//!   `test_on_check_out`), so the first request after the server killed a
//!   connection or restarted gets a new one; connecting gives up after
//!   [`CONNECT_TIMEOUT`], so `/healthz` answers 503 within seconds while
//!   the database is down, and the pool reconnects by itself once it is
//!   back. Opening the store waits for the database (logging why) up to
//!   [`StoreOptions::connect_wait`], so a replica binds its port only once
//!   it can serve.
//! - **Migrations** carry SQLite's numbers (migration N leaves the same
//!   logical schema) and are applied under `pg_advisory_xact_lock`, so
//!   replicas started together apply each exactly once.
//!
//! The URL's password is never shown: [`PgUrl`]'s `Display` redacts it,
//! and it is handed to the client library alone.

mod changes;
mod queries;
mod search;
mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::postgres::error::SqlState;
use ::postgres::{Client, Config, NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use super::sqlite::Words;
use super::{
    DbStats, PgUrl, Status, StoreError, StoreOptions, CONNECTION_LOST, DEADLINE_PASSED,
    STARTUP_LOCK_WAIT,
};

type Manager = PostgresConnectionManager<NoTls>;
type Pooled = r2d2::PooledConnection<Manager>;

/// Longest wait for a new connection to the server: short, so that a
/// request or `/healthz` while the database is down fails in seconds
/// (503), not after the operating system's TCP timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a request waits for a pooled connection (including making a
/// new one): a few connection attempts.
const POOL_WAIT: Duration = Duration::from_secs(4);

/// Connections per replica: reads and writes share them (PostgreSQL has
/// no single writer); enough for the blocking threads that use them.
const POOL_SIZE: u32 = 16;

/// The advisory lock key of migrations and seeding (`confcal` in ASCII):
/// one per database, so replicas started together take turns.
const MIGRATION_LOCK: i64 = 0x636f_6e66_6361_6c00;
const SEED_LOCK: i64 = MIGRATION_LOCK + 1;

/// In order; the number in each file name is its position plus one, the
/// same as SQLite's (see `super::sqlite::migrations`).
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_agendas.sql"),
    include_str!("migrations/0003_session_kinds_links_venue_map_color.sql"),
    include_str!("migrations/0004_agenda_version.sql"),
    include_str!("migrations/0005_feed_links.sql"),
    include_str!("migrations/0006_agenda_previous_token.sql"),
    include_str!("migrations/0007_search_per_conference.sql"),
    include_str!("migrations/0008_sessions_of_no_length_language.sql"),
    include_str!("migrations/0009_sources.sql"),
    include_str!("migrations/0010_changes.sql"),
];

/// The PostgreSQL store: a pool of connections and a tokenizer.
#[derive(Clone)]
pub struct PgStore {
    pool: Arc<PoolHandle>,
    /// SQLite's unicode61 tokenizer, shared: words are made only when a
    /// session's text is written or a search is read, in microseconds.
    words: Arc<Mutex<Words>>,
    options: StoreOptions,
    /// Whether the last [`PgStore::health`] failed, so that a change is
    /// logged once, not every second while it lasts.
    down: Arc<AtomicBool>,
}

/// PostgreSQL's errors: waits that ran out and lost connections are
/// [`StoreError::Busy`] (worth a retry: 503), a full disk or a read-only
/// server [`StoreError::Storage`], a search past its deadline
/// [`DEADLINE_PASSED`].
impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        let Some(code) = e.code() else {
            // No SQLSTATE: the connection, not the statement, failed.
            return StoreError::Busy(format!("{CONNECTION_LOST}: {e}"));
        };
        if *code == SqlState::QUERY_CANCELED {
            StoreError::Busy(DEADLINE_PASSED.into())
        } else if [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
        {
            StoreError::Busy(format!("{CONNECTION_LOST}: {e}"))
        } else if [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
        {
            StoreError::Busy(e.to_string())
        } else if [
            SqlState::DISK_FULL,
            SqlState::READ_ONLY_SQL_TRANSACTION,
            SqlState::INSUFFICIENT_RESOURCES,
        ]
        .contains(code)
        {
            StoreError::Storage(e.to_string())
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// The pool, dropped on a thread of its own: closing a `postgres`
/// connection blocks on the client's own runtime, which must not happen on
/// a thread that drives another (the server's, where the last handle on
/// the store may go at shutdown).
struct PoolHandle(Option<r2d2::Pool<Manager>>);

impl Drop for PoolHandle {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl PgStore {
    /// Connects to `url` (waiting for the server up to
    /// [`StoreOptions::connect_wait`]), migrates the database, and opens
    /// the pool.
    pub fn open(url: &PgUrl, options: StoreOptions) -> Result<PgStore, StoreError> {
        let mut config: Config = url.secret().parse().map_err(|e| {
            StoreError::Unsupported(format!("the database URL {url} is not valid: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("confcal");
        }
        // Dead peers (a database machine gone) are noticed in seconds.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10));
        // On a thread of its own, like every use of the client on a
        // thread that may drive a runtime (see [`PoolHandle`]).
        std::thread::scope(|s| {
            s.spawn(|| -> Result<(), StoreError> {
                let mut client = connect_waiting(&config, url, options.connect_wait)?;
                let applied = migrate(&mut client)?;
                if applied > 0 {
                    tracing::info!(applied, "migrated the PostgreSQL database");
                }
                Ok(())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            // A connection the server closed (a restart, an operator's
            // pg_terminate_backend) is found out here, not by a request.
            .test_on_check_out(true)
            .build(PostgresConnectionManager::new(config, NoTls))?;
        let conn = rusqlite::Connection::open_in_memory()?;
        let words = Words::new(&conn)?;
        Ok(PgStore {
            pool: Arc::new(PoolHandle(Some(pool))),
            words: Arc::new(Mutex::new(words)),
            options,
            down: Arc::new(AtomicBool::new(false)),
        })
    }

    fn conn(&self) -> Result<Pooled, StoreError> {
        let pool = self.pool.0.as_ref().expect("taken only on drop");
        Ok(pool.get()?)
    }

    /// Runs `f` in a write transaction and commits. Each lock it takes
    /// waits at most [`StoreOptions::write_timeout`] (`lock_timeout`).
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.write_waiting(self.options.write_timeout, f)
    }

    fn write_waiting<R>(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}",
            wait.as_millis().max(1)
        ))?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read-only REPEATABLE READ transaction: one snapshot.
    /// A connection lost on the way (the server ended it while it was in
    /// use: checking it when handed out cannot see that) is dropped by the
    /// pool, and the read is run once more on another: a read changes
    /// nothing, so running it again is safe.
    fn read<R>(
        &self,
        f: impl Fn(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match self.read_once(&f) {
            Err(StoreError::Busy(cause)) if cause.starts_with(CONNECTION_LOST) => {
                tracing::info!(%cause, "read again on another database connection");
                self.read_once(&f)
            }
            other => other,
        }
    }

    /// [`PgStore::read`] tried once: for a read that hands out what it
    /// reads as it goes (rows streamed to a renderer), which must not be
    /// handed out twice.
    fn read_once<R>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(::postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// `text`'s words as SQLite's index holds them (without its
    /// conference namespace: `session_words` has a column for that).
    fn words(&self, text: &str) -> Result<Vec<String>, StoreError> {
        let mut w = self.words.lock().unwrap_or_else(|e| e.into_inner());
        let line = w.of(0, text)?;
        Ok(line
            .split(' ')
            .filter_map(|w| w.strip_prefix("0:"))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect())
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn()?
            .query_one("SELECT count(*) FROM conferences", &[])?
            .get(0);
        Ok(n == 0)
    }

    /// One round trip: `SELECT 1` on a pooled connection.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn()?.simple_query("SELECT 1")?;
        Ok(())
    }

    /// Whether the database answers: [`StoreError::Unhealthy`] (with no
    /// URL in it) when it does not, within about [`POOL_WAIT`].
    pub fn health(&self) -> Result<(), StoreError> {
        match self.ping() {
            Ok(()) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("the PostgreSQL database answers again");
                }
                Ok(())
            }
            Err(e) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "the PostgreSQL database does not answer");
                }
                Err(StoreError::Unhealthy("the database does not answer".into()))
            }
        }
    }

    /// Counts, and the database's size, in one snapshot.
    pub fn stats(&self) -> Result<DbStats, StoreError> {
        self.read(|tx| {
            let one = |tx: &mut Transaction<'_>, sql: &str| -> Result<i64, StoreError> {
                Ok(tx.query_one(sql, &[])?.get(0))
            };
            let mut stats = DbStats {
                conferences: one(tx, "SELECT count(*) FROM conferences")?,
                agendas: one(tx, "SELECT count(*) FROM agendas")?,
                size_bytes: one(tx, "SELECT pg_database_size(current_database())")?.max(0) as u64,
                ..DbStats::default()
            };
            for row in tx.query("SELECT status, count(*) FROM sessions GROUP BY status", &[])? {
                let status: String = row.get(0);
                let n: i64 = row.get(1);
                match status.as_str() {
                    s if s == Status::Confirmed.as_str() => stats.sessions_confirmed = n,
                    s if s == Status::Cancelled.as_str() => stats.sessions_cancelled = n,
                    _ => {}
                }
            }
            Ok(stats)
        })
    }
}

/// Connects, retrying a server that does not answer yet until `wait` has
/// passed, with one log line per attempt (never the password).
fn connect_waiting(config: &Config, url: &PgUrl, wait: Duration) -> Result<Client, StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        match config.connect(NoTls) {
            Ok(c) => return Ok(c),
            Err(e) => {
                let e = StoreError::from(e);
                let retry = matches!(e, StoreError::Busy(_)) && started.elapsed() < wait;
                if !retry {
                    return Err(e);
                }
                tracing::warn!(db = %url, error = %e, "waiting for the PostgreSQL database");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Applies the migrations the database lacks, each in its own transaction
/// with the version bump, under an advisory lock (concurrent starters
/// wait, then find it done). Says how many it applied.
fn migrate(client: &mut Client) -> Result<usize, StoreError> {
    let mut ran = 0;
    loop {
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}",
            STARTUP_LOCK_WAIT.as_millis()
        ))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        // No "already exists, skipping" notice in every start's log.
        tx.batch_execute("SET LOCAL client_min_messages = warning")?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS confcal_schema (
                 one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
                 version BIGINT NOT NULL)",
        )?;
        let applied: i64 = tx
            .query_opt("SELECT version FROM confcal_schema", &[])?
            .map_or(0, |r| r.get(0));
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "database schema version {applied} is newer than this confcal ({})",
                MIGRATIONS.len()
            )));
        }
        let Some(sql) = MIGRATIONS.get(applied) else {
            tx.commit()?;
            return Ok(ran);
        };
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO confcal_schema (version) VALUES ($1) \
             ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            &[&(applied as i64 + 1)],
        )?;
        tx.commit()?;
        ran += 1;
        tracing::info!(version = applied + 1, "applied database migration");
    }
}

#[cfg(test)]
mod tests {
    /// Every SQLite migration has its PostgreSQL twin under the same
    /// number and name (and so the same count of migrations is applied):
    /// a migration added to one backend alone fails here.
    #[test]
    fn migrations_are_numbered_the_same_on_both_backends() {
        let names = |backend: &str| -> Vec<String> {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/store")
                .join(backend)
                .join("migrations");
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            v.sort();
            v
        };
        let (sqlite, postgres) = (names("sqlite"), names("postgres"));
        assert_eq!(sqlite, postgres);
        assert_eq!(postgres.len(), super::MIGRATIONS.len());
        for (i, n) in postgres.iter().enumerate() {
            assert!(n.starts_with(&format!("{:04}_", i + 1)), "{n}");
        }
    }

    /// A read whose connection the server ends while it is in use (as
    /// `pg_terminate_backend` or a restart does, which checking a
    /// connection when it is handed out cannot see) is run again on
    /// another connection and succeeds; the error said the connection was
    /// lost, so a client that still met it would be told that, not "busy".
    #[test]
    fn a_read_whose_connection_dies_in_use_is_run_again() {
        use std::cell::Cell;
        let Some(schema) = crate::store::testing::PgSchema::new() else {
            return;
        };
        let store =
            super::PgStore::open(&schema.url(), crate::store::StoreOptions::default()).unwrap();
        let tries = Cell::new(0);
        let n: i64 = store
            .read(|tx| {
                tries.set(tries.get() + 1);
                if tries.get() == 1 {
                    assert!(schema.terminate_connections() >= 1);
                }
                Ok(tx
                    .query_one("SELECT count(*) FROM conferences", &[])?
                    .get(0))
            })
            .unwrap();
        assert_eq!((n, tries.get()), (0, 2));
        // Once only: a read that keeps failing gives its error.
        let e = store
            .read(|tx| -> Result<i64, super::StoreError> {
                schema.terminate_connections();
                Ok(tx.query_one("SELECT 1::bigint", &[])?.get(0))
            })
            .unwrap_err();
        assert!(
            matches!(&e, super::StoreError::Busy(c) if c.starts_with(super::CONNECTION_LOST)),
            "{e}"
        );
    }
}
