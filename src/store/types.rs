//! What the store's operations take and answer, the same for every
//! backend: reports of writes, sources and their state, stats.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use super::StoreError;

/// What an import did, session by session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub conference_created: bool,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub cancelled: Vec<String>,
    pub unchanged: Vec<String>,
}

impl SyncReport {
    pub fn changed(&self) -> bool {
        self.conference_created
            || !(self.created.is_empty() && self.updated.is_empty() && self.cancelled.is_empty())
    }
}

/// What a single-session write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Updated,
    Cancelled,
    Unchanged,
}

/// What the operator sets for a source. The format and zone are kept as
/// their names; [`crate::follow`] checks them before they get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    pub url: String,
    /// A name of [`crate::import::Format`] (`auto`, `frab-xml`…).
    pub format: String,
    /// An IANA zone name, for schedules that name none.
    pub timezone: Option<String>,
    pub every_seconds: u32,
}

/// How the last attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
    /// A schedule was read and applied (changed or not).
    Ok,
    /// The upstream answered 304: the schedule served is still its own.
    NotModified,
    /// Nothing was applied: the upstream could not be read, or what it
    /// sent could not be imported.
    Error,
    /// A schedule was read but not applied: it would cancel too much
    /// (see [`crate::follow::suspicious`]) and waits for the operator.
    Held,
}

impl FetchOutcome {
    pub const ALL: [FetchOutcome; 4] = [
        FetchOutcome::Ok,
        FetchOutcome::NotModified,
        FetchOutcome::Error,
        FetchOutcome::Held,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FetchOutcome::Ok => "ok",
            FetchOutcome::NotModified => "not_modified",
            FetchOutcome::Error => "error",
            FetchOutcome::Held => "held",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<FetchOutcome, StoreError> {
        FetchOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("source outcome {s:?}")))
    }
}

/// What the last applied sync did, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub created: i64,
    pub updated: i64,
    pub cancelled: i64,
    pub unchanged: i64,
}

impl SyncCounts {
    pub fn of(r: &SyncReport) -> SyncCounts {
        let n = |v: &Vec<String>| v.len() as i64;
        SyncCounts {
            created: n(&r.created),
            updated: n(&r.updated),
            cancelled: n(&r.cancelled),
            unchanged: n(&r.unchanged),
        }
    }
}

/// A sync held back: it would cancel `would_cancel` of the `confirmed`
/// sessions stored, the upstream listing `sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Held {
    pub would_cancel: i64,
    pub confirmed: i64,
    pub sessions: i64,
}

/// A source and the state of following it.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub conference: String,
    pub config: SourceConfig,
    pub generation: i64,
    pub created: DateTime<Utc>,
    /// When the next fetch is due (while one runs: the end of its lease).
    pub next_due: DateTime<Utc>,
    /// The upstream's validators of the schedule last applied.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    /// `None` before the first attempt (and after the URL changed).
    pub last_outcome: Option<FetchOutcome>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_change: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub http_status: Option<u16>,
    /// Attempts in a row that ended in an error.
    pub failures: i64,
    pub counts: Option<SyncCounts>,
    pub held: Option<Held>,
    pub format_read: Option<String>,
    pub warnings: Vec<String>,
}

/// The HTTP side of one attempt, as recorded whatever its outcome.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub next_due: DateTime<Utc>,
    pub http_status: Option<u16>,
    /// Validators the upstream sent with this answer.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a sync from a source did.
#[derive(Debug, Clone)]
pub enum SourceSync {
    Applied(SyncReport),
    Held(Held),
}

/// Warnings kept per source: enough to see what is odd, bounded however
/// odd a schedule is.
pub const MAX_WARNINGS_KEPT: usize = 100;

/// What [`Store::rotate_agenda`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The agenda now has the new token.
    Rotated,
    /// It had it already: this call repeats one that succeeded.
    AlreadyRotated,
}

/// What a conference's filter form offers.
#[derive(Debug, Clone, Default)]
pub struct Facets {
    pub days: Vec<NaiveDate>,
    pub rooms: Vec<String>,
    pub kinds: Vec<String>,
}

/// What `/metrics` reports about the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStats {
    pub conferences: i64,
    pub sessions_confirmed: i64,
    pub sessions_cancelled: i64,
    pub agendas: i64,
    /// `page_count * page_size` of the main file plus the WAL file's size.
    pub size_bytes: u64,
}

/// What a WAL checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every frame is in the database file (and, for TRUNCATE, the WAL is
    /// empty).
    pub complete: bool,
    /// Frames in the WAL before it was reset (0 after a complete TRUNCATE).
    pub wal_frames: i64,
    /// Frames copied into the database file.
    pub copied: i64,
}

/// A stored timestamp (Unix seconds, on both backends) as a time.
pub(crate) fn from_ts(ts: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_opt(ts, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ts} out of range")))
}
