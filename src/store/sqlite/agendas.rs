//! Agendas: starred sessions behind a token, looked up by the token's hash.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::queries::{conference_by_slug, session_row_at, SESSION_COLUMNS};
use super::{from_ts, to_ts, AgendaRecord, AgendaView, SqliteStore, StoreError};
use crate::domain::agenda::TokenHash;
use crate::domain::{ConferenceSlug, SessionId};
use crate::store::rules;
use crate::store::RotateOutcome;

impl SqliteStore {
    pub fn create_agenda(
        &self,
        hash: &TokenHash,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AgendaRecord, StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO agendas (token_hash, name, created, last_modified) VALUES (?1, ?2, ?3, ?3)",
            )?
            .execute(params![&hash.0[..], name, to_ts(now)])?;
            Ok(())
        })?;
        Ok(AgendaRecord {
            name: name.map(str::to_owned),
            created: now,
            last_modified: now,
        })
    }

    /// What an agenda feed is rendered from, as one string: the agenda's
    /// version (bumped by every change to it, several in one second
    /// included) and the version of every conference it has stars in.
    /// Any star, unstar, rotation or change to a starred conference changes
    /// it. Unknown tokens are [`StoreError::AgendaNotFound`].
    pub fn agenda_stamp(&self, hash: &TokenHash) -> Result<String, StoreError> {
        self.conn()?
            .prepare_cached(
                "SELECT a.version || '/' || coalesce((
                     SELECT group_concat(v, ',') FROM (
                         SELECT DISTINCT c.id || ':' || c.version AS v
                         FROM agenda_stars st
                         JOIN sessions s ON s.id = st.session_id
                         JOIN conferences c ON c.id = s.conference_id
                         WHERE st.agenda_id = a.id ORDER BY v)), '')
                 FROM agendas a WHERE a.token_hash = ?1",
            )?
            .query_row([&hash.0[..]], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::AgendaNotFound)
    }

    pub fn agenda(&self, hash: &TokenHash) -> Result<AgendaView, StoreError> {
        let conn = self.conn()?;
        let (id, agenda) = agenda_by_hash(&conn, hash)?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT c.slug, {SESSION_COLUMNS} FROM agenda_stars a \
             JOIN sessions s ON s.id = a.session_id \
             JOIN conferences c ON c.id = s.conference_id \
             WHERE a.agenda_id = ?1 ORDER BY s.start_utc, s.end_utc, c.slug, s.slug"
        ))?;
        let mut sessions = Vec::new();
        let mut conferences = HashMap::new();
        let rows = stmt.query_map([id], |r| {
            let slug: String = r.get(0)?;
            Ok((slug, session_row_at(r, 1)?))
        })?;
        for row in rows {
            let (slug, rec) = row?;
            let rec = rec?;
            if !conferences.contains_key(&slug) {
                let cs = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
                conferences.insert(slug.clone(), conference_by_slug(&conn, &cs)?.1);
            }
            sessions.push((slug, rec));
        }
        Ok(AgendaView {
            agenda,
            conferences,
            sessions,
        })
    }

    /// Stars (`true`) or unstars a session. Idempotent; returns whether
    /// anything changed.
    pub fn set_star(
        &self,
        hash: &TokenHash,
        conf: &ConferenceSlug,
        id: &SessionId,
        starred: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|tx| {
            let (agenda_id, _) = agenda_by_hash(tx, hash)?;
            let (conf_id, _) = conference_by_slug(tx, conf)?;
            let session_id: i64 = tx
                .prepare_cached("SELECT id FROM sessions WHERE conference_id = ?1 AND slug = ?2")?
                .query_row(params![conf_id, id.as_str()], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::SessionNotFound {
                    conference: conf.to_string(),
                    session: id.to_string(),
                })?;
            let changed = if starred {
                let count: i64 = tx
                    .prepare_cached("SELECT count(*) FROM agenda_stars WHERE agenda_id = ?1")?
                    .query_row([agenda_id], |r| r.get(0))?;
                rules::check_star_limit(count)?;
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO agenda_stars (agenda_id, session_id, starred) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![agenda_id, session_id, to_ts(now)])?
            } else {
                tx.prepare_cached(
                    "DELETE FROM agenda_stars WHERE agenda_id = ?1 AND session_id = ?2",
                )?
                .execute(params![agenda_id, session_id])?
            } > 0;
            if changed {
                touch(tx, agenda_id, now)?;
            }
            Ok(changed)
        })
    }

    /// Replaces the token `old` by `new`: the old hash stops matching at
    /// once, and is kept as the agenda's previous one.
    ///
    /// That makes the call safe to repeat when its answer was lost (a crash
    /// or a dropped connection after the commit): called again with the
    /// same two tokens, it finds the agenda that has `new` and came from
    /// `old`, and answers [`RotateOutcome::AlreadyRotated`] instead of "no
    /// such agenda". Only a caller who knows both tokens gets that answer,
    /// and such a caller can already use `new`; someone holding only the
    /// old (perhaps leaked) token learns nothing. A `new` already in use by
    /// any agenda is [`StoreError::TokenInUse`].
    pub fn rotate_agenda(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, StoreError> {
        self.write(|tx| {
            let id = match agenda_by_hash(tx, old) {
                Ok((id, _)) => id,
                Err(StoreError::AgendaNotFound) => {
                    let retried = tx
                        .prepare_cached(
                            "SELECT 1 FROM agendas WHERE token_hash = ?1 AND previous_token_hash = ?2",
                        )?
                        .query_row(params![&new.0[..], &old.0[..]], |_| Ok(()))
                        .optional()?;
                    return match retried {
                        Some(()) => Ok(RotateOutcome::AlreadyRotated),
                        None => Err(StoreError::AgendaNotFound),
                    };
                }
                Err(e) => return Err(e),
            };
            let taken = tx
                .prepare_cached("SELECT 1 FROM agendas WHERE token_hash = ?1")?
                .query_row([&new.0[..]], |_| Ok(()))
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::TokenInUse);
            }
            tx.prepare_cached(
                "UPDATE agendas SET token_hash = ?2, previous_token_hash = token_hash WHERE id = ?1",
            )?
            .execute(params![id, &new.0[..]])?;
            touch(tx, id, now)?;
            Ok(RotateOutcome::Rotated)
        })
    }

    pub fn delete_agenda(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let n = self.write(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM agendas WHERE token_hash = ?1")?
                .execute([&hash.0[..]])?)
        })?;
        if n == 0 {
            return Err(StoreError::AgendaNotFound);
        }
        Ok(())
    }
}

pub(super) fn agenda_by_hash(
    conn: &Connection,
    hash: &TokenHash,
) -> Result<(i64, AgendaRecord), StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT id, name, created, last_modified FROM agendas WHERE token_hash = ?1",
        )?
        .query_row([&hash.0[..]], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()?
        .ok_or(StoreError::AgendaNotFound)?;
    Ok((
        row.0,
        AgendaRecord {
            name: row.1,
            created: from_ts(row.2)?,
            last_modified: from_ts(row.3)?,
        },
    ))
}

fn touch(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE agendas SET version = version + 1, last_modified = max(?2, last_modified) \
         WHERE id = ?1",
    )?
    .execute(params![id, to_ts(now)])?;
    Ok(())
}
