//! The change history on PostgreSQL: the same insert, prune and reads as
//! SQLite's (`sqlite/changes.rs`), in each write's transaction; what is
//! recorded is decided by [`crate::store::rules::noticed`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use postgres::{Row, Transaction};

use super::queries::conference_by_slug;
use super::writes::agenda_by_hash;
use super::PgStore;
use crate::domain::agenda::TokenHash;
use crate::domain::changes::{Change, ChangeLog, KEPT_PER_CONFERENCE};
use crate::domain::ConferenceSlug;
use crate::store::history::StoredChange;
use crate::store::rules::Noticed;
use crate::store::{AgendaRecord, ConferenceRecord, StoreError};

/// Records a change a write made to a session of conference `conf_id`.
pub(super) fn record(
    tx: &mut Transaction<'_>,
    conf_id: i64,
    n: &Noticed,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let names: Vec<&str> = n.kinds.iter().map(|k| k.as_str()).collect();
    let (before, after) = (n.before.as_ref(), &n.after);
    tx.execute(
        "INSERT INTO changes (conference_id, session_id, at, kinds, \
         old_title, old_start, old_end, old_room, old_status, \
         new_title, new_start, new_end, new_room, new_status) \
         SELECT $1, s.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
         FROM sessions s WHERE s.conference_id = $1 AND s.slug = $2",
        &[
            &conf_id,
            &n.session.as_str(),
            &now.timestamp(),
            &names.join(","),
            &before.map(|b| b.title.as_str()),
            &before.map(|b| b.start.timestamp()),
            &before.map(|b| b.end.timestamp()),
            &before.and_then(|b| b.room.as_deref()),
            &before.map(|b| b.status.as_str()),
            &after.title,
            &after.start.timestamp(),
            &after.end.timestamp(),
            &after.room,
            &after.status.as_str(),
        ],
    )?;
    Ok(())
}

/// Keeps the conference's newest [`KEPT_PER_CONFERENCE`] changes.
pub(super) fn prune(tx: &mut Transaction<'_>, conf_id: i64) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM changes WHERE conference_id = $1 AND id <= (\
         SELECT id FROM changes WHERE conference_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        &[&conf_id, &(KEPT_PER_CONFERENCE as i64)],
    )?;
    Ok(())
}

const CHANGE_COLUMNS: &str = "ch.id, s.slug, ch.at, ch.kinds, \
     ch.old_title, ch.old_start, ch.old_end, ch.old_room, ch.old_status, \
     ch.new_title, ch.new_start, ch.new_end, ch.new_room, ch.new_status";

fn stored_at(r: &Row, o: usize) -> Result<StoredChange, StoreError> {
    Ok(StoredChange {
        id: r.try_get(o)?,
        session: r.try_get(o + 1)?,
        at: r.try_get(o + 2)?,
        kinds: r.try_get(o + 3)?,
        old: (
            r.try_get(o + 4)?,
            r.try_get(o + 5)?,
            r.try_get(o + 6)?,
            r.try_get(o + 7)?,
            r.try_get(o + 8)?,
        ),
        new: (
            r.try_get(o + 9)?,
            r.try_get(o + 10)?,
            r.try_get(o + 11)?,
            r.try_get(o + 12)?,
            r.try_get(o + 13)?,
        ),
    })
}

impl PgStore {
    /// See the SQLite backend's method.
    pub fn changes(
        &self,
        slug: &ConferenceSlug,
        limit: usize,
    ) -> Result<(ConferenceRecord, Vec<Change>), StoreError> {
        self.read(|tx| {
            let (conf_id, conf) = conference_by_slug(tx, slug, false)?;
            let rows = tx.query(
                format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes ch JOIN sessions s ON s.id = ch.session_id \
                     WHERE ch.conference_id = $1 ORDER BY ch.id DESC LIMIT $2"
                )
                .as_str(),
                &[&conf_id, &(limit as i64)],
            )?;
            let changes = rows
                .iter()
                .map(|r| stored_at(r, 0)?.into_change())
                .collect::<Result<Vec<_>, _>>()?;
            Ok((conf, changes))
        })
    }

    /// See the SQLite backend's method.
    pub fn agenda_changes(
        &self,
        hash: &TokenHash,
        limit: usize,
    ) -> Result<(AgendaRecord, ChangeLog), StoreError> {
        self.read(|tx| {
            let (agenda_id, agenda) = agenda_by_hash(tx, hash, false)?;
            let rows = tx.query(
                format!(
                    "SELECT c.slug, {CHANGE_COLUMNS} FROM agenda_stars st \
                     JOIN changes ch ON ch.session_id = st.session_id \
                     JOIN sessions s ON s.id = ch.session_id \
                     JOIN conferences c ON c.id = ch.conference_id \
                     WHERE st.agenda_id = $1 ORDER BY ch.id DESC LIMIT $2"
                )
                .as_str(),
                &[&agenda_id, &(limit as i64)],
            )?;
            let mut log = ChangeLog::default();
            let mut conferences: HashMap<String, ConferenceRecord> = HashMap::new();
            for r in &rows {
                let slug: String = r.try_get(0)?;
                if !conferences.contains_key(&slug) {
                    let cs = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
                    conferences.insert(slug.clone(), conference_by_slug(tx, &cs, false)?.1);
                }
                log.changes.push((slug, stored_at(r, 1)?.into_change()?));
            }
            log.conferences = conferences;
            Ok((agenda, log))
        })
    }
}
