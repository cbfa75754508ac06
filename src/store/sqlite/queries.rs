//! Reads: conferences and filtered session lists.

use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{from_ts, to_ts, ConferenceRecord, SessionRecord, SqliteStore, Status, StoreError};
use crate::domain::filter::StatusFilter;
use crate::domain::localtime::local_day_bounds;
use crate::domain::{Conference, ConferenceSlug, Geo, Link, SessionData, SessionFilter, SessionId};
use crate::store::{Facets, SEARCH_DEADLINE};

const CONFERENCE_COLUMNS: &str = "c.id, c.slug, c.name, c.timezone, c.venue, c.url, c.version, \
     c.created, c.last_modified, \
     (SELECT count(*) FROM sessions s WHERE s.conference_id = c.id AND s.status = 'confirmed'), \
     (SELECT min(start_utc) FROM sessions s WHERE s.conference_id = c.id), \
     (SELECT max(end_utc) FROM sessions s WHERE s.conference_id = c.id), \
     c.address, c.geo_lat, c.geo_lon, c.color";

pub(super) const SESSION_COLUMNS: &str = "s.slug, s.title, s.speakers, s.start_utc, s.end_utc, \
     s.room, s.tracks, s.abstract, s.notes, s.url, s.status, s.sequence, s.created, s.last_modified, s.kind, s.links, s.language";

impl SqliteStore {
    pub fn conferences(&self) -> Result<Vec<ConferenceRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {CONFERENCE_COLUMNS} FROM conferences c ORDER BY \
             (SELECT min(start_utc) FROM sessions s WHERE s.conference_id = c.id), c.slug"
        ))?;
        let rows = stmt.query_map([], conference_row)?;
        rows.map(|r| r?.map(|(_, c)| c)).collect()
    }

    pub fn conference(&self, slug: &ConferenceSlug) -> Result<ConferenceRecord, StoreError> {
        let conn = self.conn()?;
        Ok(conference_by_slug(&conn, slug)?.1)
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

    /// Like [`SqliteStore::sessions`], but hands each session to `f` as it is
    /// read, so a 100,000-session feed never holds every session in memory.
    ///
    /// The conference (with its `version`) and the sessions are read in one
    /// transaction, i.e. one snapshot: a cache keyed by that version can
    /// never file newer or older data under it.
    pub fn each_session<F>(
        &self,
        slug: &ConferenceSlug,
        filter: &SessionFilter,
        mut f: F,
    ) -> Result<ConferenceRecord, StoreError>
    where
        F: FnMut(&ConferenceRecord, SessionRecord),
    {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let (db_id, conf) = conference_by_slug(&tx, slug)?;
        for_each_filtered(&tx, db_id, conf.conference.tz, filter, |s| f(&conf, s))?;
        drop(tx);
        Ok(conf)
    }

    /// The conference's data version (see the `version` column): a cheap
    /// query that tells whether a cached rendering is still current.
    pub fn conference_version(&self, slug: &ConferenceSlug) -> Result<i64, StoreError> {
        self.conn()?
            .prepare_cached("SELECT version FROM conferences WHERE slug = ?1")?
            .query_row([slug.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::ConferenceNotFound(slug.to_string()))
    }

    pub fn session(
        &self,
        slug: &ConferenceSlug,
        id: &SessionId,
    ) -> Result<(ConferenceRecord, SessionRecord), StoreError> {
        let conn = self.conn()?;
        let (db_id, conf) = conference_by_slug(&conn, slug)?;
        let session =
            session_by_slug(&conn, db_id, id)?.ok_or_else(|| StoreError::SessionNotFound {
                conference: slug.to_string(),
                session: id.to_string(),
            })?;
        Ok((conf, session))
    }

    /// Local days on which the conference has sessions, its rooms and its
    /// session kinds: the choices a filter form offers.
    pub fn facets(&self, slug: &ConferenceSlug) -> Result<Facets, StoreError> {
        let conn = self.conn()?;
        let (db_id, conf) = conference_by_slug(&conn, slug)?;
        let tz = conf.conference.tz;
        let mut days = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT start_utc FROM sessions WHERE conference_id = ?1 ORDER BY start_utc",
        )?;
        for ts in stmt.query_map([db_id], |r| r.get::<_, i64>(0))? {
            let day = from_ts(ts?)?.with_timezone(&tz).date_naive();
            if days.last() != Some(&day) {
                days.push(day);
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT room FROM sessions WHERE conference_id = ?1 AND room IS NOT NULL \
             ORDER BY room COLLATE NOCASE",
        )?;
        let rooms = stmt
            .query_map([db_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT kind FROM sessions WHERE conference_id = ?1 AND kind IS NOT NULL \
             ORDER BY kind",
        )?;
        let kinds = stmt
            .query_map([db_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Facets { days, rooms, kinds })
    }
}

pub(super) fn conference_by_slug(
    conn: &Connection,
    slug: &ConferenceSlug,
) -> Result<(i64, ConferenceRecord), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONFERENCE_COLUMNS} FROM conferences c WHERE c.slug = ?1"
    ))?;
    stmt.query_row([slug.as_str()], conference_row)
        .optional()?
        .ok_or_else(|| StoreError::ConferenceNotFound(slug.to_string()))?
}

