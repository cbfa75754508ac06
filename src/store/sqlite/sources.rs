//! Followed sources: the URL a conference's schedule is fetched from, and
//! the state of following it (see [`crate::follow`] for the fetching).
//!
//! Every change here is one transaction, and so is a sync from a source:
//! the schedule's sessions and the source's new state (its validators,
//! counts, times) are written together or not at all, so the `ETag` kept
//! is always that of the schedule served. Each attempt is fenced by the
//! source's `generation`: a fetch begun before the operator changed the
//! URL (or deleted the source) is discarded, never applied.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::sync::sync_one;
use super::{from_ts, to_ts, SqliteStore, StoreError};
use crate::domain::{ConferenceSlug, Schedule};
use crate::store::rules::{self, SourceChange};
use crate::store::{
    Attempt, FetchOutcome, Held, SourceConfig, SourceRecord, SourceSync, SyncCounts,
    MAX_WARNINGS_KEPT,
};

const SOURCE_COLUMNS: &str = "conference, url, format, timezone, every_seconds, generation, \
     created, next_due, etag, last_modified, last_attempt, last_outcome, last_success, \
     last_change, last_error, http_status, failures, created_count, updated_count, \
     cancelled_count, unchanged_count, held_cancel, held_confirmed, held_sessions, format_read, \
     warnings";

fn ts(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(from_ts).transpose()
}

fn source_row(r: &Row<'_>) -> rusqlite::Result<Result<SourceRecord, StoreError>> {
    let every: i64 = r.get(4)?;
    let outcome: Option<String> = r.get(11)?;
    let status: Option<i64> = r.get(15)?;
    let counts: [Option<i64>; 4] = [r.get(17)?, r.get(18)?, r.get(19)?, r.get(20)?];
    let held: [Option<i64>; 3] = [r.get(21)?, r.get(22)?, r.get(23)?];
    let warnings: String = r.get(25)?;
    let (created, next_due): (i64, i64) = (r.get(6)?, r.get(7)?);
    let (attempt, success, change): (Option<i64>, Option<i64>, Option<i64>) =
        (r.get(10)?, r.get(12)?, r.get(13)?);
    let (conference, url, format, timezone): (String, String, String, Option<String>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let (generation, etag, last_modified): (i64, Option<String>, Option<String>) =
        (r.get(5)?, r.get(8)?, r.get(9)?);
    let (last_error, failures, format_read): (Option<String>, i64, Option<String>) =
        (r.get(14)?, r.get(16)?, r.get(24)?);
    Ok((|| {
        Ok(SourceRecord {
            conference,
            config: SourceConfig {
                url,
                format,
                timezone,
                every_seconds: u32::try_from(every)
                    .map_err(|_| StoreError::Corrupt(format!("every_seconds {every}")))?,
            },
            generation,
            created: from_ts(created)?,
            next_due: from_ts(next_due)?,
            etag,
            last_modified,
            last_attempt: ts(attempt)?,
            last_outcome: outcome.as_deref().map(FetchOutcome::parse).transpose()?,
            last_success: ts(success)?,
            last_change: ts(change)?,
            last_error,
            http_status: status.and_then(|s| u16::try_from(s).ok()),
            failures,
            counts: match counts {
                [Some(created), Some(updated), Some(cancelled), Some(unchanged)] => {
                    Some(SyncCounts {
                        created,
                        updated,
                        cancelled,
                        unchanged,
                    })
                }
                _ => None,
            },
            held: match held {
                [Some(would_cancel), Some(confirmed), Some(sessions)] => Some(Held {
                    would_cancel,
                    confirmed,
                    sessions,
                }),
                _ => None,
            },
            format_read,
            warnings: serde_json::from_str(&warnings)
                .map_err(|e| StoreError::Corrupt(format!("source warnings: {e}")))?,
        })
    })())
}

fn read_source(
    conn: &rusqlite::Connection,
    slug: &str,
) -> Result<Option<SourceRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE conference = ?1"
    ))?
    .query_row([slug], source_row)
    .optional()?
    .transpose()
}

