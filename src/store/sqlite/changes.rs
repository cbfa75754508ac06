//! The change history: one row per write that changed what an attendee
//! plans around in a session (see [`crate::domain::changes`], whose
//! [`kinds`] decides), inserted by the write paths of `sync.rs` inside
//! their own transaction, so a change and its history commit or roll back
//! together. Reads give a conference's newest changes, or those of an
//! agenda's starred sessions.
//!
//! Three statements a backend needs: the insert, the prune, and the
//! selects; everything else is the domain's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};

use super::agendas::agenda_by_hash;
use super::queries::conference_by_slug;
use super::{to_ts, AgendaRecord, ConferenceRecord, SqliteStore, StoreError};
use crate::domain::agenda::TokenHash;
use crate::domain::changes::{Change, ChangeLog, KEPT_PER_CONFERENCE};
use crate::domain::ConferenceSlug;
use crate::store::history::StoredChange;
use crate::store::rules::Noticed;

/// Records a change a write made (see [`crate::store::rules::noticed`])
/// to a session of conference `conf_id`, in the write's transaction (the
/// caller then prunes once, with [`prune`]).
pub(super) fn record(
    tx: &Connection,
    conf_id: i64,
    n: &Noticed,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let names: Vec<&str> = n.kinds.iter().map(|k| k.as_str()).collect();
    let (before, after) = (n.before.as_ref(), &n.after);
    tx.prepare_cached(
        "INSERT INTO changes (conference_id, session_id, at, kinds, \
         old_title, old_start, old_end, old_room, old_status, \
         new_title, new_start, new_end, new_room, new_status) \
         SELECT ?1, s.id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14 \
         FROM sessions s WHERE s.conference_id = ?1 AND s.slug = ?2",
    )?
    .execute(params![
        conf_id,
        n.session.as_str(),
        to_ts(now),
        names.join(","),
        before.map(|b| b.title.as_str()),
        before.map(|b| to_ts(b.start)),
        before.map(|b| to_ts(b.end)),
        before.and_then(|b| b.room.as_deref()),
        before.map(|b| b.status.as_str()),
        after.title,
        to_ts(after.start),
        to_ts(after.end),
        after.room,
        after.status.as_str(),
    ])?;
    Ok(())
}

/// Keeps the conference's newest [`KEPT_PER_CONFERENCE`] changes.
pub(super) fn prune(tx: &Connection, conf_id: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "DELETE FROM changes WHERE conference_id = ?1 AND id <= (\
         SELECT id FROM changes WHERE conference_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![conf_id, KEPT_PER_CONFERENCE as i64])?;
    Ok(())
}

const CHANGE_COLUMNS: &str = "ch.id, s.slug, ch.at, ch.kinds, \
     ch.old_title, ch.old_start, ch.old_end, ch.old_room, ch.old_status, \
     ch.new_title, ch.new_start, ch.new_end, ch.new_room, ch.new_status";

/// A row of [`CHANGE_COLUMNS`] from column `o` on.
fn raw_at(r: &Row<'_>, o: usize) -> rusqlite::Result<StoredChange> {
    Ok(StoredChange {
        id: r.get(o)?,
        session: r.get(o + 1)?,
        at: r.get(o + 2)?,
        kinds: r.get(o + 3)?,
        old: (
            r.get(o + 4)?,
            r.get(o + 5)?,
            r.get(o + 6)?,
            r.get(o + 7)?,
            r.get(o + 8)?,
        ),
        new: (
            r.get(o + 9)?,
            r.get(o + 10)?,
            r.get(o + 11)?,
            r.get(o + 12)?,
            r.get(o + 13)?,
        ),
    })
}

