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
use serde::Serialize;

use super::changes::{prune, record};
use super::queries::{conference_by_slug, session_by_slug, session_row, SESSION_COLUMNS};
use super::{to_ts, SessionRecord, Status, Store, StoreError, STARTUP_LOCK_WAIT};
use crate::domain::changes::SessionState;
use crate::domain::{Conference, ConferenceSlug, Schedule, SessionData, SessionId};

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

impl Store {
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

    /// [`Store::sync_schedule`] for several conferences in one transaction.
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
            write_session(tx, conf_id, session, old, false, false, now)
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
            if rec.status == Status::Cancelled {
                return Ok(Outcome::Unchanged);
            }
            cancel(tx, conf_id, &rec, now)?;
            Ok(Outcome::Cancelled)
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
/// sync records its own state in the same one).
pub(super) fn sync_one(
    tx: &Transaction<'_>,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<SyncReport, StoreError> {
    let mut report = SyncReport::default();
    let (conf_id, touch_all) = upsert_conference(tx, &schedule.conference, now, &mut report)?;

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
    for s in &schedule.sessions {
        let id = s.id.to_string();
        let outcome = write_session(
            tx,
            conf_id,
            s,
            existing.remove(&id),
            touch_all,
            report.conference_created,
            now,
        )?;
        match outcome {
            Outcome::Created => report.created.push(id),
            Outcome::Updated => report.updated.push(id),
            Outcome::Unchanged | Outcome::Cancelled => report.unchanged.push(id),
        }
    }
    let mut gone: Vec<SessionRecord> = existing.into_values().collect();
    gone.sort_by(|a, b| a.data.id.cmp(&b.data.id));
    for rec in gone {
        let id = rec.data.id.to_string();
        if rec.status == Status::Confirmed {
            cancel(tx, conf_id, &rec, now)?;
            report.cancelled.push(id);
        } else if touch_all {
            bump(tx, conf_id, &rec.data.id, now, false)?;
            report.updated.push(id);
        } else {
            report.unchanged.push(id);
        }
    }
    if report.changed() {
        bump_conference(tx, conf_id, now)?;
        prune(tx, conf_id)?;
    }
    Ok(report)
}

/// Inserts or updates the conference row. Returns its id and whether every
/// session's rendered event changes with it (the zone, or the venue,
/// address or map point, which appear in each event's LOCATION, GEO and
/// structured location, changed). The colour is the calendar's alone: it
/// changes the feeds' header (the version moves) but no event.
fn upsert_conference(
    tx: &Transaction<'_>,
    c: &Conference,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(i64, bool), StoreError> {
    match conference_by_slug(tx, &c.slug) {
        Ok((id, old)) => {
            let old = old.conference;
            let touch_all = old.tz != c.tz
                || old.venue != c.venue
                || old.address != c.address
                || old.geo != c.geo;
            if old != *c {
                tx.prepare_cached(
                    "UPDATE conferences SET name = ?2, timezone = ?3, venue = ?4, url = ?5, \
                     address = ?6, geo_lat = ?7, geo_lon = ?8, color = ?9 WHERE id = ?1",
                )?
                .execute(params_from_iter(
                    std::iter::once(Value::from(id)).chain(conference_columns(c)),
                ))?;
                // A change to the conference alone (its name) still changes
                // every feed's header, so the version must move.
                bump_conference(tx, id, now)?;
            }
            Ok((id, touch_all))
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
            report.conference_created = true;
            Ok((tx.last_insert_rowid(), false))
        }
        Err(e) => Err(e),
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

/// Writes one session's content (confirmed), and records in the history
/// what that changed (see [`record`]); `conference_is_new` when the same
/// write created its conference.
fn write_session(
    tx: &Transaction<'_>,
    conf_id: i64,
    s: &SessionData,
    old: Option<SessionRecord>,
    touch: bool,
    conference_is_new: bool,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let before = match old {
        None => None,
        Some(old) if old.data == *s && old.status == Status::Confirmed && !touch => {
            return Ok(Outcome::Unchanged)
        }
        Some(old) => Some(SessionState::of_record(&old)),
    };
    let created = before.is_none();
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
    let after = SessionState::of(s, Status::Confirmed);
    record(
        tx,
        conf_id,
        &s.id,
        before.as_ref(),
        &after,
        conference_is_new,
        now,
    )?;
    Ok(if created {
        Outcome::Created
    } else {
        Outcome::Updated
    })
}

/// Cancels a confirmed session, and records it in the history.
fn cancel(
    tx: &Transaction<'_>,
    conf_id: i64,
    rec: &SessionRecord,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    bump(tx, conf_id, &rec.data.id, now, true)?;
    let before = SessionState::of_record(rec);
    let after = before.clone().cancelled();
    record(tx, conf_id, &rec.data.id, Some(&before), &after, false, now)?;
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