impl SqliteStore {
    /// Sets the source of a conference (which need not exist yet: the
    /// first fetch creates it) and makes a fetch due now. `true` when the
    /// conference had none. A new URL, format or zone starts the state of
    /// fetching afresh (validators, errors) under a new generation; what
    /// describes the schedule served (last success, last change, counts)
    /// stays.
    pub fn put_source(
        &self,
        slug: &ConferenceSlug,
        config: &SourceConfig,
        now: DateTime<Utc>,
    ) -> Result<(bool, SourceRecord), StoreError> {
        self.write(|tx| {
            let old = read_source(tx, slug.as_str())?;
            let created = old.is_none();
            match rules::source_change(old.as_ref().map(|o| &o.config), config) {
                SourceChange::Create => {
                    tx.prepare_cached(
                        "INSERT INTO sources (conference, url, format, timezone, every_seconds, \
                         created, next_due) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    )?
                    .execute(params![
                        slug.as_str(),
                        config.url,
                        config.format,
                        config.timezone,
                        config.every_seconds,
                        to_ts(now)
                    ])?;
                }
                SourceChange::Reschedule => {
                    tx.prepare_cached(
                        "UPDATE sources SET every_seconds = ?2, next_due = ?3 WHERE conference = ?1",
                    )?
                    .execute(params![slug.as_str(), config.every_seconds, to_ts(now)])?;
                }
                SourceChange::Restart => {
                    tx.prepare_cached(
                        "UPDATE sources SET url = ?2, format = ?3, timezone = ?4, \
                         every_seconds = ?5, next_due = ?6, generation = generation + 1, \
                         etag = NULL, last_modified = NULL, last_outcome = NULL, \
                         last_error = NULL, http_status = NULL, failures = 0, \
                         held_cancel = NULL, held_confirmed = NULL, held_sessions = NULL \
                         WHERE conference = ?1",
                    )?
                    .execute(params![
                        slug.as_str(),
                        config.url,
                        config.format,
                        config.timezone,
                        config.every_seconds,
                        to_ts(now)
                    ])?;
                }
            }
            let rec = read_source(tx, slug.as_str())?
                .ok_or_else(|| StoreError::Corrupt("the source just written is gone".into()))?;
            Ok((created, rec))
        })
    }

    pub fn source(&self, slug: &ConferenceSlug) -> Result<Option<SourceRecord>, StoreError> {
        let conn = self.conn()?;
        read_source(&conn, slug.as_str())
    }

    /// Every source, by conference.
    pub fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SOURCE_COLUMNS} FROM sources ORDER BY conference"
        ))?;
        let rows = stmt.query_map([], source_row)?;
        rows.map(|r| r?).collect()
    }

    /// Stops following: the source and its state go; the conference and
    /// its sessions stay as last synced. `false` when there was none.
    pub fn delete_source(&self, slug: &ConferenceSlug) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM sources WHERE conference = ?1")?
                .execute([slug.as_str()])?
                > 0)
        })
    }

    /// The earliest time a fetch is due, if any source is followed.
    pub fn next_source_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = self
            .conn()?
            .prepare_cached("SELECT min(next_due) FROM sources")?
            .query_row([], |r| r.get(0))?;
        ts(due)
    }

    /// Conferences whose fetch is due at `now`, the longest waiting first.
    pub fn due_sources(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT conference FROM sources WHERE next_due <= ?1 ORDER BY next_due, conference \
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![to_ts(now), limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Takes a source's next fetch: moves its due time to `lease_until`,
    /// so that no other server on this database fetches it meanwhile, and
    /// answers the source as it was. Without `force` only a source that is
    /// due at `now` is taken (`None` otherwise: someone else has it).
    pub fn claim_source(
        &self,
        slug: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        force: bool,
    ) -> Result<Option<SourceRecord>, StoreError> {
        self.write(|tx| {
            let Some(rec) = read_source(tx, slug)? else {
                return Ok(None);
            };
            if !rules::may_claim(rec.next_due, now, force) {
                return Ok(None);
            }
            tx.prepare_cached("UPDATE sources SET next_due = ?2 WHERE conference = ?1")?
                .execute(params![slug, to_ts(lease_until)])?;
            Ok(Some(rec))
        })
    }

    /// Records a 304: the schedule served is the upstream's as of `at`.
    /// `false` when the source changed or went meanwhile (nothing written).
    pub fn record_not_modified(
        &self,
        slug: &str,
        generation: i64,
        a: &Attempt,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE sources SET last_attempt = ?3, next_due = ?4, http_status = ?5, \
                     etag = coalesce(?6, etag), last_modified = coalesce(?7, last_modified), \
                     last_outcome = 'not_modified', last_success = ?3, last_error = NULL, \
                     failures = 0, held_cancel = NULL, held_confirmed = NULL, \
                     held_sessions = NULL \
                     WHERE conference = ?1 AND generation = ?2",
                )?
                .execute(params![
                    slug,
                    generation,
                    to_ts(a.at),
                    to_ts(a.next_due),
                    a.http_status,
                    a.etag,
                    a.last_modified
                ])?
                > 0)
        })
    }

    /// Records an attempt that applied nothing, and why. The validators
    /// stay those of the schedule served.
    pub fn record_failure(
        &self,
        slug: &str,
        generation: i64,
        a: &Attempt,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "UPDATE sources SET last_attempt = ?3, next_due = ?4, http_status = ?5, \
                     last_outcome = 'error', last_error = ?6, failures = failures + 1 \
                     WHERE conference = ?1 AND generation = ?2",
                )?
                .execute(params![
                    slug,
                    generation,
                    to_ts(a.at),
                    to_ts(a.next_due),
                    a.http_status,
                    error
                ])?
                > 0)
        })
    }

    /// Syncs the conference from a schedule its source sent, and records
    /// the attempt, in one transaction. Before anything is written,
    /// `hold` is asked about what the sync would cancel; when it says so
    /// (and the operator has not confirmed) the schedule is left as it is
    /// and the source is marked held, its validators unchanged so that the
    /// next fetch reads the schedule again. `None` when the source changed
    /// or went meanwhile: nothing is written.
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
        self.write(|tx| {
            let live: Option<i64> = tx
                .prepare_cached("SELECT generation FROM sources WHERE conference = ?1")?
                .query_row([slug], |r| r.get(0))
                .optional()?;
            if live != Some(generation) {
                return Ok(None);
            }
            let preview = would_cancel(tx, schedule)?;
            if !confirm && hold(&preview) {
                tx.prepare_cached(
                    "UPDATE sources SET last_attempt = ?2, next_due = ?3, http_status = ?4, \
                     last_outcome = 'held', last_error = NULL, failures = 0, \
                     held_cancel = ?5, held_confirmed = ?6, held_sessions = ?7 \
                     WHERE conference = ?1",
                )?
                .execute(params![
                    slug,
                    to_ts(a.at),
                    to_ts(a.next_due),
                    a.http_status,
                    preview.would_cancel,
                    preview.confirmed,
                    preview.sessions
                ])?;
                return Ok(Some(SourceSync::Held(preview)));
            }
            let report = sync_one(tx, schedule, a.at)?;
            let counts = SyncCounts::of(&report);
            let kept: Vec<&String> = warnings.iter().take(MAX_WARNINGS_KEPT).collect();
            tx.prepare_cached(
                "UPDATE sources SET last_attempt = ?2, next_due = ?3, http_status = ?4, \
                 etag = ?5, last_modified = ?6, last_outcome = 'ok', last_success = ?2, \
                 last_change = CASE WHEN ?7 THEN ?2 ELSE last_change END, last_error = NULL, \
                 failures = 0, created_count = ?8, updated_count = ?9, cancelled_count = ?10, \
                 unchanged_count = ?11, held_cancel = NULL, held_confirmed = NULL, \
                 held_sessions = NULL, format_read = ?12, warnings = ?13 \
                 WHERE conference = ?1",
            )?
            .execute(params![
                slug,
                to_ts(a.at),
                to_ts(a.next_due),
                a.http_status,
                a.etag,
                a.last_modified,
                report.changed(),
                counts.created,
                counts.updated,
                counts.cancelled,
                counts.unchanged,
                format_read,
                serde_json::to_string(&kept).expect("strings serialise"),
            ])?;
            Ok(Some(SourceSync::Applied(report)))
        })
    }
}

/// How many of the conference's confirmed sessions `schedule` would
/// cancel (see [`rules::would_cancel`]), read in the sync's own transaction.
fn would_cancel(tx: &Transaction<'_>, schedule: &Schedule) -> Result<Held, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT s.slug FROM sessions s JOIN conferences c ON c.id = s.conference_id \
         WHERE c.slug = ?1 AND s.status = 'confirmed'",
    )?;
    let confirmed = stmt
        .query_map([schedule.conference.slug.as_str()], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rules::would_cancel(confirmed, &schedule.sessions))
}
