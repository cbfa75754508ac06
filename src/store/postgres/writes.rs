//! Writes (syncs, sessions, agendas, sources) and the agenda reads, on
//! PostgreSQL. Each write locks its row first (see the module docs of
//! [`super`]); what to write is decided by [`crate::store::rules`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::{GenericClient, Row, Transaction};

use super::queries::{conference_by_slug, from_ts, session_by_slug, session_row, SESSION_COLUMNS};
use super::{changes, PgStore, SEED_LOCK};
use crate::domain::agenda::TokenHash;
use crate::domain::{Conference, ConferenceSlug, Schedule, SessionData, SessionId};
use crate::store::rules::{self, SessionWrite, SourceChange};
use crate::store::{
    AgendaRecord, AgendaView, Attempt, FetchOutcome, Held, Outcome, RotateOutcome, SessionRecord,
    SourceConfig, SourceRecord, SourceSync, StoreError, SyncCounts, SyncReport, MAX_WARNINGS_KEPT,
    STARTUP_LOCK_WAIT,
};

impl PgStore {
    pub fn sync_schedules(
        &self,
        schedules: &[Schedule],
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncReport>, StoreError> {
        self.write(|tx| {
            schedules
                .iter()
                .map(|s| self.sync_one(tx, s, now))
                .collect()
        })
    }

    /// Seeds an empty database, once among replicas started together: the
    /// check and the import run under an advisory lock.
    pub fn seed(
        &self,
        schedules: &[Schedule],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<SyncReport>>, StoreError> {
        self.write_waiting(STARTUP_LOCK_WAIT, |tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEED_LOCK])?;
            let n: i64 = tx
                .query_one("SELECT count(*) FROM conferences", &[])?
                .get(0);
            if n > 0 {
                return Ok(None);
            }
            schedules
                .iter()
                .map(|s| self.sync_one(tx, s, now))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })
    }

    pub fn put_session(
        &self,
        slug: &ConferenceSlug,
        session: &SessionData,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        self.write(|tx| {
            let (conf_id, _) = conference_by_slug(tx, slug, true)?;
            let old = session_by_slug(tx, conf_id, &session.id)?;
            let w = rules::session_write(old.as_ref(), session, false);
            let n = w
                .as_ref()
                .and_then(|w| rules::noticed(old.as_ref(), w, false));
            self.finish_one(tx, conf_id, w, n, now)
        })
    }

    pub fn cancel_session(
        &self,
        slug: &ConferenceSlug,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        self.write(|tx| {
            let (conf_id, _) = conference_by_slug(tx, slug, true)?;
            let rec =
                session_by_slug(tx, conf_id, id)?.ok_or_else(|| StoreError::SessionNotFound {
                    conference: slug.to_string(),
                    session: id.to_string(),
                })?;
            let w = rules::cancel_write(&rec);
            let n = w
                .as_ref()
                .and_then(|w| rules::noticed(Some(&rec), w, false));
            self.finish_one(tx, conf_id, w, n, now)
        })
    }

    fn finish_one(
        &self,
        tx: &mut Transaction<'_>,
        conf_id: i64,
        w: Option<SessionWrite<'_>>,
        noticed: Option<rules::Noticed>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let outcome = rules::outcome(w.as_ref());
        if let Some(w) = &w {
            self.apply(tx, conf_id, w, now)?;
            if let Some(n) = &noticed {
                changes::record(tx, conf_id, n, now)?;
            }
            bump_conference(tx, conf_id, now)?;
            changes::prune(tx, conf_id)?;
        }
        Ok(outcome)
    }

    /// One conference's sync in the caller's transaction, its row locked
    /// first: the diff is [`rules::plan_sync`]'s.
    fn sync_one(
        &self,
        tx: &mut Transaction<'_>,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<SyncReport, StoreError> {
        let (conf_id, created, touch_all) = upsert_conference(tx, &schedule.conference, now)?;
        let mut existing: HashMap<String, SessionRecord> = HashMap::new();
        for r in tx.query(
            format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = $1").as_str(),
            &[&conf_id],
        )? {
            let rec = session_row(&r, 0)?;
            existing.insert(rec.data.id.to_string(), rec);
        }
        let mut plan = rules::plan_sync(existing, &schedule.sessions, touch_all, created);
        plan.report.conference_created = created;
        for w in &plan.writes {
            self.apply(tx, conf_id, w, now)?;
        }
        for n in &plan.noticed {
            changes::record(tx, conf_id, n, now)?;
        }
        if plan.report.changed() {
            bump_conference(tx, conf_id, now)?;
            changes::prune(tx, conf_id)?;
        }
        Ok(plan.report)
    }

    fn apply(
        &self,
        tx: &mut Transaction<'_>,
        conf_id: i64,
        w: &SessionWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = now.timestamp();
        let s = match w {
            SessionWrite::Bump { id, cancel } => {
                let status = cancel.then(|| crate::store::Status::Cancelled.as_str());
                tx.execute(
                    "UPDATE sessions SET status = coalesce($4, status), sequence = sequence + 1, \
                     last_modified = greatest($3, last_modified) \
                     WHERE conference_id = $1 AND slug = $2",
                    &[&conf_id, &id.as_str(), &now, &status],
                )?;
                return Ok(());
            }
            SessionWrite::Insert(s) | SessionWrite::Update(s) => s,
        };
        let sql = if matches!(w, SessionWrite::Insert(_)) {
            "INSERT INTO sessions (conference_id, slug, title, speakers, start_utc, end_utc, \
             room, tracks, abstract, notes, url, status, sequence, created, last_modified, \
             kind, links, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'confirmed', 0, $12, $12, \
             $13, $14, $15) RETURNING id"
        } else {
            "UPDATE sessions SET title = $3, speakers = $4, start_utc = $5, end_utc = $6, \
             room = $7, tracks = $8, abstract = $9, notes = $10, url = $11, \
             kind = $13, links = $14, language = $15, status = 'confirmed', \
             sequence = sequence + 1, last_modified = greatest($12, last_modified) \
             WHERE conference_id = $1 AND slug = $2 RETURNING id"
        };
        let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialise");
        let speakers = json(&s.speakers);
        let row = tx.query_one(
            sql,
            &[
                &conf_id,
                &s.id.as_str(),
                &s.title,
                &speakers,
                &s.start.timestamp(),
                &s.end.timestamp(),
                &s.room,
                &json(&s.tracks),
                &s.abstract_,
                &s.notes,
                &s.url,
                &now,
                &s.kind,
                &serde_json::to_string(&s.links).expect("links serialise"),
                &s.language,
            ],
        )?;
        self.write_words(tx, row.get(0), conf_id, [&s.title, &s.abstract_, &speakers])
    }

    pub fn create_agenda(
        &self,
        hash: &TokenHash,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AgendaRecord, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO agendas (token_hash, name, created, last_modified) \
                 VALUES ($1, $2, $3, $3)",
                &[&&hash.0[..], &name, &now.timestamp()],
            )?;
            Ok(())
        })?;
        Ok(AgendaRecord {
            name: name.map(str::to_owned),
            created: now,
            last_modified: now,
        })
    }

    pub fn agenda_stamp(&self, hash: &TokenHash) -> Result<String, StoreError> {
        self.conn()?
            .query_opt(
                "SELECT a.version::text || '/' || coalesce((
                     SELECT string_agg(v, ',' ORDER BY v) FROM (
                         SELECT DISTINCT c.id::text || ':' || c.version::text COLLATE \"C\" AS v
                         FROM agenda_stars st
                         JOIN sessions s ON s.id = st.session_id
                         JOIN conferences c ON c.id = s.conference_id
                         WHERE st.agenda_id = a.id) vs), '')
                 FROM agendas a WHERE a.token_hash = $1",
                &[&&hash.0[..]],
            )?
            .map(|r| r.get(0))
            .ok_or(StoreError::AgendaNotFound)
    }

    pub fn agenda(&self, hash: &TokenHash) -> Result<AgendaView, StoreError> {
        self.read(|tx| {
            let (id, agenda) = agenda_by_hash(tx, hash, false)?;
            let rows = tx.query(
                format!(
                    "SELECT c.slug, {SESSION_COLUMNS} FROM agenda_stars a \
                     JOIN sessions s ON s.id = a.session_id \
                     JOIN conferences c ON c.id = s.conference_id \
                     WHERE a.agenda_id = $1 ORDER BY s.start_utc, s.end_utc, c.slug, s.slug"
                )
                .as_str(),
                &[&id],
            )?;
            let mut sessions = Vec::new();
            let mut conferences = HashMap::new();
            for r in &rows {
                let slug: String = r.get(0);
                let rec = session_row(r, 1)?;
                if !conferences.contains_key(&slug) {
                    let cs = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
                    conferences.insert(slug.clone(), conference_by_slug(tx, &cs, false)?.1);
                }
                sessions.push((slug, rec));
            }
            Ok(AgendaView {
                agenda,
                conferences,
                sessions,
            })
        })
    }

    /// Stars or unstars, the agenda's row locked first: two replicas
    /// starring at once cannot pass [`rules::MAX_STARS`] together.
    pub fn set_star(
        &self,
        hash: &TokenHash,
        conf: &ConferenceSlug,
        id: &SessionId,
        starred: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let (agenda_id, _) = agenda_by_hash(tx, hash, true)?;
            let (conf_id, _) = conference_by_slug(tx, conf, false)?;
            let session_id: i64 = tx
                .query_opt(
                    "SELECT id FROM sessions WHERE conference_id = $1 AND slug = $2",
                    &[&conf_id, &id.as_str()],
                )?
                .map(|r| r.get(0))
                .ok_or_else(|| StoreError::SessionNotFound {
                    conference: conf.to_string(),
                    session: id.to_string(),
                })?;
            let changed = if starred {
                let count: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM agenda_stars WHERE agenda_id = $1",
                        &[&agenda_id],
                    )?
                    .get(0);
                rules::check_star_limit(count)?;
                tx.execute(
                    "INSERT INTO agenda_stars (agenda_id, session_id, starred) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&agenda_id, &session_id, &now.timestamp()],
                )?
            } else {
                tx.execute(
                    "DELETE FROM agenda_stars WHERE agenda_id = $1 AND session_id = $2",
                    &[&agenda_id, &session_id],
                )?
            } > 0;
            if changed {
                touch(tx, agenda_id, now)?;
            }
            Ok(changed)
        })
    }

    pub fn rotate_agenda(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, StoreError> {
        self.write(|tx| {
            let id = match agenda_by_hash(tx, old, true) {
                Ok((id, _)) => id,
                Err(StoreError::AgendaNotFound) => {
                    let retried = tx.query_opt(
                        "SELECT 1 FROM agendas WHERE token_hash = $1 AND previous_token_hash = $2",
                        &[&&new.0[..], &&old.0[..]],
                    )?;
                    return match retried {
                        Some(_) => Ok(RotateOutcome::AlreadyRotated),
                        None => Err(StoreError::AgendaNotFound),
                    };
                }
                Err(e) => return Err(e),
            };
            let taken = tx.query_opt(
                "SELECT 1 FROM agendas WHERE token_hash = $1",
                &[&&new.0[..]],
            )?;
            if taken.is_some() {
                return Err(StoreError::TokenInUse);
            }
            match tx.execute(
                "UPDATE agendas SET token_hash = $2, previous_token_hash = token_hash WHERE id = $1",
                &[&id, &&new.0[..]],
            ) {
                // Another agenda took the same new token meanwhile.
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Err(StoreError::TokenInUse)
                }
                other => other?,
            };
            touch(tx, id, now)?;
            Ok(RotateOutcome::Rotated)
        })
    }

    pub fn delete_agenda(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let n = self.write(|tx| {
            Ok(tx.execute("DELETE FROM agendas WHERE token_hash = $1", &[&&hash.0[..]])?)
        })?;
        if n == 0 {
            return Err(StoreError::AgendaNotFound);
        }
        Ok(())
    }

    pub fn put_source(
        &self,
        slug: &ConferenceSlug,
        config: &SourceConfig,
        now: DateTime<Utc>,
    ) -> Result<(bool, SourceRecord), StoreError> {
        let every = i64::from(config.every_seconds);
        let now = now.timestamp();
        self.write(|tx| {
            // The row lock of an existing source; a new one is created
            // with ON CONFLICT, so two replicas creating it at once end
            // with one row (the second then sees it and updates).
            let old = read_source(tx, slug.as_str(), true)?;
            let change = rules::source_change(old.as_ref().map(|o| &o.config), config);
            let created = match change {
                SourceChange::Create => {
                    tx.execute(
                        "INSERT INTO sources (conference, url, format, timezone, every_seconds, \
                         created, next_due) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                         ON CONFLICT (conference) DO NOTHING",
                        &[
                            &slug.as_str(),
                            &config.url,
                            &config.format,
                            &config.timezone,
                            &every,
                            &now,
                        ],
                    )? > 0
                }
                SourceChange::Reschedule => {
                    tx.execute(
                        "UPDATE sources SET every_seconds = $2, next_due = $3 WHERE conference = $1",
                        &[&slug.as_str(), &every, &now],
                    )?;
                    false
                }
                SourceChange::Restart => {
                    tx.execute(
                        "UPDATE sources SET url = $2, format = $3, timezone = $4, \
                         every_seconds = $5, next_due = $6, generation = generation + 1, \
                         etag = NULL, last_modified = NULL, last_outcome = NULL, \
                         last_error = NULL, http_status = NULL, failures = 0, \
                         held_cancel = NULL, held_confirmed = NULL, held_sessions = NULL \
                         WHERE conference = $1",
                        &[
                            &slug.as_str(),
                            &config.url,
                            &config.format,
                            &config.timezone,
                            &every,
                            &now,
                        ],
                    )?;
                    false
                }
            };
            if change == SourceChange::Create && !created {
                // Lost a race to create it: busy, the caller may retry.
                return Err(StoreError::Busy(
                    "another server created this source at the same moment".into(),
                ));
            }
            let rec = read_source(tx, slug.as_str(), false)?
                .ok_or_else(|| StoreError::Corrupt("the source just written is gone".into()))?;
            Ok((created, rec))
        })
    }

    pub fn source(&self, slug: &ConferenceSlug) -> Result<Option<SourceRecord>, StoreError> {
        read_source(&mut *self.conn()?, slug.as_str(), false)
    }

    pub fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = self.conn()?.query(
            format!("SELECT {SOURCE_COLUMNS} FROM sources ORDER BY conference").as_str(),
            &[],
        )?;
        rows.iter().map(source_row).collect()
    }

    pub fn delete_source(&self, slug: &ConferenceSlug) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM sources WHERE conference = $1",
                &[&slug.as_str()],
            )? > 0)
        })
    }

    pub fn next_source_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = self
            .conn()?
            .query_one("SELECT min(next_due) FROM sources", &[])?
            .get(0);
        due.map(from_ts).transpose()
    }

    pub fn due_sources(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<String>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT conference FROM sources WHERE next_due <= $1 \
             ORDER BY next_due, conference LIMIT $2",
            &[&now.timestamp(), &(limit as i64)],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The lease: the source's row locked, the rule asked, the due time
    /// moved to the lease's end. Of two replicas claiming at once, the
    /// second waits for the first's commit and then finds it not due.
    pub fn claim_source(
        &self,
        slug: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        force: bool,
    ) -> Result<Option<SourceRecord>, StoreError> {
        self.write(|tx| {
            let Some(rec) = read_source(tx, slug, true)? else {
                return Ok(None);
            };
            if !rules::may_claim(rec.next_due, now, force) {
                return Ok(None);
            }
            tx.execute(
                "UPDATE sources SET next_due = $2 WHERE conference = $1",
                &[&slug, &lease_until.timestamp()],
            )?;
            Ok(Some(rec))
        })
    }

    pub fn record_not_modified(
        &self,
        slug: &str,
        generation: i64,
        a: &Attempt,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE sources SET last_attempt = $3, next_due = $4, http_status = $5, \
                 etag = coalesce($6, etag), last_modified = coalesce($7, last_modified), \
                 last_outcome = 'not_modified', last_success = $3, last_error = NULL, \
                 failures = 0, held_cancel = NULL, held_confirmed = NULL, \
                 held_sessions = NULL \
                 WHERE conference = $1 AND generation = $2",
                &[
                    &slug,
                    &generation,
                    &a.at.timestamp(),
                    &a.next_due.timestamp(),
                    &a.http_status.map(i64::from),
                    &a.etag,
                    &a.last_modified,
                ],
            )? > 0)
        })
    }

    pub fn record_failure(
        &self,
        slug: &str,
        generation: i64,
        a: &Attempt,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE sources SET last_attempt = $3, next_due = $4, http_status = $5, \
                 last_outcome = 'error', last_error = $6, failures = failures + 1 \
                 WHERE conference = $1 AND generation = $2",
                &[
                    &slug,
                    &generation,
                    &a.at.timestamp(),
                    &a.next_due.timestamp(),
                    &a.http_status.map(i64::from),
                    &error,
                ],
            )? > 0)
        })
    }

    /// See [`crate::store::Store::sync_from_source`]: the source's row is
    /// locked (fencing by generation), then the conference's by the sync.
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
                .query_opt(
                    "SELECT generation FROM sources WHERE conference = $1 FOR UPDATE",
                    &[&slug],
                )?
                .map(|r| r.get(0));
            if live != Some(generation) {
                return Ok(None);
            }
            // Lock the conference before reading what the sync would cancel.
            if let Ok(cs) = ConferenceSlug::parse(schedule.conference.slug.as_str()) {
                match conference_by_slug(tx, &cs, true) {
                    Ok(_) | Err(StoreError::ConferenceNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            let confirmed: Vec<String> = tx
                .query(
                    "SELECT s.slug FROM sessions s JOIN conferences c ON c.id = s.conference_id \
                     WHERE c.slug = $1 AND s.status = 'confirmed'",
                    &[&schedule.conference.slug.as_str()],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let preview = rules::would_cancel(confirmed, &schedule.sessions);
            let status = a.http_status.map(i64::from);
            if !confirm && hold(&preview) {
                tx.execute(
                    "UPDATE sources SET last_attempt = $2, next_due = $3, http_status = $4, \
                     last_outcome = 'held', last_error = NULL, failures = 0, \
                     held_cancel = $5, held_confirmed = $6, held_sessions = $7 \
                     WHERE conference = $1",
                    &[
                        &slug,
                        &a.at.timestamp(),
                        &a.next_due.timestamp(),
                        &status,
                        &preview.would_cancel,
                        &preview.confirmed,
                        &preview.sessions,
                    ],
                )?;
                return Ok(Some(SourceSync::Held(preview)));
            }
            let report = self.sync_one(tx, schedule, a.at)?;
            let counts = SyncCounts::of(&report);
            let kept: Vec<&String> = warnings.iter().take(MAX_WARNINGS_KEPT).collect();
            tx.execute(
                "UPDATE sources SET last_attempt = $2, next_due = $3, http_status = $4, \
                 etag = $5, last_modified = $6, last_outcome = 'ok', last_success = $2, \
                 last_change = CASE WHEN $7 THEN $2 ELSE last_change END, last_error = NULL, \
                 failures = 0, created_count = $8, updated_count = $9, cancelled_count = $10, \
                 unchanged_count = $11, held_cancel = NULL, held_confirmed = NULL, \
                 held_sessions = NULL, format_read = $12, warnings = $13 \
                 WHERE conference = $1",
                &[
                    &slug,
                    &a.at.timestamp(),
                    &a.next_due.timestamp(),
                    &status,
                    &a.etag,
                    &a.last_modified,
                    &report.changed(),
                    &counts.created,
                    &counts.updated,
                    &counts.cancelled,
                    &counts.unchanged,
                    &format_read,
                    &serde_json::to_string(&kept).expect("strings serialise"),
                ],
            )?;
            Ok(Some(SourceSync::Applied(report)))
        })
    }
}

