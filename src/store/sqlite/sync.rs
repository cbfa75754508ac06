//! Writes: whole-schedule sync, single-session upsert and cancellation.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction that either applies
//! entirely or not at all, and bumps the conference's `version` when it
//! changed anything. A session's `sequence` and `last_modified` move only
//! when its content really changed, so re-importing the same schedule leaves
//! every feed byte-identical.
//!
//! `last_modified` is whole seconds (what iCalendar and HTTP dates carry),
//! and a change moves it to the time of the change (never back, should the
//! clock step back): never into the future, so no `Last-Modified`, DTSTAMP
//! or API `last_modified` is later than the clock (RFC 9110 §8.8.2.1). Two
//! changes in one second share it; what tells them apart is `version` (the
//! caches' stamp) and the ETag, and `Last-Modified` is withheld while its
//! second lasts (see `http::feeds::conditional`), so `If-Modified-Since` cannot
//! hide the second change.
//!
//! Every write that changes a session's title, times, room or status also
//! records it in the change history (`changes.rs`), in the same
//! transaction, so the history never tells of a change that was rolled
//! back, nor misses one that was committed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Transaction};

use super::changes::{prune, record};
use super::queries::{conference_by_slug, session_by_slug, session_row, SESSION_COLUMNS};
use super::{to_ts, SessionRecord, SqliteStore, Status, StoreError, STARTUP_LOCK_WAIT};
use crate::domain::{Conference, ConferenceSlug, Schedule, SessionData, SessionId};
use crate::store::rules::{self, SessionWrite};
use crate::store::{Outcome, SyncReport};

impl SqliteStore {
    /// Makes the stored conference equal to `schedule`: creates new
    /// sessions, updates changed ones, and cancels (never deletes) the ones
    /// the schedule no longer lists.
    pub fn sync_schedule(
        &self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError> {
        let mut reports = self.sync_schedules(std::slice::from_ref(schedule), now)?;
        Ok(reports.remove(0))
    }

    /// [`SqliteStore::sync_schedule`] for several conferences in one transaction.
    pub fn sync_schedules(
        &self,
        schedules: &[Schedule],
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncReport>, StoreError> {
        self.write(|tx| {
            schedules
                .iter()
                .map(|s| sync_one(tx, s, now))
                .collect::<Result<Vec<_>, _>>()
        })
    }

    /// Seeds a new database: imports `schedules` in one transaction if no
    /// conference is stored yet, and answers `None` (importing nothing) if
    /// one is. The check is made under the write lock, so of several
    /// servers started at once on a new file exactly one seeds; the others
    /// wait for it (up to [`STARTUP_LOCK_WAIT`]) and find it done. The seed
    /// is then checkpointed into the database file.
    pub fn seed(
        &self,
        schedules: &[Schedule],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<SyncReport>>, StoreError> {
        let reports = self.write_waiting(STARTUP_LOCK_WAIT, |tx| {
            let n: i64 = tx.query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))?;
            if n > 0 {
                return Ok(None);
            }
            schedules
                .iter()
                .map(|s| sync_one(tx, s, now))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })?;
        if reports.is_some() {
            self.make_durable()?;
        }
        Ok(reports)
    }

    /// Creates or replaces one session of an existing conference.
    pub fn put_session(
        &self,
        slug: &ConferenceSlug,
        session: &SessionData,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        self.write_one_session(slug, now, |tx, conf_id| {
            let old = session_by_slug(tx, conf_id, &session.id)?;
            let w = rules::session_write(old.as_ref(), session, false);
            if let Some(w) = &w {
                apply(tx, conf_id, w, now)?;
                if let Some(n) = rules::noticed(old.as_ref(), w, false) {
                    record(tx, conf_id, &n, now)?;
                }
            }
            Ok(rules::outcome(w.as_ref()))
        })
    }

    /// Cancels one session: it stays stored, and in the feeds, as cancelled.
    pub fn cancel_session(
        &self,
        slug: &ConferenceSlug,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        self.write_one_session(slug, now, |tx, conf_id| {
            let rec =
                session_by_slug(tx, conf_id, id)?.ok_or_else(|| StoreError::SessionNotFound {
                    conference: slug.to_string(),
                    session: id.to_string(),
                })?;
            let w = rules::cancel_write(&rec);
            if let Some(w) = &w {
                apply(tx, conf_id, w, now)?;
                if let Some(n) = rules::noticed(Some(&rec), w, false) {
                    record(tx, conf_id, &n, now)?;
                }
            }
            Ok(rules::outcome(w.as_ref()))
        })
    }

    /// A write to one session of the conference `slug` (`f` is given the
    /// conference's row id), in one transaction that also moves the
    /// conference's version when the write changed anything.
    fn write_one_session(
        &self,
        slug: &ConferenceSlug,
        now: DateTime<Utc>,
        f: impl FnOnce(&Transaction<'_>, i64) -> Result<Outcome, StoreError>,
    ) -> Result<Outcome, StoreError> {
        self.write(|tx| {
            let (conf_id, _) = conference_by_slug(tx, slug)?;
            let outcome = f(tx, conf_id)?;
            if outcome != Outcome::Unchanged {
                bump_conference(tx, conf_id, now)?;
                prune(tx, conf_id)?;
            }
            Ok(outcome)
        })
    }
}

/// One conference's sync inside the caller's transaction (a source's
/// sync records its own state in the same one): the diff is
/// [`rules::plan_sync`]'s, written here.
pub(super) fn sync_one(
    tx: &Transaction<'_>,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<SyncReport, StoreError> {
    let (conf_id, created, touch_all) = upsert_conference(tx, &schedule.conference, now)?;
    let mut existing: HashMap<String, SessionRecord> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = ?1"
        ))?;
        for row in stmt.query_map([conf_id], session_row)? {
            let rec = row??;
            existing.insert(rec.data.id.to_string(), rec);
        }
    }
    let mut plan = rules::plan_sync(existing, &schedule.sessions, touch_all, created);
    plan.report.conference_created = created;
    for w in &plan.writes {
        apply(tx, conf_id, w, now)?;
    }
    for n in &plan.noticed {
        record(tx, conf_id, n, now)?;
    }
    if plan.report.changed() {
        bump_conference(tx, conf_id, now)?;
        prune(tx, conf_id)?;
    }
    Ok(plan.report)
}