type ConferenceRow = Result<(i64, ConferenceRecord), StoreError>;

fn conference_row(r: &Row<'_>) -> rusqlite::Result<ConferenceRow> {
    let slug: String = r.get(1)?;
    let tz_name: String = r.get(3)?;
    let first: Option<i64> = r.get(10)?;
    let last: Option<i64> = r.get(11)?;
    let (db_id, name, venue, url, version, created, modified, count): (
        i64,
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
    ) = (
        r.get(0)?,
        r.get(2)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    );
    let address: Option<String> = r.get(12)?;
    let geo: (Option<f64>, Option<f64>) = (r.get(13)?, r.get(14)?);
    let color: Option<String> = r.get(15)?;
    Ok((|| {
        let tz: Tz = tz_name
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("unknown time zone {tz_name:?}")))?;
        let slug = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
        Ok((
            db_id,
            ConferenceRecord {
                conference: Conference {
                    slug,
                    name,
                    tz,
                    venue,
                    url,
                    address,
                    geo: match geo {
                        (Some(lat), Some(lon)) => Some(
                            Geo::new(lat, lon).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        ),
                        _ => None,
                    },
                    color,
                },
                version,
                created: from_ts(created)?,
                last_modified: from_ts(modified)?,
                session_count: count,
                first_start: first.map(from_ts).transpose()?,
                last_end: last.map(from_ts).transpose()?,
            },
        ))
    })())
}

pub(super) fn session_by_slug(
    conn: &Connection,
    conference_id: i64,
    id: &SessionId,
) -> Result<Option<SessionRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = ?1 AND s.slug = ?2"
    ))?;
    stmt.query_row(params![conference_id, id.as_str()], session_row)
        .optional()?
        .transpose()
}

fn for_each_filtered(
    conn: &Connection,
    conference_id: i64,
    tz: Tz,
    f: &SessionFilter,
    mut each: impl FnMut(SessionRecord),
) -> Result<(), StoreError> {
    let mut sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = ?");
    let mut args: Vec<Value> = vec![Value::Integer(conference_id)];
    match f.status {
        StatusFilter::Confirmed => sql.push_str(" AND s.status = 'confirmed'"),
        StatusFilter::Cancelled => sql.push_str(" AND s.status = 'cancelled'"),
        StatusFilter::All => {}
    }
    if !f.days.is_empty() {
        let alts: Vec<&str> = f
            .days
            .iter()
            .map(|d| {
                let (a, b) = local_day_bounds(*d, tz);
                args.push(Value::Integer(to_ts(a)));
                args.push(Value::Integer(to_ts(b)));
                "(s.start_utc >= ? AND s.start_utc < ?)"
            })
            .collect();
        sql.push_str(&format!(" AND ({})", alts.join(" OR ")));
    }
    if !f.rooms.is_empty() {
        sql.push_str(&format!(
            " AND s.room COLLATE NOCASE IN ({})",
            placeholders(f.rooms.len())
        ));
        args.extend(f.rooms.iter().cloned().map(Value::Text));
    }
    for (column, values) in [("speakers", &f.speakers), ("tracks", &f.tracks)] {
        if !values.is_empty() {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM json_each(s.{column}) j \
                 WHERE j.value COLLATE NOCASE IN ({}))",
                placeholders(values.len())
            ));
            args.extend(values.iter().cloned().map(Value::Text));
        }
    }
    if !f.kinds.is_empty() {
        // A session without a kind is of none of them.
        sql.push_str(&format!(" AND s.kind IN ({})", placeholders(f.kinds.len())));
        args.extend(f.kinds.iter().cloned().map(Value::Text));
    }
    if !f.not_kinds.is_empty() {
        // ... and so is never hidden by not_kind.
        sql.push_str(&format!(
            " AND (s.kind IS NULL OR s.kind NOT IN ({}))",
            placeholders(f.not_kinds.len())
        ));
        args.extend(f.not_kinds.iter().cloned().map(Value::Text));
    }
    let search = super::search::match_query(conn, conference_id, f)?;
    let _deadline = search
        .as_ref()
        .map(|_| Deadline::set(conn, SEARCH_DEADLINE));
    if let Some(q) = search {
        // The index holds this conference's words under its own names, so
        // the match reads nothing of other conferences.
        sql.push_str(
            " AND s.id IN (SELECT rowid FROM session_search WHERE session_search MATCH ?)",
        );
        args.push(Value::Text(q));
    }
    sql.push_str(" ORDER BY s.start_utc, s.end_utc, s.slug");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), session_row)?;
    for row in rows {
        each(row??);
    }
    Ok(())
}