impl SqliteStore {
    /// The conference's newest `limit` changes, newest first, read in one
    /// snapshot with the conference (whose `version` moves with every
    /// change recorded).
    pub fn changes(
        &self,
        slug: &ConferenceSlug,
        limit: usize,
    ) -> Result<(ConferenceRecord, Vec<Change>), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let (conf_id, conf) = conference_by_slug(&tx, slug)?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM changes ch JOIN sessions s ON s.id = ch.session_id \
             WHERE ch.conference_id = ?1 ORDER BY ch.id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![conf_id, limit as i64], |r| raw_at(r, 0))?;
        let changes = rows
            .map(|r| r?.into_change())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((conf, changes))
    }

    /// The newest `limit` changes to the sessions an agenda stars (in any
    /// conference), newest first, with the conferences they are of, and
    /// the agenda itself. Unknown tokens are [`StoreError::AgendaNotFound`].
    pub fn agenda_changes(
        &self,
        hash: &TokenHash,
        limit: usize,
    ) -> Result<(AgendaRecord, ChangeLog), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let (agenda_id, agenda) = agenda_by_hash(&tx, hash)?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT c.slug, {CHANGE_COLUMNS} FROM agenda_stars st \
             JOIN changes ch ON ch.session_id = st.session_id \
             JOIN sessions s ON s.id = ch.session_id \
             JOIN conferences c ON c.id = ch.conference_id \
             WHERE st.agenda_id = ?1 ORDER BY ch.id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![agenda_id, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, raw_at(r, 1)?))
        })?;
        let mut log = ChangeLog::default();
        let mut conferences: HashMap<String, ConferenceRecord> = HashMap::new();
        for row in rows {
            let (slug, raw) = row?;
            if !conferences.contains_key(&slug) {
                let cs = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
                conferences.insert(slug.clone(), conference_by_slug(&tx, &cs)?.1);
            }
            log.changes.push((slug, raw.into_change()?));
        }
        log.conferences = conferences;
        Ok((agenda, log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::changes::ChangeKind;
    use crate::domain::schedule::parse_document;
    use crate::domain::Schedule;
    use crate::domain::SessionId;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        (dir, store)
    }

    /// A conference of `n` one-hour talks, talk `i` starting `shift` hours
    /// after hour `i`.
    fn schedule(n: usize, shift: i64) -> Schedule {
        let sessions: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let start = chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    + chrono::Duration::hours(i as i64 + shift);
                let end = start + chrono::Duration::hours(1);
                serde_json::json!({"id": format!("t{i}"), "title": format!("Talk {i}"),
                    "speakers": [], "start": start.format("%Y-%m-%dT%H:%M").to_string(),
                    "end": end.format("%Y-%m-%dT%H:%M").to_string(), "room": "A",
                    "tracks": [], "abstract": ""})
            })
            .collect();
        let doc = serde_json::json!({"conference": {"slug": "c", "name": "C", "timezone": "UTC"},
            "sessions": sessions});
        parse_document(doc.to_string().as_bytes())
            .unwrap()
            .validate()
            .unwrap()
    }

    fn slug() -> ConferenceSlug {
        ConferenceSlug::parse("c").unwrap()
    }

    #[test]
    fn only_the_newest_are_kept() {
        let (_dir, store) = store();
        let n = KEPT_PER_CONFERENCE + 5;
        store.sync_schedule(&schedule(n, 0), Utc::now()).unwrap();
        assert!(store.changes(&slug(), n).unwrap().1.is_empty());
        // Every talk moves: n changes in one write, the newest kept.
        store.sync_schedule(&schedule(n, 100), Utc::now()).unwrap();
        let (_, kept) = store.changes(&slug(), n).unwrap();
        assert_eq!(kept.len(), KEPT_PER_CONFERENCE);
        assert_eq!(kept[0].session.as_str(), format!("t{}", n - 1));
        assert_eq!(kept.last().unwrap().session.as_str(), "t5");
        assert!(kept.iter().all(|c| c.kinds == [ChangeKind::Moved]));
        // One more: still the bound, the oldest gone.
        store
            .cancel_session(&slug(), &SessionId::parse("t0").unwrap(), Utc::now())
            .unwrap();
        let (_, kept) = store.changes(&slug(), n).unwrap();
        assert_eq!(kept.len(), KEPT_PER_CONFERENCE);
        assert_eq!(kept[0].kinds, [ChangeKind::Cancelled]);
        assert_eq!(kept.last().unwrap().session.as_str(), "t6");
    }

    /// A write that fails part-way records nothing: the history is written
    /// in the write's own transaction.
    #[test]
    fn a_failed_write_leaves_no_history() {
        let (_dir, store) = store();
        store.sync_schedule(&schedule(3, 0), Utc::now()).unwrap();
        let moved = schedule(3, 10);
        let mut broken = moved.clone();
        // Past validation (which would refuse it): the table's CHECK does.
        broken.sessions[2].end = broken.sessions[2].start - chrono::Duration::hours(1);
        assert!(store.sync_schedule(&broken, Utc::now()).is_err());
        assert!(store.changes(&slug(), 10).unwrap().1.is_empty());
        let before = store.conference(&slug()).unwrap().version;
        store.sync_schedule(&moved, Utc::now()).unwrap();
        assert_eq!(store.changes(&slug(), 10).unwrap().1.len(), 3);
        assert_eq!(store.conference(&slug()).unwrap().version, before + 1);
    }
}