/// Inserts or updates the conference row (see [`rules::conference_change`]).
/// Returns its id, whether it was created, and whether every session's
/// rendered event changes with it.
fn upsert_conference(
    tx: &Transaction<'_>,
    c: &Conference,
    now: DateTime<Utc>,
) -> Result<(i64, bool, bool), StoreError> {
    match conference_by_slug(tx, &c.slug) {
        Ok((id, old)) => {
            let change = rules::conference_change(&old.conference, c);
            if change.changed {
                tx.prepare_cached(
                    "UPDATE conferences SET name = ?2, timezone = ?3, venue = ?4, url = ?5, \
                     address = ?6, geo_lat = ?7, geo_lon = ?8, color = ?9 WHERE id = ?1",
                )?
                .execute(params_from_iter(
                    std::iter::once(Value::from(id)).chain(conference_columns(c)),
                ))?;
                bump_conference(tx, id, now)?;
            }
            Ok((id, false, change.touch_all))
        }
        Err(StoreError::ConferenceNotFound(_)) => {
            tx.prepare_cached(
                "INSERT INTO conferences (slug, name, timezone, venue, url, address, geo_lat, \
                 geo_lon, color, created, last_modified) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            )?
            .execute(params_from_iter(
                std::iter::once(Value::from(c.slug.to_string()))
                    .chain(conference_columns(c))
                    .chain([Value::from(to_ts(now))]),
            ))?;
            Ok((tx.last_insert_rowid(), true, false))
        }
        Err(e) => Err(e),
    }
}

/// Writes one of [`rules`]' session writes.
fn apply(
    tx: &Transaction<'_>,
    conf_id: i64,
    w: &SessionWrite<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match w {
        SessionWrite::Insert(s) => write_session(tx, conf_id, s, true, now),
        SessionWrite::Update(s) => write_session(tx, conf_id, s, false, now),
        SessionWrite::Bump { id, cancel } => bump(tx, conf_id, id, now, *cancel),
    }
}

/// A conference's own columns, `?2` to `?9` of both the statement that
/// inserts it and the one that updates it.
fn conference_columns(c: &Conference) -> [Value; 8] {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let number = |v: Option<f64>| v.map_or(Value::Null, Value::Real);
    [
        Value::Text(c.name.clone()),
        Value::Text(c.tz.name().to_owned()),
        text(&c.venue),
        text(&c.url),
        text(&c.address),
        number(c.geo.map(|g| g.lat())),
        number(c.geo.map(|g| g.lon())),
        text(&c.color),
    ]
}

/// Writes one session's content (confirmed).
fn write_session(
    tx: &Transaction<'_>,
    conf_id: i64,
    s: &SessionData,
    created: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Both statements number the same values the same way.
    let sql = if created {
        "INSERT INTO sessions (conference_id, slug, title, speakers, start_utc, end_utc, \
         room, tracks, abstract, notes, url, status, sequence, created, last_modified, \
         kind, links, language) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'confirmed', 0, ?12, ?12, \
         ?13, ?14, ?15)"
    } else {
        "UPDATE sessions SET title = ?3, speakers = ?4, start_utc = ?5, end_utc = ?6, \
         room = ?7, tracks = ?8, abstract = ?9, notes = ?10, url = ?11, \
         kind = ?13, links = ?14, language = ?15, status = 'confirmed', sequence = sequence + 1, last_modified = max(?12, last_modified) \
         WHERE conference_id = ?1 AND slug = ?2"
    };
    let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialise");
    let links = serde_json::to_string(&s.links).expect("links serialise");
    tx.prepare_cached(sql)?.execute(params![
        conf_id,
        s.id.as_str(),
        s.title,
        json(&s.speakers),
        to_ts(s.start),
        to_ts(s.end),
        s.room,
        json(&s.tracks),
        s.abstract_,
        s.notes,
        s.url,
        to_ts(now),
        s.kind,
        links,
        s.language
    ])?;
    Ok(())
}

/// Moves a session's `sequence` and `last_modified` on without changing its
/// content: to cancel it (`cancelled`), or because its rendering changed
/// with the conference's zone or place.
fn bump(
    tx: &Transaction<'_>,
    conf_id: i64,
    id: &SessionId,
    now: DateTime<Utc>,
    cancelled: bool,
) -> Result<(), StoreError> {
    let status = cancelled.then(|| Status::Cancelled.as_str());
    tx.prepare_cached(
        "UPDATE sessions SET status = coalesce(?4, status), sequence = sequence + 1, \
         last_modified = max(?3, last_modified) WHERE conference_id = ?1 AND slug = ?2",
    )?
    .execute(params![conf_id, id.as_str(), to_ts(now), status])?;
    Ok(())
}

fn bump_conference(
    tx: &Transaction<'_>,
    conf_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE conferences SET version = version + 1, last_modified = max(?2, last_modified) WHERE id = ?1",
    )?
    .execute(params![conf_id, to_ts(now)])?;
    Ok(())
}