/// Inserts or updates the conference row, locked (see
/// [`rules::conference_change`]): its id, whether it was created, and
/// whether every session's event changes with it.
fn upsert_conference(
    tx: &mut Transaction<'_>,
    c: &Conference,
    at: DateTime<Utc>,
) -> Result<(i64, bool, bool), StoreError> {
    let now = at.timestamp();
    let tz = c.tz.name();
    let (lat, lon) = (c.geo.map(|g| g.lat()), c.geo.map(|g| g.lon()));
    for _ in 0..2 {
        match conference_by_slug(tx, &c.slug, true) {
            Ok((id, old)) => {
                let change = rules::conference_change(&old.conference, c);
                if change.changed {
                    tx.execute(
                        "UPDATE conferences SET name = $2, timezone = $3, venue = $4, url = $5, \
                         address = $6, geo_lat = $7, geo_lon = $8, color = $9 WHERE id = $1",
                        &[
                            &id, &c.name, &tz, &c.venue, &c.url, &c.address, &lat, &lon, &c.color,
                        ],
                    )?;
                    bump_conference(tx, id, at)?;
                }
                return Ok((id, false, change.touch_all));
            }
            Err(StoreError::ConferenceNotFound(_)) => {
                // Two replicas creating the same conference: the second's
                // insert waits for the first's commit, does nothing, and
                // the loop finds (and locks) the row the first made.
                let row = tx.query_opt(
                    "INSERT INTO conferences (slug, name, timezone, venue, url, address, \
                     geo_lat, geo_lon, color, created, last_modified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     ON CONFLICT (slug) DO NOTHING RETURNING id",
                    &[
                        &c.slug.as_str(),
                        &c.name,
                        &tz,
                        &c.venue,
                        &c.url,
                        &c.address,
                        &lat,
                        &lon,
                        &c.color,
                        &now,
                    ],
                )?;
                if let Some(r) = row {
                    return Ok((r.get(0), true, false));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Busy(
        "the conference was created and deleted meanwhile".into(),
    ))
}

fn bump_conference(
    tx: &mut Transaction<'_>,
    conf_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE conferences SET version = version + 1, \
         last_modified = greatest($2, last_modified) WHERE id = $1",
        &[&conf_id, &now.timestamp()],
    )?;
    Ok(())
}

pub(super) fn agenda_by_hash(
    conn: &mut impl GenericClient,
    hash: &TokenHash,
    lock: bool,
) -> Result<(i64, AgendaRecord), StoreError> {
    let sql = format!(
        "SELECT id, name, created, last_modified FROM agendas WHERE token_hash = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let r = conn
        .query_opt(sql.as_str(), &[&&hash.0[..]])?
        .ok_or(StoreError::AgendaNotFound)?;
    Ok((
        r.get(0),
        AgendaRecord {
            name: r.get(1),
            created: from_ts(r.get(2))?,
            last_modified: from_ts(r.get(3))?,
        },
    ))
}

fn touch(tx: &mut Transaction<'_>, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE agendas SET version = version + 1, \
         last_modified = greatest($2, last_modified) WHERE id = $1",
        &[&id, &now.timestamp()],
    )?;
    Ok(())
}

const SOURCE_COLUMNS: &str = "conference, url, format, timezone, every_seconds, generation, \
     created, next_due, etag, last_modified, last_attempt, last_outcome, last_success, \
     last_change, last_error, http_status, failures, created_count, updated_count, \
     cancelled_count, unchanged_count, held_cancel, held_confirmed, held_sessions, format_read, \
     warnings";

fn read_source(
    conn: &mut impl GenericClient,
    slug: &str,
    lock: bool,
) -> Result<Option<SourceRecord>, StoreError> {
    let sql = format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE conference = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    conn.query_opt(sql.as_str(), &[&slug])?
        .as_ref()
        .map(source_row)
        .transpose()
}

fn source_row(r: &Row) -> Result<SourceRecord, StoreError> {
    let ts = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
        r.get::<_, Option<i64>>(i).map(from_ts).transpose()
    };
    let every: i64 = r.get(4);
    let outcome: Option<String> = r.get(11);
    let status: Option<i64> = r.get(15);
    let counts: [Option<i64>; 4] = [r.get(17), r.get(18), r.get(19), r.get(20)];
    let held: [Option<i64>; 3] = [r.get(21), r.get(22), r.get(23)];
    let warnings: String = r.get(25);
    Ok(SourceRecord {
        conference: r.get(0),
        config: SourceConfig {
            url: r.get(1),
            format: r.get(2),
            timezone: r.get(3),
            every_seconds: u32::try_from(every)
                .map_err(|_| StoreError::Corrupt(format!("every_seconds {every}")))?,
        },
        generation: r.get(5),
        created: from_ts(r.get(6))?,
        next_due: from_ts(r.get(7))?,
        etag: r.get(8),
        last_modified: r.get(9),
        last_attempt: ts(10)?,
        last_outcome: outcome.as_deref().map(FetchOutcome::parse).transpose()?,
        last_success: ts(12)?,
        last_change: ts(13)?,
        last_error: r.get(14),
        http_status: status.and_then(|s| u16::try_from(s).ok()),
        failures: r.get(16),
        counts: match counts {
            [Some(created), Some(updated), Some(cancelled), Some(unchanged)] => Some(SyncCounts {
                created,
                updated,
                cancelled,
                unchanged,
            }),
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
        format_read: r.get(24),
        warnings: serde_json::from_str(&warnings)
            .map_err(|e| StoreError::Corrupt(format!("source warnings: {e}")))?,
    })
}