/// A progress handler that interrupts the connection's statements once
/// `limit` has passed, removed again on drop (pooled connections are
/// shared by later requests).
struct Deadline<'c>(&'c Connection);

impl<'c> Deadline<'c> {
    fn set(conn: &'c Connection, limit: std::time::Duration) -> Deadline<'c> {
        let end = std::time::Instant::now() + limit;
        // About every thousand virtual-machine steps: microseconds apart.
        // Setting a handler cannot fail but on a closed connection.
        let _ = conn.progress_handler(1000, Some(move || std::time::Instant::now() > end));
        Deadline(conn)
    }
}

impl Drop for Deadline<'_> {
    fn drop(&mut self) {
        let _ = self.0.progress_handler(0, None::<fn() -> bool>);
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub(super) fn session_row(r: &Row<'_>) -> rusqlite::Result<Result<SessionRecord, StoreError>> {
    session_row_at(r, 0)
}

/// Reads [`SESSION_COLUMNS`] starting at column `o`.
pub(super) fn session_row_at(
    r: &Row<'_>,
    o: usize,
) -> rusqlite::Result<Result<SessionRecord, StoreError>> {
    let slug: String = r.get(o)?;
    let title: String = r.get(o + 1)?;
    let speakers: String = r.get(o + 2)?;
    let start: i64 = r.get(o + 3)?;
    let end: i64 = r.get(o + 4)?;
    let room: Option<String> = r.get(o + 5)?;
    let tracks: String = r.get(o + 6)?;
    let abstract_: String = r.get(o + 7)?;
    let notes: Option<String> = r.get(o + 8)?;
    let url: Option<String> = r.get(o + 9)?;
    let status: String = r.get(o + 10)?;
    let sequence: i64 = r.get(o + 11)?;
    let created: i64 = r.get(o + 12)?;
    let modified: i64 = r.get(o + 13)?;
    let kind: Option<String> = r.get(o + 14)?;
    let links: String = r.get(o + 15)?;
    let language: Option<String> = r.get(o + 16)?;
    Ok((|| {
        let json = |s: &str| -> Result<Vec<String>, StoreError> {
            serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        Ok(SessionRecord {
            data: SessionData {
                id: SessionId::parse(&slug).map_err(StoreError::Corrupt)?,
                title,
                speakers: json(&speakers)?,
                start: from_ts(start)?,
                end: from_ts(end)?,
                room,
                tracks: json(&tracks)?,
                abstract_,
                notes,
                url,
                kind,
                links: serde_json::from_str::<Vec<Link>>(&links)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                language,
            },
            status: match status.as_str() {
                "cancelled" => Status::Cancelled,
                _ => Status::Confirmed,
            },
            sequence,
            created: from_ts(created)?,
            last_modified: from_ts(modified)?,
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever a query is, past its deadline SQLite interrupts it, the
    /// error is `Busy` (503 with `Retry-After`), and the connection is
    /// left without the handler for whoever uses it next.
    #[test]
    fn a_query_past_its_deadline_is_interrupted_as_busy() {
        let conn = Connection::open_in_memory().unwrap();
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                       SELECT count(*) FROM c";
        let e = {
            let _d = Deadline::set(&conn, std::time::Duration::from_millis(50));
            conn.query_row(endless, [], |r| r.get::<_, i64>(0))
                .map_err(StoreError::from)
                .unwrap_err()
        };
        assert!(
            matches!(&e, StoreError::Busy(c) if c == super::super::DEADLINE_PASSED),
            "{e}"
        );
        let n: i64 = conn
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) \
                 SELECT count(*) FROM c",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 300_000);
    }
}
